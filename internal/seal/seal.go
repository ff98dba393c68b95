// Package seal turns a validated event into the entry that the ledger
// appends: it assigns an id when the client gave none, stamps the time of
// receipt and the log, records how the event was captured, and computes
// the keyed digest that makes retries idempotent.
//
// The digest is an HMAC of the client's canonical event rather than a
// plain hash so that it commits to the content without letting anyone
// who reads the log confirm a guess of personal values that were kept out
// of the entry.
package seal

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/a24ba333/indelible/event"
)

// Config configures a Sealer. DigestKey is required.
type Config struct {
	// DigestKey keys the idempotency digest. It must stay the same for as
	// long as clients may retry (it is derived from the instance's secret
	// key material).
	DigestKey []byte
	// Clock returns the time of receipt (default time.Now).
	Clock func() time.Time
	// NewID returns an id for an event that has none (default UUIDv7,
	// which keeps server-assigned ids in time order).
	NewID func() (string, error)
}

// Sealer seals events. It is safe for concurrent use.
type Sealer struct {
	cfg  Config
	macs sync.Pool // of hash.Hash: HMAC-SHA256 keyed with DigestKey
}

// New returns a Sealer.
func New(cfg Config) (*Sealer, error) {
	if len(cfg.DigestKey) < 16 {
		return nil, errors.New("seal: Config.DigestKey must be at least 16 bytes")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() (string, error) {
			id, err := uuid.NewV7()
			return id.String(), err
		}
	}
	s := &Sealer{cfg: cfg}
	s.macs.New = func() any { return hmac.New(sha256.New, cfg.DigestKey) }
	return s, nil
}

// Seal returns the entry for ev in log, captured in full. It does not
// modify ev.
func (s *Sealer) Seal(log string, ev *event.Event) (*event.Entry, error) {
	return s.SealCaptured(log, ev, ev, event.Capture{Level: event.CaptureFull})
}

// SealCaptured returns the entry of an event that the capture policy
// reduced: ev is the event the client sent, captured what the policy
// keeps of it (ev itself, or a copy with values left out, redacted or
// replaced by commitments) and c how it was captured. The digest commits
// to ev, so that a retry is recognised as the same event whatever the
// policy did; the entry holds captured. Neither event is modified; an
// id assigned for an event without one goes into the entry.
func (s *Sealer) SealCaptured(log string, ev, captured *event.Event, c event.Capture) (*event.Entry, error) {
	e := &event.Entry{Event: *captured, Version: 1, Log: log, ReceivedAt: s.cfg.Clock().UTC(), Capture: c}
	orig := ev
	if ev.ID == "" {
		id, err := s.cfg.NewID()
		if err != nil {
			return nil, fmt.Errorf("seal: assigning an id: %w", err)
		}
		cp := *ev
		cp.ID = id
		orig = &cp
	}
	e.ID = orig.ID
	if e.Outcome == "" {
		e.Outcome = event.OutcomeUnknown
	}
	if orig.Outcome == "" {
		cp := *orig
		cp.Outcome = event.OutcomeUnknown
		orig = &cp
	}
	canon, err := orig.CanonicalJSON()
	if err != nil {
		return nil, fmt.Errorf("seal: encoding event %q: %w", e.ID, err)
	}
	mac := s.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(canon)
	e.Digest = mac.Sum(nil)
	s.macs.Put(mac)
	return e, nil
}
