package analyze

import (
	"encoding/json"
	"fmt"
)

// snapshotVersion is the format version of Snapshot, its "v".
const snapshotVersion = 1

// snapshot is the JSON form of an engine's state (see the package
// documentation).
type snapshot struct {
	V         int                      `json:"v"`
	Clock     clock                    `json:"clock"`
	Detectors map[string]detectorState `json:"detectors"`
}

// detectorState is the state of one detector and the parameters it was
// learned with.
type detectorState struct {
	Params string          `json:"params"`
	State  json.RawMessage `json:"state"`
}

// Snapshot returns the engine's whole state. The same state gives the
// same bytes. Restore turns them back into an engine.
func (e *Engine) Snapshot() ([]byte, error) {
	s := snapshot{V: snapshotVersion, Clock: e.clock, Detectors: make(map[string]detectorState, len(e.dets)+1)}
	add := func(key, params string, state any) error {
		b, err := json.Marshal(state)
		if err != nil {
			return fmt.Errorf("encoding the state of %s: %w", key, err)
		}
		s.Detectors[key] = detectorState{Params: params, State: b}
		return nil
	}
	for _, d := range e.dets {
		if err := add(d.key(), d.params(), d.save()); err != nil {
			return nil, err
		}
	}
	if e.sil != nil {
		if err := add(Silence, e.sil.params(), e.sil.save()); err != nil {
			return nil, err
		}
	}
	return json.Marshal(&s)
}

// Restore returns an engine for cfg in the state a snapshot recorded.
// The configuration may have changed since: a detector or rule whose
// parameters that shape its state (a window's length, a bucket's, the
// dimensions or the time zone that values are learned in, a rule's
// condition) are unchanged keeps its state; another starts learning
// afresh, as does one that is new. Changing only thresholds and
// severities loses nothing.
func Restore(cfg *Config, snap []byte) (*Engine, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	var s snapshot
	if err := json.Unmarshal(snap, &s); err != nil {
		return nil, fmt.Errorf("reading the analysis snapshot: %w", err)
	}
	if s.V != snapshotVersion {
		return nil, fmt.Errorf("analysis snapshot version %d, want %d", s.V, snapshotVersion)
	}
	e.clock = s.Clock
	load := func(key, params string, load func([]byte) error) error {
		ds, ok := s.Detectors[key]
		if !ok || ds.Params != params {
			return nil
		}
		if err := load(ds.State); err != nil {
			return fmt.Errorf("reading the analysis snapshot: the state of %s: %w", key, err)
		}
		return nil
	}
	for _, d := range e.dets {
		if err := load(d.key(), d.params(), d.load); err != nil {
			return nil, err
		}
	}
	if e.sil != nil {
		if err := load(Silence, e.sil.params(), e.sil.load); err != nil {
			return nil, err
		}
	}
	return e, nil
}
