// Package analyze runs detectors and user rules over the committed
// entries of a log and raises findings: a burst of failures, an actor
// doing far more than usual, something an actor never did, activity at
// unusual hours, a sensitive action, one error for many actors, a source
// gone silent, and what the tenant's own rules describe.
//
// # Event time, log order
//
// An Engine analyses one log's entries in log order, on event time (the
// event's "time"), never on the wall clock, so that importing a month of
// history raises the same findings as living through it. The log's clock
// is the newest event time analysed. An event later than Config.Lateness
// behind that clock is still analysed but counts as if it happened
// Lateness before it: it does not reopen windows and buckets that have
// closed. An event time more than five minutes past the entry's
// received_at is taken as received_at plus five minutes, so that one
// client with a wrong clock cannot move the log's clock years ahead.
//
// Entries of the reserved category "indelible" (Indelible's own
// meta-audit) are seen by sensitive_action only: they neither train
// baselines nor move the clock. Findings recorded in the log (types
// "indelible.finding.*") are ignored, so that findings never feed back
// into analysis.
//
// # Detectors
//
// failure_burst, rate_anomaly, first_seen, off_hours, sensitive_action,
// repeated_errors and silence each have a configuration type
// (FailureBurstConfig, ...) whose documentation says what the detector
// does and what its defaults are. User rules (Rule) are CEL conditions
// over the event, typed as in capture policies, each raising for every
// match or, with a window, per group when a count or a number of
// distinct values reaches a threshold.
//
// Memory is bounded: every detector keeps state for at most
// Config.MaxGroups groups (actors, addresses, sources, error signatures,
// rule groups), forgetting those idle the longest; a window keeps at most
// as many events as its threshold; first_seen keeps at most
// FirstSeenConfig.MaxValues values per actor and dimension; an actor's
// hour-of-week histogram is 168 counters.
//
// # Determinism and resuming
//
// The engine's state depends only on the entries it observed, in order:
// the same entries give the same findings and the same Snapshot bytes.
// A runner feeds entries in batches and stores, in one transaction, the
// findings of a batch, the snapshot taken after it and the index after
// its last entry (Engine.Next); after a crash it restores the engine from
// the snapshot (Restore) and resumes at that index, with no finding
// missed or doubled. Observe ignores an entry below Next, so feeding a
// batch again is harmless.
//
// A snapshot is a JSON object:
//
//	{"v":1,
//	 "clock":{"started":true,"next":N,"timed":true,"watermark":T,"next_sweep":T},
//	 "detectors":{"<key>":{"params":"...","state":{...}}, ...}}
//
// "v" is the format version; a reader refuses any other. "next" is the
// index after the last entry observed; times are Unix nanoseconds of
// event time. A detector's key is its kind (like "failure_burst") or
// "rule:" and a user rule's name; "params" describes the parameters its
// state was learned with (a window's or bucket's length, the dimensions,
// the time zone, a rule's condition and grouping), and "state" is the
// detector's own JSON, encoded from the types of its file. Restore keeps
// a detector's state only if its params are unchanged: changing a
// threshold or a severity loses nothing, changing what state means starts
// that detector afresh. A change of a state's layout that an older reader
// would misread changes "v".
//
// # Configuration
//
// ParseConfig reads one YAML document; every key is optional and takes
// its default (DefaultConfig) when left out; durations are Go durations
// or whole days ("7d"). Every problem is reported with its line, column
// and path. In full, with the defaults:
//
//	timezone: UTC          # of off_hours' hours
//	lateness: 5m
//	max_groups: 100000
//	detectors:
//	  failure_burst:    {enabled: true, severity: high, threshold: 10, window: 5m}
//	  rate_anomaly:     {enabled: true, severity: medium, bucket: 5m, z: 6, min_count: 10, learning_buckets: 288}
//	  first_seen:       {enabled: true, severity: low, learning: 7d, common: 3,
//	                     dimensions: [ip, type, resource_type],   # also resource, source, user_agent
//	                     ipv4_prefix: 24, ipv6_prefix: 48, common_ipv4_prefix: 16, common_ipv6_prefix: 32,
//	                     max_values: 256}
//	  off_hours:        {enabled: true, severity: medium, learning: 7d, min_events: 100, margin: 2,
//	                     min_share: 0.002, cooldown: 1h}
//	  sensitive_action: {enabled: true, severity: high,
//	                     types: ["*.role.grant", "*.role.assign", "*.permission.grant", "config.policy.*",
//	                             "config.audit.*", indelible.key.created, indelible.policy.activated,
//	                             indelible.schema.registered, indelible.subject.forgotten]}
//	  repeated_errors:  {enabled: true, severity: medium, actors: 10, window: 5m}
//	  silence:          {enabled: true, severity: high, factor: 3, min_silence: 15m, min_events: 100,
//	                     learning: 7d, memory: 30d}
//	follow_up:             # how long a resolved finding is watched, by rule name or "default"
//	  default: 7d
//	  failure-burst: 1d
//	rules:
//	  - name: mass-delete                      # a-z, 0-9, "_", "-"; unique
//	    description: many deletions by one actor
//	    severity: high                         # default medium
//	    condition: 'event.action == "delete"'  # CEL, as in capture policies
//	    window: {duration: 10m, group_by: actor.id, distinct: resource.id, threshold: 50}
//
// # Measuring quality
//
// Synthesize generates realistic traffic of one tenant with labelled
// incidents; Score matches an engine's findings to them, and
// QualityReport prints recall per incident kind, precision per detector
// and their confusion table. TestDetectorQuality holds the defaults to
// a recall of 0.9 for every incident kind and a precision of 0.8 for the
// detectors involved.
package analyze
