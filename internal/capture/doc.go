// Package capture decides, per log (tenant), what of an ingested event is
// stored: it validates the event against the schema registered for its
// type and applies the log's capture policy (level, redaction, personal
// fields). It also owns how that configuration changes.
//
// The configuration is not kept in a mutable table that could drift from
// the log: every change is an entry of the log it configures, under the
// reserved category "indelible", and the configuration in force is the
// fold of those entries in log order (State.Apply). A server therefore
// rebuilds it from the log at start, an auditor can replay it from the
// entries alone, and nobody can change what is captured without leaving a
// signed, tamper-evident record.
//
// The entries (all with source "indelible"; data members listed):
//
//	indelible.schema.registered  event_type, version, hash, previous_hash, source, diff[, proposal]
//	indelible.schema.proposed    proposal, event_type, hash, previous_hash, source, diff
//	indelible.schema.approved    proposal, event_type, hash
//	indelible.schema.rejected    event_type, hash, errors
//	indelible.policy.activated   hash, previous_hash, source, diff[, proposal]
//	indelible.policy.proposed    proposal, hash, previous_hash, source, diff
//	indelible.policy.approved    proposal, hash
//	indelible.policy.rejected    hash, errors
//	indelible.policy.fallback    policy, error, count, ids
//
// "source" is the submitted document as text (a schema in canonical JSON,
// a policy as the YAML submitted) and "hash" its "sha256:<hex>" version
// hash; "previous_hash" is the hash of the version it replaces ("" for
// the first). The actor is the API key (type "api_key") or the local
// operator (type "operator") that made the change. Under the two-person
// rule a change is proposed, then approved by another actor, and the
// activation entry follows the approval in the same commit.
//
// A schema's version is its position among the registrations of its type
// in the log (1, 2, ...): the log order decides, so two processes that
// register the same type at once still agree on the numbering when they
// replay the log.
package capture
