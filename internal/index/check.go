package index

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/verify"
)

// Check compares the query index of log with the log's entries, up to the
// index's watermark: every entry below it must have its row, with the
// fields the entry gives (RowOf), and no row may lie at or past the
// watermark or past the log. Damage is returned as a *verify.Error naming
// the first bad index: Kind ColumnMismatch for a row that is missing,
// extra or different (a query would miss or invent the event), Kind
// EntryMissing or EntryChanged when the entries themselves are damaged
// (AuditLog says more). Other errors are failures to read.
//
// It is safe to run while an indexer writes: rows added during the check
// are not reported, whether or not they are checked.
func Check(ctx context.Context, st store.Store, ix store.Index, log string) error {
	wm, err := ix.IndexWatermark(ctx, log)
	if err != nil {
		return fmt.Errorf("reading index watermark of log %q: %w", log, err)
	}
	head, err := st.Head(ctx, log)
	if err != nil {
		return fmt.Errorf("reading head of log %q: %w", log, err)
	}
	damage := func(index uint64, kind verify.Kind, format string, args ...any) error {
		return &verify.Error{Log: log, Index: index, Kind: kind, Detail: fmt.Sprintf(format, args...)}
	}
	nextRow, stop := iter.Pull2(scanIndex(ctx, ix, log))
	defer stop()
	row, rowErr, rowOK := nextRow()
	// readRowErr turns the error of the index scan into what Check returns.
	readRowErr := func() error {
		if de, ok := errors.AsType[*store.IndexDamageError](rowErr); ok {
			return damage(de.Index, verify.ColumnMismatch, "query index: %s", de.Detail)
		}
		return fmt.Errorf("reading index of log %q: %w", log, rowErr)
	}

	end := min(wm, head.Size)
	next := uint64(0) // the next entry expected
	err = st.ScanEntries(ctx, log, 0, end, func(e store.Entry) error {
		if e.Index != next {
			return damage(next, verify.EntryMissing, "entry %d is missing, so the query index cannot be checked from there", next)
		}
		next++
		want, err := RowOf(e.Index, e.Body)
		if err != nil {
			return damage(e.Index, verify.EntryChanged, "entry is not a valid entry: %v", err)
		}
		if rowErr != nil {
			return readRowErr()
		}
		if !rowOK || row.Index > e.Index {
			return damage(e.Index, verify.ColumnMismatch, "query index has no row for %d", e.Index)
		}
		if detail := diff(row, want); detail != "" {
			return damage(e.Index, verify.ColumnMismatch, "query index row for %d says %s", e.Index, detail)
		}
		row, rowErr, rowOK = nextRow()
		return nil
	})
	if err != nil {
		return err
	}
	if next < end {
		return damage(next, verify.EntryMissing, "entry %d is missing, so the query index cannot be checked from there", next)
	}
	if rowErr != nil {
		return readRowErr()
	}
	if wm > head.Size {
		return damage(head.Size, verify.ColumnMismatch, "query index covers %d entries, the log has %d", wm, head.Size)
	}
	if !rowOK {
		return nil
	}
	// A row past what was checked: the indexer may have written it since.
	if wm, err = ix.IndexWatermark(ctx, log); err != nil {
		return fmt.Errorf("reading index watermark of log %q: %w", log, err)
	}
	if head, err = st.Head(ctx, log); err != nil {
		return fmt.Errorf("reading head of log %q: %w", log, err)
	}
	for ; rowOK; row, rowErr, rowOK = nextRow() {
		switch {
		case row.Index >= head.Size:
			return damage(row.Index, verify.ColumnMismatch, "query index has a row for %d past the log (size %d)", row.Index, head.Size)
		case row.Index >= wm:
			return damage(row.Index, verify.ColumnMismatch, "query index has a row for %d past its watermark %d", row.Index, wm)
		}
	}
	if rowErr != nil {
		return readRowErr()
	}
	return nil
}

// diff describes the first field in which the index row got differs from
// the entry's row want, or returns "".
func diff(got, want store.IndexRow) string {
	if g, w := got.Time.UnixMilli(), want.Time.UnixMilli(); g != w {
		return fmt.Sprintf("time %s, the entry says %s", fmtTime(got.Time), fmtTime(want.Time))
	}
	for _, f := range []struct {
		name      string
		got, want string
	}{
		{"type", got.Type, want.Type},
		{"actor", got.Actor, want.Actor},
		{"resource type", got.ResourceType, want.ResourceType},
		{"resource id", got.ResourceID, want.ResourceID},
		{"outcome", got.Outcome, want.Outcome},
		{"project", got.Project, want.Project},
		{"environment", got.Environment, want.Environment},
		{"source", got.Source, want.Source},
	} {
		if f.got != f.want {
			return fmt.Sprintf("%s %q, the entry says %q", f.name, f.got, f.want)
		}
	}
	return ""
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// scanIndex adapts ScanIndex to an iterator. An error is the last pair.
func scanIndex(ctx context.Context, ix store.Index, log string) iter.Seq2[store.IndexRow, error] {
	return func(yield func(store.IndexRow, error) bool) {
		stop := errors.New("stop")
		err := ix.ScanIndex(ctx, log, 0, func(r store.IndexRow) error {
			if !yield(r, nil) {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			yield(store.IndexRow{}, err)
		}
	}
}
