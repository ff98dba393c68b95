// Package policy implements capture policies: what a log (tenant) keeps
// of each event, and in how much detail.
//
// # The document
//
// A policy is one YAML document (at most MaxSize bytes):
//
//	settings:
//	  unregistered_types: accept   # accept (default) | reject: events whose type has no schema
//	  invalid:                     # an event that fails validation, per ingest source:
//	    api: reject                #   reject (default for api) | quarantine
//	    kubernetes: quarantine     #   quarantine (default for kubernetes) | reject
//	  approval: single             # single (default) | two-person: a change needs a second admin
//	rules:                         # tried in order; the first that matches decides
//	  - name: drop-health
//	    match: {type: "system.health*"}
//	    level: none
//	  - name: cards
//	    match: {type: "payment.*", condition: "event.data.amount > 1000"}
//	    level: full
//	    redact: ["/data/card_number"]
//	    personal: ["/data/email"]
//	  - name: default
//	    level: metadata
//	overrides:                     # rules tried before the base rules, for some events
//	  - match: {project: payments, environment: production}
//	    rules:
//	      - name: prod-data-changes
//	        match: {category: data}
//	        level: full
//
// Every key is optional but a rule's name and level. A rule's name is 1
// to 64 characters of a-z, 0-9, "_" and "-", starting with a letter or a
// digit, and unique in the document: entries record it, and callers
// count events per rule.
//
// A rule's match holds criteria, all of which must hold; a rule without
// one matches every event, and a rule after it in the same list is
// refused as unreachable. The criteria are category, type, actor: {id,
// type}, resource: {type}, outcome, source, project, environment (each a
// string, or a list of strings of which one must match) and condition.
// type is a pattern in which "*" matches any run of characters and "?"
// one character; the other criteria compare exactly, an empty string
// matching an event without the field (an event without outcome has the
// outcome "unknown").
//
// condition is a CEL expression of type bool over the variable event,
// whose fields are id, time (a timestamp), type, category, action,
// outcome, actor {id, type, ip, user_agent}, resource {type, id},
// project, environment, source, message, trace_id, subject and data (a
// map from string to dyn). A field that the event does not have reads as
// its zero value, and has() tells whether it is set. Numbers in data are
// ints when integral and within int64, doubles otherwise; ints and
// doubles compare with each other. A condition is evaluated only when
// the rule's other criteria hold, with at most MaxConditionCost of work.
// One that fails at run time, such as "event.data.amount > 1000" for an
// event without data.amount, is an error for the caller, which captures
// the event in full: write "has(event.data.amount) && ..." to skip such
// events instead.
//
// level is none (the event is not stored; the caller counts it under the
// rule), metadata (the event without data and message) or full. At level
// full, redact lists JSON Pointers (RFC 6901) under /data/, or /message,
// of values replaced by RedactedMarker; personal lists JSON Pointers
// under /data/ of values replaced by a salted commitment (see
// event.Commit), whose value and salt go to the caller. A pointer that
// does not resolve in an event is skipped; an array element is named by
// its index.
//
// An override's match names projects, environments or both. The rules of
// the overrides that match an event are tried before the base rules: the
// overrides that match both project and environment first, then those
// that match a project, then those that match an environment, each group
// in document order. When no rule matches, the event is captured in
// full, as it is under an empty policy: a policy only ever says what to
// leave out.
//
// Parse refuses, with every problem at once and each at its line and
// column: YAML syntax errors, a second document, anchors and aliases,
// unknown or repeated keys, values of the wrong type (a string that YAML
// would read as something else must be quoted), unknown levels and
// settings, repeated or malformed names, pointers and type patterns that
// can never match, conditions that do not compile or are not of type
// bool, and unreachable rules.
//
// # Versions
//
// A policy's version is the SHA-256 of its bytes as submitted (Hash),
// which every entry captured under it records: reformatting a policy
// makes a new version. Diff shows what changed between two versions.
package policy
