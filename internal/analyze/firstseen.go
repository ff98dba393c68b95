package analyze

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// firstSeen is the first_seen detector.
type firstSeen struct {
	cfg       FirstSeenConfig
	maxGroups int
	st        firstSeenState
	buf, wide []byte // the value under test and its wider network, reused
}

type firstSeenState struct {
	Actors map[string]*seenActor `json:"actors"`
	// Tenant holds, per dimension, the values of every actor: how many
	// actors used each (counted when each first used it, never
	// discounted; for IP networks, when each first used a network within
	// the wider one) and when one last did, at most MaxGroups values.
	Tenant []map[string]*prevalence `json:"tenant"`
}

// prevalence is how common a value is in the log.
type prevalence struct {
	Actors int   `json:"actors"`
	Last   int64 `json:"last"`
}

// seenActor is what first_seen knows of one actor.
type seenActor struct {
	First int64 `json:"first"` // its first event
	Last  int64 `json:"last"`  // its latest event
	// Values holds, per dimension in the configuration's order, the values
	// it used and when it last used each, at most MaxValues of them.
	Values []map[string]int64 `json:"values"`
}

func newFirstSeen(c *Config) *firstSeen {
	f := &firstSeen{cfg: c.FirstSeen, maxGroups: c.MaxGroups}
	f.st = f.empty()
	return f
}

func (f *firstSeen) empty() firstSeenState {
	st := firstSeenState{Actors: map[string]*seenActor{}, Tenant: make([]map[string]*prevalence, len(f.cfg.Dimensions))}
	for i := range st.Tenant {
		st.Tenant[i] = map[string]*prevalence{}
	}
	return st
}

func (f *firstSeen) key() string { return FirstSeen }

func (f *firstSeen) params() string {
	return fmt.Sprintf("dimensions=%s ipv4=%d/%d ipv6=%d/%d", strings.Join(f.cfg.Dimensions, ","),
		f.cfg.IPv4Prefix, f.cfg.CommonIPv4Prefix, f.cfg.IPv6Prefix, f.cfg.CommonIPv6Prefix)
}

func (f *firstSeen) observe(o *obs, out []Finding) []Finding {
	if o.failure {
		return out
	}
	id := o.en.Actor.ID
	a := f.st.Actors[id]
	if a == nil {
		if len(f.st.Actors) >= f.maxGroups {
			evictIdle(f.st.Actors, f.maxGroups-1, func(a *seenActor) int64 { return a.Last }, strings.Compare)
		}
		a = &seenActor{First: o.t, Last: o.t, Values: make([]map[string]int64, len(f.cfg.Dimensions))}
		for i := range a.Values {
			a.Values[i] = map[string]int64{}
		}
		f.st.Actors[id] = a
	}
	a.Last = max(a.Last, o.t)
	learned := o.t-a.First >= int64(f.cfg.Learning)
	var news []string // what is new, described
	for d, dim := range f.cfg.Dimensions {
		v := f.value(dim, o)
		if len(v) == 0 {
			continue
		}
		m := a.Values[d]
		if last, ok := m[string(v)]; ok {
			// Its last use is kept to the hour, which is enough to
			// tell the least recently used and spares a new key
			// string at every event.
			if o.t-last >= int64(time.Hour) {
				m[string(v)] = o.t
			}
			continue
		}
		s := string(v)
		m[s] = o.t
		// Past the bound, the least recently used tenth goes at once,
		// as in every detector's bounded state: dropping one value at
		// a time meant a scan of all of them at each new value, and an
		// actor who keeps reaching new resources brings one with
		// almost every event.
		evictIdle(m, f.cfg.MaxValues, func(t int64) int64 { return t }, strings.Compare)
		key := s
		if dim == dimIP {
			// How common a network is is judged on its provider's or
			// region's block, which a /24 of a home shares with the
			// homes of colleagues living around.
			f.wide = appendNetwork(f.wide[:0], o.en.Actor.IP, f.cfg.CommonIPv4Prefix, f.cfg.CommonIPv6Prefix)
			key = string(f.wide)
		}
		common := f.used(d, key, o.t) >= f.cfg.Common && f.cfg.Common > 0
		if learned && !common {
			news = append(news, describeValue(dim, s))
		}
	}
	if len(news) == 0 {
		return out
	}
	// One finding per event, however many of its values are new.
	return append(out, finding(FirstSeen, f.cfg.Severity, "actor:"+id, o.t, []uint64{o.index},
		"%s used %s for the first time (known for %s)", id, strings.Join(news, " and "), roundDays(o.t-a.First)))
}

// used counts one more actor using value v of dimension d and returns
// how many used it before.
func (f *firstSeen) used(d int, v string, t int64) int {
	m := f.st.Tenant[d]
	p := m[v]
	if p == nil {
		if len(m) >= f.maxGroups {
			evictIdle(m, f.maxGroups-1, func(p *prevalence) int64 { return p.Last }, strings.Compare)
		}
		p = &prevalence{}
		m[v] = p
	}
	n := p.Actors
	if p.Actors < math.MaxInt32 {
		p.Actors++
	}
	p.Last = max(p.Last, t)
	return n
}

// value returns the value of dimension dim of the event, or nothing. It
// is valid until the next call.
func (f *firstSeen) value(dim string, o *obs) []byte {
	e := o.en
	b := f.buf[:0]
	switch dim {
	case dimIP:
		b = appendNetwork(b, e.Actor.IP, f.cfg.IPv4Prefix, f.cfg.IPv6Prefix)
	case dimType:
		b = append(b, e.Type...)
	case dimResourceType:
		if e.Resource != nil {
			b = append(b, e.Resource.Type...)
		}
	case dimResource:
		if e.Resource != nil && (e.Resource.Type != "" || e.Resource.ID != "") {
			b = append(append(append(b, e.Resource.Type...), '/'), e.Resource.ID...)
		}
	case dimSource:
		b = append(b, e.Source...)
	case dimUserAgent:
		b = append(b, e.Actor.UserAgent...)
	}
	f.buf = b
	return b
}

// appendNetwork appends the network of length v4 or v6 (by the address's
// family) that holds the address ip, or ip itself if it is not an IP
// address.
func appendNetwork(b []byte, ip string, v4, v6 int) []byte {
	if ip == "" {
		return b
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return append(b, ip...)
	}
	addr = addr.Unmap().WithZone("")
	bits := v6
	if addr.Is4() {
		bits = v4
	}
	p, _ := addr.Prefix(bits)
	return p.AppendTo(b)
}

// describeValue names a value of a dimension in a summary.
func describeValue(dim, v string) string {
	switch dim {
	case dimIP:
		return "the IP network " + v
	case dimType:
		return "the event type " + v
	case dimResourceType:
		return "the resource type " + v
	case dimResource:
		return "the resource " + v
	case dimSource:
		return "the source " + v
	}
	return fmt.Sprintf("the user agent %q", v)
}

// roundDays writes a duration in whole days, or hours below a day.
func roundDays(ns int64) string {
	d := time.Duration(ns)
	if d >= 24*time.Hour {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.Round(time.Hour).String()
}

// sweep keeps everything: the sets are what the detector learned.
func (f *firstSeen) sweep(int64) {}

func (f *firstSeen) save() any { return &f.st }

func (f *firstSeen) load(data []byte) error {
	st := f.empty()
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	n := len(f.cfg.Dimensions)
	if len(st.Tenant) != n {
		return fmt.Errorf("tenant state for %d dimensions, want %d", len(st.Tenant), n)
	}
	for i, m := range st.Tenant {
		if m == nil {
			st.Tenant[i] = map[string]*prevalence{}
		}
		for v, p := range m {
			if p == nil {
				return fmt.Errorf("value %q without state", v)
			}
		}
	}
	for id, a := range st.Actors {
		if a == nil {
			return fmt.Errorf("actor %q without state", id)
		}
		if len(a.Values) != n {
			return fmt.Errorf("actor %q: state for %d dimensions, want %d", id, len(a.Values), n)
		}
		for i, m := range a.Values {
			if m == nil {
				a.Values[i] = map[string]int64{}
			}
		}
	}
	f.st = st
	return nil
}
