package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/a24ba333/indelible/event"
)

// This file maps the fields of one audit event to those of an event.

// kubeTime returns the stage timestamp, or the time the request was
// received for an event without one.
func kubeTime(ke *kubeEvent, errs *itemErrors) time.Time {
	var t time.Time
	if ke.RequestReceivedTimestamp != "" {
		var err error
		if t, err = parseKubeTime(ke.RequestReceivedTimestamp); err != nil {
			errs.add("/requestReceivedTimestamp", err.Error())
		}
	}
	if ke.StageTimestamp != "" {
		st, err := parseKubeTime(ke.StageTimestamp)
		if err != nil {
			errs.add("/stageTimestamp", err.Error())
		}
		return st
	}
	if ke.RequestReceivedTimestamp == "" {
		errs.add("/stageTimestamp", "is required (and requestReceivedTimestamp is absent too)")
	}
	return t
}

// parseKubeTime parses a metav1.MicroTime ("2026-11-23T19:40:00.123456Z";
// any RFC 3339 time is accepted) and returns it in UTC.
func parseKubeTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time like \"2026-11-23T19:40:00.123456Z\"", s)
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("%q is not between the years 0000 and 9999 in UTC", s)
	}
	return t, nil
}

// kubeID returns the event ID of one stage of one request. The webhook
// resends whole batches, and a request has one audit event per stage, so
// auditID/stage makes a resent event recognisable. An auditID that cannot
// be part of an event ID (clients may choose it with the Audit-ID header)
// is replaced by its SHA-256, which keeps the ID deterministic.
func kubeID(auditID, stage string) string {
	if len(auditID)+1+len(stage) <= maxIDLen && printableNoSpace(auditID) {
		return auditID + "/" + stage
	}
	sum := sha256.Sum256([]byte(auditID))
	return "sha256:" + hex.EncodeToString(sum[:]) + "/" + stage
}

func printableNoSpace(s string) bool {
	for _, r := range s {
		if r == ' ' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Lengths of the segments of an event type; 4+63+1+28+1+28 <= 128.
const (
	maxResourceSeg = 63 // a resource name is a DNS label
	maxSubSeg      = 28
	maxVerbSeg     = 28
)

// kubeType returns "k8s.<resource>[.<subresource>].<verb>", or
// "k8s.nonresource.<verb>" for a request that is not about a resource
// (like GET /healthz), each segment made to fit the event type syntax.
func kubeType(verb string, ref *kubeObjectRef) string {
	b := make([]byte, 0, 48)
	b = append(b, "k8s."...)
	if ref == nil || ref.Resource == "" {
		b = append(b, "nonresource"...)
	} else {
		b = appendSegment(b, ref.Resource, maxResourceSeg)
		if ref.Subresource != "" {
			b = append(b, '.')
			b = appendSegment(b, ref.Subresource, maxSubSeg)
		}
	}
	b = append(b, '.')
	b = appendSegment(b, verb, maxVerbSeg)
	return string(b)
}

// appendSegment appends s, lowercased, with every byte outside
// [a-z0-9_-] replaced by "_", and cut to max bytes.
func appendSegment(b []byte, s string, max int) []byte {
	if len(s) > max {
		s = s[:max]
	}
	if s == "" {
		return append(b, '_')
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, '_')
		}
	}
	return b
}

// kubeOutcome derives the outcome from the response code and the
// authorizer's decision. 101 Switching Protocols counts as success: it is
// the final code of exec, attach and port-forward.
func kubeOutcome(stage string, status *kubeStatus, annotations map[string]string) string {
	decision := annotations[annotationDecision]
	if decision == "forbid" {
		return event.OutcomeFailure
	}
	if status != nil && status.Code != nil {
		switch c := *status.Code; {
		case c == 101, c >= 200 && c < 400:
			return event.OutcomeSuccess
		case c >= 400 && c < 600:
			return event.OutcomeFailure
		}
		return event.OutcomeUnknown
	}
	switch {
	case status != nil && status.Status == "Failure", stage == stagePanic:
		return event.OutcomeFailure
	case stage == stageResponseComplete && decision == "allow":
		return event.OutcomeSuccess
	}
	return event.OutcomeUnknown
}

// actorType classifies a Kubernetes username.
func actorType(username string) string {
	switch {
	case strings.HasPrefix(username, "system:serviceaccount:"):
		return "serviceaccount"
	case strings.HasPrefix(username, "system:node:"):
		return "node"
	}
	return "user"
}

// kubeResource returns the resource of an objectRef: its type is
// resource[/subresource], its ID namespace/name (name alone for a
// cluster-scoped object). Both are cut to the event limit; data.objectRef
// keeps them whole.
func kubeResource(ref *kubeObjectRef) *event.Resource {
	if ref == nil {
		return nil
	}
	r := &event.Resource{Type: ref.Resource}
	if ref.Subresource != "" {
		r.Type += "/" + ref.Subresource
	}
	if ref.Name != "" {
		r.ID = ref.Name
		if ref.Namespace != "" {
			r.ID = ref.Namespace + "/" + ref.Name
		}
	}
	if r.Type == "" && r.ID == "" {
		return nil
	}
	r.Type, r.ID = truncate(r.Type, maxRefLen), truncate(r.ID, maxRefLen)
	return r
}

// kubeData returns the item's fields that the event's own fields do not
// hold, with the item's JSON names, as ParseJSON values. The objects are
// added by the caller.
func kubeData(ke *kubeEvent) map[string]any {
	d := make(map[string]any, 12)
	putString(d, "level", ke.Level)
	putString(d, "stage", ke.Stage)
	putString(d, "requestURI", ke.RequestURI)
	putString(d, "verb", ke.Verb)
	d["user"] = userData(&ke.User)
	if ke.ImpersonatedUser != nil {
		d["impersonatedUser"] = userData(ke.ImpersonatedUser)
	}
	if len(ke.SourceIPs) > 0 {
		d["sourceIPs"] = stringsData(ke.SourceIPs)
	}
	if r := ke.ObjectRef; r != nil {
		m := make(map[string]any, 8)
		putString(m, "resource", r.Resource)
		putString(m, "namespace", r.Namespace)
		putString(m, "name", r.Name)
		putString(m, "uid", r.UID)
		putString(m, "apiGroup", r.APIGroup)
		putString(m, "apiVersion", r.APIVersion)
		putString(m, "resourceVersion", r.ResourceVersion)
		putString(m, "subresource", r.Subresource)
		d["objectRef"] = m
	}
	if s := ke.ResponseStatus; s != nil {
		m := make(map[string]any, 3)
		if s.Code != nil {
			m["code"] = json.Number(strconv.Itoa(int(*s.Code)))
		}
		putString(m, "status", s.Status)
		putString(m, "reason", s.Reason)
		d["responseStatus"] = m
	}
	if len(ke.Annotations) > 0 {
		m := make(map[string]any, len(ke.Annotations))
		for k, v := range ke.Annotations {
			m[k] = v
		}
		d["annotations"] = m
	}
	putString(d, "requestReceivedTimestamp", ke.RequestReceivedTimestamp)
	return d
}

func userData(u *kubeUserInfo) map[string]any {
	m := make(map[string]any, 4)
	putString(m, "username", u.Username)
	putString(m, "uid", u.UID)
	if len(u.Groups) > 0 {
		m["groups"] = stringsData(u.Groups)
	}
	if len(u.Extra) > 0 {
		x := make(map[string]any, len(u.Extra))
		for k, v := range u.Extra {
			x[k] = stringsData(v)
		}
		m["extra"] = x
	}
	return m
}

func stringsData(ss []string) []any {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = s
	}
	return a
}

func putString(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// truncate cuts s to at most max bytes at a character boundary.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
