package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/seal"
)

// rewindable is an input that can be read twice: once to validate every
// event, once to append them, so that memory stays bounded however large
// the input. A regular file is read in place; anything else (a pipe, a
// terminal) is copied to a temporary file while it is validated.
type rewindable struct {
	name  string
	file  *os.File  // the input, or the temporary copy
	spool bool      // file is a temporary copy, removed by Close
	src   io.Closer // the named input that is copied, if any
	first io.Reader
}

// openInput opens path ("-" or "" for in) for two passes.
func openInput(path string, in io.Reader) (*rewindable, error) {
	r := &rewindable{name: path}
	if path == "" || path == "-" {
		r.name = "standard input"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("opening input: %w", err)
		}
		if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
			r.file, r.first = f, f
			return r, nil
		}
		in, r.src = f, f // a named pipe or a device: copy it like standard input
	}
	tmp, err := os.CreateTemp("", "indelible-append-*.ndjson")
	if err != nil {
		if r.src != nil {
			r.src.Close()
		}
		return nil, fmt.Errorf("creating a temporary copy of %s: %w", r.name, err)
	}
	os.Remove(tmp.Name()) // unlinked: it disappears with the process
	r.file, r.spool, r.first = tmp, true, io.TeeReader(in, tmp)
	return r, nil
}

// First returns the reader of the first pass.
func (r *rewindable) First() io.Reader { return r.first }

// Second returns the reader of the second pass, from the beginning.
func (r *rewindable) Second() (io.Reader, error) {
	if _, err := r.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewinding %s: %w", r.name, err)
	}
	return r.file, nil
}

// Close closes the input and removes the temporary copy.
func (r *rewindable) Close() error {
	if r.src != nil {
		r.src.Close()
	}
	return r.file.Close()
}

// lineError is one problem of the input, for the error report.
type lineError struct {
	line int
	msg  string // "path: message" or "message"
}

// invalidInput lists every problem found while validating the input.
type invalidInput struct {
	name      string
	errs      []lineError
	truncated bool
}

func (e *invalidInput) Error() string {
	lines := map[int]bool{}
	for _, le := range e.errs {
		lines[le.line] = true
	}
	return fmt.Sprintf("%s: %d invalid event(s): nothing was appended (fix them and run again)", e.name, len(lines))
}

// report prints every problem, one per line: "line 3: /actor/id: is required".
func (e *invalidInput) report(w io.Writer) {
	for _, le := range e.errs {
		fmt.Fprintf(w, "line %d: %s\n", le.line, le.msg)
	}
	if e.truncated {
		fmt.Fprintf(w, "stopped checking after %d invalid events: later lines were not checked\n", event.MaxItemErrors)
	}
}

// validation is the result of the first pass.
type validation struct {
	events int
	noID   int // events without an id: they get a fresh one on every run
}

// validateInput reads every event of r and checks that all of them can
// be appended: each parses and validates, its sealed entry fits the size
// limit, and no id is used twice with different content. It returns an
// *invalidInput listing every problem by line, or ErrEmptyBatch wrapped.
func validateInput(ctx context.Context, name string, r io.Reader, log string) (validation, error) {
	var res validation
	// Entries are sealed with stand-ins of the same size as the real
	// values (36-character id, longest receipt time, same digest length),
	// so the size check is exact for the real seal. The digest key only
	// has to be the same for the whole input.
	sealer, err := seal.New(seal.Config{
		DigestKey: []byte("indelible input validation only"),
		Clock:     func() time.Time { return time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) },
		NewID:     func() (string, error) { return "00000000-0000-7000-8000-000000000000", nil },
	})
	if err != nil {
		return res, err
	}
	type seen struct {
		line   int
		digest [sha256.Size]byte
	}
	ids := map[string]seen{}
	bad := &invalidInput{name: name}
	err = event.ReadNDJSON(r, event.DefaultLimits(), func(line int, ev *event.Event) error {
		if res.events++; res.events%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if ev.ID == "" {
			res.noID++
		}
		e, err := sealer.Seal(log, ev)
		if err != nil {
			bad.errs = append(bad.errs, lineError{line, err.Error()})
			return nil
		}
		if _, err := e.Canonical(); err != nil {
			if errors.Is(err, event.ErrEntryTooLarge) {
				err = fmt.Errorf("the sealed entry would exceed %d bytes: shorten the event", event.MaxEntrySize)
			}
			bad.errs = append(bad.errs, lineError{line, err.Error()})
			return nil
		}
		if ev.ID != "" {
			var d [sha256.Size]byte
			copy(d[:], e.Digest)
			if s, ok := ids[ev.ID]; !ok {
				ids[ev.ID] = seen{line, d}
			} else if s.digest != d {
				bad.errs = append(bad.errs, lineError{line, fmt.Sprintf("/id: %q is also the id of line %d, with different content", ev.ID, s.line)})
			}
		}
		return nil
	})
	var be *event.BatchError
	switch {
	case errors.As(err, &be):
		for _, it := range be.Items {
			for _, fe := range it.Errors {
				bad.errs = append(bad.errs, lineError{it.Line, fe.String()})
			}
		}
		bad.truncated = be.Truncated
	case errors.Is(err, event.ErrEmptyBatch):
		return res, badData(fmt.Errorf("%s holds no event: nothing to append", name))
	case err != nil:
		return res, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(bad.errs) > 0 {
		sort.SliceStable(bad.errs, func(i, j int) bool { return bad.errs[i].line < bad.errs[j].line })
		return res, badData(bad)
	}
	return res, nil
}
