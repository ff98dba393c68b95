package client

import (
	"regexp"
	"testing"
	"time"
)

func TestUUIDv7(t *testing.T) {
	// RFC 9562 Appendix A.6.
	r := [10]byte{0x0C, 0xC3, 0x18, 0xC4, 0xDC, 0x0C, 0x0C, 0x07, 0x39, 0x8F}
	if got, want := uuidV7(0x017F22E279B0, r), "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"; got != want {
		t.Errorf("uuidV7(RFC 9562 A.6) = %q, want %q", got, want)
	}
	// Version and variant bits are set whatever the random bits.
	var ones [10]byte
	for i := range ones {
		ones[i] = 0xff
	}
	if got, want := uuidV7(0, ones), "00000000-0000-7fff-bfff-ffffffffffff"; got != want {
		t.Errorf("uuidV7(0, all ones) = %q, want %q", got, want)
	}

	form := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	now := time.UnixMilli(1_800_000_000_123)
	for range 1000 {
		id := newID(now)
		if !form.MatchString(id) {
			t.Fatalf("newID() = %q, not a UUIDv7", id)
		}
		if seen[id] {
			t.Fatalf("newID() = %q twice", id)
		}
		seen[id] = true
		if id[:13] != "01a3185c-507b" {
			t.Fatalf("newID(%v) = %q, want the time prefix 01a3185c-507b", now, id)
		}
	}
	if a, b := newID(now), newID(now.Add(time.Millisecond)); a >= b {
		t.Errorf("newID later = %q, not after %q", b, a)
	}
}
