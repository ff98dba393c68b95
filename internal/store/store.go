// Package store defines the contract between the ledger and the databases
// that keep its logs.
//
// A Store holds many logs. Each log is an append-only sequence of entries
// (canonical entry bytes, indexed from 0 with no gaps), the C2SP tlog-tiles
// hash tiles of height 8 that commit to them, and the signed checkpoints
// published for them. The store does not interpret any of these bytes: the
// ledger computes them and the verify package checks them. What the store
// guarantees is atomicity and durability of each Append, and that readers
// see only committed batches.
//
// Implementations live in sub-packages named for their technology
// (sqlite, postgres) and all pass the conformance suite in storetest.
package store

import (
	"context"
	"errors"
	"fmt"
)

// TileHeight is the height of every stored hash tile, as in C2SP tlog-tiles:
// a full tile holds 256 hashes of one tree level.
const TileHeight = 8

// TileWidth is the number of hashes in a full tile.
const TileWidth = 1 << TileHeight

// HashSize is the size of every Merkle tree hash (SHA-256).
const HashSize = 32

var (
	// ErrConflict is returned by Append when the log's size is not the
	// batch's Start: another writer appended first. Nothing was written;
	// the caller must reload the head and sequence again.
	ErrConflict = errors.New("store: log head moved")

	// ErrDuplicateID is returned by Append when an entry's ID is already
	// present in the log (or twice in the batch). Nothing was written.
	ErrDuplicateID = errors.New("store: duplicate entry id")

	// ErrNotFound is returned by point reads (ReadTile, Checkpoint) when
	// nothing is stored under the requested key.
	ErrNotFound = errors.New("store: not found")
)

// Entry is one sealed entry of a log.
type Entry struct {
	// Index is the entry's leaf index in its log.
	Index uint64
	// ID is the event's idempotency key, unique within the log. It is a
	// copy of the "id" field inside Body, kept as a column so that
	// duplicates are found without reading bodies.
	ID string
	// Body is the entry's canonical bytes: the Merkle leaf data.
	Body []byte
}

// Tile is one C2SP tlog-tiles hash tile: up to TileWidth hashes of tree
// level Level*TileHeight, starting at hash number Index*TileWidth.
type Tile struct {
	Level  uint8
	Index  uint64
	Hashes []byte // concatenated HashSize-byte hashes; len is a multiple of HashSize
}

// Width returns the number of hashes in the tile.
func (t Tile) Width() int { return len(t.Hashes) / HashSize }

// Checkpoint is a signed checkpoint (a C2SP signed note) for one tree size.
type Checkpoint struct {
	Size uint64
	Note []byte
}

// Batch is what one Append commits to one log.
type Batch struct {
	// Start is the log's size before the batch. The entries take the
	// indexes Start, Start+1, ... in order.
	Start uint64
	// Entries are the new entries, with Index set to their leaf index.
	Entries []Entry
	// Tiles are the tiles that the batch completed or changed. A tile with
	// the same (Level, Index) as a stored one replaces it: this is how the
	// rightmost partial tiles grow. A stored full tile is never replaced:
	// a tile no wider than the stored one is ignored.
	Tiles []Tile
	// Checkpoint is the signed checkpoint for size Start+len(Entries).
	Checkpoint Checkpoint
}

// Check checks the batch's internal consistency, for a store whose logs
// hold at most maxSize entries: every store refuses a malformed batch
// before it writes anything.
func (b Batch) Check(maxSize uint64) error {
	if len(b.Entries) == 0 {
		return errors.New("batch has no entries")
	}
	if b.Start > maxSize-uint64(len(b.Entries)) {
		return fmt.Errorf("batch start %d is too large: a log holds at most %d entries", b.Start, maxSize)
	}
	for k, e := range b.Entries {
		if e.Index != b.Start+uint64(k) {
			return fmt.Errorf("entry %d of batch starting at %d has index %d", k, b.Start, e.Index)
		}
	}
	if end := b.Start + uint64(len(b.Entries)); b.Checkpoint.Size != end {
		return fmt.Errorf("checkpoint size %d, want %d", b.Checkpoint.Size, end)
	}
	for _, t := range b.Tiles {
		if t.Index > 1<<63-1 {
			return fmt.Errorf("tile index %d is too large", t.Index)
		}
		if len(t.Hashes) == 0 || len(t.Hashes)%HashSize != 0 || t.Width() > TileWidth {
			return fmt.Errorf("tile %d/%d is %d bytes long", t.Level, t.Index, len(t.Hashes))
		}
	}
	return nil
}

// Store keeps logs. All methods are safe for concurrent use, also by
// several processes sharing one database.
type Store interface {
	// Append commits b to the log atomically and durably: when it returns
	// nil, the entries, tiles and checkpoint survive a crash of the
	// process or the machine; when it returns an error, none of them were
	// written. It returns ErrConflict when the log's size is not b.Start
	// and ErrDuplicateID when an entry's ID is already in the log. A log
	// is created by its first Append.
	//
	// It rejects a malformed batch with another error, writing nothing:
	// one with no entries, an entry whose Index is not Start plus its
	// position, a Checkpoint.Size other than Start+len(Entries), or a tile
	// whose Hashes are empty, not a whole number of hashes or wider than
	// TileWidth.
	Append(ctx context.Context, log string, b Batch) error

	// Head returns the log's newest checkpoint. For a log that has no
	// entries it returns a zero Checkpoint and a nil error.
	Head(ctx context.Context, log string) (Checkpoint, error)

	// Checkpoint returns the checkpoint stored for exactly the given size,
	// or ErrNotFound.
	Checkpoint(ctx context.Context, log string, size uint64) (Checkpoint, error)

	// ScanCheckpoints calls fn for every stored checkpoint of the log with
	// Size <= maxSize, in increasing Size order. An error from fn stops the
	// scan and is returned.
	ScanCheckpoints(ctx context.Context, log string, maxSize uint64, fn func(Checkpoint) error) error

	// LookupIDs returns, for those ids that the log holds, the entry's
	// index. Absent ids are absent from the map.
	LookupIDs(ctx context.Context, log string, ids []string) (map[string]uint64, error)

	// ReadEntries returns the entries with start <= Index < end that are
	// stored, in Index order. A missing index is simply absent from the
	// result: callers that need contiguity check it.
	ReadEntries(ctx context.Context, log string, start, end uint64) ([]Entry, error)

	// ScanEntries calls fn for every stored entry with start <= Index < end,
	// in Index order, without loading them all into memory. Use end =
	// math.MaxUint64 to read to the end. An error from fn stops the scan
	// and is returned.
	ScanEntries(ctx context.Context, log string, start, end uint64, fn func(Entry) error) error

	// ReadTile returns the stored tile at (level, index), or ErrNotFound.
	ReadTile(ctx context.Context, log string, level uint8, index uint64) (Tile, error)

	// ScanTiles calls fn for every stored tile of the log, ordered by
	// level, then index.
	ScanTiles(ctx context.Context, log string, fn func(Tile) error) error

	// Logs returns the names of all logs that have at least one entry, in
	// lexical order of their bytes (as sort.Strings, whatever the
	// database's collation).
	Logs(ctx context.Context) ([]string, error)

	// Close releases the store's resources.
	Close() error
}
