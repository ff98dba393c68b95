package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/verify"
)

var (
	// ErrBadCheckpoint means a checkpoint does not carry a valid signature
	// by the pinned key, or names another log.
	ErrBadCheckpoint = errors.New("checkpoint does not verify")
	// ErrBadProof means a proof the server gave does not verify, or a
	// result cannot be in the tree of its checkpoint.
	ErrBadProof = errors.New("proof does not verify")
	// ErrInconsistent means two checkpoints of the log are not of one
	// growing tree: the server rolled back or forked the log. The error
	// is an *InconsistentError.
	ErrInconsistent = errors.New("checkpoints are inconsistent")
)

// InconsistentError reports two signed checkpoints of one log that cannot
// both be true: the tree of size Old (which the client saw before) is not
// a prefix of the tree of size New.
type InconsistentError struct {
	Log      string
	Old, New uint64
	Reason   string
}

func (e *InconsistentError) Error() string {
	return fmt.Sprintf("log %q: %v: the tree of size %d is not a prefix of the tree of size %d: %s", e.Log, ErrInconsistent, e.Old, e.New, e.Reason)
}

// Is makes errors.Is(err, ErrInconsistent) true.
func (e *InconsistentError) Is(target error) bool { return target == ErrInconsistent }

// openCheckpoint verifies a signed note with the pinned key and checks its
// origin: "<key name>/<log>" for the configured or learned log.
func (c *Client) openCheckpoint(msg []byte) (*verify.SignedCheckpoint, error) {
	instance := c.verifier.Name()
	origin := ""
	if log, err := c.logName(); err == nil {
		origin = verify.Origin(instance, log)
	}
	cp, err := verify.OpenCheckpoint(msg, note.VerifierList(c.verifier), origin)
	if err != nil {
		return nil, fmt.Errorf("client: %w: %v", ErrBadCheckpoint, err)
	}
	if origin == "" {
		log, ok := strings.CutPrefix(cp.Origin, instance+"/")
		if !ok || log == "" || strings.Contains(log, "/") {
			return nil, fmt.Errorf("client: %w: origin %q is not a log of %q", ErrBadCheckpoint, cp.Origin, instance)
		}
		c.cpMu.Lock()
		if c.learnedLog == "" {
			c.learnedLog = log
		} else if c.learnedLog != log {
			c.cpMu.Unlock()
			return nil, fmt.Errorf("client: %w: origin %q, want log %q", ErrBadCheckpoint, cp.Origin, c.learnedLog)
		}
		c.cpMu.Unlock()
	}
	return &cp, nil
}

// accept checks that cp is consistent with the largest checkpoint seen so
// far and makes it the largest if it is. newest says cp was served as the
// log's newest checkpoint, so that it may not be smaller than one seen
// before; an append's checkpoint may be, when appends run concurrently.
func (c *Client) accept(ctx context.Context, cp *verify.SignedCheckpoint, newest bool) error {
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	prev := c.latest
	if prev == nil {
		c.latest = cp
		return nil
	}
	log := strings.TrimPrefix(cp.Origin, c.verifier.Name()+"/")
	inconsistent := func(old, new uint64, format string, args ...any) error {
		return &InconsistentError{Log: log, Old: old, New: new, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case cp.Size == prev.Size:
		if cp.Root != prev.Root {
			return inconsistent(prev.Size, cp.Size, "two checkpoints of size %d have different roots: the log was forked", cp.Size)
		}
		return nil
	case cp.Size < prev.Size && newest:
		return inconsistent(prev.Size, cp.Size, "the newest checkpoint has size %d, but a checkpoint of size %d was seen before: the log was rolled back", cp.Size, prev.Size)
	}
	small, large := prev, cp
	if cp.Size < prev.Size {
		small, large = cp, prev
	}
	if small.Size > 0 {
		// The lock is held across the request, so that checkpoints are
		// checked one at a time, each against the largest of the others.
		hashes, err := c.consistencyProof(ctx, log, small.Size, large.Size)
		if isStatus(err, http.StatusBadRequest, http.StatusNotFound, http.StatusRequestedRangeNotSatisfiable, http.StatusUnprocessableEntity) {
			// A server that signed size large.Size cannot say it has no such tree.
			return inconsistent(small.Size, large.Size, "the server refuses to prove consistency up to size %d, which it signed: %v", large.Size, err)
		}
		if err != nil {
			return err
		}
		if err := verify.Consistency(small.Size, large.Size, small.Root, large.Root, hashes); err != nil {
			c.logger.Debug("indelible: consistency proof failed", "err", err)
			return inconsistent(small.Size, large.Size, "the consistency proof does not verify (root %x at size %d, root %x at size %d): the log was forked",
				small.Root[:8], small.Size, large.Root[:8], large.Size)
		}
	}
	if cp.Size > prev.Size {
		c.latest = cp
	}
	return nil
}
