package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleEntry seals sampleEvent as the server would.
func sampleEntry(t testing.TB) *Entry {
	// Parse gives every call its own Data.
	t.Helper()
	ev, err := Parse([]byte(sampleEvent), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	ev.Data["password"] = map[string]any{"$personal": "q83vEjRWeJA="}
	canon, err := ev.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(canon)
	return &Entry{
		Event:      *ev,
		Version:    1,
		Log:        "acme",
		ReceivedAt: time.Date(2026, 11, 23, 19, 40, 1, 500e6, time.UTC),
		Digest:     digest[:],
		Capture: Capture{
			Level:    CaptureFull,
			Policy:   "sha256:1f2e",
			Rule:     "auth-all",
			Schema:   "auth.login@3",
			Redacted: []string{"/data/token"},
			Personal: []string{"/data/password"},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", name, got, want)
	}
}

func TestEntryCanonicalGolden(t *testing.T) {
	e := sampleEntry(t)
	b, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "entry.json", b)
	ev, err := e.Event.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "event.json", ev)

	// Both are RFC 8785 output: canonicalising them changes nothing.
	for _, b := range [][]byte{b, ev} {
		if c, err := Canonicalize(b); err != nil || !bytes.Equal(c, b) {
			t.Errorf("Canonicalize(%s) = %s, %v; want it unchanged", b, c, err)
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	full := sampleEntry(t)
	minimal := &Entry{
		Event: Event{
			Time:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
			Type:  "indelible.key.created",
			Actor: Actor{ID: "\"quoted\" \\ \u2028 \U0001F600"},
		},
		Version: 1, Log: "_system", ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC),
		Digest: []byte{0}, Capture: Capture{Level: CaptureMetadata},
	}
	resourceOnlyType := sampleEntry(t)
	resourceOnlyType.Resource = &Resource{Type: "account"}
	resourceOnlyType.ID = `id"with"quote\\é`
	for _, e := range []*Entry{full, minimal, resourceOnlyType} {
		if err := e.Validate(); err != nil {
			t.Fatalf("Validate() = %v", err)
		}
		b, err := e.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseEntry(b)
		if err != nil {
			t.Fatalf("ParseEntry(%s) error: %v", b, err)
		}
		b2, err := got.Canonical()
		if err != nil || !bytes.Equal(b, b2) {
			t.Errorf("Canonical(ParseEntry(%s)) = %s, %v; want the same bytes", b, b2, err)
		}
		e.Time = e.Time.UTC()
		if !reflect.DeepEqual(canonicalize(t, e), canonicalize(t, got)) {
			t.Errorf("ParseEntry(%s) = %+v, want %+v", b, got, e)
		}
		if id, err := EntryID(b); err != nil || id != e.ID {
			t.Errorf("EntryID(%s) = %q, %v; want %q", b, id, err, e.ID)
		}
	}
}

// canonicalize replaces Data by its canonical text, so entries compare
// without regard to how numbers are spelled.
func canonicalize(t *testing.T, e *Entry) Entry {
	c := *e
	if c.Data != nil {
		b, err := AppendCanonical(nil, c.Data)
		if err != nil {
			t.Fatal(err)
		}
		c.Data = map[string]any{"": string(b)}
	}
	return c
}

func TestParseEntryInvalid(t *testing.T) {
	b, err := sampleEntry(t).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	canon := string(b)
	tests := []struct {
		name string
		in   string
		path string // of the first FieldError; "-" for ErrNotCanonical, "syntax" for a *SyntaxError
	}{
		{"version 2", strings.Replace(canon, `"v":1}`, `"v":2}`, 1), "/v"},
		{"version 1.0", strings.Replace(canon, `"v":1}`, `"v":1.0}`, 1), "/v"},
		{"no version", strings.Replace(canon, `,"v":1}`, `}`, 1), "/v"},
		{"unknown field", strings.Replace(canon, `"v":1}`, `"v":1,"w":2}`, 1), "/w"},
		{"unknown capture field", strings.Replace(canon, `"rule":`, `"rules":"x","rule":`, 1), "/capture/rules"},
		{"bad level", strings.Replace(canon, `"level":"full"`, `"level":"most"`, 1), "/capture/level"},
		{"bad pointer", strings.Replace(canon, `["/data/token"]`, `["data/token"]`, 1), "/capture/redacted/0"},
		{"pointer not string", strings.Replace(canon, `["/data/token"]`, `[1]`, 1), "/capture/redacted/0"},
		{"bad digest", strings.Replace(canon, `"digest":"`, `"digest":"*`, 1), "/digest"},
		{"no log", strings.Replace(canon, `"log":"acme",`, ``, 1), "/log"},
		{"bad received_at", strings.Replace(canon, `"received_at":"2026-11-23T19:40:01.5Z"`, `"received_at":"yesterday"`, 1), "/received_at"},
		{"whitespace", strings.Replace(canon, `"v":1}`, `"v": 1}`, 1), "-"},
		{"unsorted", strings.Replace(strings.Replace(canon, `"log":"acme",`, ``, 1), `"v":1}`, `"v":1,"log":"acme"}`, 1), "-"},
		{"time not UTC", strings.Replace(canon, `19:40:00.123Z`, `20:40:00.123+01:00`, 1), "-"},
		{"time with trailing zero", strings.Replace(canon, `19:40:00.123Z`, `19:40:00.1230Z`, 1), "-"},
		{"number not canonical", strings.Replace(canon, `"attempt":3`, `"attempt":3.0`, 1), "-"},
		{"escape not canonical", strings.Replace(canon, `"source":"billing-api"`, `"source":"billing\u002dapi"`, 1), "-"},
		{"empty optional", strings.Replace(canon, `"source":"billing-api"`, `"source":""`, 1), "-"},
		{"empty list", strings.Replace(canon, `["/data/token"]`, `[]`, 1), "-"},
		{"outcome absent", strings.Replace(canon, `"outcome":"failure",`, ``, 1), ""},
		{"duplicate key", strings.Replace(canon, `"v":1}`, `"v":1,"v":1}`, 1), "syntax"},
		{"not an object", `[]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEntry([]byte(tt.in))
			var ve *ValidationError
			var se *SyntaxError
			switch {
			case tt.path == "" && tt.name == "outcome absent":
				if err != nil {
					t.Errorf("ParseEntry(%s) = %v, want nil", tt.in, err)
				}
			case tt.path == "-":
				if !errors.Is(err, ErrNotCanonical) {
					t.Errorf("ParseEntry(%s) = %v, %v; want ErrNotCanonical", tt.in, e, err)
				}
				// DecodeEntry accepts what only the canonical check refuses.
				if d, err := DecodeEntry([]byte(tt.in)); err != nil || d == nil {
					t.Errorf("DecodeEntry(%s) = %v, %v; want the entry", tt.in, d, err)
				}
			case tt.path == "syntax":
				if !errors.As(err, &se) {
					t.Errorf("ParseEntry(%s) = %v, want a *SyntaxError", tt.in, err)
				}
			default:
				if !errors.As(err, &ve) || ve.Errors[0].Path != tt.path {
					t.Errorf("ParseEntry(%s) = %v, want an error at %q", tt.in, err, tt.path)
				}
			}
		})
	}
}

func TestEntryCanonicalErrors(t *testing.T) {
	e := sampleEntry(t)
	e.Version = 0
	if _, err := e.Canonical(); err == nil {
		t.Errorf("Canonical() with version 0 = nil error, want error")
	}
	e = sampleEntry(t)
	e.Data["blob"] = strings.Repeat("x", MaxEntrySize)
	if _, err := e.Canonical(); !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("Canonical() of a huge entry = %v, want ErrEntryTooLarge", err)
	}
	e = sampleEntry(t)
	e.Message = "\xff"
	if _, err := e.Canonical(); err == nil {
		t.Errorf("Canonical() with invalid UTF-8 = nil error, want error")
	}
	e = sampleEntry(t)
	e.Data["n"] = nan()
	if _, err := e.Canonical(); err == nil {
		t.Errorf("Canonical() with NaN = nil error, want error")
	}
	if _, err := ParseEntry(make([]byte, MaxEntrySize+1)); err == nil {
		t.Errorf("ParseEntry(%d bytes) = nil error, want error", MaxEntrySize+1)
	}
}

func TestEntryValidate(t *testing.T) {
	e := sampleEntry(t)
	e.Version, e.Log, e.ReceivedAt, e.Digest = 2, "", time.Time{}, nil
	e.Capture = Capture{Level: "some", Personal: []string{"/a~2"}}
	err := e.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v, want a *ValidationError", err)
	}
	var paths []string
	for _, fe := range ve.Errors {
		paths = append(paths, fe.Path)
	}
	want := []string{"/v", "/log", "/received_at", "/digest", "/capture/level", "/capture/personal/0"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("Validate() paths = %v, want %v", paths, want)
	}
}

func TestLeafHash(t *testing.T) {
	// RFC 6962: the hash of an empty leaf.
	h := LeafHash(nil)
	if got, want := hex.EncodeToString(h[:]), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"; got != want {
		t.Errorf("LeafHash(nil) = %s, want %s", got, want)
	}
	b := []byte(`{"a":1}`)
	if got, want := LeafHash(b), sha256.Sum256(append([]byte{0}, b...)); got != want {
		t.Errorf("LeafHash(%s) = %x, want %x", b, got, want)
	}
}

func TestEntryID(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{`{}`, "", false},
		{`{"actor":{"id":"a"},"capture":{"level":"full"},"data":{"id":"no","x":[1,"}",{"a":"\"]"}]},"digest":"AA==","environment":"e","id":"yes","log":"l"}`, "yes", false},
		{`{"actor":{"id":"x"},"id":"a\"b\\c\u0001é"}`, "a\"b\\c\u0001é", false},
		{`{"actor":{"id":"x"},"log":"l","id":"late"}`, "", false}, // not canonical: stops at "log"
		{`{"a":1,"b":true,"c":null}`, "", false},
		{`{"id":1}`, "", true},
		{`{"id":"\ud800"}`, "", true},
		{`{"data":{"x":[1,2}`, "", true},
		{`[]`, "", true},
		{`{"a"`, "", true},
		{`{"a":"b" "id":"x"}`, "", true},
		{``, "", true},
	}
	for _, tt := range tests {
		got, err := EntryID([]byte(tt.in))
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("EntryID(%s) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestEntryType(t *testing.T) {
	e := sampleEntry(t)
	b, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := EntryType(b); got != e.Type || err != nil {
		t.Errorf("EntryType(sample) = %q, %v; want %q", got, err, e.Type)
	}
	for _, in := range []string{`{"data":{"type":"no"},"time":"t","type":"a.b"}`, `{"type":"a.b"}`} {
		if got, err := EntryType([]byte(in)); got != "a.b" || err != nil {
			t.Errorf("EntryType(%s) = %q, %v; want \"a.b\"", in, got, err)
		}
	}
	if _, err := EntryType([]byte(`{"type":7}`)); err == nil {
		t.Errorf("EntryType(%s) = nil error, want one", `{"type":7}`)
	}
}

func entrySeeds(f *testing.F) {
	e := sampleEntry(f)
	b, err := e.Canonical()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	e.ID, e.Resource, e.Data, e.Capture.Redacted = "", nil, nil, nil
	if b, err = e.Canonical(); err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"actor":{"id":"x"},"capture":{"level":"metadata"},"digest":"AA==","id":"a\"b","log":"l","received_at":"2026-01-01T00:00:00Z","time":"2026-01-01T00:00:00Z","type":"a.b","v":1}`))
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
}

func FuzzParseEntry(f *testing.F) {
	entrySeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err != nil {
			return
		}
		c, err := e.Canonical()
		if err != nil || !bytes.Equal(c, b) {
			t.Fatalf("Canonical(ParseEntry(%q)) = %q, %v; want the input", b, c, err)
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("ParseEntry(%q) accepted an entry that Validate rejects: %v", b, err)
		}
	})
}

func FuzzEntryID(f *testing.F) {
	entrySeeds(f)
	f.Add([]byte(`a"b\\"c\"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, idErr := EntryID(b)
		if e, err := ParseEntry(b); err == nil && (idErr != nil || id != e.ID) {
			t.Fatalf("EntryID(%q) = %q, %v; ParseEntry gives %q", b, id, idErr, e.ID)
		}
		if e, err := ParseEntry(b); err == nil {
			if d, err := EntryDigest(b); err != nil || string(d) != string(e.Digest) {
				t.Fatalf("EntryDigest(%q) = %x, %v; ParseEntry gives %x", b, d, err, e.Digest)
			}
		}

		// The input as the id, and as a key and value in the fields
		// skipped before the id.
		e := sampleEntry(t)
		e.ID = string(b)
		e.Actor.Type = string(b)
		e.Data[string(b)] = []any{string(b), map[string]any{string(b): "}]"}}
		if e.Validate() != nil {
			return
		}
		c, err := e.Canonical()
		if err != nil {
			t.Fatalf("Canonical() error: %v", err)
		}
		if _, err := ParseEntry(c); err != nil {
			t.Fatalf("ParseEntry(%q) error: %v", c, err)
		}
		if id, err := EntryID(c); err != nil || id != e.ID {
			t.Fatalf("EntryID(%q) = %q, %v; want %q", c, id, err, e.ID)
		}
	})
}

func TestEntryDigest(t *testing.T) {
	e := sampleEntryForDigest()
	b, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	d, err := EntryDigest(b)
	if err != nil || string(d) != string(e.Digest) {
		t.Errorf("EntryDigest = %x, %v; want %x", d, err, e.Digest)
	}
	if d, err := EntryDigest([]byte(`{"a":1}`)); err != nil || d != nil {
		t.Errorf("EntryDigest without digest = %x, %v", d, err)
	}
	if _, err := EntryDigest([]byte(`{"digest":"!!"}`)); err == nil {
		t.Error("EntryDigest of bad base64 succeeded")
	}
}

func sampleEntryForDigest() *Entry {
	return &Entry{
		Event:      Event{ID: "x", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Type: "auth.login", Outcome: "success", Actor: Actor{ID: "a"}},
		Version:    EntryVersion,
		Log:        "acme",
		ReceivedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Digest:     []byte{1, 2, 3, 250, 251, 252},
		Capture:    Capture{Level: CaptureFull},
	}
}
