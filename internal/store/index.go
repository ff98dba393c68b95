package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// IndexRow is what the query index keeps of one entry: the fields that
// queries filter on, copied from the entry's bytes. The entries stay the
// source of truth; an index is derived from them, off the append path, and
// can be rebuilt from them at any time.
type IndexRow struct {
	// Index is the entry's leaf index in its log.
	Index uint64
	// Time is the event's time. An Index keeps it at millisecond
	// precision: it stores and returns Time.UnixMilli(), in UTC, and
	// compares query bounds at that precision.
	Time time.Time
	// Type is the event's dotted type, such as "auth.login".
	Type string
	// Actor is the event's actor.id.
	Actor string
	// ResourceType and ResourceID are the event's resource.type and
	// resource.id, empty when the event names no resource.
	ResourceType, ResourceID string
	// Outcome is "success", "failure", "unknown" or "" (nothing else).
	Outcome string
	// Project, Environment and Source are copied as they are.
	Project, Environment, Source string
}

// IndexQuery selects entries of one log by their IndexRow fields. Empty
// fields do not filter; the conditions of the others must all hold.
type IndexQuery struct {
	// Log is the log to search.
	Log string
	// From and To bound the event time to [From, To), compared at
	// millisecond precision (From.UnixMilli() <= t < To.UnixMilli()). A
	// zero time leaves that side unbounded.
	From, To time.Time
	// TypePrefix selects event types. A prefix ending in "." matches the
	// types that start with it: "auth." matches "auth.login" and
	// "auth.mfa.verify", not "auth" nor "authz.check". A prefix without a
	// trailing dot matches that type and the types below it: "auth.login"
	// matches "auth.login" and "auth.login.sso", not "auth.logins".
	TypePrefix string
	// Actor, ResourceType, ResourceID and Outcome must equal the row's
	// field exactly.
	Actor, ResourceType, ResourceID, Outcome string
	// Before, if not 0, selects only indexes below it: the cursor for the
	// next page is the last (smallest) index of the previous one.
	Before uint64
	// Limit is the most indexes to return; 0 or less means no limit.
	Limit int
}

// ErrIndexBadRow is wrapped by WriteIndex errors for rows that break the
// IndexRow rules (an unknown Outcome, an Index out of sequence, a time
// outside the years 0000-9999).
var ErrIndexBadRow = errors.New("store: malformed index row")

// IndexDamageError is returned by ScanIndex when the index finds that a
// structure it keeps beside the rows, and that queries rely on (such as a
// summary of the times in a range of rows), disagrees with the rows: a
// query could then miss the row at Index although the row itself is
// right. Verification reports it as damage to the index.
type IndexDamageError struct {
	Log    string
	Index  uint64
	Detail string
}

func (e *IndexDamageError) Error() string {
	return fmt.Sprintf("store: query index of log %q is damaged at %d: %s", e.Log, e.Index, e.Detail)
}

// Index is a query index over the entries of many logs. For each log it
// holds rows for the entries 0 to Watermark-1 and nothing else: the
// watermark is the number of entries it covers. It is written by one
// indexer that follows the logs, and read by queries and by verification.
//
// All methods are safe for concurrent use, also by several processes
// sharing one index. An index need not be as durable as the entries: after
// a crash it may have lost a suffix of what it held (its watermark goes
// back), never anything in the middle, and the indexer re-derives that
// suffix from the entries.
type Index interface {
	// IndexWatermark returns the number of entries of log that the index
	// covers: rows 0 to the watermark minus one are present. It is 0 for
	// a log that the index has never seen.
	IndexWatermark(ctx context.Context, log string) (uint64, error)

	// WriteIndex adds the rows for the entries [from, from+len(rows)) of
	// log and moves its watermark to from+len(rows), atomically: a reader
	// sees the rows and the new watermark together or neither, and a crash
	// keeps both or neither. Rows[k].Index must be from+k. It returns an
	// error wrapping ErrConflict, writing nothing, when the watermark is
	// not from (another indexer got there first), and one wrapping
	// ErrIndexBadRow for a malformed row. Durability is that of the
	// implementation (see Index): a write that returned may be lost by a
	// crash of the machine, together with every later one.
	WriteIndex(ctx context.Context, log string, from uint64, rows []IndexRow) error

	// QueryIndex returns the indexes of the rows that match q, newest
	// first (in decreasing order), at most q.Limit of them, and the
	// watermark of q.Log that the answer reflects: the rows searched are
	// exactly those below it, read in one snapshot.
	QueryIndex(ctx context.Context, q IndexQuery) (indexes []uint64, watermark uint64, err error)

	// ScanIndex calls fn for every stored row of log with Index >= start,
	// in increasing Index order, with every field as stored. It reports
	// what is stored, also rows at or past the watermark, so that
	// verification can compare rows with entries; it returns an
	// *IndexDamageError if the index finds its own structures inconsistent
	// with the rows. An error from fn stops the scan and is returned.
	ScanIndex(ctx context.Context, log string, start uint64, fn func(IndexRow) error) error

	// IndexLogs returns the names of the logs that the index has rows or
	// a watermark for, in lexical order of their bytes.
	IndexLogs(ctx context.Context) ([]string, error)

	// Close releases the index's resources.
	Close() error
}

// StatsQuery counts the rows that match a query per time bucket and per
// value of one field.
type StatsQuery struct {
	// IndexQuery selects the rows; its Before and Limit are ignored.
	IndexQuery
	// By is the field counted per value: "" (no field), "type", "actor",
	// "resource_type", "resource_id", "outcome", "project", "environment"
	// or "source".
	By string
	// Interval is the width of a time bucket; zero means one bucket for
	// the whole range. Buckets start at multiples of Interval since the
	// Unix epoch (so hours and days start on the hour and at midnight UTC).
	Interval time.Duration
}

// StatsRow is the count of one value of StatsQuery.By in one bucket.
type StatsRow struct {
	// Bucket is the start of the bucket (the zero time without Interval).
	Bucket time.Time
	// Value is the field's value ("" without By, and for rows without one).
	Value string
	Count uint64
}

// StatsFields are the valid values of StatsQuery.By.
var StatsFields = []string{"type", "actor", "resource_type", "resource_id", "outcome", "project", "environment", "source"}

// Stats is implemented by indexes that can count.
type Stats interface {
	// IndexStats counts the rows of q.Log below the watermark that match
	// q, per bucket and value, in one snapshot, and returns the rows
	// sorted by bucket then value, and the watermark.
	IndexStats(ctx context.Context, q StatsQuery) ([]StatsRow, uint64, error)
}
