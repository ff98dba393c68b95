package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/ingest"
)

// eventResult is the answer for one ingested event.
type eventResult struct {
	ID        string `json:"id"`
	Index     uint64 `json:"index"`
	LeafHash  []byte `json:"leaf_hash"` // base64
	Duplicate bool   `json:"duplicate,omitempty"`
}

type eventsResponse struct {
	Results    []eventResult `json:"results"`
	Checkpoint string        `json:"checkpoint"`
}

type kubernetesResponse struct {
	Results    int    `json:"results"`
	Checkpoint string `json:"checkpoint"`
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
	res, cp, err := s.commit(r, log, evs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, eventsResponse{Results: res, Checkpoint: string(cp)})
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
	// The policy for items that cannot be mapped lives here: the adapter
	// reports them and leaves the choice to the server. For now a batch
	// with any bad item is refused whole (422, every item listed), so that
	// nothing is committed that an operator has not seen; the API server
	// logs the refusal. Committing the good events and quarantining the
	// bad items would replace this branch.
	if len(res.Errors) > 0 {
		return kubernetesItemsError(res.Errors)
	}
	if len(res.Events) == 0 {
		return event.ErrEmptyBatch
	}
	if len(res.Events) > s.cfg.Limits.MaxBatchEvents {
		return s.tooManyEvents()
	}
	results, cp, err := s.commit(r, log, res.Events)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, kubernetesResponse{Results: len(results), Checkpoint: string(cp)})
}

// commit seals evs for log and appends them with one Append. It returns
// once they are durable.
func (s *Server) commit(r *http.Request, log string, evs []*event.Event) ([]eventResult, []byte, error) {
	entries := make([]*event.Entry, len(evs))
	first := make(map[string]int, len(evs))
	var reused event.BatchError
	for i, ev := range evs {
		e, err := s.cfg.Sealer.Seal(log, ev)
		if err != nil {
			return nil, nil, fmt.Errorf("sealing event %d: %w", i, err)
		}
		entries[i] = e
		// The ledger refuses a batch that repeats an id with other
		// content; say which items do.
		if j, ok := first[e.ID]; ok {
			if !bytes.Equal(entries[j].Digest, e.Digest) {
				reused.Items = append(reused.Items, event.ItemError{Item: i, Errors: []event.FieldError{{
					Path: "/id", Message: fmt.Sprintf("repeats the id of item %d with other content", j),
				}}})
			}
			continue
		}
		first[e.ID] = i
	}
	if len(reused.Items) > 0 {
		return nil, nil, &reused
	}
	start := s.cfg.Clock()
	ap, err := s.cfg.Ledger.Append(r.Context(), log, entries)
	s.m.commit.Observe(s.cfg.Clock().Sub(start).Seconds())
	if err != nil {
		return nil, nil, fmt.Errorf("appending %d events to log %q: %w", len(entries), log, err)
	}
	s.m.committed(log, len(entries), ap.Size)
	out := make([]eventResult, len(ap.Results))
	for i, res := range ap.Results {
		out[i] = eventResult{ID: res.ID, Index: res.Index, LeafHash: res.LeafHash[:], Duplicate: res.Duplicate}
	}
	return out, ap.Checkpoint, nil
}
