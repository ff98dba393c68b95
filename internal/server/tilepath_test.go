package server

import (
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestTilePath(t *testing.T) {
	tests := []struct {
		path string
		want tilePath
	}{
		// The examples of C2SP tlog-tiles.
		{"tile/0/x001/x234/067", tilePath{Level: 0, Index: 1234067, Width: 256}},
		{"tile/entries/x001/x234/067", tilePath{Entries: true, Index: 1234067, Width: 256}},
		// A tree of size 70,000: 273 full level-0 tiles, a partial one of
		// width 112, a full level-1 tile, a partial one of width 17 and a
		// partial level-2 tile of width 1.
		{"tile/0/272", tilePath{Level: 0, Index: 272, Width: 256}},
		{"tile/0/273.p/112", tilePath{Level: 0, Index: 273, Width: 112}},
		{"tile/1/000", tilePath{Level: 1, Index: 0, Width: 256}},
		{"tile/1/001.p/17", tilePath{Level: 1, Index: 1, Width: 17}},
		{"tile/2/000.p/1", tilePath{Level: 2, Index: 0, Width: 1}},
		{"tile/entries/273.p/112", tilePath{Entries: true, Index: 273, Width: 112}},
		// Edges.
		{"tile/63/999.p/255", tilePath{Level: 63, Index: 999, Width: 255}},
		{"tile/0/x001/000", tilePath{Index: 1000, Width: 256}},
		{"tile/10/x018/x446/x744/x073/x709/x551/615", tilePath{Level: 10, Index: 18446744073709551615, Width: 256}},
	}
	for _, tt := range tests {
		got, err := parseTilePath(tt.path)
		if err != nil || got != tt.want {
			t.Errorf("parseTilePath(%q) = %+v, %v, want %+v", tt.path, got, err, tt.want)
		}
		if s := tt.want.String(); s != tt.path {
			t.Errorf("%+v.String() = %q, want %q", tt.want, s, tt.path)
		}
	}
}

func TestTilePathErrors(t *testing.T) {
	for _, p := range []string{
		"", "tile", "tile/", "tile/0", "tile/0/", "tiles/0/000", "/tile/0/000",
		"tile/00/000", "tile/01/000", "tile/-1/000", "tile/+1/000", "tile/64/000", "tile/256/000", "tile/ 0/000",
		"tile/data/000", "tile/entry/000", "tile/Entries/000", "tile/entries",
		"tile/0/1", "tile/0/01", "tile/0/0000", "tile/0/00a", "tile/0/x001", "tile/0/001/x002",
		"tile/0/x000/001", "tile/0/x000/x001/002", "tile/0/x1/000", "tile/0/x0001/000", "tile/0/y001/000",
		"tile/0/001/", "tile/0/001//", "tile/0//001",
		"tile/0/001.p", "tile/0/001.p/", "tile/0/001.p/0", "tile/0/001.p/256", "tile/0/001.p/08", "tile/0/001.p/+8",
		"tile/0/001.p/8/9", "tile/0/001.q/8", "tile/0/x001.p/8/002", "tile/0/.p/8", "tile/0/001.p.p/8",
		"tile/0/x018/x446/x744/x073/x709/x551/616", "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
	} {
		if got, err := parseTilePath(p); err == nil {
			t.Errorf("parseTilePath(%q) = %+v, want an error", p, got)
		}
	}
}

// TestTilePathTlog checks the formatter against golang.org/x/mod/sumdb/tlog,
// whose paths differ only by the tile height after "tile/".
func TestTilePathTlog(t *testing.T) {
	for _, n := range []int64{0, 1, 999, 1000, 1001, 999999, 1000000, 1234067, 1 << 40, 1<<63 - 1} {
		for _, w := range []int{1, 17, 255, 256} {
			for _, l := range []int{-1, 0, 1, 5, 63} {
				tt := tlog.Tile{H: 8, L: l, N: n, W: w}
				want := tt.Path()
				want = strings.Replace(want, "tile/8/data/", "tile/entries/", 1)
				want = strings.Replace(want, "tile/8/", "tile/", 1)
				tp := tilePath{Entries: l < 0, Index: uint64(n), Width: w}
				if l >= 0 {
					tp.Level = uint8(l)
				}
				if got := tp.String(); got != want {
					t.Errorf("%+v.String() = %q, want %q", tp, got, want)
				}
				if got, err := parseTilePath(want); err != nil || got != tp {
					t.Errorf("parseTilePath(%q) = %+v, %v, want %+v", want, got, err, tp)
				}
			}
		}
	}
}

func FuzzTilePath(f *testing.F) {
	for _, s := range []string{
		"tile/0/x001/x234/067", "tile/entries/x001/x234/067.p/8", "tile/1/001.p/17", "tile/63/000",
		"tile/0/x000/001", "tile/0/001.p/256", "tile/10/x018/x446/x744/x073/x709/x551/616", "tile/0/001/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tp, err := parseTilePath(p)
		if err != nil {
			return
		}
		// One resource, one path.
		if s := tp.String(); s != p {
			t.Fatalf("parseTilePath(%q) = %+v, which formats as %q", p, tp, s)
		}
		if tp.Width < 1 || tp.Width > fullWidth || tp.Level > maxTileLevel || tp.Entries && tp.Level != 0 {
			t.Fatalf("parseTilePath(%q) = %+v, out of range", p, tp)
		}
		// tlog agrees, within its int64 indexes.
		if tp.Index < 1<<63 {
			l := int(tp.Level)
			if tp.Entries {
				l = -1
			}
			want := tlog.Tile{H: 8, L: l, N: int64(tp.Index), W: tp.Width}.Path()
			want = strings.Replace(strings.Replace(want, "tile/8/data/", "tile/entries/", 1), "tile/8/", "tile/", 1)
			if want != p {
				t.Fatalf("parseTilePath(%q) = %+v, which tlog writes as %q", p, tp, want)
			}
		}
	})
}
