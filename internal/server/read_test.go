package server

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/verify"
)

// httpTiles is a tlog.TileReader that fetches C2SP tlog-tiles hash tiles
// from the server, as an outside verifier would. It builds the paths with
// tlog, not with this package.
type httpTiles struct {
	t   testing.TB
	e   *testEnv
	log string
}

func (h httpTiles) Height() int { return 8 }

func (h httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		path := "tile/" + strings.TrimPrefix(t.Path(), "tile/8/")
		resp, body := h.e.do(h.t, request{method: "GET", path: "/v1/logs/" + h.log + "/" + path})
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		out[i] = body
	}
	return out, nil
}

func (h httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// entryLeaf fetches entry i and checks that its bytes hash to its leaf
// hash.
func (e *testEnv) entryLeaf(t *testing.T, log string, i uint64) ([32]byte, []byte) {
	t.Helper()
	resp, body := e.get(t, fmt.Sprintf("/v1/logs/%s/entries/%d", log, i))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET entry %d = %d %s", i, resp.StatusCode, body)
	}
	var out struct {
		Index    uint64          `json:"index"`
		LeafHash []byte          `json:"leaf_hash"`
		Entry    json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	leaf := event.LeafHash(out.Entry)
	if out.Index != i || string(leaf[:]) != string(out.LeafHash) {
		t.Fatalf("entry %d: index %d, leaf hash %x; its bytes hash to %x", i, out.Index, out.LeafHash, leaf)
	}
	if _, err := event.ParseEntry(out.Entry); err != nil {
		t.Fatalf("entry %d: %v", i, err)
	}
	return leaf, out.Entry
}

func tlogHashes(hs [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		copy(out[i][:], h)
	}
	return out
}

func TestReadSide(t *testing.T) {
	e := newEnv(t, envOptions{})
	var cps []verify.SignedCheckpoint
	n := 0
	for _, k := range []int{1, 7, 100, 255, 1, 236, 3} {
		out := e.ingest(t, "", evs("r", n, k, false))
		n += k
		cps = append(cps, e.open(t, own, out.Checkpoint))
	}

	resp, body := e.do(t, request{method: "GET", path: "/v1/logs/" + own + "/checkpoint"})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET checkpoint = %d %v", resp.StatusCode, resp.Header)
	}
	head := e.open(t, own, string(body))
	size := head.Size
	if last := cps[len(cps)-1]; last.Size != size || last.Root != head.Root {
		t.Fatalf("checkpoint %d, want the last ingest's %d", size, last.Size)
	}

	t.Run("inclusion", func(t *testing.T) {
		for i := range size {
			leaf, _ := e.entryLeaf(t, own, i)
			for _, cp := range []verify.SignedCheckpoint{head, cps[0]} {
				if i >= cp.Size {
					continue
				}
				var p inclusionResponse
				resp, body := e.get(t, fmt.Sprintf("/v1/logs/%s/proof/inclusion?index=%d&size=%d", own, i, cp.Size))
				if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 200 {
					t.Fatalf("inclusion of %d in %d = %d %s", i, cp.Size, resp.StatusCode, body)
				}
				if p.Index != i || p.Size != cp.Size {
					t.Errorf("inclusion response names %d in %d, want %d in %d", p.Index, p.Size, i, cp.Size)
				}
				if err := verify.Inclusion(i, cp.Size, leaf, p.Hashes, cp.Root); err != nil {
					t.Error(err)
				}
				if err := tlog.CheckRecord(tlogHashes(p.Hashes), int64(cp.Size), cp.Root, int64(i), leaf); err != nil {
					t.Errorf("tlog.CheckRecord(%d in %d) = %v", i, cp.Size, err)
				}
			}
		}
	})

	t.Run("consistency", func(t *testing.T) {
		for a, old := range cps {
			for _, cur := range cps[a+1:] {
				var p consistencyResponse
				resp, body := e.get(t, fmt.Sprintf("/v1/logs/%s/proof/consistency?from=%d&to=%d", own, old.Size, cur.Size))
				if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 200 {
					t.Fatalf("consistency %d-%d = %d %s", old.Size, cur.Size, resp.StatusCode, body)
				}
				if err := verify.Consistency(old.Size, cur.Size, old.Root, cur.Root, p.Hashes); err != nil {
					t.Error(err)
				}
				if err := tlog.CheckTree(tlogHashes(p.Hashes), int64(cur.Size), cur.Root, int64(old.Size), old.Root); err != nil {
					t.Errorf("tlog.CheckTree(%d, %d) = %v", old.Size, cur.Size, err)
				}
			}
		}
		resp, body := e.get(t, fmt.Sprintf("/v1/logs/%s/proof/consistency?from=0&to=%d", own, size))
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"hashes":[]`) {
			t.Errorf("consistency from 0 = %d %s, want 200 and no hashes", resp.StatusCode, body)
		}
	})

	t.Run("hash tiles", func(t *testing.T) {
		for _, cp := range cps {
			hr := tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, httpTiles{t, e, own})
			root, err := tlog.TreeHash(int64(cp.Size), hr)
			if err != nil {
				t.Fatalf("TreeHash(%d) over HTTP tiles: %v", cp.Size, err)
			}
			if root != cp.Root {
				t.Errorf("tree of size %d from HTTP tiles has root %x, want %x", cp.Size, root, cp.Root)
			}
		}
	})

	t.Run("entry bundles", func(t *testing.T) {
		for k := int64(0); k*256 < int64(size); k++ {
			w := min(256, int(int64(size)-k*256))
			path := "tile/entries/" + strings.TrimPrefix(tlog.Tile{H: 8, L: -1, N: k, W: w}.Path(), "tile/8/data/")
			resp, bundle := e.get(t, "/v1/logs/"+own+"/"+path)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" {
				t.Fatalf("GET %s = %d %s", path, resp.StatusCode, bundle)
			}
			hpath := "tile/" + strings.TrimPrefix(tlog.Tile{H: 8, L: 0, N: k, W: w}.Path(), "tile/8/")
			_, hashes := e.get(t, "/v1/logs/"+own+"/"+hpath)
			i := 0
			for rest := bundle; len(rest) > 0; i++ {
				if len(rest) < 2 || len(rest) < 2+int(binary.BigEndian.Uint16(rest)) {
					t.Fatalf("%s: truncated at entry %d", path, i)
				}
				n := int(binary.BigEndian.Uint16(rest))
				leaf := event.LeafHash(rest[2 : 2+n])
				if string(leaf[:]) != string(hashes[i*32:(i+1)*32]) {
					t.Errorf("%s: entry %d does not hash to the leaf of %s", path, i, hpath)
				}
				rest = rest[2+n:]
			}
			if i != w {
				t.Errorf("%s holds %d entries, want %d", path, i, w)
			}
		}
	})

	t.Run("errors and headers", func(t *testing.T) {
		last, w := size/256, int(size%256)
		if w == 0 || w == 255 {
			t.Fatalf("the test wants a last partial tile of width 1 to 254, not %d", w)
		}
		base := "/v1/logs/" + own + "/"
		tests := []struct {
			path  string
			code  int
			cache string
			len   int
		}{
			{"tile/0/000", 200, cacheImmutable, 8192},
			{"tile/0/000.p/5", 200, cacheShort, 5 * 32},
			{fmt.Sprintf("tile/0/%03d", last), 404, "no-store", -1},
			{fmt.Sprintf("tile/0/%03d.p/%d", last, w), 200, cacheShort, w * 32},
			{fmt.Sprintf("tile/0/%03d.p/%d", last, w+1), 404, "", -1},
			{fmt.Sprintf("tile/0/%03d", last+1), 404, "", -1},
			{"tile/0/x001/000", 404, "", -1},
			{fmt.Sprintf("tile/1/000.p/%d", last), 200, cacheShort, int(last) * 32},
			{"tile/1/000", 404, "", -1},
			{"tile/2/000.p/1", 404, "", -1},
			{"tile/63/000", 404, "", -1},
			{"tile/entries/000", 200, cachePrivateImmutable, -1},
			{fmt.Sprintf("tile/entries/%03d.p/%d", last, w), 200, cachePrivateShort, -1},
			{"tile/0/x018/x446/x744/x073/x709/x551/615", 404, "", -1},
			{"tile/0/x009/x223/x372/x036/x854/x775/808", 404, "", -1},
			{fmt.Sprintf("tile/entries/%03d", last), 404, "", -1},
			{fmt.Sprintf("tile/entries/%03d.p/%d", last, w+1), 404, "", -1},
			{"tile/entries/x018/x446/x744/x073/x709/x551/615", 404, "", -1},
			{"tile/00/000", 400, "no-store", -1},
			{"tile/0/1", 400, "", -1},
			{"tile/64/000", 400, "", -1},
			{"tile/0/000.p/0", 400, "", -1},
			{"tile/0/000.p/256", 400, "", -1},
			{"tile/0/x000/000", 400, "", -1},
			{"tile/0/000/", 400, "", -1},
			{"tile/entries", 400, "", -1},
			{"tile/data/000", 400, "", -1},
			{"entries/0", 200, "no-store", -1},
			{fmt.Sprintf("entries/%d", size), 404, "", -1},
			{"entries/18446744073709551615", 404, "", -1},
			{"entries/9223372036854775808", 404, "", -1},
			{"entries/18446744073709551616", 400, "", -1},
			{"entries/01", 400, "", -1},
			{"entries/-1", 400, "", -1},
			{"proof/inclusion?index=0", 400, "", -1},
			{"proof/inclusion?index=a&size=1", 400, "", -1},
			{"proof/inclusion?index=01&size=5", 400, "", -1},
			{"proof/inclusion?index=+1&size=5", 400, "", -1},
			{"proof/inclusion?index=5&size=5", 400, "", -1},
			{"proof/inclusion?index=0&size=0", 400, "", -1},
			{fmt.Sprintf("proof/inclusion?index=0&size=%d", size+1), 404, "", -1},
			{"proof/inclusion?index=0&size=18446744073709551615", 404, "", -1},
			{"proof/inclusion?index=0&size=18446744073709551616", 400, "", -1},
			{"proof/consistency?from=3&to=2", 400, "", -1},
			{"proof/consistency?from=0&to=0", 400, "", -1},
			{"proof/consistency?to=2", 400, "", -1},
			{fmt.Sprintf("proof/consistency?from=1&to=%d", size+1), 404, "", -1},
			{"checkpoint", 200, cacheNone, -1},
		}
		for _, tt := range tests {
			resp, body := e.get(t, base+tt.path)
			if resp.StatusCode != tt.code {
				t.Errorf("GET %s = %d %s, want %d", tt.path, resp.StatusCode, body, tt.code)
				continue
			}
			if tt.cache != "" && resp.Header.Get("Cache-Control") != tt.cache {
				t.Errorf("GET %s: Cache-Control %q, want %q", tt.path, resp.Header.Get("Cache-Control"), tt.cache)
			}
			if tt.len >= 0 && len(body) != tt.len {
				t.Errorf("GET %s: %d bytes, want %d", tt.path, len(body), tt.len)
			}
			if tt.code != 200 {
				var eb errorBody
				if err := json.Unmarshal(body, &eb); err != nil || eb.Error == "" {
					t.Errorf("GET %s: error body %s", tt.path, body)
				}
			}
		}
		for _, tt := range []struct {
			path string
			code int
		}{
			{"/v1/logs/nosuch/checkpoint", 404},
			{"/v1/logs/nosuch/tile/0/000.p/1", 404},
			{"/v1/logs/nosuch/entries/0", 404},
			{"/v1/logs/nosuch/proof/inclusion?index=0&size=1", 404},
			{"/v1/logs/-bad/checkpoint", 400},
			{"/v1/logs/-bad/entries/0", 400},
		} {
			if resp, body := e.get(t, tt.path); resp.StatusCode != tt.code {
				t.Errorf("GET %s = %d %s, want %d", tt.path, resp.StatusCode, body, tt.code)
			}
		}
	})
}

func TestKeyAndHealth(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := e.do(t, request{method: "GET", path: "/v1/key"})
	if resp.StatusCode != 200 || string(body) != e.vkey+"\n" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("GET /v1/key = %d %q, want %q", resp.StatusCode, body, e.vkey+"\n")
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, _ := e.do(t, request{method: "GET", path: path}); resp.StatusCode != 200 {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	e.srv.SetDraining(true)
	if resp, _ := e.do(t, request{method: "GET", path: "/readyz"}); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("GET /readyz while draining = %d, want 503 with Retry-After", resp.StatusCode)
	}
	if resp, _ := e.do(t, request{method: "GET", path: "/healthz"}); resp.StatusCode != 200 {
		t.Errorf("GET /healthz while draining = %d, want 200", resp.StatusCode)
	}
	e.srv.SetDraining(false)
	if resp, _ := e.do(t, request{method: "GET", path: "/readyz"}); resp.StatusCode != 200 {
		t.Errorf("GET /readyz after draining = %d, want 200", resp.StatusCode)
	}
	_, metrics := e.do(t, request{method: "GET", path: "/metrics"})
	for _, want := range []string{`indelible_http_requests_total{code="503",route="GET /readyz"} 1`, "indelible_commit_seconds_bucket"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
