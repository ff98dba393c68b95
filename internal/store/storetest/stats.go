package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

// statsValue is the value of field by in r, as IndexStats counts it.
func statsValue(r store.IndexRow, by string) string {
	switch by {
	case "type":
		return r.Type
	case "actor":
		return r.Actor
	case "resource_type":
		return r.ResourceType
	case "resource_id":
		return r.ResourceID
	case "outcome":
		return r.Outcome
	case "project":
		return r.Project
	case "environment":
		return r.Environment
	case "source":
		return r.Source
	}
	return ""
}

// wantStats is the reference answer of IndexStats over rows.
func wantStats(q store.StatsQuery, rows []store.IndexRow) []store.StatsRow {
	iq := q.IndexQuery
	iq.Before, iq.Limit = 0, 0
	counts := map[string]*store.StatsRow{}
	for _, r := range rows {
		if !matches(iq, r) {
			continue
		}
		var b time.Time
		if w := q.Interval.Milliseconds(); w > 0 {
			ms := r.Time.UnixMilli()
			b = time.UnixMilli(ms - ((ms%w)+w)%w).UTC()
		}
		v := statsValue(r, q.By)
		k := fmt.Sprint(b.UnixMilli(), "\x00", v)
		if counts[k] == nil {
			counts[k] = &store.StatsRow{Bucket: b, Value: v}
		}
		counts[k].Count++
	}
	out := make([]store.StatsRow, 0, len(counts))
	for _, r := range counts {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b store.StatsRow) int {
		if c := a.Bucket.Compare(b.Bucket); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out
}

// RunStats checks IndexStats against a reference count of the rows.
func RunStats(t *testing.T, newIndex func(t *testing.T) store.Index) {
	ix := newIndex(t)
	defer ix.Close()
	st, ok := ix.(store.Stats)
	if !ok {
		t.Skip("the index does not implement store.Stats")
	}
	rows := buildQueryLog(t, ix, "a")
	at := func(i int) time.Time { return indexBase.Add(time.Duration(i) * time.Second) }
	month := indexBase.AddDate(0, -1, 0)
	for _, q := range []store.StatsQuery{
		{},
		{By: "type"},
		{By: "outcome", Interval: time.Hour},
		{By: "actor", Interval: 24 * time.Hour, IndexQuery: store.IndexQuery{TypePrefix: "auth."}},
		{By: "resource_id", IndexQuery: store.IndexQuery{Actor: "a-user-3"}},
		{By: "source", Interval: 10 * time.Minute, IndexQuery: store.IndexQuery{From: at(100), To: at(5000), Outcome: "failure"}},
		{By: "project", Interval: time.Hour, IndexQuery: store.IndexQuery{From: month, To: month.Add(2 * time.Hour)}},
		{By: "environment", IndexQuery: store.IndexQuery{ResourceType: "bucket", Limit: 3, Before: 10}},
		{By: "resource_type", Interval: 7 * time.Second},
		{By: "type", IndexQuery: store.IndexQuery{Actor: "nobody"}},
		// Whole hours, by type or outcome: what a backend may answer from
		// counters kept per hour.
		{By: "type", Interval: 24 * time.Hour, IndexQuery: store.IndexQuery{TypePrefix: "auth.", Outcome: "failure",
			From: indexBase.Add(-48 * time.Hour), To: indexBase.Add(48 * time.Hour)}},
		{By: "outcome", Interval: 2 * time.Hour, IndexQuery: store.IndexQuery{TypePrefix: "auth.login", From: month, To: month.Add(5 * time.Hour)}},
		{Interval: time.Hour, IndexQuery: store.IndexQuery{From: indexBase.Add(time.Hour)}},
		{By: "type", IndexQuery: store.IndexQuery{To: indexBase.AddDate(1, 0, 0), Outcome: "unknown"}},
	} {
		q.Log = "a"
		got, wm, err := st.IndexStats(t.Context(), q)
		if err != nil {
			t.Errorf("IndexStats(%+v): %v", q, err)
			continue
		}
		want := wantStats(q, rows)
		if wm != uint64(len(rows)) || !slices.Equal(got, want) {
			t.Errorf("IndexStats(%+v) = %d rows %v, watermark %d; want %d rows %v", q, len(got), got[:min(len(got), 5)], wm, len(want), want[:min(len(want), 5)])
		}
	}
	if _, _, err := st.IndexStats(t.Context(), store.StatsQuery{IndexQuery: store.IndexQuery{Log: "a"}, By: "message"}); err == nil {
		t.Error("IndexStats by an unknown field: no error")
	}
	if got, wm, err := st.IndexStats(t.Context(), store.StatsQuery{IndexQuery: store.IndexQuery{Log: "none"}, By: "type"}); err != nil || len(got) != 0 || wm != 0 {
		t.Errorf("IndexStats of an unknown log = %v, %d, %v; want nothing", got, wm, err)
	}
}
