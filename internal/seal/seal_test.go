package seal

import (
	"bytes"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func fixed() time.Time { return time.Date(2026, 11, 23, 20, 0, 0, 5e6, time.UTC) }

func sample() *event.Event {
	return &event.Event{
		ID:    "evt-1",
		Time:  time.Date(2026, 11, 23, 19, 40, 0, 123e6, time.FixedZone("CET", 3600)),
		Type:  "auth.login",
		Actor: event.Actor{ID: "alice@example.com"},
		Data:  map[string]any{"method": "password"},
	}
}

func TestSeal(t *testing.T) {
	s, err := New(Config{DigestKey: key, Clock: fixed, NewID: func() (string, error) { return "assigned", nil }})
	if err != nil {
		t.Fatal(err)
	}
	ev := sample()
	e, err := s.Seal("acme", ev)
	if err != nil {
		t.Fatal(err)
	}
	if e.Log != "acme" || e.Version != 1 || !e.ReceivedAt.Equal(fixed()) || e.Outcome != "unknown" || e.Capture.Level != "full" {
		t.Errorf("Seal = %+v", e)
	}
	if ev.Outcome != "" {
		t.Error("Seal modified its argument")
	}
	// The same event sealed later has the same digest: retries match.
	later, _ := New(Config{DigestKey: key, Clock: time.Now})
	e2, _ := later.Seal("acme", sample())
	if !bytes.Equal(e.Digest, e2.Digest) {
		t.Error("digest depends on the time of receipt")
	}
	// Any change of content changes it.
	changed := sample()
	changed.Data["method"] = "otp"
	e3, _ := s.Seal("acme", changed)
	if bytes.Equal(e.Digest, e3.Digest) {
		t.Error("digest ignores data")
	}
	// Another key gives another digest.
	other, _ := New(Config{DigestKey: bytes.Repeat([]byte{7}, 32), Clock: fixed})
	e4, _ := other.Seal("acme", sample())
	if bytes.Equal(e.Digest, e4.Digest) {
		t.Error("digest does not depend on the key")
	}
	// An event without an id gets one.
	noID := sample()
	noID.ID = ""
	e5, _ := s.Seal("acme", noID)
	if e5.ID != "assigned" {
		t.Errorf("assigned id = %q", e5.ID)
	}
	// The entry round-trips through its canonical bytes.
	b, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	back, err := event.ParseEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Digest, e.Digest) || back.ID != "evt-1" || !back.Time.Equal(ev.Time) {
		t.Errorf("ParseEntry(Canonical()) = %+v", back)
	}
}

func TestDefaultIDsAreUUIDv7(t *testing.T) {
	s, _ := New(Config{DigestKey: key})
	ev := sample()
	ev.ID = ""
	a, _ := s.Seal("acme", ev)
	b, _ := s.Seal("acme", ev)
	if len(a.ID) != 36 || a.ID[14] != '7' || a.ID == b.ID {
		t.Errorf("default ids %q, %q: want distinct UUIDv7", a.ID, b.ID)
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	if _, err := New(Config{DigestKey: []byte("short")}); err == nil {
		t.Error("New with a 5-byte key succeeded")
	}
}

// BenchmarkSeal measures sealing alone (events/s on one core).
func BenchmarkSeal(b *testing.B) {
	s, _ := New(Config{DigestKey: key})
	ev := sample()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal("acme", ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestSealCaptured(t *testing.T) {
	s, err := New(Config{DigestKey: key, Clock: fixed, NewID: func() (string, error) { return "assigned", nil }})
	if err != nil {
		t.Fatal(err)
	}
	ev := sample()
	full, err := s.Seal("acme", ev)
	if err != nil {
		t.Fatal(err)
	}
	reduced := *ev
	reduced.Data = nil
	c := event.Capture{Level: event.CaptureMetadata, Policy: "sha256:ab", Rule: "default"}
	e, err := s.SealCaptured("acme", ev, &reduced, c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.Digest, full.Digest) {
		t.Errorf("SealCaptured digest = %x, want the digest of the client's event %x", e.Digest, full.Digest)
	}
	if e.Data != nil || e.Capture.Level != event.CaptureMetadata || e.Capture.Rule != "default" || e.ID != "evt-1" {
		t.Errorf("SealCaptured = %+v, want the reduced event with its capture", e)
	}
	if ev.Data == nil {
		t.Error("SealCaptured modified the client's event")
	}
	// An event without id gets one, in the entry and in the digest.
	ev.ID, reduced.ID = "", ""
	e, err = s.SealCaptured("acme", ev, &reduced, c)
	if err != nil {
		t.Fatal(err)
	}
	withID := *sample()
	withID.ID = "assigned"
	want, _ := s.Seal("acme", &withID)
	if e.ID != "assigned" || !bytes.Equal(e.Digest, want.Digest) || ev.ID != "" {
		t.Errorf("SealCaptured without id = id %q digest %x; want \"assigned\", %x", e.ID, e.Digest, want.Digest)
	}
}
