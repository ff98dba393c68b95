// Package ledger appends sealed entries to logs and proves what they hold.
//
// Each log has one sequencer goroutine in this process. Concurrent Append
// calls queue their entries to it; it takes everything queued (up to
// Config.MaxBatch entries, waiting up to Config.MaxWait for more, or
// briefly for the clients of its previous commit to come back) and
// commits it as one batch: the entries, the C2SP tlog-tiles that change,
// and a new signed checkpoint, in one store transaction. Many small
// appends therefore share one fsync (group commit), and every
// acknowledgment carries a checkpoint that includes its entries.
//
// Several processes may append to one log through a shared store: the
// store refuses a batch whose start is not the log's size (ErrConflict),
// and the sequencer then reloads the log's head and sequences again, so
// no process ever forks the tree.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/verify"
)

// Config configures a Ledger. Store and Signer are required.
type Config struct {
	// Store keeps the logs.
	Store store.Store
	// Signer signs checkpoints. Its name is the instance name: the origin
	// of log L is "<name>/L".
	Signer note.Signer
	// MaxBatch is the most entries committed in one transaction (default
	// 4096). A single Append larger than this is still committed whole.
	MaxBatch int
	// MaxWait is how long a sequencer waits for a batch to fill before it
	// commits (default 0: it commits what has queued up while the previous
	// commit was in flight, which batches well under load and adds no
	// latency when idle; if that is less than half of the previous
	// commit, it waits for the rest to come back, at most as long as the
	// previous commit took).
	MaxWait time.Duration
	// TileCache is the number of full tiles kept in memory for proofs
	// (default 4096, about 32 MiB).
	TileCache int
	// Logger receives operational logs (default: discarded).
	Logger *slog.Logger
	// OnCommit, if not nil, is called by a log's sequencer after each
	// durable commit with the committed entries, which took the indexes
	// start, start+1, ... (the log's new size is start+len(entries)),
	// before the appends are answered. Each is the *event.Entry given to
	// Append, whose Canonical bytes are what the store holds. It runs on
	// the append path: it must return at once (signal a channel, keep a
	// reference; never block or do I/O), and neither it nor the readers
	// it hands the entries to may modify them. Readers that follow the
	// log (the query indexer, the detectors, live streams) use it instead
	// of polling and reading the entries back and decoding them again.
	OnCommit func(log string, start uint64, entries []*event.Entry)
	// OnGroupCommit, if not nil, is called by a log's sequencer after each
	// store transaction that committed entries: how many it wrote (the
	// requests of every client that queued during the previous commit)
	// and how long the store took (writing, fsync). Operators size
	// MaxWait by it. It runs on the append path, like OnCommit.
	OnGroupCommit func(log string, entries int, took time.Duration)
}

// Ledger appends to and proves logs. It is safe for concurrent use.
type Ledger struct {
	cfg   Config
	tiles *tileCache

	sizesMu sync.Mutex
	sizes   map[string]uint64 // largest size seen per log; guarded by sizesMu

	mu     sync.Mutex
	seqs   map[string]*sequencer // guarded by mu
	closed bool                  // guarded by mu
	wg     sync.WaitGroup        // Append calls in flight
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("ledger: closed")

// ConflictError is returned when an event reuses an id that the log holds
// with other content. Nothing of the Append was written.
type ConflictError struct {
	ID    string
	Index uint64 // the index of the entry that holds the id
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("id %q is already used by entry %d with different content", e.ID, e.Index)
}

// New returns a ledger.
func New(cfg Config) (*Ledger, error) {
	if cfg.Store == nil {
		return nil, errors.New("ledger: Config.Store is nil")
	}
	if cfg.Signer == nil {
		return nil, errors.New("ledger: Config.Signer is nil")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.MaxWait < 0 {
		return nil, errors.New("ledger: Config.MaxWait is negative")
	}
	if cfg.TileCache <= 0 {
		cfg.TileCache = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Ledger{cfg: cfg, tiles: newTileCache(cfg.TileCache), seqs: map[string]*sequencer{}, sizes: map[string]uint64{}}, nil
}

// Origin returns the checkpoint origin of a log.
func (l *Ledger) Origin(log string) string { return verify.Origin(l.cfg.Signer.Name(), log) }

// Result is what Append reports for one entry.
type Result struct {
	ID       string
	Index    uint64
	LeafHash [32]byte
	// Duplicate is true when the log already held this id with the same
	// content: Index and LeafHash are the original ones.
	Duplicate bool
}

// Appended is the answer to an Append.
type Appended struct {
	Results []Result
	// Size and Checkpoint are a signed checkpoint whose tree includes
	// every result.
	Size       uint64
	Checkpoint []byte
}

// item is one entry on its way to a sequencer.
type item struct {
	id     string
	digest []byte
	body   []byte
	leaf   [32]byte
	entry  *event.Entry // what body encodes, for OnCommit
}

// Append appends entries to log and returns once they are durable, with
// their indexes and a signed checkpoint that includes them. It is all or
// nothing: on error, none of the entries was appended by this call. An
// entry longer than event.MaxEntrySize fails with an error wrapping
// event.ErrEntryTooLarge.
//
// Entries whose id the log already holds with the same digest are not
// written again; their original results are returned with Duplicate set.
// An id held with another digest fails the whole call with a
// *ConflictError.
//
// If ctx ends while the batch is being committed, Append returns the
// context's error although the entries may have been committed; calling
// Append again with the same entries is safe and returns their results.
func (l *Ledger) Append(ctx context.Context, log string, entries []*event.Entry) (Appended, error) {
	if err := ValidLogName(log); err != nil {
		return Appended{}, err
	}
	if len(entries) == 0 {
		return Appended{}, errors.New("ledger: no entries")
	}
	items := make([]item, len(entries))
	for i, e := range entries {
		if e.Log != log {
			return Appended{}, fmt.Errorf("ledger: entry %d is sealed for log %q, not %q", i, e.Log, log)
		}
		if e.ID == "" {
			return Appended{}, fmt.Errorf("ledger: entry %d has no id", i)
		}
		body, err := e.Canonical()
		if err != nil {
			return Appended{}, fmt.Errorf("ledger: encoding entry %d: %w", i, err)
		}
		items[i] = item{id: e.ID, digest: e.Digest, body: body, leaf: event.LeafHash(body), entry: e}
	}

	s, err := l.sequencer(log)
	if err != nil {
		return Appended{}, err
	}
	defer l.wg.Done()

	results := make([]Result, len(items))
	fresh := make([]item, 0, len(items))
	freshAt := make([]int, 0, len(items))

	// Duplicates within the call.
	first := make(map[string]int, len(items))
	dupOf := make([]int, len(items))
	for i, it := range items {
		dupOf[i] = -1
		if j, ok := first[it.id]; ok {
			if string(items[j].digest) != string(it.digest) {
				return Appended{}, fmt.Errorf("ledger: entries %d and %d share id %q with different content", j, i, it.id)
			}
			dupOf[i] = j
			continue
		}
		first[it.id] = i
	}

	// Duplicates of committed entries are found by the sequencer: from
	// the ids it committed recently, or, when the store's unique index
	// refuses a batch, by looking the ids up.
	for i, it := range items {
		if dupOf[i] < 0 {
			fresh = append(fresh, it)
			freshAt = append(freshAt, i)
		}
	}

	var size uint64
	var cp []byte
	{
		req := &request{items: fresh, done: make(chan response, 1)}
		select {
		case s.reqs <- req:
		case <-ctx.Done():
			return Appended{}, ctx.Err()
		}
		var resp response
		select {
		case resp = <-req.done:
		case <-ctx.Done():
			return Appended{}, ctx.Err()
		}
		if resp.err != nil {
			return Appended{}, resp.err
		}
		for k, i := range freshAt {
			results[i] = resp.results[k]
		}
		size, cp = resp.size, resp.checkpoint
	}
	for i := range items {
		if j := dupOf[i]; j >= 0 {
			results[i] = results[j]
			results[i].Duplicate = true
		}
	}
	return Appended{Results: results, Size: size, Checkpoint: cp}, nil
}

// known is what the store holds for an id.
type known struct {
	index  uint64
	leaf   [32]byte
	digest []byte
}

// lookup finds the committed entries holding ids. Entries are read in
// runs of nearby indexes, since a retried batch holds neighbours.
func (l *Ledger) lookup(ctx context.Context, log string, ids []string) (map[string]known, error) {
	idx, err := l.cfg.Store.LookupIDs(ctx, log, ids)
	if err != nil {
		return nil, fmt.Errorf("looking up ids in log %q: %w", log, err)
	}
	out := make(map[string]known, len(idx))
	if len(idx) == 0 {
		return out, nil
	}
	want := make(map[uint64]string, len(idx))
	indexes := make([]uint64, 0, len(idx))
	for id, i := range idx {
		want[i] = id
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	const maxGap = 64 // read through gaps up to this many entries
	for start := 0; start < len(indexes); {
		end := start + 1
		for end < len(indexes) && indexes[end]-indexes[end-1] <= maxGap {
			end++
		}
		lo, hi := indexes[start], indexes[end-1]+1
		es, err := l.cfg.Store.ReadEntries(ctx, log, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("reading entries [%d, %d) of log %q: %w", lo, hi, log, err)
		}
		for _, e := range es {
			id, ok := want[e.Index]
			if !ok {
				continue
			}
			d, err := event.EntryDigest(e.Body)
			if err != nil {
				return nil, fmt.Errorf("entry %d of log %q: %w", e.Index, log, err)
			}
			out[id] = known{index: e.Index, leaf: event.LeafHash(e.Body), digest: d}
		}
		start = end
	}
	for id, i := range idx {
		if _, ok := out[id]; !ok {
			return nil, fmt.Errorf("entry %d of log %q, indexed for id %q, is missing", i, log, id)
		}
	}
	return out, nil
}

// sequencer returns the log's sequencer, starting it if needed, and
// registers an Append in flight (the caller must call l.wg.Done).
func (l *Ledger) sequencer(log string) (*sequencer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	s, ok := l.seqs[log]
	if !ok {
		s = newSequencer(l, log)
		l.seqs[log] = s
		go s.run()
	}
	l.wg.Add(1)
	return s, nil
}

// Close waits for the Appends in flight to finish (their batches are
// committed, not abandoned), then stops the sequencers. It does not close
// the store.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.wg.Wait()
	for _, s := range l.seqs {
		close(s.quit)
		<-s.stopped
	}
	return nil
}

// ValidLogName checks a log name: 1 to 64 characters of [A-Za-z0-9._-],
// not starting with a dot or a dash. Log names appear in checkpoint
// origins and URL paths.
func ValidLogName(log string) error {
	if log == "" || len(log) > 64 {
		return fmt.Errorf("log name %q: must be 1 to 64 characters", log)
	}
	for i, c := range log {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' && i > 0 || c == '-' && i > 0
		if !ok {
			return fmt.Errorf("log name %q: character %q at %d is not allowed (use letters, digits, '_', '.', '-')", log, c, i)
		}
	}
	return nil
}
