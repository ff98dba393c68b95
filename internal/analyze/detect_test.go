package analyze

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
)

// t0 is a Monday, 00:00 UTC.
var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// mk returns an entry of a successful event at t0+at.
func mk(at time.Duration, typ, actor string, mods ...func(*event.Entry)) *event.Entry {
	t := t0.Add(at)
	en := &event.Entry{
		Event:   event.Event{Time: t, Type: typ, Outcome: event.OutcomeSuccess, Actor: event.Actor{ID: actor}},
		Version: event.EntryVersion, Log: "test", ReceivedAt: t, Digest: []byte{1},
		Capture: event.Capture{Level: event.CaptureFull},
	}
	for _, m := range mods {
		m(en)
	}
	return en
}

func failed(en *event.Entry) { en.Outcome = event.OutcomeFailure }

func ip(a string) func(*event.Entry)  { return func(en *event.Entry) { en.Actor.IP = a } }
func src(s string) func(*event.Entry) { return func(en *event.Entry) { en.Source = s } }
func msg(s string) func(*event.Entry) { return func(en *event.Entry) { en.Message = s } }
func res(typ, id string) func(*event.Entry) {
	return func(en *event.Entry) { en.Resource = &event.Resource{Type: typ, ID: id} }
}
func data(k string, v any) func(*event.Entry) {
	return func(en *event.Entry) {
		if en.Data == nil {
			en.Data = map[string]any{}
		}
		en.Data[k] = v
	}
}

// only returns a configuration with one detector enabled, changed by mod.
func only(kind string, mod func(*Config)) *Config {
	c := DefaultConfig()
	c.FailureBurst.Enabled = kind == FailureBurst
	c.RateAnomaly.Enabled = kind == RateAnomaly
	c.FirstSeen.Enabled = kind == FirstSeen
	c.OffHours.Enabled = kind == OffHours
	c.SensitiveAction.Enabled = kind == SensitiveAction
	c.RepeatedErrors.Enabled = kind == RepeatedErrors
	c.Silence.Enabled = kind == Silence
	if mod != nil {
		mod(c)
	}
	return c
}

// run feeds entries to a new engine for cfg, with indexes from 0, and
// returns the findings.
func run(t testing.TB, cfg *Config, entries []*event.Entry) []Finding {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var out []Finding
	for i, en := range entries {
		out = append(out, e.Observe(uint64(i), en)...)
	}
	return out
}

// summary writes findings as "group@index" for comparisons, with the
// index of the entry that raised each (its last evidence).
func summary(fs []Finding) []string {
	l := []string{}
	for _, f := range fs {
		last := -1
		if len(f.Evidence) > 0 {
			last = int(f.Evidence[len(f.Evidence)-1])
		}
		l = append(l, fmt.Sprintf("%s %s@%d", f.Rule, f.GroupKey, last))
	}
	return l
}

type detectorCase struct {
	name    string
	entries []*event.Entry
	want    []string // summary of the findings
}

func runCases(t *testing.T, cfg *Config, cases []detectorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := summary(run(t, cfg, tc.entries))
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings = %q, want %q", got, tc.want)
			}
		})
	}
}

// every returns n entries made by f(i) for i in 0..n-1.
func every(n int, f func(i int) *event.Entry) []*event.Entry {
	l := make([]*event.Entry, n)
	for i := range l {
		l[i] = f(i)
	}
	return l
}

func TestFailureBurst(t *testing.T) {
	cfg := only(FailureBurst, func(c *Config) { c.FailureBurst.Threshold, c.FailureBurst.Window = 3, time.Minute })
	fail := func(at time.Duration, actor string, mods ...func(*event.Entry)) *event.Entry {
		return mk(at, "auth.login", actor, append(mods, failed)...)
	}
	runCases(t, cfg, []detectorCase{
		{"three within the window", []*event.Entry{
			fail(0, "alice"), fail(10*time.Second, "alice"), fail(20*time.Second, "alice"),
		}, []string{"failure-burst actor:alice@2"}},
		{"spread beyond the window", []*event.Entry{
			fail(0, "alice"), fail(40*time.Second, "alice"), fail(90*time.Second, "alice"),
		}, []string{}},
		{"successes do not count", []*event.Entry{
			fail(0, "alice"), mk(time.Second, "auth.login", "alice"), fail(2*time.Second, "alice"),
		}, []string{}},
		{"once while the burst lasts", every(20, func(i int) *event.Entry { return fail(time.Duration(i)*20*time.Second, "alice") }),
			[]string{"failure-burst actor:alice@2"}},
		{"again after a quiet window", []*event.Entry{
			fail(0, "alice"), fail(time.Second, "alice"), fail(2*time.Second, "alice"),
			fail(3*time.Minute, "alice"), fail(3*time.Minute+time.Second, "alice"), fail(3*time.Minute+2*time.Second, "alice"),
		}, []string{"failure-burst actor:alice@2", "failure-burst actor:alice@5"}},
		{"one address, many actors", []*event.Entry{
			fail(0, "a", ip("203.0.113.7")), fail(time.Second, "b", ip("203.0.113.7")), fail(2*time.Second, "c", ip("203.0.113.7")),
		}, []string{"failure-burst ip:203.0.113.7@2"}},
		{"actor and address", []*event.Entry{
			fail(0, "a", ip("203.0.113.7")), fail(time.Second, "a", ip("203.0.113.7")), fail(2*time.Second, "a", ip("203.0.113.7")),
		}, []string{"failure-burst actor:a@2", "failure-burst ip:203.0.113.7@2"}},
		{"late events count at the oldest open time", []*event.Entry{
			// Lateness is 5m: the one from 20 minutes before counts as 5
			// minutes before the newest, outside the 1m window.
			fail(20*time.Minute, "alice"), fail(20*time.Minute+time.Second, "alice"), fail(0, "alice"),
		}, []string{}},
	})
}

func TestRateAnomaly(t *testing.T) {
	cfg := only(RateAnomaly, func(c *Config) {
		c.RateAnomaly.Bucket, c.RateAnomaly.MinCount, c.RateAnomaly.LearningBuckets = time.Minute, 10, 5
	})
	// steady returns n events per minute for minutes, by actor, from
	// minute start.
	steady := func(actor string, start, minutes, n int) []*event.Entry {
		var l []*event.Entry
		for m := start; m < start+minutes; m++ {
			for k := range n {
				l = append(l, mk(time.Duration(m)*time.Minute+time.Duration(k)*time.Second, "data.export", actor))
			}
		}
		return l
	}
	learned := steady("bob", 0, 10, 2)
	runCases(t, cfg, []detectorCase{
		{"steady", steady("bob", 0, 30, 2), []string{}},
		// It raises at the 11th of the bucket, more than 6 deviations
		// above 2, and once per bucket.
		{"spike", slices.Concat(learned, steady("bob", 10, 1, 30), steady("bob", 11, 2, 2)),
			[]string{"rate-anomaly actor:bob|type:data.export@30"}},
		{"spike below the minimum count", slices.Concat(learned, steady("bob", 10, 1, 9)), []string{}},
		{"not before learning", slices.Concat(steady("bob", 0, 3, 2), steady("bob", 3, 1, 30)), []string{}},
		{"a new actor against everyone's baseline", slices.Concat(steady("bob", 0, 10, 2), steady("carol", 10, 1, 30)),
			[]string{"rate-anomaly actor:carol|type:data.export@30"}},
	})
	t.Run("summary", func(t *testing.T) {
		fs := run(t, cfg, slices.Concat(learned, steady("bob", 10, 1, 30), steady("bob", 11, 1, 1)))
		if len(fs) != 1 || !strings.Contains(fs[0].Summary, "11 data.export events by bob") || len(fs[0].Evidence) != rateEvidence {
			t.Errorf("findings = %+v, want one about 11 exports with %d entries of evidence", fs, rateEvidence)
		}
	})
}

func TestFirstSeen(t *testing.T) {
	cfg := only(FirstSeen, func(c *Config) { c.FirstSeen.Learning, c.FirstSeen.Common = time.Hour, 0 })
	known := []*event.Entry{
		mk(0, "auth.login", "alice", ip("198.51.100.7"), res("session", "s1")),
		mk(30*time.Minute, "data.read", "alice", ip("198.51.100.8"), res("document", "d1")),
	}
	runCases(t, cfg, []detectorCase{
		{"known network", append(slices.Clone(known), mk(3*time.Hour, "data.read", "alice", ip("198.51.100.200"), res("document", "d2"))), []string{}},
		{"new network", append(slices.Clone(known), mk(3*time.Hour, "data.read", "alice", ip("41.0.0.1"), res("document", "d2"))),
			[]string{"first-seen actor:alice@2"}},
		{"new type and resource type: one finding", append(slices.Clone(known), mk(3*time.Hour, "iam.role.grant", "alice", ip("198.51.100.9"), res("role", "admin"))),
			[]string{"first-seen actor:alice@2"}},
		{"while learning", []*event.Entry{
			mk(0, "auth.login", "alice", ip("198.51.100.7")), mk(30*time.Minute, "auth.login", "alice", ip("41.0.0.1")),
		}, []string{}},
		{"a failure is not something the actor did", append(slices.Clone(known), mk(3*time.Hour, "data.read", "alice", ip("41.0.0.1"), failed, res("document", "d2"))),
			[]string{}},
		{"once per value", append(slices.Clone(known),
			mk(3*time.Hour, "data.read", "alice", ip("41.0.0.1"), res("document", "d2")),
			mk(3*time.Hour+time.Minute, "data.read", "alice", ip("41.0.0.2"), res("document", "d2"))),
			[]string{"first-seen actor:alice@2"}},
	})
	t.Run("common values", func(t *testing.T) {
		cfg := only(FirstSeen, func(c *Config) { c.FirstSeen.Learning, c.FirstSeen.Common = time.Hour, 2 })
		entries := slices.Concat(known, []*event.Entry{
			mk(0, "auth.login", "bob", ip("100.64.1.1")),
			mk(0, "auth.login", "carol", ip("100.64.1.2")),
			mk(3*time.Hour, "data.read", "alice", ip("100.64.1.3"), res("document", "d2")), // used by two others
			mk(3*time.Hour, "data.read", "alice", ip("41.0.0.1"), res("document", "d2")),   // by nobody
		})
		if got, want := summary(run(t, cfg, entries)), []string{"first-seen actor:alice@5"}; !slices.Equal(got, want) {
			t.Errorf("findings = %q, want %q", got, want)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		cfg := only(FirstSeen, func(c *Config) { c.FirstSeen.MaxValues = 4 })
		e, _ := New(cfg)
		for i := range 100 {
			e.Observe(uint64(i), mk(time.Duration(i)*time.Minute, "data.read", "alice", ip(fmt.Sprintf("10.%d.0.1", i)), res("document", "d")))
		}
		fs := e.dets[0].(*firstSeen)
		if n := len(fs.st.Actors["alice"].Values[0]); n != 4 {
			t.Errorf("alice has %d networks, want at most 4", n)
		}
	})
	t.Run("bounded, least recent tenth dropped", func(t *testing.T) {
		cfg := only(FirstSeen, func(c *Config) { c.FirstSeen.MaxValues = 20 })
		e, _ := New(cfg)
		for i := range 100 {
			e.Observe(uint64(i), mk(time.Duration(i)*time.Minute, "data.read", "alice", ip(fmt.Sprintf("10.%d.0.1", i)), res("document", "d")))
		}
		kept := e.dets[0].(*firstSeen).st.Actors["alice"].Values[0]
		if n := len(kept); n < 18 || n > 20 {
			t.Errorf("alice has %d networks, want 18 to 20 (at most 20, a tenth dropped at once)", n)
		}
		if _, ok := kept["10.99.0.0/24"]; !ok {
			t.Errorf("the newest network was dropped: %v", kept)
		}
		for i := range 100 - len(kept) {
			if _, ok := kept[fmt.Sprintf("10.%d.0.0/24", i)]; ok {
				t.Errorf("network %d of 100 kept, but not all of the %d after it", i, len(kept))
			}
		}
	})
}

// workWeek returns an actor's events every 20 minutes from 9:00 to 17:00
// on the weekdays of the first days days.
func workWeek(actor string, days int) []*event.Entry {
	var l []*event.Entry
	for d := range days {
		if wd := t0.AddDate(0, 0, d).Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for m := 9 * 60; m < 17*60; m += 20 {
			l = append(l, mk(time.Duration(d)*24*time.Hour+time.Duration(m)*time.Minute, "data.read", actor))
		}
	}
	return l
}

func TestOffHours(t *testing.T) {
	cfg := only(OffHours, func(c *Config) { c.OffHours.Learning, c.OffHours.MinEvents = 3*24*time.Hour, 50 })
	week := workWeek("dana", 7) // 5 days of 24 events
	n := len(week)
	day := func(d int, h float64) time.Duration {
		return time.Duration(d)*24*time.Hour + time.Duration(h*float64(time.Hour))
	}
	runCases(t, cfg, []detectorCase{
		{"at 3 a.m.", append(slices.Clone(week), mk(day(7, 3), "data.read", "dana")),
			[]string{fmt.Sprintf("off-hours actor:dana@%d", n)}},
		{"during the day", append(slices.Clone(week), mk(day(7, 11), "data.read", "dana")), []string{}},
		{"just after work", append(slices.Clone(week), mk(day(7, 18.5), "data.read", "dana")), []string{}},
		{"on a Saturday at the usual time", append(slices.Clone(week), mk(day(12, 10), "data.read", "dana")), []string{}},
		// The events it raises for are learned: the next hours are not as
		// unusual.
		{"learning from what it raised", append(slices.Clone(week), mk(day(7, 3), "data.read", "dana"), mk(day(7, 4.5), "data.read", "dana"), mk(day(8, 3), "data.read", "dana")),
			[]string{fmt.Sprintf("off-hours actor:dana@%d", n)}},
		{"not while learning", append(workWeek("dana", 2), mk(day(2, 3), "data.read", "dana")), []string{}},
		{"a failure does not count", append(slices.Clone(week), mk(day(7, 3), "auth.login", "dana", failed)), []string{}},
	})
	t.Run("cooldown", func(t *testing.T) {
		cfg := only(OffHours, func(c *Config) {
			c.OffHours.Learning, c.OffHours.MinEvents, c.OffHours.MinShare = 3*24*time.Hour, 50, 0.05
		})
		entries := append(slices.Clone(week), mk(day(7, 3), "data.read", "dana"), mk(day(7, 3.2), "data.read", "dana"), mk(day(7, 4.5), "data.read", "dana"))
		want := []string{fmt.Sprintf("off-hours actor:dana@%d", n), fmt.Sprintf("off-hours actor:dana@%d", n+2)}
		if got := summary(run(t, cfg, entries)); !slices.Equal(got, want) {
			t.Errorf("findings = %q, want %q", got, want)
		}
	})
	t.Run("time zone", func(t *testing.T) {
		cfg := only(OffHours, func(c *Config) {
			c.OffHours.Learning, c.OffHours.MinEvents, c.Timezone = 3*24*time.Hour, 50, "Asia/Tokyo"
		})
		// 9:00 to 17:00 in UTC is 18:00 to 02:00 in Tokyo, so 3:00 UTC
		// (noon in Tokyo) is off hours, 10:00 UTC is not.
		entries := append(slices.Clone(week), mk(day(7, 10), "data.read", "dana"), mk(day(7, 3), "data.read", "dana"))
		fs := run(t, cfg, entries)
		if got, want := summary(fs), []string{fmt.Sprintf("off-hours actor:dana@%d", n+1)}; !slices.Equal(got, want) {
			t.Fatalf("findings = %q, want %q", got, want)
		}
		if !strings.Contains(fs[0].Summary, "12:00 (Asia/Tokyo)") {
			t.Errorf("summary %q does not tell the local time", fs[0].Summary)
		}
	})
}

func TestSensitiveAction(t *testing.T) {
	cfg := only(SensitiveAction, func(c *Config) {
		c.SensitiveAction.Types = append(c.SensitiveAction.Types, "admin.*.delete", "indelible.*")
	})
	runCases(t, cfg, []detectorCase{
		{"role grant", []*event.Entry{mk(0, "iam.role.grant", "eve"), mk(time.Second, "data.read", "eve")},
			[]string{"sensitive-action actor:eve|type:iam.role.grant@0"}},
		{"glob in the middle", []*event.Entry{mk(0, "admin.user.delete", "eve"), mk(0, "admin.user.deleted", "eve")},
			[]string{"sensitive-action actor:eve|type:admin.user.delete@0"}},
		{"Indelible's own events", []*event.Entry{mk(0, "indelible.key.created", "admin")},
			[]string{"sensitive-action actor:admin|type:indelible.key.created@0"}},
		{"findings are ignored", []*event.Entry{mk(0, "indelible.finding.opened", "indelible")}, []string{}},
		{"every one raises", []*event.Entry{mk(0, "config.policy.update", "eve"), mk(time.Second, "config.policy.update", "eve")},
			[]string{"sensitive-action actor:eve|type:config.policy.update@0", "sensitive-action actor:eve|type:config.policy.update@1"}},
	})
}

func TestRepeatedErrors(t *testing.T) {
	cfg := only(RepeatedErrors, func(c *Config) { c.RepeatedErrors.Actors, c.RepeatedErrors.Window = 3, time.Minute })
	fail := func(at time.Duration, actor, m string) *event.Entry {
		return mk(at, "data.read", actor, failed, msg(m))
	}
	runCases(t, cfg, []detectorCase{
		{"three actors, digits aside", []*event.Entry{
			fail(0, "a", "timeout after 3000 ms on db-1"), fail(time.Second, "b", "Timeout after 5000 ms on db-2"), fail(2*time.Second, "c", "timeout after 10 ms on db-7"),
		}, []string{"repeated-errors error:data.read timeout after # ms on db-#@2"}},
		{"one actor thrice", []*event.Entry{
			fail(0, "a", "timeout"), fail(time.Second, "a", "timeout"), fail(2*time.Second, "a", "timeout"),
		}, []string{}},
		{"different errors", []*event.Entry{
			fail(0, "a", "timeout"), fail(time.Second, "b", "refused"), fail(2*time.Second, "c", "timeout again"),
		}, []string{}},
		{"beyond the window", []*event.Entry{
			fail(0, "a", "timeout"), fail(50*time.Second, "b", "timeout"), fail(2*time.Minute, "c", "timeout"),
		}, []string{}},
		{"successes do not count", []*event.Entry{
			fail(0, "a", "timeout"), fail(time.Second, "b", "timeout"), mk(2*time.Second, "data.read", "c", msg("timeout")),
		}, []string{}},
	})
}

func TestErrorSignature(t *testing.T) {
	for _, tc := range []struct{ typ, msg, want string }{
		{"a.b", "", "a.b"},
		{"a.b", "Permission denied for document 4812", "a.b permission denied for document #"},
		{"a.b", "upstream timeout (request deadbeef) at 10.0.0.1:8080", "a.b upstream timeout (request #) at #.#.#.#:#"},
		{"a.b", "  spaced\tout\n", "a.b spaced out"},
		{"a.b", "id 9f3c2a1b-77aa-4c1d-bbbb-0123456789ab", "a.b id #"},
		{"a.b", "(request deadbeef-0001),", "a.b (request #),"},
		{"a.b", "on db-1", "a.b on db-#"},
	} {
		if got := errorSignature(tc.typ, tc.msg); got != tc.want {
			t.Errorf("errorSignature(%q, %q) = %q, want %q", tc.typ, tc.msg, got, tc.want)
		}
	}
	long := errorSignature("t", strings.Repeat("é", 1000))
	if len(long) > 2+maxSignatureMessage {
		t.Errorf("errorSignature of a long message is %d bytes, want at most %d", len(long), 2+maxSignatureMessage)
	}
}

func TestSilence(t *testing.T) {
	cfg := only(Silence, func(c *Config) {
		c.Silence.MinSilence, c.Silence.MinEvents, c.Silence.Learning = time.Minute, 5, 10*time.Minute
	})
	// Two sources send every 10 seconds for 20 minutes; then "cron"
	// stops while "web" goes on.
	var both []*event.Entry
	for s := 0; s < 20*60; s += 10 {
		both = append(both, mk(time.Duration(s)*time.Second, "job.run", "svc", src("cron")),
			mk(time.Duration(s)*time.Second, "data.read", "web", src("web")))
	}
	lastCron := len(both) - 2
	web := func(from, to time.Duration) []*event.Entry {
		var l []*event.Entry
		for at := from; at < to; at += 10 * time.Second {
			l = append(l, mk(at, "data.read", "web", src("web")))
		}
		return l
	}
	runCases(t, cfg, []detectorCase{
		{"one source stops", slices.Concat(both, web(20*time.Minute, 30*time.Minute)),
			[]string{fmt.Sprintf("silence source:cron@%d", lastCron)}},
		{"a gap within its usual", slices.Concat(both, web(20*time.Minute, 20*time.Minute+50*time.Second)), []string{}},
		{"no capture at all", both, []string{}},
		{"not while learning", slices.Concat(both[:60], web(5*time.Minute, 30*time.Minute)), []string{}},
	})
	t.Run("once per silence", func(t *testing.T) {
		entries := slices.Concat(both, web(20*time.Minute, 25*time.Minute),
			[]*event.Entry{mk(25*time.Minute, "job.run", "svc", src("cron"))},
			web(25*time.Minute, 30*time.Minute))
		fs := run(t, cfg, entries)
		if len(fs) != 2 {
			t.Fatalf("findings = %q, want two silences", summary(fs))
		}
		if !strings.Contains(fs[0].Summary, "source cron has sent nothing for 1m") {
			t.Errorf("summary = %q", fs[0].Summary)
		}
	})
	t.Run("Tick", func(t *testing.T) {
		e, _ := New(cfg)
		for i, en := range both {
			e.Observe(uint64(i), en)
		}
		if fs := e.Tick(t0.Add(20 * time.Minute)); len(fs) != 0 {
			t.Errorf("Tick within the usual gap = %q, want none", summary(fs))
		}
		if fs := e.Tick(t0.Add(25 * time.Minute)); len(fs) != 2 {
			t.Errorf("Tick 5 minutes later = %q, want both sources", summary(fs))
		}
		if fs := e.Tick(t0.Add(time.Minute)); len(fs) != 0 {
			t.Errorf("Tick back in time = %q, want none", summary(fs))
		}
	})
}

func TestUserRules(t *testing.T) {
	rule := func(r Rule) *Config {
		return only("", func(c *Config) { c.Rules = []Rule{r} })
	}
	del := func(at time.Duration, actor, doc string) *event.Entry {
		return mk(at, "data.delete", actor, res("document", doc))
	}
	t.Run("without a window", func(t *testing.T) {
		cfg := rule(Rule{Name: "deletes", Condition: `event.action == "delete"`, Severity: SeverityHigh})
		fs := run(t, cfg, []*event.Entry{del(0, "a", "d1"), mk(time.Second, "data.read", "a"), del(2*time.Second, "a", "d1")})
		if got, want := summary(fs), []string{"deletes actor.id:a@0", "deletes actor.id:a@2"}; !slices.Equal(got, want) {
			t.Errorf("findings = %q, want %q", got, want)
		}
		if fs[0].Detector != UserRule || fs[0].Severity != SeverityHigh || fs[0].Summary != "rule deletes matched" {
			t.Errorf("finding = %+v", fs[0])
		}
	})
	count := rule(Rule{Name: "mass-delete", Description: "many deletes", Condition: `event.action == "delete"`,
		Window: &Window{Duration: time.Minute, Threshold: 3}})
	distinct := rule(Rule{Name: "spread", Condition: `event.category == "data"`,
		Window: &Window{Duration: time.Minute, GroupBy: "actor.id", Distinct: "resource.id", Threshold: 3}})
	byData := rule(Rule{Name: "big", Condition: `event.data.amount > 1000`,
		Window: &Window{Duration: time.Hour, GroupBy: "data.account", Threshold: 2}})
	for _, tc := range []struct {
		name    string
		cfg     *Config
		entries []*event.Entry
		want    []string
	}{
		{"count", count, []*event.Entry{del(0, "a", "1"), del(time.Second, "a", "2"), del(2*time.Second, "b", "3"), del(3*time.Second, "a", "4")},
			[]string{"mass-delete actor.id:a@3"}},
		{"once per window", count, every(12, func(i int) *event.Entry { return del(time.Duration(i)*10*time.Second, "a", "x") }),
			[]string{"mass-delete actor.id:a@2", "mass-delete actor.id:a@8"}},
		{"distinct values", distinct, []*event.Entry{
			del(0, "a", "1"), del(time.Second, "a", "1"), del(2*time.Second, "a", "2"), del(3*time.Second, "a", "1"), del(4*time.Second, "a", "3"),
		}, []string{"spread actor.id:a@4"}},
		{"distinct values within the window", distinct, []*event.Entry{
			del(0, "a", "1"), del(40*time.Second, "a", "2"), del(80*time.Second, "a", "3"),
		}, []string{}},
		{"group by a data field", byData, []*event.Entry{
			mk(0, "payment.sent", "a", data("amount", json.Number("1200")), data("account", "acct-1")),
			mk(time.Second, "payment.sent", "b", data("amount", json.Number("1200.5")), data("account", "acct-1")),
			mk(2*time.Second, "payment.sent", "c", data("amount", json.Number("1300")), data("account", "acct-2")),
			mk(3*time.Second, "payment.sent", "c", data("amount", json.Number("13")), data("account", "acct-2")),
		}, []string{"big data.account:acct-1@1"}},
		{"not Indelible's own events", rule(Rule{Name: "all", Condition: "true"}), []*event.Entry{
			mk(0, "indelible.policy.activated", "admin"),
		}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summary(run(t, tc.cfg, tc.entries)); !slices.Equal(got, tc.want) {
				t.Errorf("findings = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMetaEvents(t *testing.T) {
	// Indelible's own events neither train nor move the clock: a silence
	// is not declared because of them.
	cfg := DefaultConfig()
	cfg.Silence.MinSilence, cfg.Silence.MinEvents, cfg.Silence.Learning = time.Minute, 5, 0
	var entries []*event.Entry
	for s := range 30 {
		entries = append(entries, mk(time.Duration(s)*10*time.Second, "job.run", "svc", src("cron")))
	}
	entries = append(entries, mk(time.Hour, "indelible.policy.activated", "admin", src("indelible")),
		mk(2*time.Hour, "indelible.finding.opened", "indelible", src("indelible")))
	got := summary(run(t, cfg, entries))
	if want := []string{"sensitive-action actor:admin|type:indelible.policy.activated@30"}; !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q", got, want)
	}
}

func TestObserveOnce(t *testing.T) {
	cfg := only(SensitiveAction, nil)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	en := mk(0, "iam.role.grant", "eve")
	if fs := e.Observe(7, en); len(fs) != 1 {
		t.Fatalf("Observe(7) = %d findings, want 1", len(fs))
	}
	for _, i := range []uint64{0, 6, 7} {
		if fs := e.Observe(i, en); len(fs) != 0 {
			t.Errorf("Observe(%d) after Observe(7) = %d findings, want none", i, len(fs))
		}
	}
	if got := e.Next(); got != 8 {
		t.Errorf("Next() = %d, want 8", got)
	}
}

func TestFutureTime(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	en := mk(0, "data.read", "mallory")
	en.Time = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	e.Observe(0, en)
	if want := t0.Add(maxFuture).UnixNano(); e.clock.Watermark != want {
		t.Errorf("watermark after an event from 2099 = %v, want %v", time.Unix(0, e.clock.Watermark).UTC(), t0.Add(maxFuture))
	}
}
