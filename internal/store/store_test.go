package store

import (
	"bytes"
	"strings"
	"testing"
)

func TestBatchCheck(t *testing.T) {
	valid := func(start uint64, n int) Batch {
		b := Batch{Start: start, Checkpoint: Checkpoint{Size: start + uint64(n), Note: []byte("note")}}
		for i := range n {
			b.Entries = append(b.Entries, Entry{Index: start + uint64(i), ID: "id", Body: []byte("{}")})
		}
		b.Tiles = []Tile{{Level: 0, Index: start / TileWidth, Hashes: bytes.Repeat([]byte{1}, n*HashSize)}}
		return b
	}
	for _, tt := range []struct {
		name    string
		b       Batch
		maxSize uint64
		want    string // "" for valid
	}{
		{"valid", valid(10, 3), 1 << 40, ""},
		{"fills the log", valid(1<<40-3, 3), 1 << 40, ""},
		{"past the most a log holds", valid(1<<40-2, 3), 1 << 40, "batch start 1099511627774 is too large: a log holds at most 1099511627776 entries"},
		{"no entries", Batch{Start: 4, Checkpoint: Checkpoint{Size: 4}}, 1 << 40, "batch has no entries"},
		{"index gap", func() Batch { b := valid(10, 3); b.Entries[1].Index = 12; return b }(), 1 << 40, "entry 1 of batch starting at 10 has index 12"},
		{"checkpoint size", func() Batch { b := valid(10, 3); b.Checkpoint.Size = 12; return b }(), 1 << 40, "checkpoint size 12, want 13"},
		{"tile index", func() Batch { b := valid(10, 3); b.Tiles[0].Index = 1 << 63; return b }(), 1 << 40, "tile index 9223372036854775808 is too large"},
		{"tile hashes not whole", func() Batch { b := valid(10, 3); b.Tiles[0].Hashes = b.Tiles[0].Hashes[:40]; return b }(), 1 << 40, "tile 0/0 is 40 bytes long"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.b.Check(tt.maxSize)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check = %v, want %q", err, tt.want)
			}
		})
	}
}
