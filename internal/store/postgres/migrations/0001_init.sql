-- Migration 1 of the Indelible PostgreSQL store: the tables of the logs,
-- the API keys, and the triggers that keep history append-only.
--
-- It runs in the schema first on the search_path (Config.Schema if set), as
-- the role that will own the tables. A released migration never changes: a
-- later one alters what this one created.
--
-- Sizes, indexes and log ids are bigint: a log holds at most 2^63-1
-- entries. Every table but logs is keyed by the log's numeric id, assigned
-- by the first Append to that log and never changed. There are no foreign
-- keys: Append writes a log's rows in the one transaction that holds the
-- log's head row locked, and a foreign-key check per entry would cost more
-- than it protects.
--
-- Append inserts rows and never updates or deletes them, except logs.size
-- and the hashes of a tile that grows (the rightmost partial tiles of each
-- level). Besides the primary keys, the only index is entries_id, which
-- enforces the idempotency keys; query indexes are derived elsewhere, off
-- the append path. Names are compared by their bytes (COLLATE "C"), as Go
-- compares strings, whatever the database's collation.

-- logs holds one head row per log: size is the number of entries. Each
-- Append locks its log's row (SELECT ... FOR UPDATE), checks the size and
-- updates it in the same transaction: appends to one log are serialised on
-- this row, appends to different logs run in parallel.
CREATE TABLE logs (
	id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text COLLATE "C" NOT NULL CONSTRAINT logs_name UNIQUE,
	size bigint NOT NULL CHECK (size >= 0)
);

-- entries holds the canonical entry bytes; seq is the leaf index, from 0
-- with no gaps. id is the event's idempotency key, unique per log.
CREATE TABLE entries (
	log_id bigint NOT NULL,
	seq    bigint NOT NULL,
	id     text COLLATE "C" NOT NULL,
	body   bytea NOT NULL,
	CONSTRAINT entries_pkey PRIMARY KEY (log_id, seq),
	CONSTRAINT entries_id UNIQUE (log_id, id)
);

-- tiles holds C2SP tlog-tiles hash tiles: hashes is the concatenation of
-- 1 to 256 SHA-256 hashes of tree level 8*level, from hash 256*idx on. A
-- partial tile is rewritten, wider, as its log grows; a full one never
-- changes.
CREATE TABLE tiles (
	log_id bigint   NOT NULL,
	level  smallint NOT NULL,
	idx    bigint   NOT NULL,
	hashes bytea    NOT NULL,
	CONSTRAINT tiles_pkey PRIMARY KEY (log_id, level, idx)
);

-- checkpoints holds the signed note for each tree size that an Append
-- reached; created_at is the time of that Append.
CREATE TABLE checkpoints (
	log_id     bigint      NOT NULL,
	size       bigint      NOT NULL,
	note       bytea       NOT NULL,
	created_at timestamptz NOT NULL,
	CONSTRAINT checkpoints_pkey PRIMARY KEY (log_id, size)
);

-- api_keys holds API keys: hash is SHA-256 of the whole token, never the
-- token itself. revoked_at is NULL while the key is valid. Every change is
-- also an entry in a log (indelible.key.*).
CREATE TABLE api_keys (
	id         text COLLATE "C" CONSTRAINT api_keys_pkey PRIMARY KEY,
	tenant     text        NOT NULL,
	role       text        NOT NULL,
	name       text        NOT NULL,
	created_by text        NOT NULL,
	hash       bytea       NOT NULL,
	created_at timestamptz NOT NULL,
	revoked_at timestamptz
);

-- Defence in depth. The server's role is granted no UPDATE or DELETE on
-- entries and checkpoints (see GRANTS.md); these triggers also stop the
-- tables' owner, or any role granted too much, from rewriting history by
-- accident. A deliberate owner can drop them: signed checkpoints copied to
-- a witness are what make such a rewrite visible.

-- indelible_refuse raises an exception naming the operation and the table.
CREATE FUNCTION indelible_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'indelible: % on table % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
		USING ERRCODE = 'restrict_violation',
		HINT = 'Entries, checkpoints and full tiles never change; logs never shrink.';
END
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON entries
	FOR EACH STATEMENT EXECUTE FUNCTION indelible_refuse();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION indelible_refuse();
CREATE TRIGGER tiles_no_delete BEFORE DELETE OR TRUNCATE ON tiles
	FOR EACH STATEMENT EXECUTE FUNCTION indelible_refuse();
CREATE TRIGGER logs_no_delete BEFORE DELETE OR TRUNCATE ON logs
	FOR EACH STATEMENT EXECUTE FUNCTION indelible_refuse();

-- indelible_tile_grows lets a tile be rewritten only by a wider one that
-- starts with the same hashes: the hashes of a tile are roots of complete
-- subtrees, which never change as the tree grows.
CREATE FUNCTION indelible_tile_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.log_id <> OLD.log_id OR NEW.level <> OLD.level OR NEW.idx <> OLD.idx
		OR length(NEW.hashes) <= length(OLD.hashes)
		OR substr(NEW.hashes, 1, length(OLD.hashes)) <> OLD.hashes THEN
		RAISE EXCEPTION 'indelible: UPDATE on table tiles is refused: tile %/% may only grow', OLD.level, OLD.idx
			USING ERRCODE = 'restrict_violation';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER tiles_only_grow BEFORE UPDATE ON tiles
	FOR EACH ROW EXECUTE FUNCTION indelible_tile_grows();

-- indelible_log_grows lets a head row change only by growing: a log is
-- never truncated nor renamed.
CREATE FUNCTION indelible_log_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id <> OLD.id OR NEW.name <> OLD.name OR NEW.size < OLD.size THEN
		RAISE EXCEPTION 'indelible: UPDATE on table logs is refused: log % may only grow', OLD.name
			USING ERRCODE = 'restrict_violation';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER logs_only_grow BEFORE UPDATE ON logs
	FOR EACH ROW EXECUTE FUNCTION indelible_log_grows();
