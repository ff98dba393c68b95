package analyze

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/a24ba333/indelible/event"
)

// SynthConfig describes the synthetic traffic of one tenant (see
// Synthesize). Zero fields take the documented defaults.
type SynthConfig struct {
	Seed      uint64
	Start     time.Time // midnight UTC of the first day; default 2026-03-02, a Monday
	Days      int       // default 14
	Users     int       // default 120
	Log       string    // default "acme"
	Incidents int       // incidents of each kind; default 4
	// NoIncidents generates normal traffic only.
	NoIncidents bool
}

// Labeled is a synthetic entry and, out of band, the incident it belongs
// to ("" for normal traffic).
type Labeled struct {
	Entry    *event.Entry
	Index    uint64
	Incident string // an Incident.ID
}

// Incident is one incident injected into synthetic traffic.
type Incident struct {
	ID         string // like "brute_force-2"
	Kind       string // one of the Incident* kinds
	Start, End time.Time
	Actor      string // the actor it is about, if any
	IP         string // the address it comes from, if it matters
	Source     string // the source it is about, if any
}

// Incident kinds, and the detector meant to find each (ExpectedDetectors).
const (
	IncidentBruteForce      = "brute_force"                // many failed logins for one account from one address: failure_burst
	IncidentExfiltration    = "exfiltration"               // one actor's data.export rate spikes: rate_anomaly
	IncidentNightEscalation = "night_privilege_escalation" // a role grant at 3 a.m. by someone who works days: off_hours
	IncidentNewRange        = "new_ip_range"               // an admin from a network (country) never seen: first_seen
	IncidentSourceSilence   = "source_silence"             // a regular source stops sending: silence
	IncidentErrorStorm      = "error_storm"                // one error for many users at once: repeated_errors
)

// IncidentKinds lists the incident kinds in report order.
func IncidentKinds() []string {
	return []string{IncidentBruteForce, IncidentExfiltration, IncidentNightEscalation, IncidentNewRange, IncidentSourceSilence, IncidentErrorStorm}
}

// ExpectedDetectors returns the detectors meant to find an incident of a
// kind: an incident counts as detected when one of them raises a finding
// about it.
func ExpectedDetectors(kind string) []string {
	switch kind {
	case IncidentBruteForce:
		return []string{FailureBurst}
	case IncidentExfiltration:
		return []string{RateAnomaly}
	case IncidentNightEscalation:
		return []string{OffHours}
	case IncidentNewRange:
		return []string{FirstSeen}
	case IncidentSourceSilence:
		return []string{Silence}
	case IncidentErrorStorm:
		return []string{RepeatedErrors}
	}
	return nil
}

// synthLearnDays is the number of days of normal traffic before the first
// incident: incidents come after the detectors' default learning periods
// (7 days), since nothing can be told unusual before the usual is known.
const synthLearnDays = 8

// Synthesize generates the traffic of one tenant over cfg.Days days, in
// log order, with labelled incidents after the first synthLearnDays days.
// It is deterministic: one configuration gives the same entries.
//
// The tenant has cfg.Users people and a dozen services. People are
// engineers, analysts, support agents (a third of them on night shifts),
// salespeople and a few admins; each has its own working hours, which
// drift from day to day, with late evenings, early mornings, some
// Saturdays and days off; works from one of three offices or from home,
// sometimes from a phone or, rarely, a hotel; mistypes passwords; is
// refused access now and then; and uses a few rare actions. Admins grant
// roles and change policies a few times a fortnight. A few people join
// during the period. Services run on schedules (every minute to every
// hour), as steady streams, as a day-driven gateway, or as a nightly
// batch, each from its own source, with occasional failures. Event times
// jitter and entries arrive out of order, a few well beyond the default
// lateness.
func Synthesize(cfg SynthConfig) ([]Labeled, []Incident) {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Days <= 0 {
		cfg.Days = 14
	}
	if cfg.Users <= 0 {
		cfg.Users = 120
	}
	if cfg.Log == "" {
		cfg.Log = "acme"
	}
	if cfg.Incidents <= 0 {
		cfg.Incidents = 4
	}
	g := &synth{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x1de11b1e))}
	g.people()
	for day := range cfg.Days {
		for _, u := range g.users {
			g.workday(u, day)
		}
		g.adminChanges(day)
	}
	g.services()
	if !cfg.NoIncidents && cfg.Days > synthLearnDays {
		g.incidents()
	}
	return g.entries(), g.incs
}

// synth generates traffic.
type synth struct {
	cfg   SynthConfig
	rng   *rand.Rand
	users []*person
	raw   []*rawEvent
	incs  []Incident
	nets  map[string]bool // the /24 networks handed out, so that each is new
	local map[string]bool // the /16 blocks of the offices and local providers
}

// rawEvent is an entry before it is sequenced.
type rawEvent struct {
	en    event.Entry
	label string
}

// person is one synthetic user.
type person struct {
	id       string
	role     string
	start    float64 // hour of the day work usually starts
	length   float64 // hours
	saturday bool
	rate     float64 // events per working hour
	office   int
	remote   float64 // share of days at home
	home     string  // home address
	mobile   []string
	joinDay  int
	rare     []action
}

// action is a kind of event a person does, with its weight.
type action struct {
	typ, resource, source string
	weight                float64
	fail                  float64 // share of failures
	failMsg               string
}

// roleActions returns the actions of a role.
func roleActions(role string) []action {
	return map[string][]action{
		"engineer": {
			{"data.read", "document", "web-app", 30, 0.005, "permission denied for document %d"},
			{"data.search", "index", "web-app", 10, 0, ""},
			{"data.write", "document", "web-app", 8, 0.003, "conflict: document %d was modified"},
			{"repo.push", "repository", "git-server", 10, 0.01, "rejected: branch protection on repo %d"},
			{"deploy.create", "service", "deployer", 2, 0.02, "rollout of release %d failed"},
		},
		"analyst": {
			{"data.read", "document", "web-app", 20, 0.005, "permission denied for document %d"},
			{"data.query", "dataset", "warehouse", 25, 0.01, "query %d exceeded its time limit"},
			{"report.run", "report", "warehouse", 5, 0, ""},
			{"data.export", "dataset", "web-app", 3, 0.002, "export %d too large"},
		},
		"support": {
			{"ticket.update", "ticket", "helpdesk", 25, 0, ""},
			{"account.read", "account", "helpdesk", 20, 0.003, "account %d not found"},
			{"account.update", "account", "helpdesk", 5, 0.005, "validation failed for account %d"},
			{"data.read", "document", "web-app", 10, 0.005, "permission denied for document %d"},
		},
		"sales": {
			{"crm.contact.read", "contact", "crm", 30, 0, ""},
			{"crm.deal.update", "deal", "crm", 10, 0.005, "deal %d is locked"},
			{"data.read", "document", "web-app", 10, 0.005, "permission denied for document %d"},
		},
		"admin": {
			{"iam.user.update", "user", "admin-console", 6, 0.01, "user %d does not exist"},
			{"iam.group.update", "group", "admin-console", 4, 0, ""},
			{"config.settings.update", "setting", "admin-console", 1, 0, ""},
			{"data.read", "document", "web-app", 20, 0.005, "permission denied for document %d"},
			{"iam.user.read", "user", "admin-console", 15, 0, ""},
		},
	}[role]
}

// rareActions returns the actions a few people do, rarely.
func rareActions() []action {
	return []action{
		{"data.delete", "document", "web-app", 0.3, 0, ""},
		{"share.link.create", "document", "web-app", 0.3, 0, ""},
		{"data.export", "dataset", "web-app", 0.2, 0, ""},
		{"api.token.create", "token", "web-app", 0.1, 0, ""},
	}
}

// officeNet returns the NAT network of an office.
func officeNet(office int) string {
	return [...]string{"198.51.100", "203.0.113", "192.0.2"}[office]
}

// offices is the number of offices.
const offices = 3

func (g *synth) people() {
	g.nets = map[string]bool{"198.51.100": true, "203.0.113": true, "192.0.2": true}
	g.local = map[string]bool{"198.51": true, "203.0": true, "192.0": true}
	// People live around their offices: their homes are on the networks
	// of three local providers (six /16 blocks each), but for a tenth on
	// small providers anywhere; phones are on two local carriers.
	var providers []string
	for range 18 {
		providers = append(providers, g.newBlock())
	}
	carriers := [2][2]string{}
	for i := range carriers {
		b := g.newBlock()
		carriers[i] = [2]string{g.netIn(b), g.netIn(b)}
	}
	for i := range g.cfg.Users {
		u := &person{id: fmt.Sprintf("user%03d@acme.example", i)}
		switch r := g.rng.Float64(); {
		case r < 0.05:
			u.role = "admin"
		case r < 0.40:
			u.role = "engineer"
		case r < 0.65:
			u.role = "analyst"
		case r < 0.85:
			u.role = "support"
		default:
			u.role = "sales"
		}
		u.start = 7 + 3*g.rng.Float64()
		u.length = 7.5 + 2*g.rng.Float64()
		if u.role == "support" && g.rng.Float64() < 0.33 {
			u.start = 21 + 2*g.rng.Float64() // night shift
		}
		u.saturday = g.rng.Float64() < 0.1
		u.rate = 6 + 14*g.rng.Float64()
		u.office = g.rng.IntN(offices)
		u.remote = []float64{0, 0.2, 0.4, 1}[g.rng.IntN(4)]
		u.home = g.addr(g.netIn(providers[g.rng.IntN(len(providers))]))
		if g.rng.Float64() < 0.1 {
			u.home = g.addr(g.newNet())
		}
		if g.rng.Float64() < 0.2 {
			c := carriers[g.rng.IntN(len(carriers))]
			u.mobile = c[:]
		}
		for _, a := range rareActions() {
			if g.rng.Float64() < 0.15 {
				u.rare = append(u.rare, a)
			}
		}
		if i%50 == 49 {
			u.joinDay = 3 + g.rng.IntN(max(1, g.cfg.Days-3))
		}
		g.users = append(g.users, u)
	}
	// At least two admins and two analysts, for the incidents.
	if len(g.users) >= 4 && len(g.byRole("admin")) < 2 {
		g.users[0].role, g.users[1].role = "admin", "admin"
	}
	if len(g.users) >= 4 && len(g.byRole("analyst")) < 2 {
		g.users[2].role, g.users[3].role = "analyst", "analyst"
	}
}

func (g *synth) byRole(role string) []*person {
	var l []*person
	for _, u := range g.users {
		if u.role == role && u.joinDay == 0 {
			l = append(l, u)
		}
	}
	return l
}

// newNet returns a /24 network never handed out before, as "a.b.c",
// away from the local providers: a hotel's, an attacker's, a small
// provider's.
func (g *synth) newNet() string {
	for {
		b := g.randomBlock()
		if !g.local[b] {
			if n := b + "." + strconv.Itoa(g.rng.IntN(256)); !g.nets[n] {
				g.nets[n] = true
				return n
			}
		}
	}
}

// newBlock returns a /16 block for a local provider, as "a.b".
func (g *synth) newBlock() string {
	for {
		if b := g.randomBlock(); !g.local[b] {
			g.local[b] = true
			return b
		}
	}
}

// netIn returns a /24 network of block never handed out before.
func (g *synth) netIn(block string) string {
	for {
		if n := block + "." + strconv.Itoa(g.rng.IntN(256)); !g.nets[n] {
			g.nets[n] = true
			return n
		}
	}
}

func (g *synth) randomBlock() string {
	first := [...]int{24, 31, 46, 62, 71, 77, 81, 86, 88, 90, 94, 109, 176, 185, 212}
	return strconv.Itoa(first[g.rng.IntN(len(first))]) + "." + strconv.Itoa(g.rng.IntN(256))
}

func (g *synth) addr(net string) string { return net + "." + strconv.Itoa(2+g.rng.IntN(250)) }

func (g *synth) day(d int) time.Time { return g.cfg.Start.AddDate(0, 0, d) }

func (g *synth) at(d int, hour float64) time.Time {
	return g.day(d).Add(time.Duration(hour * float64(time.Hour)))
}

// workday generates one person's day.
func (g *synth) workday(u *person, d int) {
	wd := g.day(d).Weekday()
	if d < u.joinDay || g.rng.Float64() < 0.04 {
		return
	}
	start, length := u.start+g.rng.NormFloat64()*0.4, u.length+g.rng.NormFloat64()*0.5
	switch {
	case wd == time.Sunday, wd == time.Saturday && !u.saturday:
		return
	case wd == time.Saturday:
		start, length = 9.5+g.rng.Float64(), 3+g.rng.Float64()
	}
	if g.rng.Float64() < 0.05 {
		length += 0.5 + 1.5*g.rng.Float64() // a late evening
	}
	if g.rng.Float64() < 0.03 {
		e := 0.5 + g.rng.Float64()
		start, length = start-e, length+e // an early start
	}
	var ip string
	switch r := g.rng.Float64(); {
	case r < 0.003:
		ip = g.addr(g.newNet()) // a hotel
	case len(u.mobile) > 0 && r < 0.1:
		ip = g.addr(u.mobile[g.rng.IntN(len(u.mobile))])
	case r < u.remote:
		ip = u.home
	default:
		ip = officeNet(u.office) + "." + strconv.Itoa(10+g.rng.IntN(4))
	}
	factor := math.Exp(g.rng.NormFloat64() * 0.3)
	t := g.at(d, start)
	end := g.at(d, start+length)
	g.login(u, t, ip)
	relogin := g.at(d, start+length/2)
	acts := slices.Concat(roleActions(u.role), u.rare)
	total := 0.0
	for _, a := range acts {
		total += a.weight
	}
	for {
		t = t.Add(time.Duration(g.rng.ExpFloat64() / (u.rate * factor) * float64(time.Hour)))
		if t.After(end) {
			break
		}
		if !relogin.IsZero() && t.After(relogin) {
			if g.rng.Float64() < 0.5 {
				g.login(u, t, ip)
			}
			relogin = time.Time{}
		}
		r := g.rng.Float64() * total
		a := acts[len(acts)-1]
		for _, x := range acts {
			if r -= x.weight; r < 0 {
				a = x
				break
			}
		}
		g.userEvent(u, t, ip, a, "")
	}
}

// login generates a login, after a few mistyped passwords now and then.
func (g *synth) login(u *person, t time.Time, ip string) {
	if g.rng.Float64() < 0.05 {
		for range 1 + g.rng.IntN(3) {
			g.emit(g.userEv(u, t, ip, "auth.login", "session", "sso", event.OutcomeFailure, "invalid password"), "")
			t = t.Add(time.Duration(5+g.rng.IntN(20)) * time.Second)
		}
	}
	g.emit(g.userEv(u, t, ip, "auth.login", "session", "sso", event.OutcomeSuccess, ""), "")
}

// userEvent generates one action of a person.
func (g *synth) userEvent(u *person, t time.Time, ip string, a action, label string) {
	outcome, msg := event.OutcomeSuccess, ""
	if g.rng.Float64() < a.fail {
		outcome, msg = event.OutcomeFailure, fmt.Sprintf(a.failMsg, 1000+g.rng.IntN(9000))
	}
	ev := g.userEv(u, t, ip, a.typ, a.resource, a.source, outcome, msg)
	g.emit(ev, label)
}

func (g *synth) userEv(u *person, t time.Time, ip, typ, resource, source, outcome, msg string) event.Event {
	return event.Event{
		Time:    t,
		Type:    typ,
		Outcome: outcome,
		Actor:   event.Actor{ID: u.id, Type: "user", IP: ip, UserAgent: "Mozilla/5.0"},
		Resource: &event.Resource{
			Type: resource, ID: resource + "-" + strconv.Itoa(g.rng.IntN(5000)),
		},
		Project:     "core",
		Environment: "production",
		Source:      source,
		Message:     msg,
	}
}

// adminChanges generates the sensitive changes admins make on a day: a
// role granted or a policy changed a few times a fortnight.
func (g *synth) adminChanges(d int) {
	if wd := g.day(d).Weekday(); wd == time.Saturday || wd == time.Sunday {
		return
	}
	for _, u := range g.byRole("admin") {
		if g.rng.Float64() < 0.03 {
			t := g.at(d, u.start+1+g.rng.Float64()*(u.length-2))
			ev := g.userEv(u, t, officeNet(u.office)+".10", "iam.role.grant", "role", "admin-console", event.OutcomeSuccess, "")
			ev.Data = map[string]any{"role": "editor", "grantee": g.users[g.rng.IntN(len(g.users))].id}
			g.emit(ev, "")
		}
		if g.rng.Float64() < 0.01 {
			t := g.at(d, u.start+1+g.rng.Float64()*(u.length-2))
			g.emit(g.userEv(u, t, officeNet(u.office)+".10", "config.policy.update", "policy", "admin-console", event.OutcomeSuccess, ""), "")
		}
	}
}

// service is one synthetic service account.
type service struct {
	actor, source, typ, resource string
	ip                           string
	period, jitter               time.Duration // a scheduled service
	perHour                      [2]float64    // a stream: events per hour at night and by day (weekdays)
	failMsg                      string
}

func (g *synth) serviceList() []service {
	return []service{
		{actor: "svc-cron", source: "cron-scheduler", typ: "job.run", resource: "job", ip: "10.20.0.5", period: time.Minute, jitter: 2 * time.Second, failMsg: "job %d exited with status 1"},
		{actor: "svc-prober", source: "health-prober", typ: "system.health.check", resource: "endpoint", ip: "10.20.0.6", period: 2 * time.Minute, jitter: time.Second, failMsg: "endpoint %d unhealthy"},
		{actor: "svc-billing", source: "billing-worker", typ: "billing.invoice.process", resource: "invoice", ip: "10.20.1.7", period: 5 * time.Minute, jitter: 20 * time.Second, failMsg: "timeout connecting to db-%d after 5000 ms"},
		{actor: "svc-backup", source: "backup-agent", typ: "backup.snapshot.create", resource: "volume", ip: "10.20.2.8", period: 15 * time.Minute, jitter: 30 * time.Second, failMsg: "snapshot %d failed: disk busy"},
		{actor: "svc-certs", source: "cert-manager", typ: "cert.renewal.check", resource: "certificate", ip: "10.20.2.9", period: time.Hour, jitter: time.Minute, failMsg: "acme order %d failed"},
		{actor: "system:serviceaccount:kube-system:lease-controller", source: "k8s-audit", typ: "k8s.leases.update", resource: "lease", ip: "10.30.0.2", perHour: [2]float64{60, 60}, failMsg: "conflict on lease %d"},
		{actor: "system:serviceaccount:kube-system:replicaset-controller", source: "k8s-audit", typ: "k8s.pods.list", resource: "pod", ip: "10.30.0.3", perHour: [2]float64{20, 40}, failMsg: "etcd request %d timed out"},
		{actor: "svc-gateway", source: "api-gateway", typ: "api.request", resource: "endpoint", ip: "10.20.3.2", perHour: [2]float64{15, 120}, failMsg: "upstream %d returned 502"},
		{actor: "svc-search", source: "search-indexer", typ: "index.document.update", resource: "document", ip: "10.20.3.3", perHour: [2]float64{30, 90}, failMsg: "document %d rejected by the mapping"},
	}
}

// services generates the services' traffic, and a nightly batch.
func (g *synth) services() {
	end := g.day(g.cfg.Days)
	for _, s := range g.serviceList() {
		if s.period > 0 {
			for t := g.cfg.Start.Add(time.Duration(g.rng.Int64N(int64(s.period)))); t.Before(end); t = t.Add(s.period) {
				g.serviceEvent(s, t.Add(time.Duration(g.rng.NormFloat64()*float64(s.jitter))))
			}
			continue
		}
		for t := g.cfg.Start; ; {
			h := t.Hour()
			r := s.perHour[0]
			if wd := t.Weekday(); h >= 8 && h < 19 && wd != time.Saturday && wd != time.Sunday {
				r = s.perHour[1]
			}
			t = t.Add(time.Duration(g.rng.ExpFloat64() / r * float64(time.Hour)))
			if !t.Before(end) {
				break
			}
			g.serviceEvent(s, t)
		}
	}
	etl := service{actor: "svc-etl", source: "etl-pipeline", typ: "data.transform.run", resource: "table", ip: "10.20.4.2", failMsg: "table %d locked"}
	for d := range g.cfg.Days {
		t := g.at(d, 2+g.rng.Float64()*0.2)
		for range 400 + g.rng.IntN(200) {
			t = t.Add(time.Duration(1+g.rng.IntN(6)) * time.Second)
			g.serviceEvent(etl, t)
		}
	}
}

func (g *synth) serviceEvent(s service, t time.Time) {
	outcome, msg := event.OutcomeSuccess, ""
	if g.rng.Float64() < 0.003 {
		outcome, msg = event.OutcomeFailure, fmt.Sprintf(s.failMsg, 1+g.rng.IntN(9))
	}
	g.emit(event.Event{
		Time:        t,
		Type:        s.typ,
		Outcome:     outcome,
		Actor:       event.Actor{ID: s.actor, Type: "service", IP: s.ip},
		Resource:    &event.Resource{Type: s.resource, ID: s.resource + "-" + strconv.Itoa(g.rng.IntN(200))},
		Project:     "core",
		Environment: "production",
		Source:      s.source,
		Message:     msg,
	}, "")
}

// emit records an event with the delay before the server receives it:
// usually under two seconds, up to a minute for some, and, rarely, many
// minutes (a device that was offline).
func (g *synth) emit(ev event.Event, label string) {
	delay := time.Duration(50+g.rng.IntN(2000)) * time.Millisecond
	switch r := g.rng.Float64(); {
	case r < 0.001:
		delay += time.Duration(5+g.rng.IntN(20)) * time.Minute
	case r < 0.02:
		delay += time.Duration(g.rng.IntN(60)) * time.Second
	}
	g.raw = append(g.raw, &rawEvent{en: event.Entry{Event: ev, ReceivedAt: ev.Time.Add(delay)}, label: label})
}

// entries sequences the events in the order the server receives them.
func (g *synth) entries() []Labeled {
	slices.SortStableFunc(g.raw, func(a, b *rawEvent) int { return a.en.ReceivedAt.Compare(b.en.ReceivedAt) })
	digest := make([]byte, 32) // a stand-in: analysis does not read it
	out := make([]Labeled, len(g.raw))
	for i, r := range g.raw {
		en := &r.en
		en.Time, en.ReceivedAt = en.Time.UTC().Truncate(time.Millisecond), en.ReceivedAt.UTC().Truncate(time.Millisecond)
		en.Version, en.Log, en.Digest, en.Capture = event.EntryVersion, g.cfg.Log, digest, event.Capture{Level: event.CaptureFull}
		out[i] = Labeled{Entry: en, Index: uint64(i), Incident: r.label}
	}
	g.raw = nil
	return out
}
