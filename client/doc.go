// Package client is the Go SDK of Indelible: it appends events to a log
// over the HTTP API and checks, with the log's pinned public key, that the
// server really committed them.
//
// # Appending
//
// Append sends events synchronously and returns once they are durable:
//
//	c, err := client.New("https://audit.example.com",
//		client.WithAPIKey(os.Getenv("INDELIBLE_API_KEY")),
//		client.WithLog("acme"),
//		client.WithVerifierKey("audit.example.com+1b2c3d4e+AXg..."))
//	results, checkpoint, err := c.Append(ctx, []*event.Event{ev})
//
// Send is the asynchronous form: it puts one event into a bounded buffer
// and returns; a background goroutine sends the buffer in batches (by
// count or after a delay, see WithBatching) with the same semantics as
// Append. Flush waits until everything sent so far is durable or has
// failed, and Close flushes and stops the goroutine. When the buffer is
// full (WithMaxBuffered), Send blocks until there is room or its context
// ends: a slow server slows its callers down instead of exhausting
// memory. An asynchronous failure (after every retry) is never dropped:
// it is passed, with the events it concerns, to the handler set by
// WithErrorHandler (by default it is logged at level ERROR) and it is
// returned by the next Flush or Close.
//
// # Retries and idempotency
//
// Before the first attempt, every event without an ID is given a fresh
// UUIDv7 (see NewID). The server answers a resent event whose ID and
// content it already holds with the original result, so a request whose
// answer was lost can be sent again without duplicating anything. Requests
// are retried on network errors, 429, 503 and other 5xx answers, with
// exponential backoff and full jitter, waiting at least what Retry-After
// asks, up to 5 minutes (see WithRetry). Other 4xx answers are never retried; they are
// returned as an *APIError listing every problem by item and JSON path.
//
// # Verification
//
// With a pinned verifier key (WithVerifierKey), the client trusts nothing
// the server says about the tree without proof:
//
//   - every checkpoint must carry a valid signature by the pinned key and
//     the origin "<key name>/<log>" (else ErrBadCheckpoint);
//   - after an append, every result's leaf hash must be included in the
//     returned checkpoint's tree, by an RFC 6962 inclusion proof fetched
//     from the server (else ErrBadProof);
//   - every checkpoint the client sees must be consistent with the largest
//     one it has seen before, by an RFC 6962 consistency proof, so that a
//     server that rolls back or forks the log is caught (ErrInconsistent,
//     carried by an *InconsistentError that holds both sizes).
//
// Without a verifier key nothing is verified: Append returns a nil
// checkpoint and Checkpoint fails. The key must come from a trusted place
// (configuration), never from the server's own /v1/key.
//
// The inclusion proofs show that the leaf hashes the server returned are
// in the signed tree. They do not show that a leaf is the hash of the
// entry sealed from the event sent, since the entry also holds what the
// server adds; that is checked by re-hashing entries (EntryBundle, or
// "indelible verify --server URL --entries").
//
// # Logs
//
// A key scoped to one log (tenant) appends to that log. An instance-wide
// key needs WithLog, sent as "?log=" on appends. The read methods
// (Checkpoint, proofs, tiles) name the log in their paths: they use
// WithLog's log, or else the log learned from the first verified
// checkpoint's origin.
//
// # Dependencies
//
// The package imports the standard library, the event and verify packages
// of this module, and golang.org/x/mod/sumdb/note (which verify uses for
// signed notes) to parse the verifier key.
package client
