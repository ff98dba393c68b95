package analyze

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/a24ba333/indelible/internal/condition"
	"github.com/a24ba333/indelible/internal/yamldoc"
)

// Config is what the engine of one log (tenant) does: which detectors
// run, with which parameters, and the user rules. DefaultConfig documents
// the defaults; ParseConfig reads the YAML form described in the package
// documentation. Durations are event time.
type Config struct {
	// Timezone is the IANA name of the time zone off_hours counts hours
	// in; "" means UTC.
	Timezone string
	// Lateness is how late, in event time, an event may arrive and still
	// be counted in the windows and buckets of its own time. A later one
	// is still analysed, but counted as if it happened Lateness before
	// the newest event time seen, so that it does not reopen a window
	// that closed. 0 to 24h.
	Lateness time.Duration
	// MaxGroups bounds the groups (actors, IP addresses, sources, error
	// signatures, rule groups) each detector keeps state for. Past it,
	// the tenth of them idle the longest are forgotten: a forgotten
	// actor is learned again from scratch. At least 100.
	MaxGroups int

	FailureBurst    FailureBurstConfig
	RateAnomaly     RateAnomalyConfig
	FirstSeen       FirstSeenConfig
	OffHours        OffHoursConfig
	SensitiveAction SensitiveActionConfig
	RepeatedErrors  RepeatedErrorsConfig
	Silence         SilenceConfig

	Rules []Rule // user rules, run after the detectors, in order

	// FollowUp is how long, in event time, a resolved finding of a rule
	// is watched before its verdict, by rule name ("failure-burst", a
	// user rule's name) or "default"; absent rules take the default, and
	// without one the runner's.
	FollowUp map[string]time.Duration
}

// FollowUpFor returns the follow-up window of rule, or fallback.
func (c *Config) FollowUpFor(rule string, fallback time.Duration) time.Duration {
	if c == nil {
		return fallback
	}
	if d, ok := c.FollowUp[rule]; ok && d > 0 {
		return d
	}
	if d, ok := c.FollowUp["default"]; ok && d > 0 {
		return d
	}
	return fallback
}

// FailureBurstConfig configures failure_burst: at least Threshold events
// with outcome failure for one actor.id, or from one actor.ip, within
// Window. It raises once per group while the burst lasts, and again only
// after a quiet Window without failures.
type FailureBurstConfig struct {
	Enabled   bool
	Severity  string        // default high
	Threshold int           // failures, 2 to 1000; default 10
	Window    time.Duration // default 5m
}

// RateAnomalyConfig configures rate_anomaly: the events of one actor and
// one type per Bucket, against that pair's own baseline (the mean and
// variance, as exponentially weighted moving averages, of its counts in
// the buckets where it was active, over about the last 10 and the last
// 2000 such buckets), or, while the pair has fewer than LearningBuckets
// buckets, against the baseline of all actors for that type. A bucket is
// anomalous when its count reaches MinCount and lies more than Z standard
// deviations above both means; it raises when it is, unless the bucket
// before it was too: a spike raises once, however long it lasts. Quiet buckets neither train nor
// decay a baseline: it describes the pair when active.
type RateAnomalyConfig struct {
	Enabled         bool
	Severity        string        // default medium
	Bucket          time.Duration // default 5m
	Z               float64       // default 6
	MinCount        int           // default 10
	LearningBuckets int           // default 288: a day of a steady stream, which holds its daily swing
}

// FirstSeenConfig configures first_seen: an actor using a value of a
// dimension it never used before. An actor is learned for Learning after
// its first event, and raises nothing meanwhile. A value that Common
// other actors of the log already used is no news either (an action
// colleagues take, a network of the office, of a mobile carrier or of
// the providers colleagues have at home); 0 turns that off. Whether an
// IP network is common is judged on the wider network of
// CommonIPv4Prefix or CommonIPv6Prefix bits, which stands for a provider
// or a region: a home's /24 is new to everyone, its provider's /16 is
// not, while an address from abroad is usually in a block no one used.
// Only events without outcome failure count: a failed attempt is not
// something the actor did.
type FirstSeenConfig struct {
	Enabled    bool
	Severity   string        // default low
	Learning   time.Duration // default 7 days
	Common     int           // default 3
	Dimensions []string      // of ip, type, resource_type, resource, source, user_agent; default ip, type, resource_type
	IPv4Prefix int           // the "ip" dimension is the address's network of this length: default 24
	IPv6Prefix int           // default 48
	// CommonIPv4Prefix and CommonIPv6Prefix, at most IPv4Prefix and
	// IPv6Prefix, are the wider networks Common counts actors in:
	// default 16 and 32.
	CommonIPv4Prefix int
	CommonIPv6Prefix int
	MaxValues        int // values kept per actor and dimension; past it the least recently used tenth is dropped; default 256
}

// OffHoursConfig configures off_hours. It learns, per actor, how many of
// its events fall in each hour of the week (in Timezone). Once an actor
// has MinEvents events over at least Learning, an event raises when
// little of the actor's past activity (less than MinShare of it) lies
// within Margin hours of the event's hour, counting the same hours of
// every day of the week at a seventh of their weight: working on a
// Saturday at the usual time is not off hours, working at 3 a.m. is.
// An actor raises at most once per Cooldown. Events with outcome
// failure do not count.
type OffHoursConfig struct {
	Enabled   bool
	Severity  string        // default medium
	Learning  time.Duration // default 7 days
	MinEvents int           // default 100
	Margin    int           // hours, 0 to 11; default 2
	MinShare  float64       // default 0.002
	Cooldown  time.Duration // default 1h
}

// SensitiveActionConfig configures sensitive_action: every event whose
// type matches one of Types raises, including Indelible's own events.
// A pattern's "*" matches any run of characters (dots included), "?" any
// one.
type SensitiveActionConfig struct {
	Enabled  bool
	Severity string // default high
	Types    []string
}

// RepeatedErrorsConfig configures repeated_errors: one error signature
// (the type and the message with its digits stripped) with outcome
// failure for at least Actors distinct actors within Window. It raises
// once per signature while it lasts, like failure_burst.
type RepeatedErrorsConfig struct {
	Enabled  bool
	Severity string        // default medium
	Actors   int           // 2 to 1000; default 10
	Window   time.Duration // default 5m
}

// SilenceConfig configures silence: a source that has sent nothing for
// longer than Factor times the longest gap it usually leaves (the
// longest gap seen, decaying with a time constant of Memory), and at
// least MinSilence, measured on the log's clock: the newest event time
// of all sources. A log that receives nothing at all raises nothing.
// Only a source with MinEvents events over at least Learning is
// watched. It raises once per silence.
type SilenceConfig struct {
	Enabled    bool
	Severity   string        // default high
	Factor     float64       // default 3
	MinSilence time.Duration // default 15m
	MinEvents  int           // default 100
	Learning   time.Duration // default 7 days: a week holds every usual gap, weekends included
	Memory     time.Duration // default 30 days: a weekend's gap is still remembered a week later
}

// Rule is a user rule: a CEL condition over the event, typed as in
// capture policies. Without a Window every matching event raises; with
// one, a group raises when its matching events (or the distinct values
// of a field among them) reach the threshold within the window's
// duration, at most once per window.
type Rule struct {
	Name        string // 1 to 64 of a-z, 0-9, "_" and "-"; unique, and not a detector's rule name
	Description string // the findings' summary; default "rule <name> matched"
	Severity    string // default medium
	Condition   string // a CEL expression of type bool over "event"
	Window      *Window
}

// Window is a user rule's window. GroupBy and Distinct name one of the
// fields id, type, category, action, outcome, actor.id, actor.type,
// actor.ip, actor.user_agent, resource.type, resource.id, project,
// environment, source, subject, trace_id, or data.<key>[.<key>...] (a
// string, number or boolean value; an event without a value is not
// counted).
type Window struct {
	Duration  time.Duration
	GroupBy   string // the field whose value makes the group; default actor.id
	Distinct  string // if set, count the distinct values of this field rather than events
	Threshold int    // 1 to 1000
}

// DefaultSensitiveTypes are the type patterns sensitive_action watches
// by default: privilege grants, changes of capture policies and of audit
// configuration, and Indelible's own key, policy, schema and erasure
// changes.
func DefaultSensitiveTypes() []string {
	return []string{
		"*.role.grant",
		"*.role.assign",
		"*.permission.grant",
		"config.policy.*",
		"config.audit.*",
		"indelible.key.created",
		"indelible.policy.activated",
		"indelible.schema.registered",
		"indelible.subject.forgotten",
	}
}

// DefaultConfig returns the defaults: every detector on, no user rules.
func DefaultConfig() *Config {
	const day = 24 * time.Hour
	return &Config{
		Timezone:  "UTC",
		Lateness:  5 * time.Minute,
		MaxGroups: 100_000,
		FailureBurst: FailureBurstConfig{
			Enabled: true, Severity: SeverityHigh, Threshold: 10, Window: 5 * time.Minute,
		},
		RateAnomaly: RateAnomalyConfig{
			Enabled: true, Severity: SeverityMedium, Bucket: 5 * time.Minute, Z: 6, MinCount: 10, LearningBuckets: 288,
		},
		FirstSeen: FirstSeenConfig{
			Enabled: true, Severity: SeverityLow, Learning: 7 * day, Common: 3,
			Dimensions: []string{dimIP, dimType, dimResourceType}, IPv4Prefix: 24, IPv6Prefix: 48,
			CommonIPv4Prefix: 16, CommonIPv6Prefix: 32, MaxValues: 256,
		},
		OffHours: OffHoursConfig{
			Enabled: true, Severity: SeverityMedium, Learning: 7 * day, MinEvents: 100, Margin: 2, MinShare: 0.002, Cooldown: time.Hour,
		},
		SensitiveAction: SensitiveActionConfig{
			Enabled: true, Severity: SeverityHigh, Types: DefaultSensitiveTypes(),
		},
		RepeatedErrors: RepeatedErrorsConfig{
			Enabled: true, Severity: SeverityMedium, Actors: 10, Window: 5 * time.Minute,
		},
		Silence: SilenceConfig{
			Enabled: true, Severity: SeverityHigh, Factor: 3, MinSilence: 15 * time.Minute, MinEvents: 100,
			Learning: 7 * day, Memory: 30 * day,
		},
	}
}

// clone returns a deep copy of c.
func (c *Config) clone() *Config {
	d := *c
	d.FirstSeen.Dimensions = slices.Clone(c.FirstSeen.Dimensions)
	d.SensitiveAction.Types = slices.Clone(c.SensitiveAction.Types)
	d.Rules = slices.Clone(c.Rules)
	for i, r := range d.Rules {
		if r.Window != nil {
			w := *r.Window
			d.Rules[i].Window = &w
		}
	}
	return &d
}

// location returns the time zone of a validated configuration.
func (c *Config) location() *time.Location {
	if c.Timezone == "" || c.Timezone == "UTC" {
		return time.UTC
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC // Validate refused it
	}
	return loc
}

// The dimensions of first_seen.
const (
	dimIP           = "ip"
	dimType         = "type"
	dimResourceType = "resource_type"
	dimResource     = "resource"
	dimSource       = "source"
	dimUserAgent    = "user_agent"
)

var dimensions = []string{dimIP, dimType, dimResourceType, dimResource, dimSource, dimUserAgent}

// Validate checks every parameter and compiles the rules' conditions. It
// returns nil or an *Error listing every problem, each with the YAML path
// of the parameter (but no line: see ParseConfig for that).
func (c *Config) Validate() error {
	var v validator
	v.config(c)
	if len(v.probs) > 0 {
		return &Error{Problems: v.probs}
	}
	return nil
}

// validator collects the problems of a configuration.
type validator struct {
	probs []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.probs = append(v.probs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) config(c *Config) {
	if c.Timezone != "" && c.Timezone != "UTC" {
		// "Local" would be the zone of whichever machine runs the engine.
		if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "Local" || strings.HasPrefix(c.Timezone, "/") {
			v.add("timezone", "unknown time zone %q; use an IANA name like \"Europe/Paris\"", c.Timezone)
		}
	}
	v.duration("lateness", c.Lateness, 0, 24*time.Hour)
	v.intRange("max_groups", c.MaxGroups, 100, 100_000_000)

	const det = "detectors."
	if b := &c.FailureBurst; b.Enabled {
		p := det + FailureBurst + "."
		v.severity(p+"severity", b.Severity)
		v.intRange(p+"threshold", b.Threshold, 2, 1000)
		v.duration(p+"window", b.Window, time.Second, 7*24*time.Hour)
	}
	if r := &c.RateAnomaly; r.Enabled {
		p := det + RateAnomaly + "."
		v.severity(p+"severity", r.Severity)
		v.duration(p+"bucket", r.Bucket, time.Second, 24*time.Hour)
		if !(r.Z > 0 && r.Z <= 1000) {
			v.add(p+"z", "must be more than 0 and at most 1000, not %v", r.Z)
		}
		v.intRange(p+"min_count", r.MinCount, 1, 1_000_000_000)
		v.intRange(p+"learning_buckets", r.LearningBuckets, 1, 1_000_000)
	}
	if f := &c.FirstSeen; f.Enabled {
		p := det + FirstSeen + "."
		v.severity(p+"severity", f.Severity)
		v.duration(p+"learning", f.Learning, 0, 365*24*time.Hour)
		v.intRange(p+"common", f.Common, 0, 1_000_000)
		if len(f.Dimensions) == 0 {
			v.add(p+"dimensions", "needs at least one of %s", yamldoc.QuoteList(dimensions))
		}
		for i, d := range f.Dimensions {
			switch {
			case !slices.Contains(dimensions, d):
				v.add(fmt.Sprintf("%sdimensions[%d]", p, i), "%q is not one of %s", d, yamldoc.QuoteList(dimensions))
			case slices.Index(f.Dimensions, d) < i:
				v.add(fmt.Sprintf("%sdimensions[%d]", p, i), "%q is listed twice", d)
			}
		}
		v.intRange(p+"ipv4_prefix", f.IPv4Prefix, 8, 32)
		v.intRange(p+"ipv6_prefix", f.IPv6Prefix, 16, 128)
		v.intRange(p+"common_ipv4_prefix", f.CommonIPv4Prefix, 0, max(f.IPv4Prefix, 0))
		v.intRange(p+"common_ipv6_prefix", f.CommonIPv6Prefix, 0, max(f.IPv6Prefix, 0))
		v.intRange(p+"max_values", f.MaxValues, 1, 100_000)
	}
	if o := &c.OffHours; o.Enabled {
		p := det + OffHours + "."
		v.severity(p+"severity", o.Severity)
		v.duration(p+"learning", o.Learning, 0, 365*24*time.Hour)
		v.intRange(p+"min_events", o.MinEvents, 1, 1_000_000)
		v.intRange(p+"margin", o.Margin, 0, 11)
		if !(o.MinShare > 0 && o.MinShare < 1) {
			v.add(p+"min_share", "must be more than 0 and less than 1, not %v", o.MinShare)
		}
		v.duration(p+"cooldown", o.Cooldown, 0, 365*24*time.Hour)
	}
	if s := &c.SensitiveAction; s.Enabled {
		p := det + SensitiveAction + "."
		v.severity(p+"severity", s.Severity)
		if len(s.Types) == 0 {
			v.add(p+"types", "needs at least one type pattern")
		}
		for i, t := range s.Types {
			if msg := checkGlob(t); msg != "" {
				v.add(fmt.Sprintf("%stypes[%d]", p, i), "%s", msg)
			}
		}
	}
	if r := &c.RepeatedErrors; r.Enabled {
		p := det + RepeatedErrors + "."
		v.severity(p+"severity", r.Severity)
		v.intRange(p+"actors", r.Actors, 2, 1000)
		v.duration(p+"window", r.Window, time.Second, 7*24*time.Hour)
	}
	if s := &c.Silence; s.Enabled {
		p := det + Silence + "."
		v.severity(p+"severity", s.Severity)
		if !(s.Factor >= 1 && s.Factor <= 1000) {
			v.add(p+"factor", "must be between 1 and 1000, not %v", s.Factor)
		}
		v.duration(p+"min_silence", s.MinSilence, time.Second, 365*24*time.Hour)
		v.intRange(p+"min_events", s.MinEvents, 2, 1_000_000_000)
		v.duration(p+"learning", s.Learning, 0, 365*24*time.Hour)
		v.duration(p+"memory", s.Memory, time.Minute, 365*24*time.Hour)
	}
	names := make(map[string]int)
	for i := range c.Rules {
		v.rule(&c.Rules[i], fmt.Sprintf("rules[%d]", i), i, names)
	}
}

func (v *validator) rule(r *Rule, path string, i int, names map[string]int) {
	switch {
	case !validName(r.Name):
		v.add(path+".name", "rule name %q must be 1 to %d characters of a-z, 0-9, \"_\" and \"-\", starting with a letter or digit", r.Name, maxNameLen)
	case isDetectorRule(r.Name):
		v.add(path+".name", "rule name %q is the name of a detector's findings", r.Name)
	default:
		if j, dup := names[r.Name]; dup {
			v.add(path+".name", "rule name %q is already used by rules[%d]", r.Name, j)
		} else {
			names[r.Name] = i
		}
	}
	if r.Severity != "" {
		v.severity(path+".severity", r.Severity)
	}
	if len(r.Description) > 1024 {
		v.add(path+".description", "is %d bytes, at most 1024", len(r.Description))
	}
	if strings.TrimSpace(r.Condition) == "" {
		v.add(path+".condition", "is required: a CEL expression over event, like 'event.action == \"delete\"'")
	} else if _, msgs := condition.Compile(r.Condition); len(msgs) > 0 {
		for _, m := range msgs {
			v.add(path+".condition", "%s", m)
		}
	}
	if w := r.Window; w != nil {
		v.duration(path+".window.duration", w.Duration, time.Second, 30*24*time.Hour)
		if w.GroupBy != "" {
			if msg := checkField(w.GroupBy); msg != "" {
				v.add(path+".window.group_by", "%s", msg)
			}
		}
		if w.Distinct != "" {
			if msg := checkField(w.Distinct); msg != "" {
				v.add(path+".window.distinct", "%s", msg)
			}
		}
		v.intRange(path+".window.threshold", w.Threshold, 1, 1000)
	}
}

// isDetectorRule reports whether name is the rule name of a detector.
func isDetectorRule(name string) bool {
	for _, k := range []string{FailureBurst, RateAnomaly, FirstSeen, OffHours, SensitiveAction, RepeatedErrors, Silence} {
		if name == ruleName(k) || name == k {
			return true
		}
	}
	return false
}

func (v *validator) severity(path, s string) {
	switch s {
	case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
		return
	case "":
		v.add(path, "is required: one of %s", yamldoc.QuoteList(severities))
		return
	}
	v.add(path, "%q is not one of %s", s, yamldoc.QuoteList(severities))
}

var severities = []string{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

func (v *validator) intRange(path string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(path, "must be between %d and %d, not %d", lo, hi, n)
	}
}

func (v *validator) duration(path string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		v.add(path, "must be between %s and %s, not %s", formatDuration(lo), formatDuration(hi), formatDuration(d))
	}
}

// formatDuration writes whole days as "7d", like the configuration.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// maxNameLen is the longest rule name, in bytes.
const maxNameLen = 64

func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || s[0] == '_' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
