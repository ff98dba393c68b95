package analyze

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// item is one event in a window.
type item struct {
	T int64  `json:"t"`           // the time it counts at, Unix nanoseconds
	I uint64 `json:"i"`           // its entry index
	V string `json:"v,omitempty"` // the value it brings, for distinct counts
}

// window holds the latest events of one group within a sliding window of
// event time, oldest first, at most as many as the threshold that makes
// a finding: that is all a decision needs, so a group's memory is
// bounded whatever its traffic.
type window struct {
	Items   []item `json:"items"`
	Last    int64  `json:"last"`               // the newest time added
	Fired   bool   `json:"fired,omitempty"`    // a finding was raised and is not re-armed
	FiredAt int64  `json:"fired_at,omitempty"` // when it was raised
}

// add adds it to the window, which spans span nanoseconds back from its
// newest time and keeps at most limit items (distinct values of V if
// distinct is set: a value seen again moves to its new time). It reports
// whether the window had been quiet for span before it.
func (w *window) add(it item, span int64, limit int, distinct bool) (quiet bool) {
	quiet = len(w.Items) == 0 || w.Last < subSat(it.T, span)
	if distinct {
		if i := slices.IndexFunc(w.Items, func(x item) bool { return x.V == it.V }); i >= 0 {
			w.Items = slices.Delete(w.Items, i, i+1)
		}
	}
	i := len(w.Items)
	for i > 0 && w.Items[i-1].T > it.T {
		i--
	}
	w.Items = slices.Insert(w.Items, i, it)
	if len(w.Items) == 1 || it.T > w.Last {
		w.Last = it.T
	}
	from := subSat(w.Last, span)
	cut := 0
	for cut < len(w.Items) && w.Items[cut].T < from {
		cut++
	}
	cut = max(cut, len(w.Items)-limit)
	if cut > 0 {
		w.Items = slices.Delete(w.Items, 0, cut)
	}
	return quiet
}

// evidence returns the indexes of the window's entries in log order.
func (w *window) evidence() []uint64 {
	ev := make([]uint64, len(w.Items))
	for i, it := range w.Items {
		ev[i] = it.I
	}
	slices.Sort(ev)
	return ev
}

// distinctValues returns how many distinct V the window holds.
func (w *window) distinctValues() int {
	seen := make(map[string]bool, len(w.Items))
	for _, it := range w.Items {
		seen[it.V] = true
	}
	return len(seen)
}

// windows holds the windows of one detector's groups.
type windows map[string]*window

// get returns the window of group key, creating it.
func (ws windows) get(key string, maxGroups int) *window {
	w, ok := ws[key]
	if !ok {
		if len(ws) >= maxGroups {
			evictIdle(ws, maxGroups-1, func(w *window) int64 { return w.Last }, strings.Compare)
		}
		w = new(window)
		ws[key] = w
	}
	return w
}

// sweep drops the windows that hold nothing counted from before on: an
// event at or after before finds them quiet, as if they were absent.
func (ws windows) sweep(before, span int64) {
	for k, w := range ws {
		if w.Last < subSat(before, span) {
			delete(ws, k)
		}
	}
}

// evictIdle keeps at most max entries of m, dropping first those idle
// the longest (by last, then by key, so that the choice is the same on
// every run), a tenth more than needed so that it runs rarely.
func evictIdle[K comparable, V any](m map[K]V, max int, last func(V) int64, cmpKey func(a, b K) int) {
	if len(m) <= max {
		return
	}
	type idle struct {
		k K
		t int64
	}
	l := make([]idle, 0, len(m))
	for k, v := range m {
		l = append(l, idle{k, last(v)})
	}
	slices.SortFunc(l, func(a, b idle) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmpKey(a.k, b.k)
	})
	n := min(len(m)-max+max/10, len(l))
	for _, e := range l[:n] {
		delete(m, e.k)
	}
}

// burst is the failure_burst detector.
type burst struct {
	cfg       FailureBurstConfig
	maxGroups int
	st        burstState
}

type burstState struct {
	Actors windows `json:"actors"` // by actor.id
	IPs    windows `json:"ips"`    // by actor.ip; items carry the actor.id
}

func newBurst(c *Config) *burst {
	return &burst{cfg: c.FailureBurst, maxGroups: c.MaxGroups, st: burstState{Actors: windows{}, IPs: windows{}}}
}

func (b *burst) key() string { return FailureBurst }

func (b *burst) params() string {
	return fmt.Sprintf("window=%s", b.cfg.Window)
}

func (b *burst) observe(o *obs, out []Finding) []Finding {
	if !o.failure {
		return out
	}
	span := int64(b.cfg.Window)
	if id := o.en.Actor.ID; id != "" {
		w := b.st.Actors.get(id, b.maxGroups)
		if b.fires(w, item{T: o.eff, I: o.index}, span) {
			out = append(out, finding(FailureBurst, b.cfg.Severity, "actor:"+id, o.t, w.evidence(),
				"%d failures for actor %s within %s (the last: %s)", len(w.Items), id, formatDuration(b.cfg.Window), o.en.Type))
		}
	}
	if ip := o.en.Actor.IP; ip != "" {
		w := b.st.IPs.get(ip, b.maxGroups)
		if b.fires(w, item{T: o.eff, I: o.index, V: o.en.Actor.ID}, span) {
			out = append(out, finding(FailureBurst, b.cfg.Severity, "ip:"+ip, o.t, w.evidence(),
				"%d failures from IP address %s within %s, for %d actors (the last: %s)", len(w.Items), ip, formatDuration(b.cfg.Window), w.distinctValues(), o.en.Type))
		}
	}
	return out
}

// fires adds it to w and reports whether w raises now: it holds the
// threshold and has not raised since it was last quiet.
func (b *burst) fires(w *window, it item, span int64) bool {
	if w.add(it, span, b.cfg.Threshold, false) {
		w.Fired = false
	}
	if w.Fired || len(w.Items) < b.cfg.Threshold {
		return false
	}
	w.Fired, w.FiredAt = true, it.T
	return true
}

func (b *burst) sweep(before int64) {
	b.st.Actors.sweep(before, int64(b.cfg.Window))
	b.st.IPs.sweep(before, int64(b.cfg.Window))
}

func (b *burst) save() any { return &b.st }

func (b *burst) load(data []byte) error {
	st := burstState{Actors: windows{}, IPs: windows{}}
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	b.st = st
	return nil
}

// repeated is the repeated_errors detector.
type repeated struct {
	cfg       RepeatedErrorsConfig
	maxGroups int
	st        windows // by error signature; items carry the actor.id, distinct
}

func newRepeated(c *Config) *repeated {
	return &repeated{cfg: c.RepeatedErrors, maxGroups: c.MaxGroups, st: windows{}}
}

func (r *repeated) key() string { return RepeatedErrors }

func (r *repeated) params() string {
	return fmt.Sprintf("window=%s", r.cfg.Window)
}

func (r *repeated) observe(o *obs, out []Finding) []Finding {
	if !o.failure || o.en.Actor.ID == "" {
		return out
	}
	sig := errorSignature(o.en.Type, o.en.Message)
	w := r.st.get(sig, r.maxGroups)
	if w.add(item{T: o.eff, I: o.index, V: o.en.Actor.ID}, int64(r.cfg.Window), r.cfg.Actors, true) {
		w.Fired = false
	}
	if w.Fired || len(w.Items) < r.cfg.Actors {
		return out
	}
	w.Fired, w.FiredAt = true, o.eff
	msg := "without a message"
	if _, m, _ := strings.Cut(sig, " "); m != "" {
		msg = fmt.Sprintf("%q", m)
	}
	return append(out, finding(RepeatedErrors, r.cfg.Severity, "error:"+sig, o.t, w.evidence(),
		"%s failed %s for %d actors within %s", o.en.Type, msg, len(w.Items), formatDuration(r.cfg.Window)))
}

func (r *repeated) sweep(before int64) { r.st.sweep(before, int64(r.cfg.Window)) }

func (r *repeated) save() any { return r.st }

func (r *repeated) load(data []byte) error {
	st := windows{}
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	r.st = st
	return nil
}

// maxSignatureMessage bounds the message part of an error signature, in
// bytes.
const maxSignatureMessage = 200

// isID reports whether s is hexadecimal digits and dashes, with at least
// one decimal digit.
func isID(s string) bool {
	return strings.ContainsAny(s, "0123456789") && isHex(strings.ReplaceAll(s, "-", ""))
}

// isHex reports whether s is all hexadecimal digits.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// errorSignature returns the type and the message of a failure with every
// word holding a digit (a number, an id, an address), or a hexadecimal
// one of 8 characters or more, replaced by "#",
// lower-cased, its spaces collapsed: "timeout after 3000 ms on db-7"
// and "timeout after 5000 ms on db-2" are one error.
func errorSignature(typ, msg string) string {
	var b strings.Builder
	b.Grow(len(typ) + 1 + min(len(msg), maxSignatureMessage))
	b.WriteString(typ)
	b.WriteByte(' ')
	n := b.Len()
	space := false
	for word := range strings.FieldsFuncSeq(msg, unicode.IsSpace) {
		if b.Len()-n >= maxSignatureMessage {
			break
		}
		if space {
			b.WriteByte(' ')
		}
		space = true
		if core := strings.Trim(word, "()[]{}<>,;:.'\""); len(core) >= 8 && isID(core) {
			// A UUID or the like, even if a group of it has no digit.
			i := strings.Index(word, core)
			b.WriteString(word[:i])
			b.WriteByte('#')
			b.WriteString(word[i+len(core):])
			continue
		}
		writeWord(&b, word)
	}
	s := b.String()
	if len(s)-n > maxSignatureMessage {
		s = s[:n+maxSignatureMessage]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return strings.TrimRight(s, " ")
}

// writeWord writes a word of a message, each run of letters and digits
// that holds a digit replaced by "#", the rest lower-cased.
func writeWord(b *strings.Builder, w string) {
	start := -1
	flush := func(end int) {
		tok := w[start:end]
		if strings.ContainsAny(tok, "0123456789") || len(tok) >= 8 && isHex(tok) {
			b.WriteByte('#')
		} else {
			b.WriteString(strings.ToLower(tok))
		}
		start = -1
	}
	for i, r := range w {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		switch {
		case alnum && start < 0:
			start = i
		case !alnum:
			if start >= 0 {
				flush(i)
			}
			b.WriteRune(r)
		}
	}
	if start >= 0 {
		flush(len(w))
	}
}
