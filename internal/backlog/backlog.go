// Package backlog keeps the entries that the ledger has just committed
// until a reader that follows the logs (the query indexer, the detectors)
// gets to them, so that the reader takes them from memory instead of
// reading them back from the store and decoding them again.
//
// A Backlog is bounded across all logs: past its bound it forgets the
// oldest entries of the log being offered, which the reader then reads
// from the store as if they had never been offered. Readers and the
// ledger share the *event.Entry values, which nobody may modify.
package backlog

import (
	"sync"

	"github.com/a24ba333/indelible/event"
)

// Backlog holds committed entries per log. It is safe for concurrent use.
type Backlog struct {
	max int // most entries held, all logs together

	mu   sync.Mutex
	logs map[string]*run // guarded by mu
	n    int             // entries held; guarded by mu
}

// run is a contiguous run of a log's entries: entries[i] is entry start+i.
type run struct {
	start   uint64
	entries []*event.Entry
}

// New returns a Backlog that holds at most max entries.
func New(max int) *Backlog {
	return &Backlog{max: max, logs: make(map[string]*run)}
}

// Offer adds entries committed to log at indexes start, start+1, ... It
// never blocks. A run that does not continue the log's held run (another
// writer committed in between, or entries were dropped) replaces it.
func (b *Backlog) Offer(log string, start uint64, entries []*event.Entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.logs[log]
	if r == nil || start != r.start+uint64(len(r.entries)) {
		if r != nil {
			b.n -= len(r.entries)
		}
		r = &run{start: start}
		b.logs[log] = r
	}
	r.entries = append(r.entries, entries...)
	b.n += len(entries)
	if extra := b.n - b.max; extra > 0 {
		b.drop(r, min(extra, len(r.entries)))
	}
}

// drop forgets the first k entries of r.
func (b *Backlog) drop(r *run, k int) {
	clear(r.entries[:k]) // let the collector have them now
	r.entries = r.entries[k:]
	r.start += uint64(k)
	b.n -= k
}

// Take returns the entries of log that it holds from lo on, up to hi
// (excluded), in a slice of the caller's own, and forgets those below the
// last one returned; to is the index after them. If it holds none at lo,
// it returns nil, and to is the end of the range to read from the store
// instead: hi, or the first entry it holds if that comes before.
//
// Either way the caller may get less than [lo, hi): a reader that learns
// the log's size from the store sees a commit a moment before the ledger
// offers it (the commit is visible once it is durable; the ledger offers
// it after). The caller takes what it got and the rest on its next pass,
// instead of reading and decoding a whole range from the store for want
// of its last entries, or reading again what is held.
func (b *Backlog) Take(log string, lo, hi uint64) (entries []*event.Entry, to uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.logs[log]
	if r == nil || len(r.entries) == 0 || hi <= r.start {
		return nil, hi
	}
	if lo < r.start {
		return nil, r.start
	}
	end := min(hi, r.start+uint64(len(r.entries)))
	if lo >= end {
		return nil, hi
	}
	out := append([]*event.Entry(nil), r.entries[lo-r.start:end-r.start]...)
	b.drop(r, int(end-r.start))
	return out, end
}

// Len returns the number of entries held, all logs together.
func (b *Backlog) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}
