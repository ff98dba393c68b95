package respond

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/a24ba333/indelible/internal/findings"
)

// Severities a route can match, from the least to the most urgent; the
// same words as the findings' severities.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Alert is what a sink delivers: one finding and where it comes from.
type Alert struct {
	Finding findings.Finding
	// Log is the log the finding is about; Finding.Log when empty.
	Log string
	// Instance is the name of the Indelible instance (as in checkpoint
	// origins), so that a receiver serving several instances can tell
	// them apart.
	Instance string
	// Project and Environment are those of the entry that triggered the
	// finding, for routing; either may be empty.
	Project, Environment string
	// Summary is one line for a person; Finding.Summary when empty.
	Summary string
	// Link is the address of the finding in the web UI, if there is one.
	Link string
}

func (a Alert) log() string {
	if a.Log != "" {
		return a.Log
	}
	return a.Finding.Log
}

func (a Alert) summary() string {
	if a.Summary != "" {
		return a.Summary
	}
	return a.Finding.Summary
}

// Sink delivers alerts to one destination.
type Sink interface {
	// Name returns the sink's name, unique among the sinks of a Router;
	// it labels metrics and attempts.
	Name() string
	// Deliver delivers a. It returns nil once the destination has
	// accepted the alert. An error that wraps ErrPermanent means that
	// trying again cannot succeed; any other error is temporary and the
	// dispatcher retries. Deliver gives up when ctx is done. Errors
	// must not reveal credentials (a secret URL, a token): they are
	// recorded on findings. Deliver is called concurrently.
	Deliver(ctx context.Context, a Alert) error
}

// ErrPermanent is wrapped by delivery errors that retrying cannot fix.
var ErrPermanent = errors.New("permanent failure")

// StatusError is the error of an HTTP sink whose receiver did not answer
// with a 2xx. It wraps ErrPermanent for a 4xx other than 408 (request
// timeout) and 429 (too many requests).
type StatusError struct {
	Code int
	// Body is the beginning of the answer's body, for the operator.
	Body string
	// RetryAfter is the wait the receiver asked for with Retry-After, 0
	// if it did not.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("status %d", e.Code)
	}
	return fmt.Sprintf("status %d: %s", e.Code, e.Body)
}

// Unwrap returns ErrPermanent if the status means that the request will
// never succeed, nil otherwise.
func (e *StatusError) Unwrap() error {
	if permanentStatus(e.Code) {
		return ErrPermanent
	}
	return nil
}

func permanentStatus(code int) bool {
	return code >= 400 && code < 500 && code != 408 && code != 429
}

// Final outcomes of the delivery of an alert to a sink.
const (
	Delivered  = "delivered"
	DeadLetter = "dead-letter"
)

// Attempt is the outcome of one attempt to deliver a finding to a sink.
type Attempt struct {
	FindingID string
	Sink      string
	Try       int       // 1 for the first attempt
	Time      time.Time // when the attempt started
	Err       string    // why it failed; empty if it succeeded
	// Final is Delivered or DeadLetter when this attempt is the last,
	// empty when another follows.
	Final string
}
