package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/verify"
)

// Result is the server's answer for one appended event.
type Result struct {
	ID        string   // the event's id
	Index     uint64   // its leaf index in the log
	LeafHash  [32]byte // the leaf hash of its entry
	Duplicate bool     // the log already held the event (a resent event)
	// NotCaptured is set when the capture policy chose not to record the
	// event; Rule names the policy rule. Such a result has no Index or
	// LeafHash.
	NotCaptured bool
	Rule        string
}

// resultJSON is one result as the server writes it.
type resultJSON struct {
	ID        string  `json:"id"`
	Index     *uint64 `json:"index"`
	LeafHash  string  `json:"leaf_hash"`
	Duplicate bool    `json:"duplicate"`
	Captured  *bool   `json:"captured"`
	Rule      string  `json:"rule"`
}

// appendJSON is the answer to POST /v1/events.
type appendJSON struct {
	Results    []resultJSON `json:"results"`
	Checkpoint string       `json:"checkpoint"`
}

// proofWorkers bounds the inclusion proofs fetched at once.
const proofWorkers = 8

// Append appends events to the log and returns once they are durable,
// with one result per event, in order, and the checkpoint that covers
// them. Events above the batch size (WithBatching) are sent in several
// requests, one after the other; each request is all or nothing.
//
// Every event is validated first (nothing is sent if one is invalid), and
// every event without an ID is given one (NewID): Append sets ev.ID, so
// that the caller knows it and a retry resends the same id. Requests are
// retried as the package documentation describes.
//
// With a pinned verifier key, the checkpoint's signature, every result's
// inclusion proof and the checkpoint's consistency with those seen before
// are checked (ErrBadCheckpoint, ErrBadProof, ErrInconsistent); without
// one, the checkpoint returned is nil.
//
// On error, the results are those of the requests that the server
// acknowledged (for a verification error, including the request whose
// proofs failed), and the checkpoint the newest verified one.
func (c *Client) Append(ctx context.Context, events []*event.Event) ([]Result, *verify.SignedCheckpoint, error) {
	if err := validate(events); err != nil {
		return nil, nil, err
	}
	for _, ev := range events {
		if ev.ID == "" {
			ev.ID = newID(c.now())
		}
	}
	results := make([]Result, 0, len(events))
	var last *verify.SignedCheckpoint
	for chunk := range slices.Chunk(events, c.maxEvents) {
		res, cp, err := c.appendBatch(ctx, chunk)
		results = append(results, res...)
		if cp != nil {
			last = cp
		}
		if err != nil {
			return results, last, err
		}
	}
	return results, last, nil
}

// appendBatch sends one request and verifies its answer. On a
// verification error it returns the results with the error.
func (c *Client) appendBatch(ctx context.Context, events []*event.Event) ([]Result, *verify.SignedCheckpoint, error) {
	body, err := json.Marshal(events)
	if err != nil {
		return nil, nil, fmt.Errorf("client: encoding events: %w", err)
	}
	var q url.Values
	if c.log != "" {
		q = url.Values{"log": {c.log}}
	}
	data, err := c.do(ctx, request{method: "POST", path: "/v1/events", query: q, body: body,
		ctype: "application/json", accept: "application/json", limit: maxJSONBody})
	if err != nil {
		return nil, nil, fmt.Errorf("client: appending %d events: %w", len(events), err)
	}
	var ans appendJSON
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, nil, fmt.Errorf("client: appending %d events: decoding the answer: %w", len(events), err)
	}
	results, err := decodeResults(ans.Results, events)
	if err != nil {
		return nil, nil, fmt.Errorf("client: appending %d events: %w", len(events), err)
	}
	if c.verifier == nil {
		return results, nil, nil
	}
	cp, err := c.openCheckpoint([]byte(ans.Checkpoint))
	if err != nil {
		return results, nil, fmt.Errorf("client: the checkpoint of an append: %w", err)
	}
	if err := c.checkInclusion(ctx, results, cp); err != nil {
		return results, nil, err
	}
	if err := c.accept(ctx, cp, false); err != nil {
		return results, nil, err
	}
	return results, cp, nil
}

// decodeResults converts the server's results, which must be one per
// event, in order.
func decodeResults(in []resultJSON, events []*event.Event) ([]Result, error) {
	if len(in) != len(events) {
		return nil, fmt.Errorf("the server answered %d results for %d events", len(in), len(events))
	}
	out := make([]Result, len(in))
	for i, r := range in {
		if r.ID != events[i].ID {
			return nil, fmt.Errorf("result %d is for id %q, want %q", i, r.ID, events[i].ID)
		}
		out[i] = Result{ID: r.ID, Duplicate: r.Duplicate, Rule: r.Rule}
		if r.Captured != nil && !*r.Captured {
			out[i].NotCaptured = true
			continue
		}
		if r.Index == nil {
			return nil, fmt.Errorf("result %d (id %q) has no index", i, r.ID)
		}
		h, err := base64.StdEncoding.Strict().DecodeString(r.LeafHash)
		if err != nil || len(h) != len(out[i].LeafHash) {
			return nil, fmt.Errorf("result %d (id %q): malformed leaf hash %q", i, r.ID, r.LeafHash)
		}
		out[i].Index = *r.Index
		copy(out[i].LeafHash[:], h)
	}
	return out, nil
}

// checkInclusion checks that every captured result is a leaf of cp's
// tree, fetching one inclusion proof per distinct index.
func (c *Client) checkInclusion(ctx context.Context, results []Result, cp *verify.SignedCheckpoint) error {
	log := strings.TrimPrefix(cp.Origin, c.verifier.Name()+"/")
	leaves := map[uint64]int{} // index -> first result at it
	var todo []int
	for i, r := range results {
		if r.NotCaptured {
			continue
		}
		if r.Index >= cp.Size {
			return fmt.Errorf("client: %w: result %d (id %q) has index %d, outside the tree of size %d of its checkpoint", ErrBadProof, i, r.ID, r.Index, cp.Size)
		}
		if j, ok := leaves[r.Index]; ok {
			if results[j].LeafHash != r.LeafHash {
				return fmt.Errorf("client: %w: results %d and %d claim index %d with different leaf hashes", ErrBadProof, j, i, r.Index)
			}
			continue
		}
		leaves[r.Index] = i
		todo = append(todo, i)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, proofWorkers)
	var wg sync.WaitGroup
	for _, i := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := c.proveResult(ctx, log, i, results[i], cp); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

func (c *Client) proveResult(ctx context.Context, log string, i int, r Result, cp *verify.SignedCheckpoint) error {
	hashes, err := c.inclusionProof(ctx, log, r.Index, cp.Size)
	if isStatus(err, http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity) {
		return fmt.Errorf("client: %w: result %d (id %q): the server refuses to prove index %d in size %d, which it signed: %v", ErrBadProof, i, r.ID, r.Index, cp.Size, err)
	}
	if isStatus(err, http.StatusUnauthorized, http.StatusForbidden) {
		return fmt.Errorf("client: the API key may not read inclusion proofs, so the append cannot be verified "+
			"(give a key that may, or do not pin a verifier key): %w", err)
	}
	if err != nil {
		return err
	}
	if err := verify.Inclusion(r.Index, cp.Size, r.LeafHash, hashes, cp.Root); err != nil {
		return fmt.Errorf("client: %w: result %d (id %q): %v", ErrBadProof, i, r.ID, err)
	}
	return nil
}
