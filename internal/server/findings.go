package server

import (
	"context"
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

// getFinding returns one finding by id.
func (s *Server) getFinding(w http.ResponseWriter, r *http.Request) error {
	log, err := s.targetLog(r, apikey.Auditor)
	if err != nil {
		return err
	}
	lk, ok := s.cfg.Entries.(IDLookup)
	if !ok {
		return notFound("this server cannot look findings up by id")
	}
	id := r.PathValue("id")
	found, err := lk.LookupIDs(r.Context(), log, []string{id})
	if err != nil {
		return err
	}
	i, ok := found[id]
	if !ok {
		return notFound("no finding %q in log %q", id, log)
	}
	es, err := s.cfg.Entries.ReadEntries(r.Context(), log, i, i+1)
	if err != nil || len(es) != 1 {
		return fmt.Errorf("reading entry %d of log %q: %v", i, log, err)
	}
	e, err := event.ParseEntry(es[0].Body)
	if err != nil {
		return err
	}
	f, ok := findings.FromEntry(i, e)
	if !ok {
		return notFound("entry %q of log %q is not a finding", id, log)
	}
	return writeJSON(w, http.StatusOK, f)
}
