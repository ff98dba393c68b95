// Package respond brings findings to people: it routes each finding to
// alert sinks (a signed webhook, a Slack-compatible incoming webhook, the
// process log) and delivers it with retries, without ever slowing down
// the ingestion that raised it.
//
// # Delivery
//
// A [Dispatcher] keeps one bounded in-memory queue per sink. Enqueue
// never blocks: when a sink's queue is full the alert is dropped for that
// sink, counted and logged. Each sink has its own workers, so a sink that
// is down delays only its own alerts. A failed attempt is retried after an
// exponential backoff with jitter (1s, 2s, 4s, ... up to 5 minutes by
// default) until the sink accepts the alert or MaxTries attempts (8 by
// default) have failed, or a sink reports a failure that retrying cannot
// fix (an HTTP 4xx other than 408 and 429): the alert is then a dead
// letter. Every attempt is reported through DispatcherConfig.OnAttempt,
// so the caller can record the delivery on the finding.
//
// Delivery is at least once: a receiver that answered too late, or whose
// answer was lost, sees the alert again. The finding id identifies it.
// The queues live in memory: alerts still queued or waiting for a retry
// when the process stops are lost (each is logged with its finding id),
// and a finding whose attempts end without a final outcome can be
// enqueued again.
//
// # Webhook requests
//
// A webhook sink sends
//
//	POST <url>
//	Content-Type: application/json
//	User-Agent: indelible
//	X-Indelible-Timestamp: <unix seconds, decimal>
//	X-Indelible-Signature: v1=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>
//
// with a body that is one JSON object, compact, without a trailing
// newline, "<", ">" and "&" not escaped, members in this order:
//
//	{"type":"finding.opened",
//	 "finding":{"id":"finding-…","log":"payments","rule":"failure-burst","detector":"failure_burst",
//	   "severity":"high","group_key":"alice@example.com","status":"open",
//	   "opened_at":"2026-11-23T19:40:00.123Z","summary":"…","index":1234,
//	   "evidence":[{"log":"payments","index":1200}],"config":"sha256:…"},
//	 "log":"payments",
//	 "instance":"audit.example.com",
//	 "project":"payments",            (omitted when empty)
//	 "environment":"production",      (omitted when empty)
//	 "summary":"…",
//	 "link":"https://…",               (omitted when empty)
//	 "sent_at":"2026-11-23T19:40:05Z"}
//
// "finding" is a [findings.Finding] as the findings API returns it
// ("config" omitted when empty). "sent_at" is the time of the
// X-Indelible-Timestamp header in RFC 3339, UTC, whole seconds. Each
// attempt is signed anew, so a retry carries a fresh timestamp. A receiver
// checks the signature over the raw body before parsing it, and refuses
// timestamps further than five minutes from its clock, which defeats
// replays: [VerifySignature] does both. The header may carry several
// comma-separated "v1=" signatures (while a secret is rotated); one
// matching is enough.
//
// Compatibility: the "type" names the meaning of the body; members are
// added, never removed or changed in meaning, within a type, so receivers
// must ignore members they do not know. A change that breaks this gets a
// new type, and a new signature scheme gets a new "v" prefix.
//
// A 2xx answer is success. A 4xx other than 408 and 429 is permanent; any
// other answer, a timeout or a network error is retried. Redirects are
// not followed (they would send the signed alert elsewhere); a 3xx is
// retried like a 5xx. A Retry-After header in seconds lengthens the next
// wait, up to the maximum backoff.
//
// # Configuration
//
// [ParseConfig] reads a YAML document:
//
//	sinks:
//	  - name: soc                      # unique; letters, digits, "_", "-", "."
//	    type: webhook                  # webhook, slack or log
//	    url: https://soc.example.com/hooks/indelible
//	    secret_env: INDELIBLE_SOC_SECRET   # or secret: ... (webhook only, required)
//	    timeout: 10s                   # per attempt; default 10s, at most 5m
//	  - name: oncall
//	    type: slack
//	    url_env: INDELIBLE_SLACK_URL   # or url: ...
//	  - name: log
//	    type: log
//	routes:
//	  - match:                         # every criterion given must match; a list is any of
//	      severity: [high, critical]   # low, medium, high, critical
//	      environment: [production]
//	    sinks: [soc, oncall]
//	  - match: {rule: [mass-delete], project: [payments]}
//	    sinks: [oncall]
//	  - sinks: [log]                   # no match: every finding
//
// An alert goes to the sinks of every route that matches it, each sink
// once. Without routes every alert goes to the log sinks (an implicit
// sink "log" of type log when none is declared). A declared sink that no
// route uses is an error. Since configuration documents may themselves be
// recorded, secrets and Slack URLs (which are credentials) are better
// given as *_env, read from the environment when the sinks are built.
package respond
