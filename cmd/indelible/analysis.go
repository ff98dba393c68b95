package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/a24ba333/indelible/internal/atomicfile"
)

// analysisDir holds, in a data directory, the saved state of the
// analysis of each log (its cursor and what the detectors learned). It is
// derived data: deleting it makes the next server analyse every log
// again from its first entry, which raises the findings already recorded
// with the same ids, so nothing is doubled.
const analysisDir = "analysis"

// fileStates keeps analysis states as files, one per log, replaced
// atomically and durably.
type fileStates struct{ dir string }

func (s fileStates) path(log string) string { return filepath.Join(s.dir, log+".json") }

func (s fileStates) Load(log string) ([]byte, error) {
	b, err := os.ReadFile(s.path(log))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func (s fileStates) Save(log string, state []byte) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	if err := atomicfile.Write(s.path(log), state, 0o644); err != nil {
		return fmt.Errorf("saving the analysis state of log %q: %w", log, err)
	}
	return nil
}
