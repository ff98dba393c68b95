package event

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestCommitment(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, SaltSize)
	value := map[string]any{"b": "alice@example.com", "a": json.Number("1")}
	c, err := Commit(salt, value)
	if err != nil {
		t.Fatal(err)
	}
	// Key order does not matter: the value is committed in canonical form.
	same, _ := Commit(salt, map[string]any{"a": json.Number("1.0"), "b": "alice@example.com"})
	if c[PersonalKey] != same[PersonalKey] {
		t.Error("commitment depends on the value's encoding, not its canonical form")
	}
	if err := CheckCommitment(c, salt, value); err != nil {
		t.Errorf("CheckCommitment(right value) = %v", err)
	}
	if err := CheckCommitment(c, salt, "mallory@example.com"); err == nil {
		t.Error("CheckCommitment accepted another value")
	}
	if err := CheckCommitment(c, bytes.Repeat([]byte{8}, SaltSize), value); err == nil {
		t.Error("CheckCommitment accepted another salt")
	}
	if _, err := Commit(salt[:5], value); err == nil {
		t.Error("Commit with a short salt succeeded")
	}
	// A commitment round-trips through an entry's canonical bytes.
	e := &Entry{
		Event:      Event{ID: "x", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Type: "auth.login", Outcome: "success", Actor: Actor{ID: "a"}, Subject: "subject-1", Data: map[string]any{"email": c}},
		Version:    EntryVersion,
		Log:        "acme",
		ReceivedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Digest:     []byte{1},
		Capture:    Capture{Level: CaptureFull, Personal: []string{"/data/email"}},
	}
	b, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCommitment(back.Data["email"], salt, value); err != nil {
		t.Errorf("commitment after ParseEntry: %v", err)
	}
	if bytes.Contains(b, []byte("alice")) {
		t.Error("the personal value is in the entry bytes")
	}
}
