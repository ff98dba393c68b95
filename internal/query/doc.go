// Package query implements the filter language that people type at a
// prompt: `indelible query 'EXPR'`, `indelible tail 'EXPR'`,
// GET /v1/events?q=EXPR and GET /v1/stats?q=EXPR. Parse reads an
// expression, Match evaluates it on an entry, and Compile splits it into
// what the query index can answer (store.IndexQuery) and the rest, which
// is checked entry by entry.
//
// # The language
//
//	outcome:failure type:auth.* -actor.type:service
//	data.amount>1000 AND (project:payments OR project:billing)
//	"disk full" time>=-24h
//
// A term is a field, an operator and a value, or a value alone (free
// text). Terms combine with AND (also implied between adjacent terms), OR,
// NOT (also a "-" just before a term) and parentheses. NOT binds tighter
// than AND, and AND tighter than OR: "a OR b c" is "a OR (b AND c)".
// Keywords are case-insensitive. The empty expression matches every entry.
//
// A value is a bare word of letters, digits and ._-@:/*?+ or a double-quoted
// string in which \" and \\ stand for " and \. In a bare word, * matches any
// run of characters and ? one character (a pattern); in a quoted string they
// are themselves. A pattern matches only a present value, so "project:*"
// selects the entries that name a project.
//
// Fields:
//
//	id, type, category, action, outcome, subject, trace_id, project,
//	environment, source, actor.id, actor.type, actor.ip, actor.user_agent,
//	resource.type, resource.id
//	                  equal the value, or match the pattern, exactly (case
//	                  matters). An absent field is the empty string, except
//	                  outcome, which is then "unknown" as in the query index.
//	                  category and action are the first and last segments of
//	                  type. outcome takes success, failure or unknown.
//	message           contains the value, ignoring case
//	data.PATH         the value at PATH, dot-separated keys into the event's
//	                  data ("data.user.name"; a number selects an array
//	                  element). A term holds if any element of an array there
//	                  satisfies it. Numbers compare numerically (exactly)
//	                  when the value is a JSON number, strings by their
//	                  bytes; true, false and null equal those words; a
//	                  pattern matches a number's JSON text; objects match
//	                  nothing.
//	time              the event time, at millisecond precision (the query
//	                  index's): an RFC 3339 time, or one relative to the
//	                  moment of the query: "now", "-24h", "-7d", "-1h30m"
//	                  (units ms, s, m, h, d, w)
//	index             the entry's index in its log, a whole number
//
// The operators are ":" (equals, or matches the pattern; contains, for
// message), "!=" (the negation of ":", so it also holds where the field is
// absent) and, on data, time and index only, the orderings >, >=, < and <=.
//
// Free text matches an entry whose message, type, actor.id, resource.id or
// any string in data contains it, ignoring case; * and ? work as in a
// pattern. A bare word that looks like a field term ("name:...") is read as
// one, so search for such text in quotes: "http://example.com".
//
// # Limits and errors
//
// An expression is at most MaxLength bytes and nests parentheses and
// negations at most MaxDepth deep, so that evaluating it stays cheap and
// its recursion bounded. Every error is a *SyntaxError that names the column
// (in characters, from 1) where the problem is.
//
// # Compatibility
//
// Expressions are stored by people in scripts, saved searches and rules, so
// an expression that parses keeps its meaning: fields and operators may be
// added, never reinterpreted. Expr.String renders a normalised expression
// that Parse reads back to the same expression.
package query
