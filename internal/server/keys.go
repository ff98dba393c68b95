package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/ledger"
)

// maxKeyName bounds the name of an API key, in bytes.
const maxKeyName = 200

type createKeyRequest struct {
	Tenant string `json:"tenant"` // "" for an instance-wide key
	Role   string `json:"role"`
	Name   string `json:"name"`
}

// createKeyResponse shows the new key's token, once.
type createKeyResponse struct {
	Token     string      `json:"key"`
	ID        string      `json:"id"`
	Tenant    string      `json:"tenant"`
	Role      apikey.Role `json:"role"`
	Name      string      `json:"name"`
	CreatedBy string      `json:"created_by"`
	CreatedAt time.Time   `json:"created_at"`
}

type keysResponse struct {
	Keys []apikey.Key `json:"keys"`
}

// postKey creates an API key. A tenant admin may create keys of its own
// tenant only; only an instance admin may create instance-wide keys.
func (s *Server) postKey(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	if p.Role != apikey.Admin {
		return denied(p, apikey.Admin, p.Tenant)
	}
	var req createKeyRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badRequest("the body must be {\"tenant\", \"role\", \"name\"}: %v", err)
	}
	if dec.More() {
		return badRequest("the body holds more than one JSON value")
	}
	role, err := apikey.ParseRole(req.Role)
	if err != nil {
		return badRequest("%v", err)
	}
	if req.Tenant != "" {
		if err := ledger.ValidLogName(req.Tenant); err != nil {
			return badRequest("tenant: %v", err)
		}
	}
	if len(req.Name) > maxKeyName {
		return badRequest("the key name is longer than %d bytes", maxKeyName)
	}
	if !p.Can(apikey.Admin, req.Tenant) {
		return denied(p, apikey.Admin, req.Tenant)
	}
	token, k, err := s.cfg.Keys.Create(r.Context(), p, req.Tenant, role, req.Name)
	if err != nil {
		return fmt.Errorf("creating a key: %w", err)
	}
	return writeJSON(w, http.StatusCreated, createKeyResponse{
		Token: token, ID: k.ID, Tenant: k.Tenant, Role: k.Role, Name: k.Name, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt,
	})
}

// listKeys lists the keys an admin may see: those of its tenant, or for
// an instance admin all keys, or those of the tenant named by the
// "tenant" query parameter.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	if p.Role != apikey.Admin {
		return denied(p, apikey.Admin, p.Tenant)
	}
	tenant := p.Tenant
	if q := r.URL.Query(); q.Has("tenant") {
		tenant = q.Get("tenant")
		if !p.Can(apikey.Admin, tenant) {
			return denied(p, apikey.Admin, tenant)
		}
	}
	ks, err := s.cfg.Keys.List(r.Context(), p, tenant)
	if err != nil {
		return fmt.Errorf("listing keys: %w", err)
	}
	if ks == nil {
		ks = []apikey.Key{}
	}
	return writeJSON(w, http.StatusOK, keysResponse{Keys: ks})
}

// deleteKey revokes a key. A tenant admin may revoke its tenant's keys
// only; other keys are answered 404, as unknown ones, so that it learns
// nothing about other tenants.
func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	if p.Role != apikey.Admin {
		return denied(p, apikey.Admin, p.Tenant)
	}
	k, err := s.cfg.Keys.Revoke(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("revoking key %q: %w", r.PathValue("id"), err)
	}
	return writeJSON(w, http.StatusOK, k)
}
