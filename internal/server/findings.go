package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/findings"
)

// findingsParams are the query parameters of GET /v1/findings.
var findingsParams = []string{"log", "status", "rule", "severity", "since", "limit", "cursor"}

type findingsPage struct {
	Findings   []findings.Finding `json:"findings"`
	NextCursor string             `json:"next_cursor,omitempty"`
	// Watermark is the number of entries of the log that the answer
	// reflects: findings recorded at or above it are not listed yet.
	Watermark uint64 `json:"watermark"`
}

// getFindings lists the findings of a log, newest first, read from the
// log's indelible.finding.opened entries through the query index.
func (s *Server) getFindings(w http.ResponseWriter, r *http.Request) error {
	log, err := s.targetLog(r, apikey.Auditor)
	if err != nil {
		return err
	}
	if s.cfg.Index == nil {
		return errIndexDisabled
	}
	params, err := singleParams(r.URL.Query(), findingsParams)
	if err != nil {
		return err
	}
	f := findings.Filter{Status: params["status"], Rule: params["rule"], Severity: params["severity"], Limit: defaultQueryLimit}
	if v := params["since"]; v != "" {
		if f.Since, err = parseTimeBound(v, s.cfg.Clock()); err != nil {
			return badRequest("the parameter since: %v", err)
		}
	}
	if v := params["limit"]; v != "" {
		n, ok := decimal(v)
		if !ok || n == 0 || n > maxQueryLimit {
			return badRequest("the parameter limit must be a number from 1 to %d, not %q", maxQueryLimit, v)
		}
		f.Limit = int(n)
	}
	if v := params["cursor"]; v != "" {
		n, ok := decimal(v)
		if !ok || n == 0 {
			return badRequest("the parameter cursor %q is not a cursor of this API: pass next_cursor as it came", v)
		}
		f.Before = n
	}
	list, next, wm, err := findings.List(r.Context(), s.cfg.Index, s.cfg.Entries, log, f)
	if err != nil {
		return err
	}
	page := findingsPage{Findings: list, Watermark: wm}
	if next != 0 {
		page.NextCursor = strconv.FormatUint(next, 10)
	}
	return writeJSON(w, http.StatusOK, page)
}

// IDLookup finds entries by id (store.Store).
type IDLookup interface {
	LookupIDs(ctx context.Context, log string, ids []string) (map[string]uint64, error)
}

// finding reads one finding of log by id, with its history.
func (s *Server) finding(ctx context.Context, log, id string) (findings.Finding, error) {
	lk, ok := s.cfg.Entries.(IDLookup)
	if !ok || s.cfg.Index == nil {
		return findings.Finding{}, notFound("this server cannot look findings up by id")
	}
	found, err := lk.LookupIDs(ctx, log, []string{id})
	if err != nil {
		return findings.Finding{}, err
	}
	i, ok := found[id]
	if !ok {
		return findings.Finding{}, notFound("no finding %q in log %q", id, log)
	}
	es, err := s.cfg.Entries.ReadEntries(ctx, log, i, i+1)
	if err != nil || len(es) != 1 {
		return findings.Finding{}, fmt.Errorf("reading entry %d of log %q: %v", i, log, err)
	}
	e, err := event.DecodeEntry(es[0].Body)
	if err != nil {
		return findings.Finding{}, err
	}
	f, ok := findings.FromEntry(i, e)
	if !ok {
		return findings.Finding{}, notFound("entry %q of log %q is not a finding", id, log)
	}
	if err := findings.Fold(ctx, s.cfg.Index, s.cfg.Entries, &f); err != nil {
		return findings.Finding{}, err
	}
	return f, nil
}

// getFinding returns one finding by id.
func (s *Server) getFinding(w http.ResponseWriter, r *http.Request) error {
	log, err := s.targetLog(r, apikey.Auditor)
	if err != nil {
		return err
	}
	f, err := s.finding(r.Context(), log, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}

// postFindingAction acknowledges, resolves, dismisses or reopens a
// finding: the transition is an entry of the log. The finding's history
// is read through the query index, which first catches up with the log.
func (s *Server) postFindingAction(w http.ResponseWriter, r *http.Request) error {
	log, err := s.targetLog(r, apikey.Auditor)
	if err != nil {
		return err
	}
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var req findings.Request
	if body, err := readBody(r, maxSmallBody); err != nil {
		return err
	} else if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return badRequest("the body must be a JSON object with note, action_taken, reason, links, suppress_until: %v", err)
		}
	}
	req.Action = r.PathValue("action")
	if s.cfg.Follower != nil {
		// Read your writes: earlier transitions must be in the index.
		head, err := s.cfg.Ledger.Head(r.Context(), log)
		if err != nil {
			return err
		}
		if head.Size > 0 {
			if err := s.waitIndex(r.Context(), log, head.Size-1); err != nil {
				return err
			}
		}
	}
	f, err := s.finding(r.Context(), log, r.PathValue("id"))
	if err != nil {
		return err
	}
	ev, err := findings.Transition(f, req, p.KeyID, s.cfg.Clock())
	if errors.Is(err, findings.ErrTransition) {
		return &conflictStateError{err.Error()}
	}
	if err != nil {
		return badRequest("%v", err)
	}
	e, err := s.cfg.Sealer.Seal(log, ev)
	if err != nil {
		return err
	}
	ap, err := s.cfg.Ledger.Append(r.Context(), log, []*event.Entry{e})
	if err != nil {
		return err
	}
	c, _ := findings.ChangeFromEntry(ap.Results[0].Index, mustDecode(e))
	f.Apply(c)
	return writeJSON(w, http.StatusOK, f)
}

// mustDecode returns e as readers of the log see it, or e itself if it
// does not encode (it was just appended, so it does).
func mustDecode(e *event.Entry) *event.Entry {
	if d, err := e.Decoded(); err == nil {
		return d
	}
	return e
}

// conflictStateError is a request that the resource's state does not
// allow (409).
type conflictStateError struct{ msg string }

func (e *conflictStateError) Error() string { return e.msg }
