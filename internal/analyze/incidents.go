package analyze

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/a24ba333/indelible/event"
)

// incidents injects cfg.Incidents incidents of each kind, each on a day
// after the first synthLearnDays.
func (g *synth) incidents() {
	n := g.cfg.Incidents
	// days returns the days of n incidents of a kind: the eligible days
	// after the learning days, shuffled, so that incidents of one kind
	// fall on different days while there are enough.
	days := func(weekdays bool) []int {
		var l []int
		for d := synthLearnDays; d < g.cfg.Days; d++ {
			if wd := g.day(d).Weekday(); !weekdays || wd != time.Saturday && wd != time.Sunday {
				l = append(l, d)
			}
		}
		if len(l) == 0 {
			l = []int{g.cfg.Days - 1}
		}
		g.rng.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
		out := make([]int, n)
		for i := range out {
			out[i] = l[i%len(l)]
		}
		return out
	}
	// pick returns n people of l, different ones while there are enough.
	pick := func(l []*person) []*person {
		if len(l) == 0 {
			return nil // no one to pick: no incident of that kind
		}
		perm := g.rng.Perm(len(l))
		out := make([]*person, n)
		for i := range out {
			out[i] = l[perm[i%len(l)]]
		}
		return out
	}
	add := func(kind string, i int, start, end time.Time, actor, ip, source string) string {
		id := fmt.Sprintf("%s-%d", kind, i+1)
		g.incs = append(g.incs, Incident{ID: id, Kind: kind, Start: start, End: end, Actor: actor, IP: ip, Source: source})
		return id
	}
	// Brute force: 50 to 300 failed logins, a tool trying a password
	// every 1 to 5 seconds from a new network, at any hour; a fifth of
	// them finally get in.
	victims, ds := pick(g.users), days(false)
	for i := range victims {
		u := victims[i]
		t := g.at(ds[i], 24*g.rng.Float64())
		ip := g.addr(g.newNet())
		tries := 50 + g.rng.IntN(251)
		step := time.Duration(1+g.rng.IntN(5)) * time.Second
		id := add(IncidentBruteForce, i, t, t.Add(step*time.Duration(tries+1)), u.id, ip, "sso")
		for range tries {
			ev := g.userEv(u, t, ip, "auth.login", "session", "sso", event.OutcomeFailure, "invalid password")
			ev.Actor.UserAgent = "python-requests/2.31"
			g.emit(ev, id)
			t = t.Add(step/2 + time.Duration(g.rng.Int64N(int64(step))))
		}
		if g.rng.Float64() < 0.2 {
			ev := g.userEv(u, t, ip, "auth.login", "session", "sso", event.OutcomeSuccess, "")
			ev.Actor.UserAgent = "python-requests/2.31"
			g.emit(ev, id)
		}
	}
	// Exfiltration: an analyst exports 100 to 400 datasets within 10 to
	// 30 minutes, in working hours, from home.
	analysts, ds := pick(g.byRole("analyst")), days(true)
	for i := range analysts {
		u := analysts[i]
		t := g.at(ds[i], u.start+1+g.rng.Float64()*max(0.5, u.length-2))
		count := 100 + g.rng.IntN(301)
		dur := time.Duration(10+g.rng.IntN(21)) * time.Minute
		id := add(IncidentExfiltration, i, t, t.Add(dur), u.id, u.home, "web-app")
		for k := range count {
			at := t.Add(dur * time.Duration(k) / time.Duration(count))
			g.userEvent(u, at, u.home, action{typ: "data.export", resource: "dataset", source: "web-app"}, id)
		}
	}
	// Privilege escalation at night: someone who works days logs in
	// around 3 a.m. from home and grants a role.
	var dayWorkers []*person
	for _, u := range g.users {
		if u.joinDay == 0 && u.start < 12 && u.role != "admin" {
			dayWorkers = append(dayWorkers, u)
		}
	}
	dayWorkers, ds = pick(dayWorkers), days(false)
	for i := range dayWorkers {
		u := dayWorkers[i]
		t := g.at(ds[i], 2.5+g.rng.Float64())
		id := add(IncidentNightEscalation, i, t, t.Add(20*time.Minute), u.id, u.home, "")
		g.emit(g.userEv(u, t, u.home, "auth.login", "session", "sso", event.OutcomeSuccess, ""), id)
		for range 1 + g.rng.IntN(3) {
			t = t.Add(time.Duration(20+g.rng.IntN(120)) * time.Second)
			g.userEvent(u, t, u.home, action{typ: "data.read", resource: "document", source: "web-app"}, id)
		}
		t = t.Add(time.Duration(30+g.rng.IntN(300)) * time.Second)
		ev := g.userEv(u, t, u.home, "iam.role.grant", "role", "admin-console", event.OutcomeSuccess, "")
		ev.Data = map[string]any{"role": "admin", "grantee": u.id, "ttl": json.Number("0")}
		g.emit(ev, id)
	}
	// A new country for an admin: a login and a few normal admin actions
	// from a network never seen, in working hours.
	admins, ds := pick(g.byRole("admin")), days(true)
	for i := range admins {
		u := admins[i]
		t := g.at(ds[i], u.start+1+g.rng.Float64()*max(0.5, u.length-3))
		ip := g.addr(g.newNet())
		dur := time.Duration(30+g.rng.IntN(30)) * time.Minute
		id := add(IncidentNewRange, i, t, t.Add(dur), u.id, ip, "")
		g.emit(g.userEv(u, t, ip, "auth.login", "session", "sso", event.OutcomeSuccess, ""), id)
		acts := roleActions("admin")
		for k := range 5 + g.rng.IntN(16) {
			at := t.Add(dur * time.Duration(k+1) / 21)
			g.userEvent(u, at, ip, acts[g.rng.IntN(len(acts))], id)
		}
	}
	// A source going silent for 3 to 8 hours.
	var sources []string
	for _, s := range g.serviceList() {
		if !slices.Contains(sources, s.source) && s.source != "api-gateway" && s.source != "search-indexer" {
			sources = append(sources, s.source)
		}
	}
	ds = days(false)
	for i := range n {
		src := sources[(i*5+1)%len(sources)]
		dur := time.Duration(3*60+g.rng.IntN(5*60)) * time.Minute
		// It ends an hour before the traffic does, so that it can be told.
		start := g.at(ds[i], 24*g.rng.Float64())
		if last := g.day(g.cfg.Days).Add(-time.Hour - dur); start.After(last) {
			start = last
		}
		end := start.Add(dur)
		add(IncidentSourceSilence, i, start, end, "", "", src)
		g.raw = slices.DeleteFunc(g.raw, func(r *rawEvent) bool {
			return r.en.Source == src && !r.en.Time.Before(start) && r.en.Time.Before(end)
		})
	}
	// An error storm: an upstream timeout for 15 to 40 people within 2
	// to 6 minutes, in working hours.
	ds = days(true)
	for i := range n {
		t := g.at(ds[i], 10+6*g.rng.Float64())
		dur := time.Duration(2+g.rng.IntN(5)) * time.Minute
		id := add(IncidentErrorStorm, i, t, t.Add(dur), "", "", "web-app")
		perm := g.rng.Perm(len(g.users))
		for _, k := range perm[:min(len(perm), 15+g.rng.IntN(26))] {
			u := g.users[k]
			for range 1 + g.rng.IntN(2) {
				at := t.Add(time.Duration(g.rng.Int64N(int64(dur))))
				ev := g.userEv(u, at, officeNet(u.office)+".11", "data.read", "document", "web-app", event.OutcomeFailure,
					fmt.Sprintf("upstream timeout after 30000 ms (request %08x)", g.rng.Uint32()))
				g.emit(ev, id)
			}
		}
	}
	slices.SortStableFunc(g.incs, func(a, b Incident) int { return cmp.Compare(a.ID, b.ID) })
}
