package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/verify"
)

// maxRecentIDs bounds the ids of the newest commits that a sequencer
// remembers, so that a prompt retry is answered without the store. Older
// ids are found through the store's unique index; the bound keeps the
// map small enough not to weigh on the garbage collector.
const maxRecentIDs = 1 << 16

// maxAttempts bounds how often one batch is re-sequenced after another
// writer moved the log's head.
const maxAttempts = 8

type request struct {
	items []item
	done  chan response // buffered: the sequencer never blocks on it
}

type response struct {
	results    []Result
	size       uint64
	checkpoint []byte
	err        error
}

type recentID struct {
	gen    uint64
	index  uint64
	leaf   [32]byte
	digest []byte
}

// sequencer orders and commits one log's appends. Everything but reqs,
// quit and stopped is owned by its run goroutine.
//
// Idempotency: the store's unique index on ids is the guarantee that no
// id is written twice. The sequencer first answers ids it committed
// recently from memory, then commits optimistically; only when the store
// refuses the batch for a duplicate id does it look the batch's ids up and
// sequence again without them. Resent events are rare, so the common path
// costs no lookup.
type sequencer struct {
	l       *Ledger
	log     string
	origin  string
	reqs    chan *request
	quit    chan struct{}
	stopped chan struct{}
	gen     uint64 // commits made by this process

	// The previous store transaction: the entries it wrote and how long
	// the store took. gather waits for such a batch to re-form.
	lastN    int
	lastTook time.Duration

	loaded     bool
	tree       *verify.Tree
	checkpoint []byte
	recent     map[string]recentID
	recentLog  [][]string // ids of the remembered commits, oldest first
	recentN    int        // ids in recentLog
}

func newSequencer(l *Ledger, log string) *sequencer {
	return &sequencer{
		l:       l,
		log:     log,
		origin:  l.Origin(log),
		reqs:    make(chan *request, 1024),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
		recent:  map[string]recentID{},
	}
}

func (s *sequencer) run() {
	defer close(s.stopped)
	for {
		var first *request
		select {
		case first = <-s.reqs:
		case <-s.quit:
			return
		}
		s.commit(s.gather([]*request{first}, len(first.items)))
	}
}

// gather adds queued requests to batch, which holds n items, up to
// MaxBatch items. With MaxWait, it waits that long for the batch to fill.
//
// Without it, it takes what queued up while the previous commit was in
// flight, and waits only in one case: when that is less than half of what
// the previous commit held. Those clients were just answered and are on
// their way back (their next request not sent yet, or their handler not
// yet run); committing without them would cost a whole commit, fsync
// included, for a few items, and keep all of them waiting for it. It
// waits until half of them are back, at most as long as the previous
// commit took in the store, so an idle log or a single client never
// waits at all: their previous commit held as few items as they send.
func (s *sequencer) gather(batch []*request, n int) []*request {
	limit := s.l.cfg.MaxBatch
	take := func(r *request) {
		batch = append(batch, r)
		n += len(r.items)
	}
queued:
	for n < limit {
		select {
		case r := <-s.reqs:
			take(r)
		default:
			break queued
		}
	}
	wait := s.l.cfg.MaxWait
	want := limit
	if wait == 0 {
		wait, want = min(s.lastTook, maxRegroupWait), min(limit, (s.lastN+1)/2)
	}
	if n >= want || wait <= 0 {
		return batch
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for n < want {
		select {
		case r := <-s.reqs:
			take(r)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// maxRegroupWait bounds how long a sequencer without MaxWait waits for
// the clients of its previous commit to come back.
const maxRegroupWait = 5 * time.Millisecond

// load reads the log's head and rebuilds the tree's right edge from the
// stored tiles, checking it against the newest checkpoint: a sequencer
// never appends to a log whose stored tree disagrees with its signature.
func (s *sequencer) load(ctx context.Context) error {
	st := s.l.cfg.Store
	head, err := st.Head(ctx, s.log)
	if err != nil {
		return fmt.Errorf("reading head of log %q: %w", s.log, err)
	}
	if head.Size == 0 {
		s.tree, s.checkpoint = verify.NewTree(), nil
		s.loaded = true
		return nil
	}
	tree, err := verify.LoadTree(head.Size, s.l.tileReader(ctx, s.log))
	if err != nil {
		return fmt.Errorf("loading tree of log %q at size %d: %w", s.log, head.Size, err)
	}
	n, err := note.Open(head.Note, note.VerifierList(s.l.verifier()))
	if err != nil {
		return fmt.Errorf("log %q: newest checkpoint: %w", s.log, err)
	}
	cp, err := verify.ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return fmt.Errorf("log %q: newest checkpoint: %w", s.log, err)
	}
	if cp.Size != head.Size || cp.Root != tree.Root() || cp.Origin != s.origin {
		return fmt.Errorf("log %q is damaged: its tiles do not match its newest checkpoint (size %d); run indelible verify", s.log, head.Size)
	}
	s.tree, s.checkpoint = tree, head.Note
	s.loaded = true
	return nil
}

// commit sequences and commits one batch, answering every request in it.
func (s *sequencer) commit(batch []*request) {
	ctx := context.Background() // a batch is never abandoned half-way
	var err error
	lookup := false
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if !s.loaded {
			if err = s.load(ctx); err != nil {
				break
			}
		}
		err = s.try(ctx, batch, lookup)
		if err == nil {
			return
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrDuplicateID) {
			break
		}
		// A duplicate id, or another writer appended to this log: look
		// the ids up and sequence again.
		s.l.cfg.Logger.Debug("sequencing again", "log", s.log, "attempt", attempt, "err", err)
		if errors.Is(err, store.ErrConflict) {
			s.loaded = false
		}
		lookup = true
	}
	s.loaded = false // reload before the next batch: the store's state is unknown
	for _, r := range batch {
		r.done <- response{err: fmt.Errorf("appending to log %q: %w", s.log, err)}
	}
}

// try sequences the batch on a copy of the tree and commits it. On
// success it installs the new tree and answers the requests. With lookup,
// it first looks every id of the batch up in the store.
func (s *sequencer) try(ctx context.Context, batch []*request, lookup bool) error {
	lookedUp := map[string]recentID{}
	if lookup {
		var ids []string
		for _, r := range batch {
			for _, it := range r.items {
				ids = append(ids, it.id)
			}
		}
		k, err := s.l.lookup(ctx, s.log, ids)
		if err != nil {
			return err
		}
		for id, v := range k {
			lookedUp[id] = recentID{index: v.index, leaf: v.leaf, digest: v.digest}
		}
	}

	tree := s.tree.Clone()
	start := tree.Size()
	n := 0
	for _, r := range batch {
		n += len(r.items)
	}
	entries := make([]store.Entry, 0, n)
	sealed := make([]*event.Entry, 0, n) // sealed[i] is what entries[i] encodes
	var tiles []store.Tile
	inBatch := make(map[string]recentID, n)
	added := make([]string, 0, n) // ids of entries, in order
	answers := make([][]Result, len(batch))
	failed := make([]error, len(batch))
	for ri, r := range batch {
		// Check the whole request before adding any of it.
		res := make([]Result, len(r.items))
		var conflict error
		isNew := make([]bool, len(r.items))
		for i, it := range r.items {
			k, ok := inBatch[it.id]
			if !ok {
				k, ok = s.recent[it.id]
			}
			if !ok {
				k, ok = lookedUp[it.id]
			}
			if ok {
				if string(k.digest) != string(it.digest) {
					conflict = &ConflictError{ID: it.id, Index: k.index}
					break
				}
				res[i] = Result{ID: it.id, Index: k.index, LeafHash: k.leaf, Duplicate: true}
				continue
			}
			isNew[i] = true
		}
		if conflict != nil {
			failed[ri] = conflict
			continue
		}
		for i, it := range r.items {
			if !isNew[i] {
				continue
			}
			idx := tree.Size()
			tree.Append(it.leaf, func(t verify.Tile) {
				tiles = append(tiles, store.Tile{Level: t.Level, Index: t.Index, Hashes: t.Hashes})
			})
			entries = append(entries, store.Entry{Index: idx, ID: it.id, Body: it.body})
			sealed = append(sealed, it.entry)
			res[i] = Result{ID: it.id, Index: idx, LeafHash: it.leaf}
			inBatch[it.id] = recentID{index: idx, leaf: it.leaf, digest: it.digest}
			added = append(added, it.id)
		}
		answers[ri] = res
	}

	cp, size := s.checkpoint, s.tree.Size()
	if len(entries) == 0 && maxIndex(answers) > size {
		// Every entry was a duplicate, one of them committed by another
		// writer after this sequencer loaded the head: read the head again
		// (it was written before the lookup that found the entry).
		head, err := s.l.cfg.Store.Head(ctx, s.log)
		if err != nil {
			return fmt.Errorf("reading head: %w", err)
		}
		cp, size = head.Note, head.Size
	}
	if len(entries) > 0 {
		for _, t := range tree.PartialTiles() {
			tiles = append(tiles, store.Tile{Level: t.Level, Index: t.Index, Hashes: t.Hashes})
		}
		text := verify.Checkpoint{Origin: s.origin, Size: tree.Size(), Root: tree.Root()}.Text()
		var err error
		cp, err = note.Sign(&note.Note{Text: string(text)}, s.l.cfg.Signer)
		if err != nil {
			return fmt.Errorf("signing checkpoint: %w", err)
		}
		b := store.Batch{Start: start, Entries: entries, Tiles: tiles, Checkpoint: store.Checkpoint{Size: tree.Size(), Note: cp}}
		began := time.Now()
		err = s.l.cfg.Store.Append(ctx, s.log, b)
		took := time.Since(began)
		if err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrDuplicateID) {
				return err
			}
			// The outcome is unknown (the commit may have reached the
			// disk): look before answering.
			head, herr := s.l.cfg.Store.Head(ctx, s.log)
			if herr != nil || head.Size != tree.Size() || string(head.Note) != string(cp) {
				return err
			}
		}
		s.lastN, s.lastTook = len(entries), took
		if f := s.l.cfg.OnGroupCommit; f != nil {
			f(s.log, len(entries), took)
		}
		s.gen++
		s.remember(s.gen, added, inBatch)
		s.tree, s.checkpoint = tree, cp
		size = tree.Size()
		if f := s.l.cfg.OnCommit; f != nil {
			f(s.log, start, sealed)
		}
	}
	for ri, r := range batch {
		if failed[ri] != nil {
			r.done <- response{err: failed[ri]}
			continue
		}
		r.done <- response{results: answers[ri], size: size, checkpoint: cp}
	}
	return nil
}

// remember records the ids of commit gen, forgetting the oldest commits'
// while more than maxRecentIDs ids are remembered (the newest commit is
// always kept).
func (s *sequencer) remember(gen uint64, ids []string, info map[string]recentID) {
	for _, id := range ids {
		r := info[id]
		r.gen = gen
		s.recent[id] = r
	}
	s.recentLog = append(s.recentLog, ids)
	s.recentN += len(ids)
	for s.recentN > maxRecentIDs && len(s.recentLog) > 1 {
		old := s.recentLog[0]
		s.recentLog = s.recentLog[1:]
		s.recentN -= len(old)
		for _, id := range old {
			if r, ok := s.recent[id]; ok && r.gen < gen {
				delete(s.recent, id)
			}
		}
	}
}

// maxIndex returns one more than the largest index among the results, or
// 0 if there are none.
func maxIndex(answers [][]Result) uint64 {
	var m uint64
	for _, rs := range answers {
		for _, r := range rs {
			m = max(m, r.Index+1)
		}
	}
	return m
}
