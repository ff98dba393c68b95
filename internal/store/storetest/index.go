package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

// RunIndex runs the conformance suite for store.Index. newIndex must
// return an empty index; RunIndex closes it when the subtest ends.
//
// The suite checks every query against a reference: the same filter
// applied row by row in Go.
func RunIndex(t *testing.T, newIndex func(t *testing.T) store.Index) {
	open := func(t *testing.T) store.Index {
		t.Helper()
		ix := newIndex(t)
		t.Cleanup(func() {
			if err := ix.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return ix
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, ix store.Index)
	}{
		{"WriteScan", testIndexWriteScan},
		{"Conflict", testIndexConflict},
		{"BadRows", testIndexBadRows},
		{"Empty", testIndexEmpty},
		{"Queries", testIndexQueries},
		{"TypePrefix", testIndexTypePrefix},
		{"TimeBounds", testIndexTimeBounds},
		{"Paging", testIndexPaging},
		{"LogsIsolated", testIndexLogsIsolated},
		{"CanceledContext", testIndexCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// indexBase is the time of row 0 of a test log.
var indexBase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var testTypes = []string{"auth", "auth.login", "auth.login.sso", "auth.logins", "authz.check", "auth.mfa.verify", "data.read"}

// IndexRowFor returns row i of a test log. Times mostly grow a second per
// row, but rows 12000-13999 are an import of history a month older, and
// every 1000th row has a clock far in the future.
func IndexRowFor(log string, i uint64) store.IndexRow {
	t := indexBase.Add(time.Duration(i) * time.Second)
	switch {
	case i >= 12000 && i < 14000:
		t = indexBase.AddDate(0, -1, 0).Add(time.Duration(i-12000) * time.Second)
	case i%1000 == 999:
		t = indexBase.AddDate(3, 0, 0)
	}
	r := store.IndexRow{
		Index:       i,
		Time:        t,
		Type:        testTypes[i%uint64(len(testTypes))],
		Actor:       fmt.Sprintf("%s-user-%d", log, i%13),
		Outcome:     []string{"", "success", "failure", "unknown"}[i%4],
		Project:     []string{"payments", "", "web"}[i%3],
		Environment: []string{"production", "staging"}[i%2],
		Source:      fmt.Sprintf("svc-%d", i%5),
	}
	if rt := []string{"", "account", "bucket"}[i%3]; rt != "" {
		r.ResourceType, r.ResourceID = rt, fmt.Sprintf("r-%d", i%17)
	}
	return r
}

func indexRows(log string, from, n uint64) []store.IndexRow {
	rows := make([]store.IndexRow, n)
	for k := range rows {
		rows[k] = IndexRowFor(log, from+uint64(k))
	}
	return rows
}

// writeRows indexes [from, from+n) of log.
func writeRows(t *testing.T, ix store.Index, log string, from, n uint64) {
	t.Helper()
	if err := ix.WriteIndex(t.Context(), log, from, indexRows(log, from, n)); err != nil {
		t.Fatalf("WriteIndex(%q, %d, %d rows): %v", log, from, n, err)
	}
}

// scanIndex collects ScanIndex into a slice.
func scanIndex(t *testing.T, ix store.Index, log string, start uint64) []store.IndexRow {
	t.Helper()
	var got []store.IndexRow
	if err := ix.ScanIndex(t.Context(), log, start, func(r store.IndexRow) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatalf("ScanIndex(%q, %d): %v", log, start, err)
	}
	return got
}

func sameRow(a, b store.IndexRow) bool {
	return a.Index == b.Index && a.Time.UnixMilli() == b.Time.UnixMilli() && a.Type == b.Type &&
		a.Actor == b.Actor && a.ResourceType == b.ResourceType && a.ResourceID == b.ResourceID &&
		a.Outcome == b.Outcome && a.Project == b.Project && a.Environment == b.Environment && a.Source == b.Source
}

// checkIndexed checks that log holds exactly the test rows [0, size).
func checkIndexed(t *testing.T, ix store.Index, log string, size uint64) {
	t.Helper()
	if wm, err := ix.IndexWatermark(t.Context(), log); err != nil || wm != size {
		t.Errorf("IndexWatermark(%q) = %d, %v; want %d", log, wm, err, size)
	}
	got := scanIndex(t, ix, log, 0)
	if uint64(len(got)) != size {
		t.Errorf("ScanIndex(%q) = %d rows, want %d", log, len(got), size)
		return
	}
	for i, r := range got {
		if want := IndexRowFor(log, uint64(i)); !sameRow(r, want) {
			t.Errorf("ScanIndex(%q) row %d = %+v, want %+v", log, i, r, want)
			return
		}
	}
}

func testIndexWriteScan(t *testing.T, ix store.Index) {
	writeRows(t, ix, "a", 0, 10)
	writeRows(t, ix, "a", 10, 5)
	checkIndexed(t, ix, "a", 15)
	got := scanIndex(t, ix, "a", 12)
	if len(got) != 3 || got[0].Index != 12 {
		t.Errorf("ScanIndex(a, 12) = %d rows from %v, want 3 from 12", len(got), got)
	}
	if len(scanIndex(t, ix, "a", 15)) != 0 || len(scanIndex(t, ix, "nothing", 0)) != 0 {
		t.Errorf("ScanIndex past the end or of an unknown log returned rows")
	}
	if got[0].Time.Location() != time.UTC {
		t.Errorf("ScanIndex time zone = %v, want UTC", got[0].Time.Location())
	}
	stop := errors.New("stop")
	n := 0
	err := ix.ScanIndex(t.Context(), "a", 0, func(store.IndexRow) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("ScanIndex with fn failing = %v after %d rows, want stop after 1", err, n)
	}
	// Sub-millisecond precision is dropped, not rounded.
	r := IndexRowFor("b", 0)
	r.Time = r.Time.Add(999 * time.Microsecond)
	if err := ix.WriteIndex(t.Context(), "b", 0, []store.IndexRow{r}); err != nil {
		t.Fatal(err)
	}
	if got := scanIndex(t, ix, "b", 0); len(got) != 1 || !got[0].Time.Equal(indexBase) {
		t.Errorf("ScanIndex(b) = %v, want one row at %v", got, indexBase)
	}
}

func testIndexConflict(t *testing.T, ix store.Index) {
	ctx := t.Context()
	if err := ix.WriteIndex(ctx, "a", 1, indexRows("a", 1, 3)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("WriteIndex(a, 1) on an empty index = %v, want ErrConflict", err)
	}
	writeRows(t, ix, "a", 0, 10)
	for _, from := range []uint64{0, 5, 9, 11} {
		if err := ix.WriteIndex(ctx, "a", from, indexRows("a", from, 3)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("WriteIndex(a, %d) at watermark 10 = %v, want ErrConflict", from, err)
		}
	}
	checkIndexed(t, ix, "a", 10)
	if logs, err := ix.IndexLogs(ctx); err != nil || !slices.Equal(logs, []string{"a"}) {
		t.Errorf("IndexLogs() = %q, %v; want [a]", logs, err)
	}
}

func testIndexBadRows(t *testing.T, ix store.Index) {
	writeRows(t, ix, "a", 0, 10)
	tests := []struct {
		name string
		edit func(rows []store.IndexRow)
	}{
		{"index out of sequence", func(rows []store.IndexRow) { rows[150].Index = 999 }},
		{"outcome", func(rows []store.IndexRow) { rows[199].Outcome = "maybe" }},
		{"year", func(rows []store.IndexRow) { rows[0].Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		rows := indexRows("a", 10, 200)
		tt.edit(rows)
		if err := ix.WriteIndex(t.Context(), "a", 10, rows); !errors.Is(err, store.ErrIndexBadRow) {
			t.Errorf("WriteIndex with bad %s = %v, want ErrIndexBadRow", tt.name, err)
		}
		checkIndexed(t, ix, "a", 10)
	}
}

func testIndexEmpty(t *testing.T, ix store.Index) {
	ctx := t.Context()
	got, wm, err := ix.QueryIndex(ctx, store.IndexQuery{Log: "nothing"})
	if err != nil || len(got) != 0 || wm != 0 {
		t.Errorf("QueryIndex(unknown log) = %v, %d, %v; want nothing, 0", got, wm, err)
	}
	if logs, err := ix.IndexLogs(ctx); err != nil || len(logs) != 0 {
		t.Errorf("IndexLogs() = %q, %v; want none", logs, err)
	}
	writeRows(t, ix, "a", 0, 3)
	if err := ix.WriteIndex(ctx, "a", 3, nil); err != nil {
		t.Errorf("WriteIndex(a, 3, no rows) = %v, want nil", err)
	}
	if err := ix.WriteIndex(ctx, "a", 2, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("WriteIndex(a, 2, no rows) = %v, want ErrConflict", err)
	}
	checkIndexed(t, ix, "a", 3)
}

// matches is the reference implementation of IndexQuery's filter.
func matches(q store.IndexQuery, r store.IndexRow) bool {
	t := r.Time.UnixMilli()
	switch {
	case !q.From.IsZero() && t < q.From.UnixMilli(),
		!q.To.IsZero() && t >= q.To.UnixMilli(),
		q.Actor != "" && r.Actor != q.Actor,
		q.ResourceType != "" && r.ResourceType != q.ResourceType,
		q.ResourceID != "" && r.ResourceID != q.ResourceID,
		q.Outcome != "" && r.Outcome != q.Outcome,
		q.Before != 0 && r.Index >= q.Before:
		return false
	}
	if p := q.TypePrefix; p != "" {
		if strings.HasSuffix(p, ".") {
			return strings.HasPrefix(r.Type, p)
		}
		return r.Type == p || strings.HasPrefix(r.Type, p+".")
	}
	return true
}

// want returns the reference answer to q over rows, newest first.
func want(q store.IndexQuery, rows []store.IndexRow) []uint64 {
	var out []uint64
	for i := len(rows) - 1; i >= 0; i-- {
		if matches(q, rows[i]) {
			out = append(out, rows[i].Index)
			if q.Limit > 0 && len(out) == q.Limit {
				break
			}
		}
	}
	return out
}

// CheckQuery checks QueryIndex(q) against a reference implementation of
// the filter, applied to rows: all the rows of q.Log, in index order. A
// backend's own tests use it for what the suite does not reach, such as
// logs larger than the suite writes.
func CheckQuery(t *testing.T, ix store.Index, q store.IndexQuery, rows []store.IndexRow) {
	t.Helper()
	got, wm, err := ix.QueryIndex(t.Context(), q)
	if err != nil {
		t.Errorf("QueryIndex(%+v): %v", q, err)
		return
	}
	w := want(q, rows)
	if wm != uint64(len(rows)) || !slices.Equal(got, w) {
		t.Errorf("QueryIndex(%+v) = %d indexes %v, watermark %d; want %d indexes %v, watermark %d",
			q, len(got), head(got), wm, len(w), head(w), len(rows))
	}
}

func head(l []uint64) []uint64 { return l[:min(len(l), 10)] }

// queryLogSize is the size of the log the query tests search: several
// thousand rows, so that backends that summarise runs of rows have more
// than one run.
const queryLogSize = 21000

func buildQueryLog(t *testing.T, ix store.Index, log string) []store.IndexRow {
	t.Helper()
	for from := uint64(0); from < queryLogSize; from += 7000 {
		writeRows(t, ix, log, from, 7000)
	}
	return indexRows(log, 0, queryLogSize)
}

func testIndexQueries(t *testing.T, ix store.Index) {
	rows := buildQueryLog(t, ix, "a")
	at := func(i int) time.Time { return indexBase.Add(time.Duration(i) * time.Second) }
	month := indexBase.AddDate(0, -1, 0)
	for _, q := range []store.IndexQuery{
		{},
		{Limit: 1},
		{Limit: 100},
		{Actor: "a-user-3"},
		{Actor: "a-user-3", Limit: 50},
		{Actor: "b-user-3"},
		{Actor: "nobody"},
		{ResourceID: "r-4", Limit: 100},
		{ResourceType: "account", Limit: 100},
		{ResourceType: "bucket", ResourceID: "r-4"},
		{ResourceType: "nothing"},
		{Outcome: "failure", Limit: 100},
		{Outcome: "unknown", Limit: 10},
		{Outcome: "no such outcome"},
		{TypePrefix: "data.read", Limit: 100},
		{TypePrefix: "auth.", Limit: 100},
		{TypePrefix: "auth", Limit: 1000},
		{TypePrefix: "auth.login", Outcome: "failure", Limit: 30},
		{TypePrefix: "nothing"},
		{Actor: "a-user-5", TypePrefix: "auth.", Outcome: "success"},
		{Actor: "a-user-5", ResourceID: "r-2"},
		{Actor: "a-user-5", ResourceType: "bucket", Limit: 20},
		{From: at(100), To: at(200)},
		{From: at(100), To: at(5000), TypePrefix: "auth.login", Outcome: "failure"},
		{From: at(100), To: at(5000), Actor: "a-user-1", Limit: 20},
		{From: at(20000)},
		{To: at(50), Limit: 10},
		{From: month, To: month.Add(time.Hour), TypePrefix: "auth."},
		{From: month.Add(30 * time.Minute), To: month.Add(40 * time.Minute), ResourceID: "r-1"},
		{From: indexBase.AddDate(2, 0, 0), Limit: 5},
		{From: at(100), To: at(100)},
		{From: at(200), To: at(100)},
		{From: indexBase.AddDate(-1, 0, 0), To: indexBase.AddDate(-1, 0, 1)},
		{Before: 15000, Limit: 10},
		{Before: 1, Limit: 10},
		{Before: 1 << 40, Actor: "a-user-7", Limit: 10},
		{Before: 12500, From: month, To: month.Add(24 * time.Hour), Limit: 40},
	} {
		q.Log = "a"
		CheckQuery(t, ix, q, rows)
	}
}

func testIndexTypePrefix(t *testing.T, ix store.Index) {
	rows := indexRows("a", 0, 70)
	if err := ix.WriteIndex(t.Context(), "a", 0, rows); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix string
		types  []string // the types of testTypes it must select
	}{
		{"auth", []string{"auth", "auth.login", "auth.login.sso", "auth.logins", "auth.mfa.verify"}},
		{"auth.", []string{"auth.login", "auth.login.sso", "auth.logins", "auth.mfa.verify"}},
		{"auth.login", []string{"auth.login", "auth.login.sso"}},
		{"auth.login.", []string{"auth.login.sso"}},
		{"auth.log", nil},
		{"authz", []string{"authz.check"}},
		{"data.read", []string{"data.read"}},
		{"data.read.", nil},
		{"au", nil},
		{".", nil},
	}
	for _, tt := range tests {
		got, _, err := ix.QueryIndex(t.Context(), store.IndexQuery{Log: "a", TypePrefix: tt.prefix})
		if err != nil {
			t.Errorf("QueryIndex(TypePrefix %q): %v", tt.prefix, err)
			continue
		}
		var types []string
		for _, i := range got {
			if !slices.Contains(types, rows[i].Type) {
				types = append(types, rows[i].Type)
			}
		}
		slices.Sort(types)
		if !slices.Equal(types, tt.types) || len(got) != 10*len(tt.types) {
			t.Errorf("QueryIndex(TypePrefix %q) = %d rows of types %q, want %d of %q", tt.prefix, len(got), types, 10*len(tt.types), tt.types)
		}
	}
}

func testIndexTimeBounds(t *testing.T, ix store.Index) {
	rows := indexRows("a", 0, 20)
	if err := ix.WriteIndex(t.Context(), "a", 0, rows); err != nil {
		t.Fatal(err)
	}
	at := func(i int) time.Time { return indexBase.Add(time.Duration(i) * time.Second) }
	tests := []struct {
		from, to time.Time
		want     []uint64
	}{
		{at(3), at(6), []uint64{5, 4, 3}},                       // From included, To excluded
		{at(3).Add(time.Millisecond), at(6), []uint64{5, 4}},    // just after 3
		{at(3).Add(time.Microsecond), at(6), []uint64{5, 4, 3}}, // same millisecond as 3
		{at(3), at(6).Add(time.Millisecond), []uint64{6, 5, 4, 3}},
		{at(3), at(6).Add(-time.Millisecond), []uint64{5, 4, 3}},
		{at(18), time.Time{}, []uint64{19, 18}},
		{time.Time{}, at(2), []uint64{1, 0}},
		{at(3).In(time.FixedZone("X", 3600)), at(4), []uint64{3}}, // zones do not matter
	}
	for _, tt := range tests {
		got, _, err := ix.QueryIndex(t.Context(), store.IndexQuery{Log: "a", From: tt.from, To: tt.to})
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("QueryIndex(From %v, To %v) = %v, %v; want %v", tt.from, tt.to, got, err, tt.want)
		}
	}
}

func testIndexPaging(t *testing.T, ix store.Index) {
	rows := buildQueryLog(t, ix, "a")
	for _, q := range []store.IndexQuery{
		{Actor: "a-user-2", Limit: 97},
		{TypePrefix: "auth.", Outcome: "failure", Limit: 250},
		{From: indexBase.AddDate(0, -1, 0), To: indexBase.Add(time.Hour), Limit: 333},
	} {
		q.Log = "a"
		all := want(store.IndexQuery{Log: "a", Actor: q.Actor, TypePrefix: q.TypePrefix, Outcome: q.Outcome, From: q.From, To: q.To}, rows)
		var got []uint64
		for pages := 0; ; pages++ {
			page, _, err := ix.QueryIndex(t.Context(), q)
			if err != nil {
				t.Fatalf("QueryIndex(%+v): %v", q, err)
			}
			if len(page) > q.Limit || pages > len(all) {
				t.Fatalf("QueryIndex(%+v) = %d indexes, more than the limit or endless", q, len(page))
			}
			got = append(got, page...)
			if len(page) < q.Limit {
				break
			}
			q.Before = page[len(page)-1]
		}
		if !slices.Equal(got, all) {
			t.Errorf("paging through %+v gave %d indexes, want %d", q, len(got), len(all))
		}
	}
}

func testIndexLogsIsolated(t *testing.T, ix store.Index) {
	logs := []string{"b", "a", "a-b", "ä"}
	for round := range 3 {
		for k, log := range logs {
			wm, err := ix.IndexWatermark(t.Context(), log)
			if err != nil {
				t.Fatal(err)
			}
			writeRows(t, ix, log, wm, uint64(100*(k+1)+round))
		}
	}
	got, err := ix.IndexLogs(t.Context())
	if wantLogs := []string{"a", "a-b", "b", "ä"}; err != nil || !slices.Equal(got, wantLogs) {
		t.Errorf("IndexLogs() = %q, %v; want %q", got, err, wantLogs)
	}
	for k, log := range logs {
		size := uint64(300*(k+1) + 3)
		checkIndexed(t, ix, log, size)
		rows := indexRows(log, 0, size)
		CheckQuery(t, ix, store.IndexQuery{Log: log, Actor: log + "-user-1"}, rows)
		CheckQuery(t, ix, store.IndexQuery{Log: log, TypePrefix: "auth", Limit: 20}, rows)
		CheckQuery(t, ix, store.IndexQuery{Log: log, ResourceID: "r-3", Outcome: "success"}, rows)
		// Another log's actor matches nothing here.
		other := logs[(k+1)%len(logs)]
		CheckQuery(t, ix, store.IndexQuery{Log: log, Actor: other + "-user-1"}, rows)
	}
}

func testIndexCanceled(t *testing.T, ix store.Index) {
	writeRows(t, ix, "a", 0, 10)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := ix.WriteIndex(ctx, "a", 10, indexRows("a", 10, 5)); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteIndex(canceled) = %v, want context.Canceled", err)
	}
	if _, _, err := ix.QueryIndex(ctx, store.IndexQuery{Log: "a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("QueryIndex(canceled) = %v, want context.Canceled", err)
	}
	checkIndexed(t, ix, "a", 10)
}
