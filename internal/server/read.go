package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"strconv"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/verify"
)

// Cache-Control values. Responses that need a key are "private", so that
// no shared cache hands them to a caller without one.
const (
	cacheImmutable        = "public, max-age=31536000, immutable"
	cacheShort            = "public, max-age=1"
	cachePrivateImmutable = "private, max-age=31536000, immutable"
	cachePrivateShort     = "private, max-age=1"
	cacheNone             = "no-cache"
)

// cacheControl returns the Cache-Control of a tile or other resource that
// never changes (immutable) or may soon be superseded.
func cacheControl(public, immutable bool) string {
	switch {
	case public && immutable:
		return cacheImmutable
	case public:
		return cacheShort
	case immutable:
		return cachePrivateImmutable
	}
	return cachePrivateShort
}

func (s *Server) getCheckpoint(w http.ResponseWriter, r *http.Request) error {
	log, err := s.readLog(r, apikey.Reader, !s.cfg.PrivateTiles)
	if err != nil {
		return err
	}
	head, err := s.cfg.Ledger.Head(r.Context(), log)
	if err != nil {
		return fmt.Errorf("reading the head of log %q: %w", log, err)
	}
	if head.Size == 0 {
		return notFound("log %q has no entries", log)
	}
	return writeText(w, cacheNone, head.Note)
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.PrivateTiles {
		if _, err := s.principal(r); err != nil {
			return err
		}
	}
	return writeText(w, cacheControl(!s.cfg.PrivateTiles, false), []byte(s.cfg.VerifierKey+"\n"))
}

// getTile serves C2SP tlog-tiles hash tiles and entry bundles. A request
// for a partial tile of width W is answered with the first W hashes or
// entries of the stored tile, full or partial, as long as it holds at
// least W.
func (s *Server) getTile(w http.ResponseWriter, r *http.Request) error {
	t, perr := parseTilePath("tile/" + r.PathValue("path"))
	public := !s.cfg.PrivateTiles && (perr != nil || !t.Entries)
	log, err := s.readLog(r, apikey.Reader, public)
	if err != nil {
		return err
	}
	if perr != nil {
		return badRequest("%v", perr)
	}
	var data []byte
	if t.Entries {
		data, err = s.entryBundle(r, log, t)
	} else {
		data, err = s.hashTile(r, log, t)
	}
	if err != nil {
		return err
	}
	// A partial tile never changes either, but is superseded by wider
	// ones: it is cached briefly.
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Cache-Control", cacheControl(public, t.Width == fullWidth))
	_, err = w.Write(data)
	return ignoreWriteError(err)
}

func (s *Server) hashTile(r *http.Request, log string, t tilePath) ([]byte, error) {
	data, err := s.cfg.Ledger.ReadTile(r.Context(), log, t.Level, t.Index)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound("log %q has no %s", log, t)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s of log %q: %w", t, log, err)
	}
	if len(data)%verify.HashSize != 0 || len(data) > fullWidth*verify.HashSize {
		return nil, fmt.Errorf("%s of log %q is %d bytes long", t, log, len(data))
	}
	if len(data)/verify.HashSize < t.Width {
		return nil, notFound("log %q has no %s yet", log, t)
	}
	return data[:t.Width*verify.HashSize], nil
}

func (s *Server) entryBundle(r *http.Request, log string, t tilePath) ([]byte, error) {
	if t.Index > (math.MaxUint64-fullWidth)/fullWidth {
		return nil, notFound("log %q has no %s", log, t)
	}
	start := t.Index * fullWidth
	es, err := s.cfg.Entries.ReadEntries(r.Context(), log, start, start+uint64(t.Width))
	if err != nil {
		return nil, fmt.Errorf("reading %s of log %q: %w", t, log, err)
	}
	if len(es) < t.Width {
		return nil, notFound("log %q has no %s yet", log, t)
	}
	n := 0
	for _, e := range es {
		n += 2 + len(e.Body)
	}
	out := make([]byte, 0, n)
	for i, e := range es {
		if e.Index != start+uint64(i) || len(e.Body) > math.MaxUint16 {
			return nil, fmt.Errorf("reading %s of log %q: entry %d is misplaced or too large", t, log, e.Index)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(e.Body)))
		out = append(out, e.Body...)
	}
	return out, nil
}

// entryResponse is one entry. Entry holds the entry's canonical bytes
// verbatim, so that its leaf hash can be recomputed from the response.
type entryResponse struct {
	Index    uint64          `json:"index"`
	LeafHash []byte          `json:"leaf_hash"`
	Entry    json.RawMessage `json:"entry"`
}

func (s *Server) getEntry(w http.ResponseWriter, r *http.Request) error {
	log, err := s.readLog(r, apikey.Reader, false)
	if err != nil {
		return err
	}
	index, ok := decimal(r.PathValue("index"))
	if !ok {
		return badRequest("entry index %q is not a decimal number", r.PathValue("index"))
	}
	if index == math.MaxUint64 {
		return notFound("log %q has no entry %d", log, index)
	}
	es, err := s.cfg.Entries.ReadEntries(r.Context(), log, index, index+1)
	if err != nil {
		return fmt.Errorf("reading entry %d of log %q: %w", index, log, err)
	}
	if len(es) == 0 {
		return notFound("log %q has no entry %d", log, index)
	}
	leaf := event.LeafHash(es[0].Body)
	return writeJSON(w, http.StatusOK, entryResponse{Index: index, LeafHash: leaf[:], Entry: es[0].Body})
}

type inclusionResponse struct {
	Index  uint64   `json:"index"`
	Size   uint64   `json:"size"`
	Hashes [][]byte `json:"hashes"`
}

type consistencyResponse struct {
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Hashes [][]byte `json:"hashes"`
}

// getInclusion proves the entry at index in the tree of size: 400 for
// parameters that can never be valid (index >= size, size 0), 404 for a
// size beyond the tree.
//
// Proofs are public when hash tiles are: they are computed from the tiles
// alone and reveal nothing more, and a writer (the Go SDK) must be able to
// prove its own acknowledgments.
func (s *Server) getInclusion(w http.ResponseWriter, r *http.Request) error {
	log, err := s.readLog(r, apikey.Reader, !s.cfg.PrivateTiles)
	if err != nil {
		return err
	}
	index, err := queryUint(r, "index")
	if err != nil {
		return err
	}
	size, err := queryUint(r, "size")
	if err != nil {
		return err
	}
	if index >= size {
		return badRequest("index %d is not below size %d", index, size)
	}
	p, err := s.cfg.Ledger.InclusionProof(r.Context(), log, index, size)
	if err != nil {
		return fmt.Errorf("proving entry %d in size %d of log %q: %w", index, size, log, err)
	}
	return writeJSON(w, http.StatusOK, inclusionResponse{Index: index, Size: size, Hashes: p})
}

// getConsistency proves that the tree of size to extends the tree of size
// from: 400 for from > to or to = 0, 404 for a size beyond the tree.
// Public when hash tiles are, like inclusion proofs.
func (s *Server) getConsistency(w http.ResponseWriter, r *http.Request) error {
	log, err := s.readLog(r, apikey.Reader, !s.cfg.PrivateTiles)
	if err != nil {
		return err
	}
	from, err := queryUint(r, "from")
	if err != nil {
		return err
	}
	to, err := queryUint(r, "to")
	if err != nil {
		return err
	}
	if to == 0 || from > to {
		return badRequest("want 0 <= from <= to and to > 0, not from %d and to %d", from, to)
	}
	p, err := s.cfg.Ledger.ConsistencyProof(r.Context(), log, from, to)
	if err != nil {
		return fmt.Errorf("proving size %d consistent with %d in log %q: %w", from, to, log, err)
	}
	return writeJSON(w, http.StatusOK, consistencyResponse{From: from, To: to, Hashes: p})
}

// queryUint returns a required decimal query parameter.
func queryUint(r *http.Request, name string) (uint64, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return 0, badRequest("the query parameter %q is missing", name)
	}
	n, ok := decimal(q.Get(name))
	if !ok {
		return 0, badRequest("the query parameter %q is not a decimal number: %q", name, q.Get(name))
	}
	return n, nil
}

// writeJSON writes v as the JSON response, without escaping HTML
// characters so that embedded entries stay byte for byte.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	return writeJSONBytes(w, code, buf.Bytes())
}

// writeJSONBytes answers with code and b, a JSON document.
func writeJSONBytes(w http.ResponseWriter, code int, b []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(code)
	_, err := w.Write(b)
	return ignoreWriteError(err)
}

func writeText(w http.ResponseWriter, cache string, text []byte) error {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(text)))
	h.Set("Cache-Control", cache)
	_, err := w.Write(text)
	return ignoreWriteError(err)
}

// ignoreWriteError drops the error of writing a response: the client
// went away, and there is no one left to answer.
func ignoreWriteError(error) error { return nil }
