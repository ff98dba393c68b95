package server

import (
	"net/http"
	"strings"

	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/ledger"
)

// principal authenticates the caller by the bearer token of r.
func (s *Server) principal(r *http.Request) (apikey.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return apikey.Principal{}, errNoKey
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return apikey.Principal{}, errNoKey
	}
	return s.cfg.Keys.Authenticate(r.Context(), token)
}

// authorize authenticates the caller and checks that its key allows role
// need on log ("" for the whole instance).
func (s *Server) authorize(r *http.Request, need apikey.Role, log string) (apikey.Principal, error) {
	p, err := s.principal(r)
	if err != nil {
		return p, err
	}
	if !p.Can(need, log) {
		return p, denied(p, need, log)
	}
	return p, nil
}

func denied(p apikey.Principal, need apikey.Role, log string) error {
	switch {
	case !p.Can(need, p.Tenant):
		return forbidden("a %s key may not do this (it needs the %s role)", p.Role, need)
	case log == "":
		return forbidden("this needs an instance-wide key; the key is limited to log %q", p.Tenant)
	}
	return forbidden("the key is limited to log %q", p.Tenant)
}

// readLog authorizes a read of the log named in the path, with role
// need, or without a key if public is set.
func (s *Server) readLog(r *http.Request, need apikey.Role, public bool) (string, error) {
	log := r.PathValue("log")
	if !public {
		if _, err := s.authorize(r, need, log); err != nil {
			return "", err
		}
	}
	if err := ledger.ValidLogName(log); err != nil {
		return "", badRequest("%v", err)
	}
	return log, nil
}

// targetLog authorizes a request that needs role need on a log not named
// in the path (ingest, queries, streams) and returns that log: the key's
// tenant, or for an instance-wide key the log named by the "log" query
// parameter or the X-Indelible-Log header.
func (s *Server) targetLog(r *http.Request, need apikey.Role) (string, error) {
	p, err := s.principal(r)
	if err != nil {
		return "", err
	}
	if !p.Can(need, p.Tenant) {
		return "", denied(p, need, p.Tenant)
	}
	named := r.URL.Query().Get("log")
	if h := r.Header.Get("X-Indelible-Log"); h != "" {
		if named != "" && named != h {
			return "", badRequest("the log parameter %q and the X-Indelible-Log header %q differ", named, h)
		}
		named = h
	}
	log := p.Tenant
	switch {
	case p.Tenant == "" && named == "":
		return "", badRequest("an instance-wide key must name the log: add ?log=NAME or an X-Indelible-Log header")
	case p.Tenant == "":
		log = named
	case named != "" && !p.Can(need, named):
		return "", denied(p, need, named)
	case named != "":
		log = named // the tenant's quarantine log
	}
	if err := ledger.ValidLogName(log); err != nil {
		return "", badRequest("%v", err)
	}
	return log, nil
}
