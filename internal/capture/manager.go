package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
)

// Entries reads a log's committed entries (store.Store).
type Entries interface {
	// Head returns the newest checkpoint (zero for an empty log).
	Head(ctx context.Context, log string) (store.Checkpoint, error)
	// ReadEntries returns the stored entries with start <= Index < end.
	ReadEntries(ctx context.Context, log string, start, end uint64) ([]store.Entry, error)
	// ScanEntries calls fn for every stored entry with start <= Index < end.
	ScanEntries(ctx context.Context, log string, start, end uint64, fn func(store.Entry) error) error
}

// Index finds entries by type in the query index (store.Index).
type Index interface {
	// QueryIndex returns matching indexes, newest first, and the
	// watermark below which every entry was searched.
	QueryIndex(ctx context.Context, q store.IndexQuery) ([]uint64, uint64, error)
}

// Recorder appends events that Indelible writes about itself to log, in
// one commit, and returns their entries once durable.
type Recorder func(ctx context.Context, log string, evs []*event.Event) ([]store.Entry, error)

// Config configures a Manager. Entries and Record are required.
type Config struct {
	Entries Entries
	// Index, if set, finds the configuration entries of a large log
	// without reading it whole. Without it, loading a log scans it.
	Index Index
	// Record appends the configuration entries.
	Record Recorder
	// Clock stamps the configuration entries (default time.Now).
	Clock func() time.Time
	// Logger receives configuration entries that could not be applied.
	Logger *slog.Logger
}

// Manager keeps the configuration of every log it was asked about, and
// changes it. Safe for concurrent use. Several managers (processes) may
// change the same log: each one's changes are entries of the log, and
// Refresh picks up the others'.
type Manager struct {
	cfg Config

	mu   sync.Mutex
	logs map[string]*logState // guarded by mu
}

// logState is one log's configuration entries and their fold.
type logState struct {
	change sync.Mutex // serialises this process's changes to the log

	mu      sync.Mutex
	loaded  bool
	entries map[uint64]*event.Entry // configuration entries by index; guarded by mu
	scanned uint64                  // every entry below it was considered; guarded by mu
	st      *State                  // fold of entries; guarded by mu
}

// New returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Entries == nil || cfg.Record == nil {
		return nil, errors.New("capture: Config.Entries and Config.Record are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, logs: make(map[string]*logState)}, nil
}

func (m *Manager) log(name string) *logState {
	m.mu.Lock()
	defer m.mu.Unlock()
	ls := m.logs[name]
	if ls == nil {
		ls = &logState{entries: make(map[uint64]*event.Entry), st: Empty(name)}
		m.logs[name] = ls
	}
	return ls
}

// State returns the configuration of log, loading it from the log on
// first use.
func (m *Manager) State(ctx context.Context, log string) (*State, error) {
	ls := m.log(log)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if !ls.loaded {
		if err := m.load(ctx, log, ls); err != nil {
			return nil, err
		}
	}
	return ls.st, nil
}

// load reads the configuration entries of log. ls.mu is held.
func (m *Manager) load(ctx context.Context, log string, ls *logState) error {
	head, err := m.cfg.Entries.Head(ctx, log)
	if err != nil {
		return fmt.Errorf("capture: reading the head of log %q: %w", log, err)
	}
	from := uint64(0)
	if m.cfg.Index != nil {
		wm, err := m.fromIndex(ctx, log, ls, 0)
		if err != nil {
			return err
		}
		from = min(wm, head.Size)
	}
	// The tail that the index does not cover yet (or the whole log).
	err = m.cfg.Entries.ScanEntries(ctx, log, from, head.Size, func(se store.Entry) error {
		return m.consider(ls, se)
	})
	if err != nil {
		return fmt.Errorf("capture: scanning log %q: %w", log, err)
	}
	ls.scanned = max(ls.scanned, head.Size)
	ls.loaded = true
	ls.refold(log)
	return nil
}

// fromIndex adds the configuration entries that the index knows at or
// after index since, and returns the index's watermark. ls.mu is held.
func (m *Manager) fromIndex(ctx context.Context, log string, ls *logState, since uint64) (uint64, error) {
	var found []uint64
	wm := uint64(0)
	for _, prefix := range configPrefixes {
		before := uint64(0)
		for {
			ids, w, err := m.cfg.Index.QueryIndex(ctx, store.IndexQuery{Log: log, TypePrefix: prefix, Before: before, Limit: 500})
			if err != nil {
				return 0, fmt.Errorf("capture: querying the index of log %q: %w", log, err)
			}
			wm = w
			done := len(ids) < 500
			for _, i := range ids {
				if i < since {
					done = true
					break
				}
				found = append(found, i)
			}
			if done || len(ids) == 0 {
				break
			}
			before = ids[len(ids)-1]
		}
	}
	for _, i := range found {
		if _, ok := ls.entries[i]; ok {
			continue
		}
		es, err := m.cfg.Entries.ReadEntries(ctx, log, i, i+1)
		if err != nil {
			return 0, fmt.Errorf("capture: reading entry %d of log %q: %w", i, log, err)
		}
		for _, se := range es {
			if err := m.consider(ls, se); err != nil {
				return 0, err
			}
		}
	}
	return wm, nil
}

// consider keeps se if it is a configuration entry. ls.mu is held.
func (m *Manager) consider(ls *logState, se store.Entry) error {
	t, err := event.EntryType(se.Body)
	if err != nil {
		return fmt.Errorf("capture: entry %d: %w", se.Index, err)
	}
	if !IsConfigType(t) {
		return nil
	}
	e, err := event.ParseEntry(se.Body)
	if err != nil {
		return fmt.Errorf("capture: entry %d: %w", se.Index, err)
	}
	ls.entries[se.Index] = e
	return nil
}

// refold recomputes ls.st from ls.entries. ls.mu is held.
func (ls *logState) refold(log string) {
	idx := make([]uint64, 0, len(ls.entries))
	for i := range ls.entries {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	st := Empty(log)
	for _, i := range idx {
		st = st.Apply(i, ls.entries[i])
	}
	st.Through = max(st.Through, ls.scanned)
	ls.st = st
}

// Refresh picks up the configuration entries that other processes wrote
// to the logs this Manager has loaded, as far as the index has seen them.
// A server calls it periodically; without an Index it does nothing.
func (m *Manager) Refresh(ctx context.Context) error {
	if m.cfg.Index == nil {
		return nil
	}
	m.mu.Lock()
	names := make([]string, 0, len(m.logs))
	for n := range m.logs {
		names = append(names, n)
	}
	m.mu.Unlock()
	var errs []error
	for _, name := range names {
		ls := m.log(name)
		ls.mu.Lock()
		if ls.loaded {
			n := len(ls.entries)
			wm, err := m.fromIndex(ctx, name, ls, ls.scanned)
			if err != nil {
				errs = append(errs, err)
			} else {
				ls.scanned = max(ls.scanned, wm)
				if len(ls.entries) != n {
					ls.refold(name)
					m.cfg.Logger.Info("configuration changed by another process", "log", name, "policy", ls.st.PolicyHash())
				}
			}
		}
		ls.mu.Unlock()
	}
	return errors.Join(errs...)
}

// record appends evs to log as one commit and folds them in.
func (m *Manager) record(ctx context.Context, log string, ls *logState, evs ...*event.Event) ([]store.Entry, error) {
	for _, ev := range evs {
		if ev.ID == "" {
			id, err := uuid.NewV7()
			if err != nil {
				return nil, err
			}
			ev.ID = id.String()
		}
	}
	out, err := m.cfg.Record(ctx, log, evs)
	if err != nil {
		return nil, err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, se := range out {
		if err := m.consider(ls, se); err != nil {
			return nil, err
		}
	}
	ls.refold(log)
	return out, nil
}

// Actor is who changes the configuration.
type Actor struct {
	ID   string // an API key id, or the operator's name
	Type string // "api_key" or "operator"
}

func (m *Manager) event(by Actor, typ string, res event.Resource, data map[string]any) *event.Event {
	return &event.Event{
		Time:     m.cfg.Clock().UTC(),
		Type:     typ,
		Outcome:  event.OutcomeSuccess,
		Actor:    event.Actor{ID: by.ID, Type: by.Type},
		Resource: &res,
		Source:   "indelible",
		Data:     data,
	}
}

// Rebuild folds the configuration of log from its first size entries,
// read from es alone (every entry, not an index): what an auditor runs to
// check the configuration that a server reports.
func Rebuild(ctx context.Context, es Entries, log string, size uint64) (*State, error) {
	st := Empty(log)
	err := es.ScanEntries(ctx, log, 0, size, func(se store.Entry) error {
		t, err := event.EntryType(se.Body)
		if err != nil {
			return fmt.Errorf("entry %d: %w", se.Index, err)
		}
		if !IsConfigType(t) {
			return nil
		}
		e, err := event.ParseEntry(se.Body)
		if err != nil {
			return fmt.Errorf("entry %d: %w", se.Index, err)
		}
		st = st.Apply(se.Index, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("capture: rebuilding the configuration of log %q: %w", log, err)
	}
	st.Through = max(st.Through, size)
	return st, nil
}
