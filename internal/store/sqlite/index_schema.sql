-- Schema version 3 of the Indelible SQLite query index (index.db).
--
-- Everything here is derived from the entries of indelible.db and can be
-- rebuilt from them: delete the file and the indexer starts again from 0.
-- Integers are SQLite's signed 64-bit INTEGER. Strings are stored once, in
-- dict, and referred to by their id everywhere else: a row is a handful
-- of small integers, so that rows and their secondary indexes stay small
-- and B-tree pages hold hundreds of keys.

-- logs holds one row per indexed log: watermark is the number of entries
-- covered (rows 0 to watermark-1 exist), written in the same transaction
-- as the rows.
CREATE TABLE logs (
	id        INTEGER PRIMARY KEY,
	name      TEXT    NOT NULL UNIQUE,
	watermark INTEGER NOT NULL
);

-- dict maps each distinct string of one kind to a small integer. kind is
-- 1 type, 2 actor, 3 resource type, 4 resource id, 5 project,
-- 6 environment, 7 source. The empty string is id 0 and has no row. Rows
-- are added, never changed or deleted, so an id means the same value
-- forever and writers may cache the mapping.
CREATE TABLE dict (
	id    INTEGER PRIMARY KEY,
	kind  INTEGER NOT NULL,
	value TEXT    NOT NULL,
	UNIQUE (kind, value)
);

-- rows holds one row per entry, keyed by (log, idx) so that the indexer's
-- inserts append at the right edge of the B-tree. time is Unix
-- milliseconds; outcome is 0 "", 1 success, 2 failure, 3 unknown; the other
-- columns are dict ids.
CREATE TABLE rows (
	log         INTEGER NOT NULL,
	idx         INTEGER NOT NULL,
	time        INTEGER NOT NULL,
	type        INTEGER NOT NULL,
	actor       INTEGER NOT NULL,
	rtype       INTEGER NOT NULL,
	resource    INTEGER NOT NULL,
	outcome     INTEGER NOT NULL,
	project     INTEGER NOT NULL,
	environment INTEGER NOT NULL,
	source      INTEGER NOT NULL,
	PRIMARY KEY (log, idx)
) WITHOUT ROWID;

-- Secondary indexes, for the selective equality filters. Each is keyed
-- (log, epoch, value, idx), where epoch = idx >> 14 numbers runs of 16384
-- rows. Within an epoch, one value's rows are a range ending with the
-- newest, so "newest first" is a backward walk and a cursor is a seek; a
-- query walks the epochs from the newest down. The epoch is what keeps
-- inserts fast at any size: the indexer's writes land in the current
-- epoch's pages, a few dozen per index, which stay in cache and are
-- rewritten together, instead of in pages all over an index keyed
-- (log, value, idx). Its size trades writes against reads: every pass of
-- the indexer rewrites (in the WAL) each page of the current epoch that
-- it touches, and a query for a rare value seeks once per epoch. Against
-- epochs of 65536 rows (schema version 2), passes of 1000 rows write
-- 1.6 times as fast and the last 100 rows of a rare actor take 1.6 times
-- as long to find (README, "Query index"). Outcome and resource type have
-- few values: they are checked on the rows that another index (or the
-- primary key) yields. Time has no B-tree index: blocks (below) map a time
-- range to ranges of idx.
CREATE INDEX rows_actor    ON rows (log, idx >> 14, actor, idx);
CREATE INDEX rows_type     ON rows (log, idx >> 14, type, idx);
CREATE INDEX rows_resource ON rows (log, idx >> 14, resource, idx);

-- blocks summarises the event times of each run of 4096 rows
-- (block = idx / 4096): every row of the block has
-- min_time <= time <= max_time. A time-range query searches only the idx
-- ranges of the blocks that overlap it, so it stays cheap whatever the
-- order in which events arrive (imports of old history included).
CREATE TABLE blocks (
	log      INTEGER NOT NULL,
	block    INTEGER NOT NULL,
	min_time INTEGER NOT NULL,
	max_time INTEGER NOT NULL,
	PRIMARY KEY (log, block)
) WITHOUT ROWID;

-- hourly counts the rows of each log per hour of event time (Unix
-- milliseconds of the hour's start), type and outcome, so that trends over
-- days ("failures per hour this week") are read from a few thousand
-- counters instead of millions of rows. Written with the rows, in the same
-- transaction.
CREATE TABLE hourly (
	log     INTEGER NOT NULL,
	hour    INTEGER NOT NULL,
	type    INTEGER NOT NULL,
	outcome INTEGER NOT NULL,
	count   INTEGER NOT NULL,
	PRIMARY KEY (log, hour, type, outcome)
) WITHOUT ROWID;
