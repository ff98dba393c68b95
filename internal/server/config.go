package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/capture"
)

// maxConfigBody bounds a submitted schema or policy.
const maxConfigBody = capture.MaxSourceBytes + 1

type schemaInfo struct {
	Type    string          `json:"type"`
	Version int             `json:"version"`
	Ref     string          `json:"ref"`
	Hash    string          `json:"hash"`
	Source  json.RawMessage `json:"source,omitempty"` // the schema itself, canonical JSON
}

type schemasResponse struct {
	Log     string             `json:"log"`
	Schemas []schemaInfo       `json:"schemas"`
	Pending []capture.Proposal `json:"pending"`
	History []capture.Change   `json:"history,omitempty"`
}

type policyResponse struct {
	Log      string             `json:"log"`
	Active   *activePolicy      `json:"active"` // null: no policy, everything captured in full
	Settings any                `json:"settings"`
	Pending  []capture.Proposal `json:"pending"`
}

type activePolicy struct {
	Hash   string   `json:"hash"`
	Index  uint64   `json:"index"`
	Rules  []string `json:"rules"`
	Source string   `json:"source"`
}

// configLog authorizes a configuration request and returns its log and
// the caller's configuration identity.
func (s *Server) configLog(r *http.Request, need apikey.Role) (string, capture.Actor, error) {
	if s.cfg.Capture == nil {
		return "", capture.Actor{}, notFound("capture configuration is not enabled on this server")
	}
	log, err := s.targetLog(r, need)
	if err != nil {
		return "", capture.Actor{}, err
	}
	p, err := s.principal(r)
	if err != nil {
		return "", capture.Actor{}, err
	}
	return log, capture.Actor{ID: p.KeyID, Type: "api_key"}, nil
}

// readConfig authorizes a reader of the configuration and returns its
// log and the configuration in force there.
func (s *Server) readConfig(r *http.Request) (string, *capture.State, error) {
	log, _, err := s.configLog(r, apikey.Reader)
	if err != nil {
		return "", nil, err
	}
	st, err := s.captureState(r.Context(), log)
	return log, st, err
}

func pending(st *capture.State, kind string) []capture.Proposal {
	out := []capture.Proposal{}
	for _, p := range st.Pending {
		if kind == "" || p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// getSchemas lists the registered schemas (newest version of each type).
func (s *Server) getSchemas(w http.ResponseWriter, r *http.Request) error {
	log, st, err := s.readConfig(r)
	if err != nil {
		return err
	}
	res := schemasResponse{Log: log, Schemas: []schemaInfo{}, Pending: pending(st, capture.KindSchema)}
	for _, t := range st.Schemas.Types() {
		sc := st.Schemas.Latest(t)
		res.Schemas = append(res.Schemas, schemaInfo{Type: t, Version: sc.Version, Ref: sc.Ref(), Hash: sc.Hash})
	}
	return writeJSON(w, http.StatusOK, res)
}

// getSchema shows every version of one type's schema, with the changes
// that made them.
func (s *Server) getSchema(w http.ResponseWriter, r *http.Request) error {
	log, st, err := s.readConfig(r)
	if err != nil {
		return err
	}
	t := r.PathValue("type")
	res := schemasResponse{Log: log, Schemas: []schemaInfo{}, Pending: []capture.Proposal{}}
	for _, sc := range st.Schemas.Versions(t) {
		res.Schemas = append(res.Schemas, schemaInfo{Type: t, Version: sc.Version, Ref: sc.Ref(), Hash: sc.Hash, Source: sc.Source})
	}
	for _, p := range pending(st, capture.KindSchema) {
		if p.EventType == t {
			res.Pending = append(res.Pending, p)
		}
	}
	for _, c := range st.History {
		if c.EventType == t {
			res.History = append(res.History, c)
		}
	}
	if len(res.Schemas) == 0 && len(res.Pending) == 0 && len(res.History) == 0 {
		return notFound("no schema is registered for %q in log %q", t, log)
	}
	return writeJSON(w, http.StatusOK, res)
}

// putSchema registers the body as the next version of a type's schema.
func (s *Server) putSchema(w http.ResponseWriter, r *http.Request) error {
	log, by, err := s.configLog(r, apikey.Admin)
	if err != nil {
		return err
	}
	body, err := readBody(r, maxConfigBody)
	if err != nil {
		return err
	}
	o, err := s.cfg.Capture.PutSchema(r.Context(), by, log, r.PathValue("type"), body)
	if err != nil {
		return err
	}
	return writeJSON(w, outcomeStatus(o), o)
}

// getPolicy shows the policy in force and the pending proposals.
func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) error {
	log, st, err := s.readConfig(r)
	if err != nil {
		return err
	}
	res := policyResponse{Log: log, Settings: st.Settings(), Pending: pending(st, capture.KindPolicy)}
	if st.Policy != nil {
		res.Active = &activePolicy{Hash: st.Policy.Hash(), Index: st.PolicyIndex, Rules: st.Policy.RuleNames(), Source: string(st.Policy.Source())}
	}
	return writeJSON(w, http.StatusOK, res)
}

// getConfigHistory lists every configuration entry of the log.
func (s *Server) getConfigHistory(w http.ResponseWriter, r *http.Request) error {
	log, st, err := s.readConfig(r)
	if err != nil {
		return err
	}
	h := st.History
	if h == nil {
		h = []capture.Change{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"log": log, "history": h})
}

// putPolicy activates the body (YAML) as the log's capture policy, or
// with dry_run=N compares it with the active one on the last N entries.
func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) error {
	log, by, err := s.configLog(r, apikey.Admin)
	if err != nil {
		return err
	}
	body, err := readBody(r, maxConfigBody)
	if err != nil {
		return err
	}
	if v := r.URL.Query().Get("dry_run"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return badRequest("dry_run must be the number of recent entries to replay, 1 to 1000000")
		}
		rep, err := s.cfg.Capture.DryRun(r.Context(), log, body, n)
		if err != nil {
			return &capture.RefusedError{Kind: capture.KindPolicy, Err: err}
		}
		return writeJSON(w, http.StatusOK, rep)
	}
	o, err := s.cfg.Capture.ApplyPolicy(r.Context(), by, log, body)
	if err != nil {
		return err
	}
	return writeJSON(w, outcomeStatus(o), o)
}

// approve approves a pending proposal as a second admin.
func (s *Server) approve(w http.ResponseWriter, r *http.Request) error {
	log, by, err := s.configLog(r, apikey.Admin)
	if err != nil {
		return err
	}
	o, err := s.cfg.Capture.Approve(r.Context(), by, log, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

func outcomeStatus(o capture.Outcome) int {
	switch o.Status {
	case "active":
		return http.StatusCreated
	case "proposed":
		return http.StatusAccepted
	}
	return http.StatusOK
}

type rulesResponse struct {
	Log     string             `json:"log"`
	Active  *activeRules       `json:"active"` // null: the default detectors
	Pending []capture.Proposal `json:"pending"`
}

type activeRules struct {
	Hash   string `json:"hash"`
	Index  uint64 `json:"index"`
	Source string `json:"source"`
}

// getRules shows the analysis configuration in force (detectors and user
// rules) and the pending proposals.
func (s *Server) getRules(w http.ResponseWriter, r *http.Request) error {
	log, st, err := s.readConfig(r)
	if err != nil {
		return err
	}
	res := rulesResponse{Log: log, Pending: pending(st, capture.KindRules)}
	if st.AnalysisSource != nil {
		res.Active = &activeRules{Hash: st.AnalysisHash(), Index: st.AnalysisIndex, Source: string(st.AnalysisSource)}
	}
	return writeJSON(w, http.StatusOK, res)
}

// putRules activates the body (YAML) as the log's analysis configuration.
func (s *Server) putRules(w http.ResponseWriter, r *http.Request) error {
	log, by, err := s.configLog(r, apikey.Admin)
	if err != nil {
		return err
	}
	body, err := readBody(r, maxConfigBody)
	if err != nil {
		return err
	}
	o, err := s.cfg.Capture.ApplyRules(r.Context(), by, log, body)
	if err != nil {
		return err
	}
	return writeJSON(w, outcomeStatus(o), o)
}
