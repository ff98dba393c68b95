package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"

	"golang.org/x/mod/sumdb/note"
)

// Kind names a kind of damage found by verification.
type Kind string

// The kinds of damage. Each Error carries one.
const (
	// EntryChanged: an entry's bytes do not hash to the leaf that the
	// signed tree holds (an edit, or entries swapped or inserted).
	EntryChanged Kind = "entry changed"
	// EntryMissing: an index below the signed tree size has no entry
	// (a deletion or a truncation).
	EntryMissing Kind = "entry missing"
	// EntryOutOfOrder: entries were not presented in index order.
	EntryOutOfOrder Kind = "entry out of order"
	// EntryUnsigned: entries exist past the newest signed checkpoint
	// (an insertion at the tail).
	EntryUnsigned Kind = "entry not covered by any checkpoint"
	// ColumnMismatch: a stored column disagrees with the entry bytes.
	ColumnMismatch Kind = "column disagrees with entry"
	// TileChanged: a stored tile hash disagrees with the entries, which
	// themselves match the signed checkpoints.
	TileChanged Kind = "tile changed"
	// TileMissing: a tile the tree needs is absent.
	TileMissing Kind = "tile missing"
	// TileExtra: a stored tile lies beyond the tree (left over from a
	// truncation).
	TileExtra Kind = "tile beyond the tree"
	// CheckpointSignature: a checkpoint does not carry a valid signature
	// by the pinned key.
	CheckpointSignature Kind = "checkpoint signature invalid"
	// CheckpointRoot: a validly signed checkpoint's root hash is not the
	// root of the entries.
	CheckpointRoot Kind = "checkpoint root mismatch"
	// Rollback: the log is smaller than a previously trusted checkpoint.
	Rollback Kind = "rolled back"
	// Fork: the log is not an extension of a previously trusted checkpoint.
	Fork Kind = "forked"
)

// Error is a verification failure: the first bad index of a log and what
// is wrong there.
type Error struct {
	Log    string
	Index  uint64
	Kind   Kind
	Detail string
}

func (e *Error) Error() string {
	return fmt.Sprintf("log %q: first bad index %d: %s: %s", e.Log, e.Index, e.Kind, e.Detail)
}

// LogConfig configures a LogVerifier.
type LogConfig struct {
	// Log is the log's name, used in errors.
	Log string
	// Origin is the checkpoint origin the log must carry.
	Origin string
	// Verifiers holds the pinned checkpoint key(s).
	Verifiers note.Verifiers
	// Tiles reads stored tiles for comparison. If nil, tiles are not
	// checked.
	Tiles TileReader
	// Trusted, if not nil, is a previously verified checkpoint of this log
	// that the log must extend.
	Trusted *SignedCheckpoint
}

// LogVerifier rebuilds a log's tree from its entries, in index order, and
// compares it with the stored tiles and the signed checkpoints as it goes.
// Feed it with Entry and Checkpoint, then call Finish.
//
// The first failure is final: later calls return it again.
type LogVerifier struct {
	cfg     LogConfig
	tree    *Tree
	pending []SignedCheckpoint // checkpoints past the current size, in size order
	latest  *SignedCheckpoint  // newest checkpoint whose root matched
	suspect *Error             // first tile disagreement, not yet attributed
	err     error
	hasher  hash.Hash // reused for leaf hashes (RFC 6962: SHA-256 of 0x00 || entry)
}

// NewLogVerifier returns a verifier for one log.
func NewLogVerifier(cfg LogConfig) *LogVerifier {
	return &LogVerifier{cfg: cfg, tree: NewTree()}
}

// Size returns the number of entries verified so far.
func (v *LogVerifier) Size() uint64 { return v.tree.Size() }

// Latest returns the newest checkpoint whose root matched the entries.
func (v *LogVerifier) Latest() *SignedCheckpoint { return v.latest }

func (v *LogVerifier) fail(index uint64, kind Kind, format string, args ...any) error {
	if v.err == nil {
		v.err = &Error{Log: v.cfg.Log, Index: index, Kind: kind, Detail: fmt.Sprintf(format, args...)}
	}
	return v.err
}

// Entry adds the entry at index with the given bytes. Entries must come in
// index order with no gaps.
func (v *LogVerifier) Entry(index uint64, body []byte) error {
	if v.hasher == nil {
		v.hasher = sha256.New()
	}
	var leaf [32]byte
	v.hasher.Reset()
	v.hasher.Write([]byte{0})
	v.hasher.Write(body)
	v.hasher.Sum(leaf[:0])
	return v.EntryHash(index, leaf)
}

// EntryHash is Entry for a caller that has already hashed the entry (for
// example on several cores).
func (v *LogVerifier) EntryHash(index uint64, leaf [32]byte) error {
	if v.err != nil {
		return v.err
	}
	switch size := v.Size(); {
	case index > size:
		return v.fail(size, EntryMissing, "no entry at index %d (next entry present is %d)", size, index)
	case index < size:
		return v.fail(index, EntryOutOfOrder, "entry %d presented after entry %d", index, size-1)
	}
	var tileErr error
	v.tree.Append(leaf, func(t Tile) {
		if tileErr == nil {
			tileErr = v.compareTile(t)
		}
	})
	if tileErr != nil {
		return tileErr
	}
	return v.checkPending()
}

// compareTile compares a computed tile (full, or the prefix computed so
// far) with the stored one.
func (v *LogVerifier) compareTile(t Tile) error {
	if v.cfg.Tiles == nil {
		return nil
	}
	stored, err := v.cfg.Tiles(t.Level, t.Index)
	if err != nil {
		if errNoTile(err) {
			return v.fail(t.Index*TileWidth<<(TileHeight*uint(t.Level)), TileMissing, "tile %d/%d is missing", t.Level, t.Index)
		}
		return fmt.Errorf("reading tile %d/%d: %w", t.Level, t.Index, err)
	}
	for i := 0; i < t.Width(); i++ {
		want := t.Hashes[i*HashSize : (i+1)*HashSize]
		if (i+1)*HashSize > len(stored) {
			return v.fail(leafOf(t, i), TileMissing, "tile %d/%d has %d hashes, want at least %d", t.Level, t.Index, len(stored)/HashSize, t.Width())
		}
		if got := stored[i*HashSize : (i+1)*HashSize]; !bytes.Equal(got, want) {
			if v.suspect == nil {
				v.suspect = &Error{Log: v.cfg.Log, Index: leafOf(t, i), Detail: fmt.Sprintf("tile %d/%d hash %d is %s, entries give %s",
					t.Level, t.Index, i, hex.EncodeToString(got[:8]), hex.EncodeToString(want[:8]))}
			}
			return nil
		}
	}
	return nil
}

// leafOf returns the first leaf index under hash i of tile t.
func leafOf(t Tile, i int) uint64 {
	return (t.Index*TileWidth + uint64(i)) << (TileHeight * uint(t.Level))
}

// Checkpoint adds a stored signed checkpoint. Checkpoints must come in
// increasing size order; one whose size has not been reached yet is kept
// until the entries reach it.
func (v *LogVerifier) Checkpoint(msg []byte) error {
	if v.err != nil {
		return v.err
	}
	cp, err := OpenCheckpoint(msg, v.cfg.Verifiers, "")
	if err != nil {
		var size uint64
		if c, perr := ParseCheckpoint(noteText(msg)); perr == nil {
			size = c.Size
		}
		idx := uint64(0)
		if size > 0 {
			idx = size - 1
		}
		return v.fail(idx, CheckpointSignature, "checkpoint for size %d: %v", size, err)
	}
	if cp.Origin != v.cfg.Origin {
		return v.fail(lastIndex(cp.Size), CheckpointSignature, "checkpoint for size %d has origin %q, want %q", cp.Size, cp.Origin, v.cfg.Origin)
	}
	last := v.Size()
	if n := len(v.pending); n > 0 {
		last = v.pending[n-1].Size
	}
	if cp.Size < last || (v.latest != nil && cp.Size <= v.latest.Size) {
		return v.fail(lastIndex(cp.Size), EntryOutOfOrder, "checkpoint for size %d presented after size %d", cp.Size, last)
	}
	v.pending = append(v.pending, cp)
	return v.checkPending()
}

// noteText returns the text part of a signed note (up to the blank line).
func noteText(msg []byte) []byte {
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return msg[:i+1]
	}
	return msg
}

func lastIndex(size uint64) uint64 {
	if size == 0 {
		return 0
	}
	return size - 1
}

// checkPending checks the checkpoints whose size the tree has reached.
func (v *LogVerifier) checkPending() error {
	for len(v.pending) > 0 && v.pending[0].Size == v.Size() {
		cp := v.pending[0]
		v.pending = v.pending[1:]
		if err := v.checkRoot(cp); err != nil {
			return err
		}
	}
	if t := v.cfg.Trusted; t != nil && t.Size == v.Size() {
		if root := v.tree.Root(); root != t.Root {
			// A root alone cannot show where two trees part: without the
			// entries the trusted checkpoint was signed over, any of
			// 0..Size-1 may be the first that differs.
			return v.fail(0, Fork, "the entries 0..%d do not hash to the trusted checkpoint for size %d (root %x, entries give %x): the log was rewritten or forked",
				t.Size-1, t.Size, t.Root[:8], root[:8])
		}
	}
	return nil
}

func (v *LogVerifier) checkRoot(cp SignedCheckpoint) error {
	root := v.tree.Root()
	if root == cp.Root {
		if v.suspect != nil {
			// The entries match the signed tree, so the tile is wrong.
			s := *v.suspect
			return v.fail(s.Index, TileChanged, "%s", s.Detail)
		}
		v.latest = &cp
		return nil
	}
	if v.suspect != nil {
		s := *v.suspect
		return v.fail(s.Index, EntryChanged, "entry does not hash to the signed tree (%s)", s.Detail)
	}
	// No full tile disagreed yet: compare the partial tiles to find the
	// first changed entry; if they agree too, the tiles were rewritten
	// along with the entries and only the range is known.
	for _, t := range v.tree.PartialTiles() {
		if err := v.compareTile(t); err != nil {
			return err
		}
		if v.suspect != nil {
			s := *v.suspect
			return v.fail(s.Index, EntryChanged, "entry does not hash to the signed tree (%s)", s.Detail)
		}
	}
	from := uint64(0)
	if v.latest != nil {
		from = v.latest.Size
	}
	return v.fail(from, CheckpointRoot, "entries %d..%d do not match the checkpoint for size %d (root %x, entries give %x)",
		from, cp.Size-1, cp.Size, cp.Root[:8], root[:8])
}

// Finish ends verification after the last entry. storedSize is the number
// of entries the store holds (which may exceed what was fed if the caller
// stopped at the newest checkpoint); Finish checks the partial tiles, that
// every entry is covered by a checkpoint, that no checkpoint is left
// unreached, and the trusted checkpoint. It returns the newest verified
// checkpoint.
func (v *LogVerifier) Finish() (*SignedCheckpoint, error) {
	if v.err != nil {
		return nil, v.err
	}
	if len(v.pending) > 0 {
		return nil, v.fail(v.Size(), EntryMissing, "checkpoint for size %d but entries end at index %d", v.pending[0].Size, int64(v.Size())-1)
	}
	if v.suspect != nil {
		s := *v.suspect
		return nil, v.fail(s.Index, EntryChanged, "entry or tile changed after the newest checkpoint (%s)", s.Detail)
	}
	size := v.Size()
	if v.latest == nil && size > 0 || v.latest != nil && v.latest.Size < size {
		from := uint64(0)
		if v.latest != nil {
			from = v.latest.Size
		}
		return nil, v.fail(from, EntryUnsigned, "entries %d..%d are not covered by any signed checkpoint", from, size-1)
	}
	for _, t := range v.tree.PartialTiles() {
		if err := v.compareTile(t); err != nil {
			return nil, err
		}
		if v.suspect != nil {
			s := *v.suspect
			return nil, v.fail(s.Index, TileChanged, "%s", s.Detail)
		}
	}
	if t := v.cfg.Trusted; t != nil && t.Size > size {
		return nil, v.fail(size, Rollback, "the log has %d entries, but a trusted checkpoint was signed for size %d", size, t.Size)
	}
	return v.latest, nil
}

// StoredTile checks that a stored tile of the given width lies within the
// verified tree: a tile past it is left over from a truncation. Call it
// after Finish for every stored tile.
func (v *LogVerifier) StoredTile(level uint8, index uint64, width int) error {
	if v.err != nil {
		return v.err
	}
	count := v.Size() >> (TileHeight * uint(level)) // hashes the tree has at this tile level
	if index*TileWidth+uint64(width) > count {
		first := max(index*TileWidth, count) << (TileHeight * uint(level))
		return v.fail(first, TileExtra, "tile %d/%d (width %d) covers hashes past the tree of size %d", level, index, width, v.Size())
	}
	return nil
}
