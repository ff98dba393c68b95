package analyze

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConfigDefaults(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "---\n", "detectors: {}\n", "rules: []\n"} {
		cfg, err := ParseConfig([]byte(src))
		if err != nil {
			t.Fatalf("ParseConfig(%q) = %v", src, err)
		}
		want := DefaultConfig()
		if src == "rules: []\n" {
			want.Rules = nil
		}
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("ParseConfig(%q) = %+v, want the defaults %+v", src, cfg, want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
}

const exampleConfig = `
timezone: Europe/Paris
lateness: 10m
max_groups: 5000
detectors:
  failure_burst: {threshold: 20, window: 10m, severity: critical}
  rate_anomaly: {bucket: 1m, z: 8.5, min_count: 50, learning_buckets: 100}
  first_seen: {learning: 14d, common: 0, dimensions: [ip, resource], ipv4_prefix: 16, ipv6_prefix: 64, max_values: 10}
  off_hours: {enabled: false}
  sensitive_action:
    types: ["*.role.grant", "billing.refund.*"]
  repeated_errors: {actors: 4, window: 1h}
  silence: {factor: 5, min_silence: 1h, min_events: 10, learning: 1d12h, memory: 90d}
rules:
  - name: mass-delete
    description: many deletions by one actor
    severity: high
    condition: event.action == "delete"
    window: {duration: 10m, group_by: actor.id, distinct: resource.id, threshold: 50}
  - name: root-login
    condition: event.type == "auth.login" && event.actor.id == "root"
`

func TestParseConfigExample(t *testing.T) {
	cfg, err := ParseConfig([]byte(exampleConfig))
	if err != nil {
		t.Fatalf("ParseConfig(example) = %v", err)
	}
	want := DefaultConfig()
	want.Timezone, want.Lateness, want.MaxGroups = "Europe/Paris", 10*time.Minute, 5000
	want.FailureBurst = FailureBurstConfig{Enabled: true, Severity: SeverityCritical, Threshold: 20, Window: 10 * time.Minute}
	want.RateAnomaly = RateAnomalyConfig{Enabled: true, Severity: SeverityMedium, Bucket: time.Minute, Z: 8.5, MinCount: 50, LearningBuckets: 100}
	want.FirstSeen = FirstSeenConfig{Enabled: true, Severity: SeverityLow, Learning: 14 * 24 * time.Hour, Common: 0,
		Dimensions: []string{"ip", "resource"}, IPv4Prefix: 16, IPv6Prefix: 64, CommonIPv4Prefix: 16, CommonIPv6Prefix: 32, MaxValues: 10}
	want.OffHours.Enabled = false
	want.SensitiveAction.Types = []string{"*.role.grant", "billing.refund.*"}
	want.RepeatedErrors.Actors, want.RepeatedErrors.Window = 4, time.Hour
	want.Silence = SilenceConfig{Enabled: true, Severity: SeverityHigh, Factor: 5, MinSilence: time.Hour, MinEvents: 10,
		Learning: 36 * time.Hour, Memory: 90 * 24 * time.Hour}
	want.Rules = []Rule{
		{Name: "mass-delete", Description: "many deletions by one actor", Severity: SeverityHigh, Condition: `event.action == "delete"`,
			Window: &Window{Duration: 10 * time.Minute, GroupBy: "actor.id", Distinct: "resource.id", Threshold: 50}},
		{Name: "root-login", Condition: `event.type == "auth.login" && event.actor.id == "root"`},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("ParseConfig(example) =\n%+v\nwant\n%+v", cfg, want)
	}
	if _, err := New(cfg); err != nil {
		t.Errorf("New(example) = %v", err)
	}
}

// configErrors are documents and the problems they must be reported with.
var configErrors = []struct {
	src  string
	want []string
}{
	{"detectorz: {}\n", []string{`line 1, column 1 (detectorz): unknown key "detectorz"; known keys: timezone, lateness, max_groups, detectors, rules`}},
	{"detectors:\n  failure_burst:\n    threshold: ten\n", []string{`line 3, column 16 (detectors.failure_burst.threshold): must be an integer, not a string`}},
	{"detectors:\n  failure_burst:\n    threshold: 1\n", []string{`line 3, column 16 (detectors.failure_burst.threshold): must be between 2 and 1000, not 1`}},
	{"detectors:\n  failure_burst: {window: 5x}\n", []string{`line 2, column 27 (detectors.failure_burst.window): "5x" is not a duration like "5m", "1h30m" or "7d"`}},
	{"detectors:\n  failure_burst: {window: 5}\n", []string{`line 2, column 27 (detectors.failure_burst.window): must be a duration like "5m", "1h30m" or "7d", not an integer`}},
	{"detectors:\n  silence: {severity: urgent}\n", []string{`line 2, column 23 (detectors.silence.severity): "urgent" is not one of "low", "medium", "high" or "critical"`}},
	{"detectors:\n  off_hours: {enabled: yes}\n", []string{`line 2, column 24 (detectors.off_hours.enabled): must be true or false, not a string`}},
	{"detectors:\n  rate_anomaly: {z: -1}\n", []string{`line 2, column 21 (detectors.rate_anomaly.z): must be more than 0 and at most 1000, not -1`}},
	{"detectors:\n  first_seen: {dimensions: [ip, ip, country]}\n", []string{
		`line 2, column 33 (detectors.first_seen.dimensions[1]): "ip" is listed twice`,
		`line 2, column 37 (detectors.first_seen.dimensions[2]): "country" is not one of "ip", "type", "resource_type", "resource", "source" or "user_agent"`}},
	{"detectors:\n  first_seen: {dimensions: []}\n", []string{`line 2, column 28 (detectors.first_seen.dimensions): needs at least one of`}},
	{"detectors:\n  sensitive_action: {types: [IAM.*]}\n", []string{`line 2, column 30 (detectors.sensitive_action.types[0]): type pattern "IAM.*" can never match`}},
	{"detectors:\n  nope: {}\n", []string{`line 2, column 3 (detectors.nope): unknown key "nope"`}},
	{"timezone: Mars/Olympus\n", []string{`line 1, column 11 (timezone): unknown time zone "Mars/Olympus"`}},
	{"timezone: Local\n", []string{`line 1, column 11 (timezone): unknown time zone "Local"`}},
	{"lateness: 2d\n", []string{`line 1, column 11 (lateness): must be between 0s and 1d, not 2d`}},
	{"rules:\n  - name: a\n    condition: event.actr.id == \"x\"\n", []string{`line 3, column 16 (rules[0].condition): undefined field 'actr' (at 1:6 of the expression)`}},
	{"rules:\n  - name: a\n    condition: event.type\n", []string{`line 3, column 16 (rules[0].condition): must be a bool expression, not string`}},
	{"rules:\n  - name: a\n", []string{`line 2, column 5 (rules[0].condition): is required`}},
	{"rules:\n  - condition: \"true\"\n", []string{`line 2, column 5 (rules[0].name): rule name "" must be`}},
	{"rules:\n  - {name: a, condition: \"true\"}\n  - {name: a, condition: \"true\"}\n", []string{`line 3, column 12 (rules[1].name): rule name "a" is already used by rules[0]`}},
	{"rules:\n  - {name: failure-burst, condition: \"true\"}\n", []string{`line 2, column 12 (rules[0].name): rule name "failure-burst" is the name of a detector's findings`}},
	{"rules:\n  - name: a\n    condition: \"true\"\n    window: {duration: 1m, group_by: actor.nope, threshold: 0}\n", []string{
		`line 4, column 38 (rules[0].window.group_by): unknown field "actor.nope"`,
		`line 4, column 61 (rules[0].window.threshold): must be between 1 and 1000, not 0`}},
	{"rules:\n  - name: a\n    condition: \"true\"\n    window: {group_by: data.}\n", []string{
		`line 4, column 13 (rules[0].window.duration): must be between 1s and 30d, not 0s`,
		`line 4, column 13 (rules[0].window.threshold): must be between 1 and 1000, not 0`,
		`line 4, column 24 (rules[0].window.group_by): unknown field "data."`}},
	{"rules: {}\n", []string{`line 1, column 8 (rules): must be a list, not a mapping`}},
	{"detectors: &a {}\n", []string{`line 1, column 12 (detectors): YAML anchors are not supported`}},
	{"a: b\n---\nc: d\n", []string{`line 2, column 1: a configuration is one YAML document; found another`}},
	{"detectors: [\n", []string{`line 2: YAML: did not find expected node content in the value that starts at this line`}},
	{"rules:\n- name: a\n  condition: \"true\"\n  condition: \"false\"\n", []string{`line 4, column 3 (rules[0].condition): duplicate key "condition" (first at line 3, column 3)`}},
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range configErrors {
		_, err := ParseConfig([]byte(tc.src))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("ParseConfig(%q) = %v, want an *Error", tc.src, err)
			continue
		}
		if len(pe.Problems) != len(tc.want) {
			t.Errorf("ParseConfig(%q) = %v, want %d problems", tc.src, err, len(tc.want))
			continue
		}
		for i, p := range pe.Problems {
			if !strings.HasPrefix(p.String(), tc.want[i]) {
				t.Errorf("ParseConfig(%q) problem %d = %q, want %q", tc.src, i, p.String(), tc.want[i])
			}
		}
		if !strings.HasPrefix(err.Error(), "analysis config: ") {
			t.Errorf("ParseConfig(%q) error %q does not say what it is about", tc.src, err)
		}
	}
}

func TestValidate(t *testing.T) {
	c := DefaultConfig()
	c.FailureBurst.Threshold = 0
	c.Rules = []Rule{{Name: "x", Condition: "1 +"}}
	err := c.Validate()
	var pe *Error
	if !errors.As(err, &pe) || len(pe.Problems) != 2 {
		t.Fatalf("Validate() = %v, want two problems", err)
	}
	if p := pe.Problems[0]; p.Path != "detectors.failure_burst.threshold" || p.Line != 0 {
		t.Errorf("problem = %+v, want one at detectors.failure_burst.threshold without a line", p)
	}
	if _, err := New(c); err == nil {
		t.Errorf("New(invalid) = nil error")
	}
	// A disabled detector's parameters do not matter.
	c = DefaultConfig()
	c.FailureBurst = FailureBurstConfig{}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate(disabled failure_burst) = %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"0", 0, true},
		{"d", 0, false},
		{"-1d", 0, false},
		{"1d-1h", 0, false},
		{"99999999d", 0, false},
		{"1.5d", 0, false},
	} {
		got, err := parseDuration(tc.s)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok %v", tc.s, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(exampleConfig)
	for _, tc := range configErrors {
		f.Add(tc.src)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		cfg, err := ParseConfig([]byte(doc))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("ParseConfig(%q) = %v, want an *Error with problems", doc, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig(%q) accepted a configuration that Validate refuses: %v", doc, err)
		}
		e, err := New(cfg)
		if err != nil {
			t.Fatalf("New(ParseConfig(%q)) = %v", doc, err)
		}
		e.Observe(0, mk(0, "auth.login", "alice", failed, ip("192.0.2.1"), src("sso")))
		if _, err := e.Snapshot(); err != nil {
			t.Fatalf("Snapshot() = %v", err)
		}
	})
}

func TestFollowUp(t *testing.T) {
	c, err := ParseConfig([]byte("follow_up:\n  default: 3d\n  failure-burst: 12h\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		rule string
		want time.Duration
	}{{"failure-burst", 12 * time.Hour}, {"mass-delete", 72 * time.Hour}} {
		if got := c.FollowUpFor(tt.rule, time.Hour); got != tt.want {
			t.Errorf("FollowUpFor(%q) = %v, want %v", tt.rule, got, tt.want)
		}
	}
	if got := DefaultConfig().FollowUpFor("x", time.Hour); got != time.Hour {
		t.Errorf("FollowUpFor without a setting = %v, want the fallback", got)
	}
	for _, bad := range []string{"follow_up: 3d\n", "follow_up:\n  default: 10s\n", "follow_up:\n  default: soon\n"} {
		if _, err := ParseConfig([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("ParseConfig(%q) = %v, want an error with its line", bad, err)
		}
	}
}
