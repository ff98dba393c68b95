package client

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/verify"
)

// testLog is an Indelible server for one log, faithful to the HTTP API on
// top of a real Merkle tree: entries are stored, their hashes kept as
// tlog stored hashes (for proofs and tiles) and in a verify.Tree (for
// roots), and checkpoints are signed notes. Its fault fields make it
// misbehave.
type testLog struct {
	t        *testing.T
	instance string
	log      string
	signer   note.Signer
	vkey     string
	srv      *httptest.Server

	mu      sync.Mutex // guards everything below
	entries [][]byte
	stored  []tlog.Hash // tlog stored hashes of the tree
	tree    *verify.Tree
	byID    map[string]int // id -> index
	posts   int            // POST /v1/events received
	batches []int          // sizes of the batches committed (or found duplicate)
	ids     [][]string     // ids of every POST, in order

	// Faults, each consumed by the POSTs it affects.
	fail503      int           // answer 503 with Retry-After: retryAfter
	retryAfter   string        //
	dropBefore   int           // close the connection before committing
	dropAfter    int           // commit, then close the connection without an answer
	stall        chan struct{} // if not nil, POSTs wait for it to be closed
	stalled      chan struct{} // if not nil, receives a value when a POST starts to wait
	badProof     bool          // corrupt inclusion proofs
	badLeafHash  bool          // answer wrong leaf hashes
	wrongSigner  note.Signer   // if not nil, sign checkpoints with it
	requireKey   string        // if not empty, the bearer key POSTs need
	proofQueries int           // inclusion proofs served
}

func newTestLog(t *testing.T) *testLog {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{t: t, instance: "test.example", log: "acme", signer: signer, vkey: vkey,
		tree: verify.NewTree(), byID: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", l.post)
	mux.HandleFunc("GET /v1/logs/{log}/checkpoint", l.checkpoint)
	mux.HandleFunc("GET /v1/logs/{log}/proof/inclusion", l.inclusion)
	mux.HandleFunc("GET /v1/logs/{log}/proof/consistency", l.consistency)
	mux.HandleFunc("GET /v1/logs/{log}/tile/{path...}", l.tile)
	mux.HandleFunc("GET /v1/key", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, vkey+"\n") })
	l.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		l.mu.Lock()
		if l.stall != nil {
			select {
			case <-l.stall:
			default:
				close(l.stall)
			}
		}
		l.mu.Unlock()
		l.srv.Close()
	})
	return l
}

// otherSigner returns a signer of another key with the same name.
func (l *testLog) otherSigner() note.Signer {
	skey, _, err := note.GenerateKey(rand.Reader, l.instance)
	if err != nil {
		l.t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		l.t.Fatal(err)
	}
	return s
}

func (l *testLog) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

func (l *testLog) counts() (posts int, batches []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.posts, append([]int(nil), l.batches...)
}

func (l *testLog) hashReader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(l.stored)) {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = l.stored[x]
		}
		return out, nil
	})
}

// add appends one entry; l.mu is held.
func (l *testLog) add(entry []byte, id string) (uint64, [32]byte) {
	n := int64(len(l.entries))
	hs, err := tlog.StoredHashes(n, entry, l.hashReader())
	if err != nil {
		l.t.Errorf("StoredHashes: %v", err)
	}
	l.stored = append(l.stored, hs...)
	l.entries = append(l.entries, entry)
	leaf := verify.LeafHash(entry)
	l.tree.Append(leaf, nil)
	l.byID[id] = int(n)
	// Cross-check the two implementations.
	th, err := tlog.TreeHash(n+1, l.hashReader())
	if err != nil || [32]byte(th) != l.tree.Root() {
		l.t.Errorf("size %d: tlog root %x, verify.Tree root %x (%v)", n+1, th, l.tree.Root(), err)
	}
	return uint64(n), leaf
}

// truncate rolls the log back to size n.
func (l *testLog) truncate(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.entries[:n]
	l.entries, l.stored, l.tree, l.byID = nil, nil, verify.NewTree(), map[string]int{}
	for _, e := range old {
		id, _ := event.EntryID(e)
		l.add(e, id)
	}
}

// addRaw appends events straight to the tree (another writer).
func (l *testLog) addRaw(t *testing.T, evs ...*event.Event) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range evs {
		b, err := ev.CanonicalJSON()
		if err != nil {
			t.Fatal(err)
		}
		l.add(b, ev.ID)
	}
}

// note returns the signed checkpoint of the current tree; l.mu is held.
func (l *testLog) note() string {
	cp := verify.Checkpoint{Origin: verify.Origin(l.instance, l.log), Size: uint64(len(l.entries)), Root: l.tree.Root()}
	s := l.signer
	if l.wrongSigner != nil {
		s = l.wrongSigner
	}
	msg, err := note.Sign(&note.Note{Text: string(cp.Text())}, s)
	if err != nil {
		l.t.Errorf("signing: %v", err)
	}
	return string(msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string, details ...Detail) {
	writeJSON(w, status, map[string]any{"error": msg, "details": details})
}

func drop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func (l *testLog) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	l.mu.Lock()
	l.posts++
	if l.requireKey != "" && r.Header.Get("Authorization") != "Bearer "+l.requireKey {
		l.mu.Unlock()
		writeError(w, http.StatusUnauthorized, "missing or wrong API key")
		return
	}
	if q := r.URL.Query().Get("log"); q != "" && q != l.log {
		l.mu.Unlock()
		writeError(w, http.StatusNotFound, "no log "+q)
		return
	}
	for l.stall != nil {
		ch := l.stall
		select {
		case <-ch:
			l.stall = nil
			continue
		default:
		}
		l.mu.Unlock()
		if l.stalled != nil {
			l.stalled <- struct{}{}
		}
		<-ch
		l.mu.Lock()
	}
	if l.fail503 > 0 {
		l.fail503--
		l.mu.Unlock()
		w.Header().Set("Retry-After", l.retryAfter)
		writeError(w, http.StatusServiceUnavailable, "overloaded")
		return
	}
	if l.dropBefore > 0 {
		l.dropBefore--
		l.mu.Unlock()
		drop(w)
		return
	}
	defer l.mu.Unlock()

	evs, err := event.ParseBatch(body, event.Limits{})
	var be *event.BatchError
	switch {
	case errors.As(err, &be):
		var ds []Detail
		for _, it := range be.Items {
			for _, fe := range it.Errors {
				ds = append(ds, Detail{Item: it.Item, Path: fe.Path, Message: fe.Message})
			}
		}
		writeError(w, http.StatusBadRequest, be.Error(), ds...)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// A stand-in for schema validation: data.export needs data.rows.
	var ds []Detail
	for i, ev := range evs {
		if ev.Type == "data.export" && ev.Data["rows"] == nil {
			ds = append(ds, Detail{Item: i, Path: "/data/rows", Message: "is required"})
		}
	}
	if ds != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid events", ds...)
		return
	}
	var ids []string
	entries := make([][]byte, len(evs))
	for i, ev := range evs {
		if ev.ID == "" {
			ev.ID = NewID()
		}
		ids = append(ids, ev.ID)
		if entries[i], err = ev.CanonicalJSON(); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if j, ok := l.byID[ev.ID]; ok && !bytes.Equal(l.entries[j], entries[i]) {
			writeError(w, http.StatusConflict, fmt.Sprintf("item %d: id %q is taken by other content", i, ev.ID))
			return
		}
	}
	l.ids = append(l.ids, ids)
	type result struct {
		ID        string `json:"id"`
		Index     uint64 `json:"index"`
		LeafHash  string `json:"leaf_hash"`
		Duplicate bool   `json:"duplicate,omitempty"`
	}
	var ans struct {
		Results    []result `json:"results"`
		Checkpoint string   `json:"checkpoint"`
	}
	for i, ev := range evs {
		var idx uint64
		var leaf [32]byte
		dup := false
		if j, ok := l.byID[ev.ID]; ok {
			idx, leaf, dup = uint64(j), verify.LeafHash(l.entries[j]), true
		} else {
			idx, leaf = l.add(entries[i], ev.ID)
		}
		if l.badLeafHash {
			leaf[0] ^= 1
		}
		ans.Results = append(ans.Results, result{ID: ev.ID, Index: idx, LeafHash: base64.StdEncoding.EncodeToString(leaf[:]), Duplicate: dup})
	}
	l.batches = append(l.batches, len(evs))
	if l.dropAfter > 0 {
		l.dropAfter--
		drop(w)
		return
	}
	ans.Checkpoint = l.note()
	writeJSON(w, http.StatusOK, ans)
}

func (l *testLog) checkLog(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("log") != l.log {
		writeError(w, http.StatusNotFound, "no such log")
		return false
	}
	return true
}

func (l *testLog) checkpoint(w http.ResponseWriter, r *http.Request) {
	if !l.checkLog(w, r) {
		return
	}
	l.mu.Lock()
	msg := l.note()
	l.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, msg)
}

func queryUint(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseUint(r.URL.Query().Get(name), 10, 62)
	return int64(v), err
}

func hashesJSON(p []tlog.Hash) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

func (l *testLog) inclusion(w http.ResponseWriter, r *http.Request) {
	if !l.checkLog(w, r) {
		return
	}
	index, err1 := queryUint(r, "index")
	size, err2 := queryUint(r, "size")
	l.mu.Lock()
	defer l.mu.Unlock()
	l.proofQueries++
	if err1 != nil || err2 != nil || size > int64(len(l.entries)) || index >= size {
		writeError(w, http.StatusBadRequest, "index or size out of range")
		return
	}
	p, err := tlog.ProveRecord(size, index, l.hashReader())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if l.badProof && len(p) > 0 {
		p[0][0] ^= 1
	}
	writeJSON(w, http.StatusOK, map[string]any{"index": index, "size": size, "hashes": hashesJSON(p)})
}

func (l *testLog) consistency(w http.ResponseWriter, r *http.Request) {
	if !l.checkLog(w, r) {
		return
	}
	from, err1 := queryUint(r, "from")
	to, err2 := queryUint(r, "to")
	l.mu.Lock()
	defer l.mu.Unlock()
	if err1 != nil || err2 != nil || to > int64(len(l.entries)) || from > to {
		writeError(w, http.StatusBadRequest, "from or to out of range")
		return
	}
	var p tlog.TreeProof
	if from > 0 && from < to {
		var err error
		if p, err = tlog.ProveTree(to, from, l.hashReader()); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "hashes": hashesJSON(p)})
}

func (l *testLog) tile(w http.ResponseWriter, r *http.Request) {
	if !l.checkLog(w, r) {
		return
	}
	path := r.PathValue("path")
	if rest, ok := strings.CutPrefix(path, "entries/"); ok {
		path = "data/" + rest
	}
	t, err := tlog.ParseTilePath("tile/8/" + path)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.L == -1 {
		first := t.N * 256
		if first+int64(t.W) > int64(len(l.entries)) {
			writeError(w, http.StatusNotFound, "no such entry bundle")
			return
		}
		var b []byte
		for _, e := range l.entries[first : first+int64(t.W)] {
			b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
			b = append(b, e...)
		}
		w.Write(b)
		return
	}
	data, err := tlog.ReadTileData(t, l.hashReader())
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	w.Write(data)
}
