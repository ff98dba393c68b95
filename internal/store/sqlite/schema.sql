-- Schema version 1 of the Indelible SQLite store.
--
-- Integers are SQLite's signed 64-bit INTEGER: sizes, indexes and times
-- above 2^63-1 cannot be stored. Every table is keyed by the log's numeric
-- id, assigned by the first Append to that log and never changed.
--
-- Append writes rows and never updates or deletes them, except logs.size
-- and the hashes of a tile that grows (the rightmost partial tiles of each
-- level). Besides the primary keys, the only index is entries_id, which
-- enforces the idempotency keys; query indexes are derived elsewhere, off
-- the append path.

-- logs holds one head row per log: size is the number of entries, read and
-- updated by each Append inside its transaction.
CREATE TABLE logs (
	id   INTEGER PRIMARY KEY,
	name TEXT    NOT NULL UNIQUE,
	size INTEGER NOT NULL
);

-- entries holds the canonical entry bytes; seq is the leaf index. The
-- rowid k is (log << 40) | seq, so that each log's entries are one
-- contiguous, append-only run of the table's own B-tree: an append adds to
-- the table and to entries_id only (measured about 15% cheaper than a
-- separate (log, seq) key). log and seq are derived from k. A log holds at
-- most 2^40 entries and there are at most 2^23 logs.
CREATE TABLE entries (
	k    INTEGER PRIMARY KEY,
	log  INTEGER NOT NULL GENERATED ALWAYS AS (k >> 40) VIRTUAL,
	seq  INTEGER NOT NULL GENERATED ALWAYS AS (k & 1099511627775) VIRTUAL,
	id   TEXT    NOT NULL,
	body BLOB    NOT NULL
);

CREATE UNIQUE INDEX entries_id ON entries (log, id);

-- tiles holds C2SP tlog-tiles hash tiles: hashes is the concatenation of
-- 1 to 256 SHA-256 hashes of tree level 8*level, from hash 256*idx on.
CREATE TABLE tiles (
	log    INTEGER NOT NULL,
	level  INTEGER NOT NULL,
	idx    INTEGER NOT NULL,
	hashes BLOB    NOT NULL,
	PRIMARY KEY (log, level, idx)
) WITHOUT ROWID;

-- checkpoints holds the signed note for each tree size that an Append
-- reached; created_at is the Unix time in milliseconds of that Append.
CREATE TABLE checkpoints (
	log        INTEGER NOT NULL,
	size       INTEGER NOT NULL,
	note       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (log, size)
) WITHOUT ROWID;

-- api_keys holds API keys: hash is SHA-256 of the whole token, never the
-- token itself. Times are Unix milliseconds; revoked_at is 0 while valid.
-- Every change is also an entry in the log (indelible.key.*).
CREATE TABLE api_keys (
	id         TEXT    PRIMARY KEY,
	tenant     TEXT    NOT NULL,
	role       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	created_by TEXT    NOT NULL,
	hash       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL DEFAULT 0
);
