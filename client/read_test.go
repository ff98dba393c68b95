package client

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

func TestTilePath(t *testing.T) {
	tests := []struct {
		kind  string
		index uint64
		width int
		want  string
	}{
		{"0", 0, 256, "tile/0/000"},
		{"0", 1234067, 256, "tile/0/x001/x234/067"},
		{"1", 999, 7, "tile/1/999.p/7"},
		{"2", 1000, 255, "tile/2/x001/000.p/255"},
		{"entries", 0, 1, "entries/000.p/1"},
		{"entries", 123456789, 256, "tile/entries/x123/x456/789"},
	}
	for _, tt := range tests {
		got, err := TilePath(tt.kind, tt.index, tt.width)
		want := tt.want
		if !strings.HasPrefix(want, "tile/") {
			want = "tile/" + want
		}
		if err != nil || got != want {
			t.Errorf("TilePath(%q, %d, %d) = %q, %v; want %q", tt.kind, tt.index, tt.width, got, err, want)
		}
	}
	for _, w := range []int{0, -1, 257} {
		if _, err := TilePath("0", 0, w); err == nil {
			t.Errorf("TilePath(width %d): want an error", w)
		}
	}
}

// TestTilePathTlog cross-checks TilePath with golang.org/x/mod/sumdb/tlog.
func TestTilePathTlog(t *testing.T) {
	for _, n := range []int64{0, 1, 999, 1000, 1001, 999999, 1000000, 1234567890123} {
		for _, w := range []int{1, 100, 256} {
			for _, l := range []int{-1, 0, 3} {
				kind := "entries"
				tl := tlog.Tile{H: 8, L: l, N: n, W: w}
				want := strings.Replace(tl.Path(), "tile/8/data/", "tile/entries/", 1)
				want = strings.Replace(want, "tile/8/", "tile/", 1)
				if l >= 0 {
					kind = string(rune('0' + l))
				}
				got, err := TilePath(kind, uint64(n), w)
				if err != nil || got != want {
					t.Errorf("TilePath(%q, %d, %d) = %q, %v; want %q", kind, n, w, got, err, want)
				}
			}
		}
	}
}

func TestParseEntryBundle(t *testing.T) {
	entries := [][]byte{[]byte(`{"a":1}`), {}, bytes.Repeat([]byte("x"), 300)}
	var b []byte
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	got, err := ParseEntryBundle(b)
	if err != nil || len(got) != 3 {
		t.Fatalf("ParseEntryBundle = %d entries, %v; want 3", len(got), err)
	}
	for i := range entries {
		if !bytes.Equal(got[i], entries[i]) {
			t.Errorf("entry %d = %q, want %q", i, got[i], entries[i])
		}
	}
	for _, bad := range [][]byte{{0}, {0, 5, 'a'}, append(b, 1)} {
		if _, err := ParseEntryBundle(bad); err == nil {
			t.Errorf("ParseEntryBundle(%q): want an error", bad)
		}
	}
}

func FuzzParseEntryBundle(f *testing.F) {
	f.Add([]byte{0, 2, '{', '}'})
	f.Add([]byte{0, 0, 0, 1, 'x'})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseEntryBundle(data)
		if err != nil {
			return
		}
		var b []byte
		for _, e := range entries {
			b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
			b = append(b, e...)
		}
		if !bytes.Equal(b, data) {
			t.Errorf("ParseEntryBundle(%x) does not round-trip: %x", data, b)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-1", 0},
		{"soon", 0},
		{"Mon, 23 Nov 2026 19:40:30 GMT", 30 * time.Second},
		{"Mon, 23 Nov 2026 19:39:30 GMT", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{baseDelay: 100 * time.Millisecond, maxBackoff: time.Second}
	for n := 1; n < 80; n++ {
		ceil := min(time.Second, 100*time.Millisecond<<min(n-1, 20))
		for range 20 {
			if d := c.backoff(n); d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want 0..%v", n, d, ceil)
			}
		}
	}
}
