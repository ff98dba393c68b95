package findings

import (
	"context"
	"fmt"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
)

// Index finds the finding entries of a log (store.Index).
type Index interface {
	QueryIndex(ctx context.Context, q store.IndexQuery) ([]uint64, uint64, error)
}

// Reader reads entries (store.Store).
type Reader interface {
	ReadEntries(ctx context.Context, log string, start, end uint64) ([]store.Entry, error)
}

// Filter selects findings. Empty fields do not filter.
type Filter struct {
	Status, Rule, Severity string
	// Since keeps the findings opened at or after it (event time).
	Since time.Time
	// Before, if not 0, starts below this entry index: the cursor of the
	// next page.
	Before uint64
	// Limit is the most findings returned (default 100).
	Limit int
}

// List returns the findings of log that match f, newest first, read from
// the log through the query index, the cursor of the next page (0 for
// none) and the index's watermark: findings recorded at or above it are
// not listed yet.
func List(ctx context.Context, ix Index, rd Reader, log string, f Filter) ([]Finding, uint64, uint64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	out := []Finding{}
	before := f.Before
	var wm uint64
	for {
		idx, w, err := ix.QueryIndex(ctx, store.IndexQuery{Log: log, TypePrefix: TypeOpened, From: f.Since, Before: before, Limit: 200})
		if err != nil {
			return nil, 0, 0, fmt.Errorf("findings: querying the index of log %q: %w", log, err)
		}
		wm = w
		for _, i := range idx {
			es, err := rd.ReadEntries(ctx, log, i, i+1)
			if err != nil {
				return nil, 0, 0, err
			}
			if len(es) != 1 {
				return nil, 0, 0, fmt.Errorf("findings: the index names entry %d of log %q, which the store does not hold", i, log)
			}
			e, err := event.DecodeEntry(es[0].Body)
			if err != nil {
				return nil, 0, 0, fmt.Errorf("findings: entry %d: %w", i, err)
			}
			fd, ok := FromEntry(i, e)
			if !ok || f.Rule != "" && fd.Rule != f.Rule || f.Severity != "" && fd.Severity != f.Severity {
				continue
			}
			if err := Fold(ctx, ix, rd, &fd); err != nil {
				return nil, 0, 0, err
			}
			if f.Status != "" && fd.Status != f.Status {
				continue
			}
			out = append(out, fd)
			if len(out) == limit {
				return out, i, wm, nil
			}
		}
		if len(idx) < 200 {
			return out, 0, wm, nil
		}
		before = idx[len(idx)-1]
	}
}

// Fold applies to f the transitions recorded for it in its log (found
// through the index by the finding id, their resource), oldest first.
func Fold(ctx context.Context, ix Index, rd Reader, f *Finding) error {
	idx, _, err := ix.QueryIndex(ctx, store.IndexQuery{Log: f.Log, ResourceID: f.ID, TypePrefix: Prefix})
	if err != nil {
		return fmt.Errorf("findings: querying the history of %s: %w", f.ID, err)
	}
	for k := len(idx) - 1; k >= 0; k-- {
		i := idx[k]
		if i == f.Index {
			continue
		}
		es, err := rd.ReadEntries(ctx, f.Log, i, i+1)
		if err != nil {
			return err
		}
		if len(es) != 1 {
			return fmt.Errorf("findings: the index names entry %d of log %q, which the store does not hold", i, f.Log)
		}
		e, err := event.DecodeEntry(es[0].Body)
		if err != nil {
			return fmt.Errorf("findings: entry %d: %w", i, err)
		}
		if str(e.Data, "finding") != f.ID {
			continue
		}
		if c, ok := ChangeFromEntry(i, e); ok {
			f.Apply(c)
		}
		if e.Type == TypeVerdict {
			v := Verdict{Verdict: str(e.Data, "verdict"), Time: e.Time, ActivityAfter: intOf(e.Data["activity_after"])}
			if l, ok := e.Data["evidence"].([]any); ok {
				for _, x := range l {
					if n := intOf(x); n >= 0 {
						v.Evidence = append(v.Evidence, uint64(n))
					}
				}
			}
			f.Verdicts = append(f.Verdicts, v)
		}
		if e.Type == TypeAlerted {
			tries, _ := e.Data["tries"].(interface{ Int64() (int64, error) })
			var n int64
			if tries != nil {
				n, _ = tries.Int64()
			}
			f.Deliveries = append(f.Deliveries, Delivery{Sink: str(e.Data, "sink"), Outcome: str(e.Data, "outcome"),
				Tries: int(n), Error: str(e.Data, "error"), Time: e.Time})
		}
	}
	return nil
}

// intOf returns a JSON number as an int (0 for anything else).
func intOf(v any) int {
	if n, ok := v.(interface{ Int64() (int64, error) }); ok {
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}
