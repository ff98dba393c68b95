// Package event defines what Indelible records: the event a client sends,
// the entry the server seals from it, and the canonical bytes that go into
// the Merkle tree.
//
// # The event
//
// An event is one JSON object:
//
//	{
//	  "id": "optional idempotency key",
//	  "time": "2026-11-23T19:40:00.123Z",
//	  "type": "auth.login",
//	  "outcome": "failure",
//	  "actor": {"id": "alice@example.com", "type": "user", "ip": "203.0.113.7", "user_agent": "..."},
//	  "resource": {"type": "account", "id": "acct-42"},
//	  "project": "payments", "environment": "production", "source": "billing-api",
//	  "message": "optional human text", "trace_id": "optional", "subject": "optional data-subject id",
//	  "data": {"type-specific": "fields"}
//	}
//
// time, type and actor.id are required. time is RFC 3339 with a zone and
// is kept in UTC. type is two or more dot-separated segments of [a-z0-9_-];
// the first is the category, the last the action. The category
// "indelible" is reserved for events the server writes about itself.
// outcome is "success", "failure" or "unknown" (the default). Unknown
// fields are errors, at the top level and inside actor and resource, so
// nothing escapes validation unnoticed. Parse checks all of this and
// reports every problem at once, each with its JSON Pointer; ParseJSON,
// underneath it, is a strict JSON parser (no duplicate keys, valid UTF-8
// only, bounded size and depth) whose errors carry line, column and path.
//
// # The entry
//
// An Entry is the sealed event: the event's fields, flattened into one
// object with what the server adds:
//
//	"v"           format version, always 1
//	"log"         name of the log (tenant) the entry belongs to
//	"received_at" when the server accepted the event, RFC 3339 in UTC
//	"digest"      base64 (standard, padded) keyed digest of the client's
//	              event, used to recognise a resent event
//	"capture"     how the event was captured: {"level": "full"|"metadata",
//	              "policy", "rule", "schema", "redacted", "personal"}
//
// The entry's bytes are its RFC 8785 (JSON Canonicalization Scheme)
// serialisation: members sorted by key, no insignificant whitespace,
// minimal string escapes, numbers as ECMAScript writes them. Times are
// written as time.RFC3339Nano in UTC (shortest fractional seconds),
// optional event fields that are empty are left out, and an entry is at
// most MaxEntrySize bytes. Anyone can therefore recompute the bytes from
// the fields, and LeafHash of the bytes (SHA-256 of 0x00 followed by the
// bytes, RFC 6962) is what the log's Merkle tree commits to. ParseEntry
// accepts exactly the bytes that Entry.Canonical produces.
//
// # Personal data
//
// Personal data never enters an entry. A value that the capture policy
// marks personal (capture.personal lists its JSON Pointer) is replaced in
// the entry by a salted commitment, the object
//
//	{"$personal": base64(SHA-256(salt || RFC 8785 bytes of the value))}
//
// where salt is 32 random bytes kept, with the value encrypted under the
// data subject's key, outside the log (see Commit). Whoever is shown the
// value and its salt can check it against the entry (CheckCommitment);
// once the salt and the key are deleted, the entry, its leaf hash and
// every proof still verify, and the value cannot be recovered or confirmed
// by guessing.
//
// # Compatibility
//
// Entry bytes are permanent: once a leaf hash is in a signed checkpoint,
// the bytes must verify forever. So the format of version 1 ("v":1) is
// frozen: no field may be added, removed or reinterpreted within it.
// Fields may be added only together with a new version number, and
// readers keep accepting every earlier version.
package event
