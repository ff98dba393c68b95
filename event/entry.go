package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// EntryVersion is the format version written in every entry's "v".
const EntryVersion = 1

// MaxEntrySize is the largest entry, in bytes: the limit of a C2SP
// tlog-tiles entry bundle, whose entries carry a 16-bit length.
const MaxEntrySize = 1<<16 - 1

// entryMaxDepth bounds the nesting of an entry: an event's depth plus
// room for the objects that replace personal values.
const entryMaxDepth = 64

// Capture levels.
const (
	CaptureFull     = "full"
	CaptureMetadata = "metadata"
)

var (
	// ErrEntryTooLarge is returned by Entry.Canonical for an entry
	// longer than MaxEntrySize.
	ErrEntryTooLarge = errors.New("entry is too large")
	// ErrNotCanonical is returned by ParseEntry for a valid entry whose
	// bytes are not those that Entry.Canonical produces.
	ErrNotCanonical = errors.New("entry is not in canonical form")
)

// Capture records how the server captured an event.
type Capture struct {
	Level    string   `json:"level"`              // "full" or "metadata"
	Policy   string   `json:"policy,omitempty"`   // hash of the policy version applied
	Rule     string   `json:"rule,omitempty"`     // the policy rule that matched
	Schema   string   `json:"schema,omitempty"`   // "<type>@<version>" the data was validated against
	Redacted []string `json:"redacted,omitempty"` // JSON Pointers of values replaced by a marker
	Personal []string `json:"personal,omitempty"` // JSON Pointers of values replaced by {"$personal": commitment}
}

// Entry is a sealed event: the client's event with what the server adds.
// Its canonical bytes (Canonical) are the log's leaf.
type Entry struct {
	Event                // its fields are flattened into the entry object
	Version    int       `json:"v"`           // EntryVersion
	Log        string    `json:"log"`         // the log (tenant) holding the entry
	ReceivedAt time.Time `json:"received_at"` // when the server accepted the event
	Digest     []byte    `json:"digest"`      // keyed digest of the client's event, for idempotency
	Capture    Capture   `json:"capture"`
}

// Canonical returns the entry's bytes: the RFC 8785 serialisation of the
// flattened object, as the package documentation describes. It fails for
// a Version other than EntryVersion, for values AppendCanonical refuses,
// and (with ErrEntryTooLarge) for bytes longer than MaxEntrySize. It does
// not otherwise validate the entry; see Validate.
func (e *Entry) Canonical() ([]byte, error) {
	if e.Version != EntryVersion {
		return nil, fmt.Errorf("entry version %d, want %d", e.Version, EntryVersion)
	}
	c := &e.Capture
	n := e.Event.sizeHint() + 160 + len(e.Log) + len(e.Digest)*4/3 + len(c.Level) + len(c.Policy) +
		len(c.Rule) + len(c.Schema) + 16*(len(c.Redacted)+len(c.Personal))
	w := jsonWriter{b: make([]byte, 0, n)}
	w.event(&e.Event, e)
	if w.err != nil {
		return nil, w.err
	}
	if len(w.b) > MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrEntryTooLarge, len(w.b), MaxEntrySize)
	}
	return w.b, nil
}

// CanonicalJSON returns the RFC 8785 serialisation of the event alone,
// with the same field rules as Entry.Canonical. It is what the entry's
// Digest is computed over.
func (e *Event) CanonicalJSON() ([]byte, error) {
	w := jsonWriter{b: make([]byte, 0, e.sizeHint())}
	w.event(e, nil)
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

// sizeHint estimates the length of the event's canonical form.
func (e *Event) sizeHint() int {
	n := 200 + len(e.ID) + len(e.Type) + len(e.Outcome) + len(e.Project) + len(e.Environment) +
		len(e.Source) + len(e.Message) + len(e.TraceID) + len(e.Subject) +
		len(e.Actor.ID) + len(e.Actor.Type) + len(e.Actor.IP) + len(e.Actor.UserAgent) + 64*len(e.Data)
	if e.Resource != nil {
		n += len(e.Resource.ID) + len(e.Resource.Type)
	}
	return n
}

// jsonWriter appends canonical JSON, keeping the first error.
type jsonWriter struct {
	b   []byte
	err error
}

func (w *jsonWriter) raw(s string) { w.b = append(w.b, s...) }

func (w *jsonWriter) str(s string) {
	if w.err == nil {
		w.b, w.err = appendString(w.b, s)
	}
}

// opt writes member (like `,"ip":`) and s if s is not empty.
func (w *jsonWriter) opt(member, s string) {
	if s != "" {
		w.raw(member)
		w.str(s)
	}
}

func (w *jsonWriter) strings(member string, l []string) {
	if len(l) > 0 && w.err == nil {
		w.raw(member)
		w.b, w.err = AppendCanonical(w.b, l)
	}
}

func (w *jsonWriter) time(member string, t time.Time) {
	w.raw(member)
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

// event writes e's fields and, if en is not nil, the entry's, merged in
// RFC 8785 order. Every key is ASCII, so that order is byte order.
func (w *jsonWriter) event(e *Event, en *Entry) {
	w.raw(`{"actor":{"id":`)
	w.str(e.Actor.ID)
	w.opt(`,"ip":`, e.Actor.IP)
	w.opt(`,"type":`, e.Actor.Type)
	w.opt(`,"user_agent":`, e.Actor.UserAgent)
	w.raw(`}`)
	if en != nil {
		c := &en.Capture
		w.raw(`,"capture":{"level":`)
		w.str(c.Level)
		w.strings(`,"personal":`, c.Personal)
		w.opt(`,"policy":`, c.Policy)
		w.strings(`,"redacted":`, c.Redacted)
		w.opt(`,"rule":`, c.Rule)
		w.opt(`,"schema":`, c.Schema)
		w.raw(`}`)
	}
	if len(e.Data) > 0 && w.err == nil {
		w.raw(`,"data":`)
		w.b, w.err = appendObject(w.b, e.Data)
	}
	if en != nil {
		w.raw(`,"digest":"`)
		w.b = base64.StdEncoding.AppendEncode(w.b, en.Digest)
		w.raw(`"`)
	}
	w.opt(`,"environment":`, e.Environment)
	w.opt(`,"id":`, e.ID)
	if en != nil {
		w.raw(`,"log":`)
		w.str(en.Log)
	}
	w.opt(`,"message":`, e.Message)
	w.opt(`,"outcome":`, e.Outcome)
	w.opt(`,"project":`, e.Project)
	if en != nil {
		w.time(`,"received_at":`, en.ReceivedAt)
	}
	if r := e.Resource; r != nil {
		w.raw(`,"resource":{`)
		if r.ID != "" {
			w.raw(`"id":`)
			w.str(r.ID)
			if r.Type != "" {
				w.raw(`,`)
			}
		}
		if r.Type != "" {
			w.raw(`"type":`)
			w.str(r.Type)
		}
		w.raw(`}`)
	}
	w.opt(`,"source":`, e.Source)
	w.opt(`,"subject":`, e.Subject)
	w.time(`,"time":`, e.Time)
	w.opt(`,"trace_id":`, e.TraceID)
	w.raw(`,"type":`)
	w.str(e.Type)
	if en != nil {
		w.raw(`,"v":`)
		w.b = strconv.AppendInt(w.b, int64(en.Version), 10)
	}
	w.raw(`}`)
}

// Decoded returns the entry as its bytes decode: what a reader of the
// log gets. Entries that Indelible builds itself hold Go types in their
// data (int, []string, ...) where a decoded entry holds what ParseJSON
// returns; readers that take committed entries from memory use this to
// see them as a replay from the store would.
func (e *Entry) Decoded() (*Entry, error) {
	b, err := e.Canonical()
	if err != nil {
		return nil, err
	}
	return DecodeEntry(b)
}

// Validate checks every field of the entry, including its event (for
// which the reserved category is allowed). It returns nil or a
// *ValidationError.
func (e *Entry) Validate() error {
	var v validator
	v.event(&e.Event, true, true)
	v.entry(e)
	if len(v.errs) > 0 {
		return &ValidationError{Errors: v.errs}
	}
	return nil
}

func (v *validator) entry(e *Entry) {
	if e.Version != EntryVersion {
		v.add("/v", fmt.Sprintf("must be %d", EntryVersion))
	}
	if e.Log == "" {
		v.add("/log", "is required")
	}
	v.text("/log", e.Log, maxRefLen)
	switch {
	case e.ReceivedAt.IsZero():
		v.add("/received_at", "is required")
	case e.ReceivedAt.UTC().Year() > 9999 || e.ReceivedAt.UTC().Year() < 0:
		v.add("/received_at", "must be between the years 0000 and 9999 in UTC")
	}
	if len(e.Digest) == 0 {
		v.add("/digest", "is required")
	}
	c := &e.Capture
	if c.Level != CaptureFull && c.Level != CaptureMetadata {
		v.add("/capture/level", fmt.Sprintf("must be %q or %q", CaptureFull, CaptureMetadata))
	}
	v.text("/capture/policy", c.Policy, maxRefLen)
	v.text("/capture/rule", c.Rule, maxRefLen)
	v.text("/capture/schema", c.Schema, maxRefLen)
	v.pointers("/capture/redacted", c.Redacted)
	v.pointers("/capture/personal", c.Personal)
}

func (v *validator) pointers(path string, l []string) {
	for i, p := range l {
		if !validPointer(p) {
			v.add(fmt.Sprintf("%s/%d", path, i), "must be a JSON Pointer (RFC 6901)")
		}
	}
}

// validPointer reports whether p is a JSON Pointer.
func validPointer(p string) bool {
	if p != "" && p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return false
		}
	}
	return utf8.ValidString(p)
}

func isEntryField(k string) bool {
	switch k {
	case "v", "log", "received_at", "digest", "capture":
		return true
	}
	return isEventField(k)
}

// ParseEntry parses entry bytes. It is the strict inverse of
// Entry.Canonical: it accepts only valid entries of version 1 in
// canonical form (ErrNotCanonical otherwise), so that re-encoding the
// result gives back the same bytes. Errors are a *SyntaxError, a
// *ValidationError or wrap ErrNotCanonical.
func ParseEntry(b []byte) (*Entry, error) {
	return parseEntry(b, true)
}

// DecodeEntry is ParseEntry without the final check that b is in
// canonical form, which costs about as much again as the parse. It is for
// the followers of a log (analysis, configuration) that read entries the
// ledger wrote; verification, which must not trust the store, uses
// ParseEntry.
func DecodeEntry(b []byte) (*Entry, error) {
	return parseEntry(b, false)
}

func parseEntry(b []byte, canonical bool) (*Entry, error) {
	v, err := ParseJSON(b, Limits{MaxBytes: MaxEntrySize, MaxDepth: entryMaxDepth})
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &ValidationError{Errors: []FieldError{{Message: "an entry must be a JSON object, not " + jsonType(v)}}}
	}
	var d decoder
	e := new(Entry)
	d.event(m, &e.Event, isEntryField)
	switch n, ok := m["v"]; {
	case !ok:
		d.add("/v", "is required")
	case n != json.Number("1"):
		d.add("/v", fmt.Sprintf("unsupported entry version %v, want %d", n, EntryVersion))
	default:
		e.Version = EntryVersion
	}
	d.string(m, "log", "", &e.Log)
	if rv, ok := m["received_at"]; ok {
		if s, ok := d.asString(rv, "", "received_at"); ok {
			t, err := parseTime(s)
			if err != nil {
				d.add("/received_at", err.Error())
			}
			e.ReceivedAt = t
		}
	}
	var digest string
	d.string(m, "digest", "", &digest)
	if e.Digest, err = base64.StdEncoding.DecodeString(digest); err != nil {
		d.add("/digest", "must be standard base64")
	}
	if cm := d.object(m, "capture", ""); cm != nil {
		c := &e.Capture
		d.string(cm, "level", "/capture", &c.Level)
		d.string(cm, "policy", "/capture", &c.Policy)
		d.string(cm, "rule", "/capture", &c.Rule)
		d.string(cm, "schema", "/capture", &c.Schema)
		c.Redacted = d.strings(cm, "redacted", "/capture")
		c.Personal = d.strings(cm, "personal", "/capture")
		d.unknown(cm, "/capture", func(k string) bool {
			switch k {
			case "level", "policy", "rule", "schema", "redacted", "personal":
				return true
			}
			return false
		})
	}
	if errs := d.finish(func(v *validator) {
		v.event(&e.Event, true, false)
		v.entry(e)
	}); len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	if !canonical {
		return e, nil
	}
	c, err := e.Canonical()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(c, b) {
		return nil, ErrNotCanonical
	}
	return e, nil
}

// strings decodes the optional array of strings member key of m.
func (d *decoder) strings(m map[string]any, key, parent string) []string {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		d.add(parent+"/"+key, "must be an array of strings, not "+jsonType(v))
		return nil
	}
	l := make([]string, len(a))
	for i, x := range a {
		if s, ok := d.asString(x, parent+"/"+key, strconv.Itoa(i)); ok {
			l[i] = s
		}
	}
	return l
}

// LeafHash returns the Merkle tree leaf hash of entry bytes:
// SHA-256(0x00 || entry), as in RFC 6962 §2.1.
func LeafHash(entry []byte) [32]byte {
	h := leafHashers.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte{0})
	h.Write(entry)
	var out [32]byte
	h.Sum(out[:0])
	leafHashers.Put(h)
	return out
}

// leafHashers recycles SHA-256 states: LeafHash runs for every entry
// appended or verified, and a fresh state is an allocation each time.
var leafHashers = sync.Pool{New: func() any { return sha256.New() }}
