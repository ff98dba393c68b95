package server

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/capture"
	"github.com/a24ba333/indelible/internal/ingest"
)

// eventResult is the answer for one ingested event.
type eventResult struct {
	ID        string `json:"id"`
	Index     uint64 `json:"index"`
	LeafHash  []byte `json:"leaf_hash"` // base64
	Duplicate bool   `json:"duplicate,omitempty"`
	// Captured is false for an event that the capture policy dropped
	// (level none, Rule names the rule) or that went to the quarantine
	// log (Quarantined, at QuarantineIndex).
	Captured        *bool   `json:"captured,omitempty"`
	Rule            string  `json:"rule,omitempty"`
	Quarantined     bool    `json:"quarantined,omitempty"`
	QuarantineIndex *uint64 `json:"quarantine_index,omitempty"`
}

// appendJSON appends r as JSON; an event that was not captured has no
// index and no leaf hash. An ingest answer holds a result per event:
// written by hand, 500 of them cost a fraction of what encoding/json
// spends on them.
func (r eventResult) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.ID)
	captured := r.Captured == nil || *r.Captured
	if captured {
		b = append(b, `,"index":`...)
		b = strconv.AppendUint(b, r.Index, 10)
		b = append(b, `,"leaf_hash":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.LeafHash)
		b = append(b, '"')
		if r.Duplicate {
			b = append(b, `,"duplicate":true`...)
		}
	}
	if r.Captured != nil {
		b = strconv.AppendBool(append(b, `,"captured":`...), *r.Captured)
	}
	if r.Rule != "" {
		b = appendJSONString(append(b, `,"rule":`...), r.Rule)
	}
	if r.Quarantined {
		b = append(b, `,"quarantined":true`...)
	}
	if r.QuarantineIndex != nil {
		b = strconv.AppendUint(append(b, `,"quarantine_index":`...), *r.QuarantineIndex, 10)
	}
	return append(b, '}')
}

type eventsResponse struct {
	Results    []eventResult `json:"results"`
	Checkpoint string        `json:"checkpoint"`
}

// appendJSON appends the answer as encoding/json would give it.
func (r eventsResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"results":[`...)
	for i, res := range r.Results {
		if i > 0 {
			b = append(b, ',')
		}
		b = res.appendJSON(b)
	}
	b = append(b, `],"checkpoint":`...)
	b = appendJSONString(b, r.Checkpoint)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	if out, err := event.AppendCanonical(b, s); err == nil {
		return out
	}
	q, _ := json.Marshal(s) // invalid UTF-8 becomes U+FFFD; a string always encodes
	return append(b, q...)
}

type kubernetesResponse struct {
	Results     int    `json:"results"`
	Quarantined int    `json:"quarantined,omitempty"`
	Checkpoint  string `json:"checkpoint"`
}

// acquire takes an ingest slot, or fails with errOverloaded at once.
func (s *Server) acquire() (release func(), err error) {
	select {
	case s.inflight <- struct{}{}:
		return func() { <-s.inflight }, nil
	default:
		return nil, errOverloaded
	}
}

// postEvents ingests one event, a JSON array of events, or NDJSON
// (Content-Type application/x-ndjson).
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) error {
	log, err := s.targetLog(r, apikey.Writer)
	if err != nil {
		return err
	}
	release, err := s.acquire()
	if err != nil {
		return err
	}
	defer release()
	var evs []*event.Event
	if isNDJSON(r.Header.Get("Content-Type")) {
		evs, err = s.readNDJSON(r.Body)
	} else {
		evs, err = s.readJSON(r)
	}
	if err != nil {
		return err
	}
	res, cp, err := s.commit(r, log, capture.SourceAPI, evs, nil, nil)
	if err != nil {
		return err
	}
	resp := eventsResponse{Results: res, Checkpoint: string(cp)}
	return writeJSONBytes(w, http.StatusOK, resp.appendJSON(make([]byte, 0, 128+100*len(res)+len(cp))))
}

func isNDJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-ndjson"
}

// readBody reads the whole body of r, which http.MaxBytesHandler bounds
// to max bytes.
func readBody(r *http.Request, max int64) ([]byte, error) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= max {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	return buf.Bytes(), nil
}

// readJSON parses a body holding one event or a JSON array of events.
func (s *Server) readJSON(r *http.Request) ([]*event.Event, error) {
	body, err := readBody(r, s.cfg.Limits.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	evs, err := event.ParseBatch(body, s.lim)
	if err != nil {
		return nil, s.parseError(err, isArray(body))
	}
	if len(evs) > s.cfg.Limits.MaxBatchEvents {
		return nil, s.tooManyEvents()
	}
	return evs, nil
}

// readNDJSON parses newline-delimited events.
func (s *Server) readNDJSON(body io.Reader) ([]*event.Event, error) {
	var evs []*event.Event
	err := event.ReadNDJSON(body, s.lim, func(_ int, ev *event.Event) error {
		if len(evs) == s.cfg.Limits.MaxBatchEvents {
			return s.tooManyEvents()
		}
		evs = append(evs, ev)
		return nil
	})
	if err != nil {
		return nil, s.parseError(err, false)
	}
	return evs, nil
}

func (s *Server) tooManyEvents() error {
	return &tooLargeError{fmt.Errorf("the request holds more than %d events", s.cfg.Limits.MaxBatchEvents)}
}

func isArray(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '['
}

// parseError marks the parse errors of events longer than the limit as
// such (413), and places a syntax error inside an array in its item.
func (s *Server) parseError(err error, array bool) error {
	max := s.lim.MaxBytes
	var (
		se *event.SyntaxError
		be *event.BatchError
	)
	switch {
	case errors.As(err, &se):
		if se.Msg == fmt.Sprintf("input is longer than %d bytes", max) {
			return &tooLargeError{err}
		}
		if array {
			if item, rest, ok := splitItem(se.Path); ok {
				return &itemSyntaxError{Item: item, Path: rest, Err: se}
			}
		}
	case errors.As(err, &be):
		// The event package reports these as item messages: an event
		// longer than the limit is refused as a whole, not validated.
		long := []string{
			fmt.Sprintf("event is longer than %d bytes", max),
			fmt.Sprintf("line is longer than %d bytes", max),
		}
		for _, it := range be.Items {
			for _, fe := range it.Errors {
				if fe.Path == "" && (fe.Message == long[0] || fe.Message == long[1]) {
					return &tooLargeError{err}
				}
			}
		}
	}
	return err
}

// splitItem splits "/3/actor/id" into 3 and "/actor/id".
func splitItem(path string) (int, string, bool) {
	p, ok := strings.CutPrefix(path, "/")
	if !ok {
		return 0, "", false
	}
	tok, rest, _ := strings.Cut(p, "/")
	n, err := strconv.Atoi(tok)
	if err != nil || n < 0 || tok != strconv.Itoa(n) {
		return 0, "", false
	}
	if rest != "" {
		rest = "/" + rest
	}
	return n, rest, true
}

// postKubernetes ingests a Kubernetes audit webhook batch (an
// audit.k8s.io/v1 EventList).
func (s *Server) postKubernetes(w http.ResponseWriter, r *http.Request) error {
	log, err := s.targetLog(r, apikey.Writer)
	if err != nil {
		return err
	}
	release, err := s.acquire()
	if err != nil {
		return err
	}
	defer release()
	body, err := readBody(r, s.cfg.Limits.MaxBodyBytes)
	if err != nil {
		return err
	}
	res, err := ingest.DecodeKubernetes(body, ingest.KubernetesOptions{})
	if err != nil {
		return badRequest("%v", err)
	}
	// Items that cannot be mapped are refused (422, every item listed)
	// or quarantined, as the log's policy says for this source: the API
	// server cannot fix and resend them, so quarantine is the default.
	var pre []quarantined
	if len(res.Errors) > 0 {
		st, err := s.captureState(r.Context(), log)
		if err != nil {
			return err
		}
		if st.Settings().InvalidAction(capture.SourceKubernetes) != capture.ActionQuarantine {
			return kubernetesItemsError(res.Errors)
		}
		byItem := map[int][]event.FieldError{}
		var order []int
		for _, ie := range res.Errors {
			if _, ok := byItem[ie.Item]; !ok {
				order = append(order, ie.Item)
			}
			byItem[ie.Item] = append(byItem[ie.Item], event.FieldError{Path: ie.Path, Message: ie.Message})
		}
		for _, it := range order {
			pre = append(pre, quarantined{item: it, raw: res.Raw[it], errors: byItem[it]})
		}
	}
	if len(res.Events)+len(pre) == 0 {
		return event.ErrEmptyBatch
	}
	if len(res.Events) > s.cfg.Limits.MaxBatchEvents {
		return s.tooManyEvents()
	}
	results, cp, err := s.commit(r, log, capture.SourceKubernetes, res.Events, res.Items, pre)
	if err != nil {
		return err
	}
	n, q := 0, 0
	for _, res := range results {
		switch {
		case res.Quarantined:
			q++
		case res.Captured == nil:
			n++
		}
	}
	return writeJSON(w, http.StatusOK, kubernetesResponse{Results: n, Quarantined: q, Checkpoint: string(cp)})
}

// commit captures evs for log as its configuration says (schemas,
// policy), quarantines the invalid ones if the configuration wants that
// for source (along with pre, items that could not even be decoded),
// seals the rest and appends them with one Append. It returns once they
// are durable. items[i] is the request item of evs[i] (nil: i itself),
// for error messages.
func (s *Server) commit(r *http.Request, log, source string, evs []*event.Event, items []int, pre []quarantined) ([]eventResult, []byte, error) {
	ctx := r.Context()
	if strings.HasSuffix(log, QuarantineSuffix) {
		return nil, nil, badRequest("log %q is a quarantine log, written only by Indelible", log)
	}
	st, err := s.captureState(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	item := func(i int) int {
		if items != nil {
			return items[i]
		}
		return i
	}
	var (
		entries  []*event.Entry
		at       = make([]int, len(evs)) // position of evs[i] in entries, or -1
		out      = make([]eventResult, len(evs))
		first    = make(map[string]int, len(evs))
		invalid  event.BatchError
		reused   event.BatchError
		quar     = pre
		quarAt   = make(map[int]int) // evs index -> position in quar
		fallback error
		fbIDs    []string
		fbCount  int
	)
	for i, ev := range evs {
		at[i] = -1
		c := st.Capture(ev, source, rand.Reader)
		switch {
		case c.Invalid != nil && c.Action == capture.ActionQuarantine:
			quarAt[i] = len(quar)
			quar = append(quar, quarantined{item: item(i), ev: ev, errors: c.Invalid})
			continue
		case c.Invalid != nil:
			invalid.Items = append(invalid.Items, event.ItemError{Item: item(i), Errors: c.Invalid})
			continue
		case c.Dropped:
			no := false
			out[i] = eventResult{ID: ev.ID, Captured: &no, Rule: c.Capture.Rule}
			s.m.dropped.WithLabelValues(log, c.Capture.Rule).Inc()
			continue
		case c.Fallback != nil:
			fallback = c.Fallback
			fbCount++
		}
		e, err := s.cfg.Sealer.SealCaptured(log, ev, c.Event, c.Capture)
		if err != nil {
			return nil, nil, fmt.Errorf("sealing event %d: %w", item(i), err)
		}
		if c.Fallback != nil && len(fbIDs) < 20 {
			fbIDs = append(fbIDs, e.ID)
		}
		// The ledger refuses a batch that repeats an id with other
		// content; say which items do.
		if j, ok := first[e.ID]; ok {
			if !bytes.Equal(entries[at[j]].Digest, e.Digest) {
				reused.Items = append(reused.Items, event.ItemError{Item: item(i), Errors: []event.FieldError{{
					Path: "/id", Message: fmt.Sprintf("repeats the id of item %d with other content", item(j)),
				}}})
			}
			at[i] = at[j]
			continue
		}
		first[e.ID] = i
		at[i] = len(entries)
		entries = append(entries, e)
	}
	if len(invalid.Items) > 0 {
		invalid.Items = append(invalid.Items, reused.Items...)
		return nil, nil, &invalid
	}
	if len(reused.Items) > 0 {
		return nil, nil, &reused
	}
	if len(quar) > 0 {
		idx, err := s.quarantine(ctx, log, source, quar)
		if err != nil {
			return nil, nil, err
		}
		no := false
		for i, q := range quarAt {
			qi := idx[q]
			out[i] = eventResult{ID: evs[i].ID, Captured: &no, Quarantined: true, QuarantineIndex: &qi}
		}
		for q := range pre {
			qi := idx[q]
			out = append(out, eventResult{Captured: &no, Quarantined: true, QuarantineIndex: &qi})
		}
	}
	var cp []byte
	if len(entries) > 0 {
		start := s.cfg.Clock()
		ap, err := s.cfg.Ledger.Append(ctx, log, entries)
		s.m.commit.Observe(s.cfg.Clock().Sub(start).Seconds())
		if err != nil {
			return nil, nil, fmt.Errorf("appending %d events to log %q: %w", len(entries), log, err)
		}
		s.m.committed(log, len(entries), ap.Size)
		for i := range evs {
			if at[i] < 0 {
				continue
			}
			res := ap.Results[at[i]]
			out[i] = eventResult{ID: res.ID, Index: res.Index, LeafHash: res.LeafHash[:], Duplicate: res.Duplicate}
		}
		cp = ap.Checkpoint
	} else {
		head, err := s.cfg.Ledger.Head(ctx, log)
		if err != nil {
			return nil, nil, err
		}
		cp = head.Note
	}
	if fallback != nil {
		s.m.fallbacks.WithLabelValues(log).Add(float64(fbCount))
		if s.cfg.Capture != nil {
			// The events are durable; a failure to record the fallback
			// is logged, never turned into a failed request.
			if err := s.cfg.Capture.RecordFallback(ctx, log, st.PolicyHash(), fallback, fbCount, fbIDs); err != nil {
				s.cfg.Logger.ErrorContext(ctx, "recording a policy fallback", "log", log, "err", err)
			}
		}
	}
	return out, cp, nil
}
