package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/a24ba333/indelible/event"
)

// Defaults of KubernetesOptions.
const (
	// DefaultMaxEventBytes leaves about 4 KiB of a 64 KiB entry
	// (event.MaxEntrySize) for what the server adds when sealing.
	DefaultMaxEventBytes = 60 << 10
	// DefaultKubernetesSource is the event source of audit events.
	DefaultKubernetesSource = "kubernetes"
)

// Limits of event fields (see event.Validate), in bytes.
const (
	maxRefLen     = 256
	maxAgentLen   = 1024
	maxMessageLen = 8 << 10
	maxIDLen      = 128
	// objectMaxDepth is the deepest requestObject or responseObject kept:
	// they sit at depth 3 of an event (event, data, object), and an
	// event may nest 32 levels (event.DefaultLimits).
	objectMaxDepth = 30
)

// KubernetesOptions configures DecodeKubernetes. The zero value is ready
// to use.
type KubernetesOptions struct {
	// MaxEventBytes bounds the canonical JSON of each mapped event. An
	// item whose event would be larger is reduced as the Kubernetes
	// truncate backend does: requestObject and responseObject are dropped
	// and data.truncated is set to true. An item still too large after
	// that is an ItemError. 0 means DefaultMaxEventBytes.
	MaxEventBytes int
	// Source is the event.Source of every event; "" means
	// DefaultKubernetesSource.
	Source string
}

// KubernetesResult is what DecodeKubernetes made of a batch.
type KubernetesResult struct {
	Events []*event.Event // the mapped items, in input order, each valid for Validate(false)
	Items  []int          // Items[i] is the item number of Events[i]
	Errors []ItemError    // the items that could not be mapped, in input order
	// Raw holds the JSON text of every item named in Errors, by item
	// number, so that a caller can quarantine what it could not map.
	Raw map[int][]byte
}

// ItemError is one problem with one item of a batch. An item can have
// several.
type ItemError struct {
	Item    int    // 0-based index of the item in the EventList's items
	Path    string // JSON Pointer (RFC 6901) of the field within the body, like "/items/3/stageTimestamp"
	Message string
}

func (e ItemError) Error() string {
	return fmt.Sprintf("item %d: %s: %s", e.Item, e.Path, e.Message)
}

// DecodeKubernetes maps a Kubernetes audit webhook body, an
// audit.k8s.io/v1 (or v1beta1) EventList in JSON, to events.
//
// A body that is not such an EventList is an error, and nothing is
// returned. Otherwise every item is mapped on its own: an item that
// cannot be mapped (no auditID or username, a bad timestamp, a field of
// the wrong type, an event that stays too large...) is reported in
// Errors, with its JSON Pointer in the body, and the other items still
// become events. The webhook backend cannot split a batch: it resends the
// same bytes, or drops them, so refusing a whole batch for one bad item
// would lose up to 400 good events for nothing. Whether to commit the
// good events and quarantine the bad items, or to refuse the batch, is the
// server's decision, not the adapter's.
func DecodeKubernetes(body []byte, opts KubernetesOptions) (KubernetesResult, error) {
	if opts.MaxEventBytes <= 0 {
		opts.MaxEventBytes = DefaultMaxEventBytes
	}
	if opts.Source == "" {
		opts.Source = DefaultKubernetesSource
	}
	if len(opts.Source) > maxRefLen || !utf8.ValidString(opts.Source) {
		return KubernetesResult{}, fmt.Errorf("source %q is not valid: at most %d bytes of UTF-8", opts.Source, maxRefLen)
	}
	if k := firstByte(body); k != '{' {
		return KubernetesResult{}, fmt.Errorf("body must be a JSON object, an audit.k8s.io/v1 EventList, not %s", jsonKind(k))
	}
	res, kind, apiVersion, err := decodeEventList(body, &opts)
	if err != nil {
		return KubernetesResult{}, fmt.Errorf("decoding EventList: %w", err)
	}
	if kind != "EventList" {
		return KubernetesResult{}, fmt.Errorf("kind is %q, want \"EventList\" (the body of an audit webhook request)", kind)
	}
	switch apiVersion {
	case "audit.k8s.io/v1", "audit.k8s.io/v1beta1":
	default:
		return KubernetesResult{}, fmt.Errorf("apiVersion is %q, want \"audit.k8s.io/v1\" (--audit-webhook-version)", apiVersion)
	}
	return res, nil
}

// decodeEventList reads an EventList object and maps its items as they
// come: one pass to scan each item and one to decode it, where decoding
// the list and then each item would take four. A type error in an item
// is that item's problem; only input that is not JSON, or an EventList
// of the wrong shape, fails the whole body. Keys are matched exactly, as
// Kubernetes does, and members other than kind, apiVersion and items
// (metadata) are skipped.
func decodeEventList(body []byte, opts *KubernetesOptions) (res KubernetesResult, kind, apiVersion string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // '{', checked by the caller
		return res, "", "", err
	}
	seenItems := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return res, "", "", err
		}
		switch key, _ := tok.(string); key {
		case "kind", "apiVersion":
			var s string
			if err := dec.Decode(&s); err != nil {
				return res, "", "", fmt.Errorf("/%s: %s", key, typeMessage(err))
			}
			if key == "kind" {
				kind = s
			} else {
				apiVersion = s
			}
		case "items":
			if seenItems {
				return res, "", "", errors.New("/items: appears twice")
			}
			seenItems = true
			if res, err = decodeItems(body, dec, opts); err != nil {
				return res, "", "", err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return res, "", "", err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return res, "", "", err
	}
	if _, err := dec.Token(); err != io.EOF {
		return res, "", "", fmt.Errorf("unexpected data after the EventList at offset %d", dec.InputOffset())
	}
	return res, kind, apiVersion, nil
}

// decodeItems reads the items array of an EventList and maps each item.
func decodeItems(body []byte, dec *json.Decoder, opts *KubernetesOptions) (KubernetesResult, error) {
	var res KubernetesResult
	tok, err := dec.Token()
	if err != nil {
		return res, err
	}
	if tok == nil { // "items": null
		return res, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return res, fmt.Errorf("/items: must be an array, not %s", tokenKind(tok))
	}
	res.Events = make([]*event.Event, 0, 64)
	for i := 0; dec.More(); i++ {
		start := dec.InputOffset()
		var ke *kubeEvent
		err := dec.Decode(&ke)
		errs := itemErrors{item: i}
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			errs.add(fieldPointer(te.Field), typeMessage(te))
		case err != nil:
			return res, err
		case ke == nil:
			errs.add("", "must be an object (an audit.k8s.io/v1 Event), not null")
		default:
			ev := mapKubeItem(ke, int(dec.InputOffset()-start), opts, &errs)
			if len(errs.errs) == 0 {
				res.Events = append(res.Events, ev)
				res.Items = append(res.Items, i)
			}
		}
		if len(errs.errs) > 0 {
			if res.Raw == nil {
				res.Raw = make(map[int][]byte)
			}
			raw := bytes.TrimLeft(body[start:dec.InputOffset()], ", \t\r\n")
			res.Raw[i] = bytes.Clone(raw)
		}
		res.Errors = append(res.Errors, errs.errs...)
	}
	_, err = dec.Token() // ']'
	return res, err
}

// itemErrors collects the problems of one item.
type itemErrors struct {
	item int
	errs []ItemError
}

// add records a problem at path, a JSON Pointer relative to the item.
func (e *itemErrors) add(path, msg string) {
	e.errs = append(e.errs, ItemError{Item: e.item, Path: "/items/" + strconv.Itoa(e.item) + path, Message: msg})
}

// mapKubeItem maps one item, rawLen bytes of JSON, to a valid event, or
// adds to errs why it cannot.
func mapKubeItem(ke *kubeEvent, rawLen int, opts *KubernetesOptions, errs *itemErrors) *event.Event {
	if ke.AuditID == "" {
		errs.add("/auditID", "is required")
	}
	switch ke.Stage {
	case stageRequestReceived, stageResponseStarted, stageResponseComplete, stagePanic:
	case "":
		errs.add("/stage", "is required")
	default:
		errs.add("/stage", fmt.Sprintf("is %q, want RequestReceived, ResponseStarted, ResponseComplete or Panic", ke.Stage))
	}
	if ke.Verb == "" {
		errs.add("/verb", "is required")
	}
	if ke.User.Username == "" {
		errs.add("/user/username", "is required")
	}
	t := kubeTime(ke, errs)
	if len(errs.errs) > 0 {
		return nil
	}

	ev := &event.Event{
		ID:      kubeID(ke.AuditID, ke.Stage),
		Time:    t,
		Type:    kubeType(ke.Verb, ke.ObjectRef),
		Outcome: kubeOutcome(ke.Stage, ke.ResponseStatus, ke.Annotations),
		Actor: event.Actor{
			ID:        ke.User.Username,
			Type:      actorType(ke.User.Username),
			UserAgent: truncate(ke.UserAgent, maxAgentLen),
		},
		Resource: kubeResource(ke.ObjectRef),
		Source:   opts.Source,
		Data:     kubeData(ke),
	}
	if len(ke.SourceIPs) > 0 {
		if _, err := netip.ParseAddr(ke.SourceIPs[0]); err == nil {
			ev.Actor.IP = ke.SourceIPs[0]
		}
	}
	if ke.ResponseStatus != nil {
		ev.Message = truncate(ke.ResponseStatus.Message, maxMessageLen)
	}

	// The bodies are decoded only now, so that an item reduced for its
	// size has its other fields mapped all the same.
	truncated := false
	for _, o := range []struct {
		key string
		raw json.RawMessage
	}{{"requestObject", ke.RequestObject}, {"responseObject", ke.ResponseObject}} {
		if len(o.raw) == 0 || string(o.raw) == "null" {
			continue
		}
		// A body that is not strict JSON (encoding/json lets duplicate
		// keys and lone surrogates through) or that nests too deeply
		// cannot go into an entry; it is dropped like an oversized one.
		v, err := event.ParseData(o.raw, event.Limits{MaxBytes: len(o.raw), MaxDepth: objectMaxDepth})
		if err != nil {
			truncated = true
			continue
		}
		ev.Data[o.key] = v
	}
	if truncated {
		ev.Data["truncated"] = true
	}
	if err := fitKubeEvent(ev, rawLen, opts.MaxEventBytes); err != nil {
		errs.add("", err.Error())
		return nil
	}

	if err := ev.Validate(false); err != nil {
		var ve *event.ValidationError
		if !errors.As(err, &ve) {
			errs.add("", err.Error())
			return nil
		}
		for _, fe := range ve.Errors {
			errs.add(kubePath(fe.Path), fmt.Sprintf("%s (event field %s)", fe.Message, fe.Path))
		}
		return nil
	}
	return ev
}

// fitKubeEvent drops the request and response objects of ev if its
// canonical JSON is longer than max bytes, and fails if it still is.
// rawLen, the length of the item's JSON, spares the encoding of most
// items: a mapped event repeats some of the item's strings (the resource
// three times) and can write a number in more digits ("1e20" in 21), but
// stays under eight times the item's length plus the event's own keys.
func fitKubeEvent(ev *event.Event, rawLen, max int) error {
	if rawLen*8+1024 <= max {
		return nil
	}
	b, err := ev.CanonicalJSON()
	if err != nil {
		return nil // a value an entry cannot hold: Validate reports it with its path
	}
	if len(b) <= max {
		return nil
	}
	_, req := ev.Data["requestObject"]
	_, resp := ev.Data["responseObject"]
	if !req && !resp {
		return fmt.Errorf("the event is %d bytes, more than the limit of %d", len(b), max)
	}
	delete(ev.Data, "requestObject")
	delete(ev.Data, "responseObject")
	ev.Data["truncated"] = true
	if b, err = ev.CanonicalJSON(); err != nil {
		return err
	}
	if len(b) > max {
		return fmt.Errorf("the event is %d bytes even without requestObject and responseObject, more than the limit of %d", len(b), max)
	}
	return nil
}

// kubePaths maps the event fields that come from one item field to it.
var kubePaths = map[string]string{
	"/id":               "/auditID",
	"/time":             "/stageTimestamp",
	"/type":             "/verb",
	"/actor/id":         "/user/username",
	"/actor/type":       "/user/username",
	"/actor/ip":         "/sourceIPs/0",
	"/actor/user_agent": "/userAgent",
	"/resource/type":    "/objectRef/resource",
	"/resource/id":      "/objectRef/name",
	"/message":          "/responseStatus/message",
}

// kubePath returns the JSON Pointer, within an item, of the field that
// the event field at path came from ("" for the whole item).
func kubePath(path string) string {
	if p, ok := kubePaths[path]; ok {
		return p
	}
	if rest, ok := strings.CutPrefix(path, "/data/"); ok {
		return "/" + rest // data members keep the item's names
	}
	return ""
}

// fieldPointer turns encoding/json's dotted struct field path (whose
// names never contain dots) into a JSON Pointer.
func fieldPointer(field string) string {
	if field == "" {
		return ""
	}
	return "/" + strings.ReplaceAll(field, ".", "/")
}

// typeMessage describes an error decoding a value of the wrong type.
func typeMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("must be %s, not %s", goKind(te.Type), te.Value)
	}
	return err.Error()
}

// tokenKind names the JSON value that starts with tok.
func tokenKind(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		return jsonKind(byte(tok))
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	}
	return "null"
}

// goKind names the JSON type that decodes into t.
func goKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		return "an integer that fits in " + t.Kind().String()
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return goKind(t.Elem())
	}
	return "a " + t.Kind().String()
}

// firstByte returns the first byte of b after white space, or 0.
func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// jsonKind names the JSON value that starts with byte c.
func jsonKind(c byte) string {
	switch {
	case c == 0:
		return "empty input"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return "JSON"
}
