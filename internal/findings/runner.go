package findings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/analyze"
	"github.com/a24ba333/indelible/internal/backlog"
	"github.com/a24ba333/indelible/internal/store"
)

// Entries reads the logs (store.Store).
type Entries interface {
	Head(ctx context.Context, log string) (store.Checkpoint, error)
	ReadEntries(ctx context.Context, log string, start, end uint64) ([]store.Entry, error)
	Logs(ctx context.Context) ([]string, error)
}

// States keeps each log's analysis state between runs. Save must be
// durable once it returns, and replace the previous state atomically.
type States interface {
	Load(log string) ([]byte, error) // nil, nil when there is none
	Save(log string, state []byte) error
}

// Recorder appends finding events to log in one commit, durably.
type Recorder func(ctx context.Context, log string, evs []*event.Event) error

// AnalysisConfig returns the analysis configuration of log in force and
// its version hash ("" for the default).
type AnalysisConfig func(ctx context.Context, log string) (*analyze.Config, string, error)

// RunnerConfig configures a Runner. Entries, States and Record are
// required.
type RunnerConfig struct {
	Entries Entries
	States  States
	Record  Recorder
	// Config returns each log's analysis configuration; nil means the
	// default configuration for every log.
	Config AnalysisConfig
	// Batch is the most entries analysed per step (default 2000).
	Batch int
	// Poll is how often the logs are checked for new entries without a
	// Notify (default 500ms).
	Poll time.Duration
	// Settle is the least time between two steps woken by Offer or
	// Notify (default 100ms; negative, none), so that the entries of many
	// small commits are analysed together: each step has a fixed cost
	// (reading heads, saving state) that a step per commit would pay
	// thousands of times a second.
	Settle time.Duration
	// FollowUp is how long, in event time, a resolved finding is watched
	// before its verdict (default 7 days): if its rule raises again for
	// the same group meanwhile, the finding reopens ("recurred");
	// otherwise it is "effective", or "inconclusive" when the group showed
	// no activity at all after the resolution.
	FollowUp time.Duration
	// SaveEvery is how often a log's state is saved while it is being
	// analysed (default 5s), and when Run stops. A crash loses at most
	// that much progress, which is redone: the findings it raises again
	// have the ids of those already recorded.
	SaveEvery time.Duration
	Logger    *slog.Logger
}

// Runner follows every log's committed entries with the detectors and
// records their findings. One Runner per data directory or database.
type Runner struct {
	cfg  RunnerConfig
	wake chan struct{}

	offered *backlog.Backlog // committed entries not analysed yet

	mu   sync.Mutex
	logs map[string]*logRun // guarded by mu
}

// maxOffered bounds the committed entries a Runner keeps from Offer, all
// logs together; past it, the oldest are dropped and read back from the
// store.
const maxOffered = 1 << 17

// logRun is the analysis of one log. Only the Run goroutine touches it.
type logRun struct {
	cursor uint64          // entries below it are analysed
	config string          // hash of the configuration the engine runs
	acfg   *analyze.Config // that configuration
	engine *analyze.Engine
	open   map[string]string // rule + "\x00" + group key -> finding id, while open
	// suppress holds the dismissals with a suppression: rule + "\x00" +
	// group key -> until (event time).
	suppress map[string]time.Time
	// checks are the resolved findings being followed up, by rule +
	// "\x00" + group key.
	checks map[string]*check
	// clock is the newest event time analysed (the log's clock).
	clock   time.Time
	pending uint64    // newest head seen, for the lag
	saved   time.Time // when the state was last saved
	dirty   bool      // analysed past the saved state
}

// saved is a log's analysis state as States keeps it.
type saved struct {
	Cursor uint64            `json:"cursor"`
	Config string            `json:"config"`
	Engine []byte            `json:"engine"`
	Open   map[string]string `json:"open"`
	// Suppress is logRun.suppress.
	Suppress map[string]time.Time `json:"suppress,omitempty"`
	Checks   map[string]*check    `json:"checks,omitempty"`
	Clock    time.Time            `json:"clock,omitzero"`
}

// check is a resolved finding under follow-up.
type check struct {
	Finding  string    `json:"finding"`
	Resolved time.Time `json:"resolved"` // the log's clock when it was resolved
	Due      time.Time `json:"due"`
	// Activity counts the group's events since the resolution (for
	// actor: and ip: groups; the log's events otherwise).
	Activity int `json:"activity"`
}

// NewRunner returns a Runner.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Entries == nil || cfg.States == nil || cfg.Record == nil {
		return nil, errors.New("findings: RunnerConfig.Entries, States and Record are required")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 2000
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Settle == 0 {
		cfg.Settle = 100 * time.Millisecond
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = 5 * time.Second
	}
	if cfg.FollowUp <= 0 {
		cfg.FollowUp = 7 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Config == nil {
		cfg.Config = func(context.Context, string) (*analyze.Config, string, error) {
			return analyze.DefaultConfig(), "", nil
		}
	}
	return &Runner{cfg: cfg, wake: make(chan struct{}, 1), logs: map[string]*logRun{}, offered: backlog.New(maxOffered)}, nil
}

// Offer hands the runner entries just committed to log, at indexes start,
// start+1, ..., and wakes it as Notify does. The runner then analyses
// them from memory instead of reading them back from the store and
// decoding them. It never blocks and keeps references to the entries,
// which must not change (see ledger.Config.OnCommit).
func (r *Runner) Offer(log string, start uint64, entries []*event.Entry) {
	if !analysed(log) {
		return
	}
	r.offered.Offer(log, start, entries)
	r.Notify()
}

// entries returns entries of log from lo on, up to hi (excluded),
// decoded: those offered, or else those read from the store up to where
// the offered ones start (see backlog.Backlog.Take). It may return fewer
// than hi-lo: the next step takes the rest.
func (r *Runner) entries(ctx context.Context, log string, lo, hi uint64) ([]*event.Entry, error) {
	es, to := r.offered.Take(log, lo, hi)
	if es != nil {
		for i, e := range es { // es is Take's own copy
			if e.Category() == event.ReservedCategory {
				// Indelible's own entries are built in Go, with Go
				// types in their data: read them as their bytes give
				// them, as a replay from the store would. They are few.
				var err error
				if es[i], err = e.Decoded(); err != nil {
					return nil, fmt.Errorf("entry %d: %w", lo+uint64(i), err)
				}
			}
		}
		return es, nil
	}
	hi = to
	ses, err := r.cfg.Entries.ReadEntries(ctx, log, lo, hi)
	if err != nil {
		return nil, err
	}
	out := make([]*event.Entry, 0, len(ses))
	for _, se := range ses {
		if want := lo + uint64(len(out)); se.Index != want {
			return nil, fmt.Errorf("entry %d is missing", want)
		}
		e, err := event.DecodeEntry(se.Body)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", se.Index, err)
		}
		out = append(out, e)
	}
	if want := hi - lo; uint64(len(out)) != want {
		return nil, fmt.Errorf("entries %d to %d are missing", lo+uint64(len(out)), hi)
	}
	return out, nil
}

// Notify wakes the runner: new entries were committed.
func (r *Runner) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run analyses until ctx is done.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		if err := r.Step(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("analysis step failed", "err", err)
		}
		stepped := time.Now()
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-r.wake:
			sleepUntil(ctx, stepped.Add(r.cfg.Settle))
		}
		if ctx.Err() != nil {
			if err := r.SaveAll(); err != nil {
				r.cfg.Logger.Warn("saving the analysis state", "err", err)
			}
			return ctx.Err()
		}
	}
}

// sleepUntil returns at t or when ctx is done.
func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// analysed reports whether the detectors follow log: every log but the
// tenants' quarantine logs ("<tenant>.quarantine", apikey.QuarantineSuffix),
// whose invalid events are not activity.
func analysed(log string) bool {
	return !strings.HasSuffix(log, ".quarantine")
}

// Step analyses the new entries of every log, as far as it can go now.
func (r *Runner) Step(ctx context.Context) error {
	logs, err := r.cfg.Entries.Logs(ctx)
	if err != nil {
		return fmt.Errorf("findings: listing logs: %w", err)
	}
	var errs []error
	for _, log := range logs {
		if !analysed(log) {
			continue
		}
		for {
			more, err := r.step(ctx, log)
			if err != nil {
				errs = append(errs, fmt.Errorf("log %q: %w", log, err))
				break
			}
			if !more || ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// run returns the analysis of log, loading its saved state.
func (r *Runner) run(ctx context.Context, log string) (*logRun, error) {
	r.mu.Lock()
	lr := r.logs[log]
	r.mu.Unlock()
	cfg, hash, err := r.cfg.Config(ctx, log)
	if err != nil {
		return nil, err
	}
	if lr != nil && lr.config == hash {
		return lr, nil
	}
	var s saved
	if lr != nil {
		// The configuration changed: carry the learned state over.
		snap, err := lr.engine.Snapshot()
		if err != nil {
			return nil, err
		}
		s = saved{Cursor: lr.cursor, Engine: snap, Open: lr.open, Suppress: lr.suppress, Checks: lr.checks, Clock: lr.clock}
	} else {
		b, err := r.cfg.States.Load(log)
		if err != nil {
			return nil, fmt.Errorf("loading the analysis state: %w", err)
		}
		if b != nil {
			if err := json.Unmarshal(b, &s); err != nil {
				return nil, fmt.Errorf("decoding the analysis state: %w", err)
			}
		}
	}
	var eng *analyze.Engine
	if s.Engine != nil {
		eng, err = analyze.Restore(cfg, s.Engine)
	} else {
		eng, err = analyze.New(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("starting the detectors: %w", err)
	}
	if s.Open == nil {
		s.Open = map[string]string{}
	}
	if s.Suppress == nil {
		s.Suppress = map[string]time.Time{}
	}
	if s.Checks == nil {
		s.Checks = map[string]*check{}
	}
	lr = &logRun{cursor: s.Cursor, config: hash, acfg: cfg, engine: eng, open: s.Open, suppress: s.Suppress, checks: s.Checks, clock: s.Clock}
	r.mu.Lock()
	r.logs[log] = lr
	r.mu.Unlock()
	return lr, nil
}

// step analyses one batch of log and reports whether more is waiting.
func (r *Runner) step(ctx context.Context, log string) (bool, error) {
	lr, err := r.run(ctx, log)
	if err != nil {
		return false, err
	}
	head, err := r.cfg.Entries.Head(ctx, log)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	lr.pending = head.Size
	r.mu.Unlock()
	if lr.cursor >= head.Size {
		return false, nil
	}
	es, err := r.entries(ctx, log, lr.cursor, min(head.Size, lr.cursor+uint64(r.cfg.Batch)))
	if err != nil {
		return false, err
	}
	end := lr.cursor + uint64(len(es))
	var evs []*event.Event
	for i, e := range es {
		index := lr.cursor + uint64(i)
		if strings.HasPrefix(e.Type, Prefix) {
			// Not analysed; but what people did re-arms or silences rules.
			if e.Type != TypeOpened {
				lr.follow(index, e, r.cfg.FollowUp)
			}
			continue
		}
		if e.Category() != event.ReservedCategory {
			for k, c := range lr.checks {
				if groupMatches(k, e) {
					c.Activity++
				}
			}
			// A check falls due only when the log's clock moves.
			if t := analyze.EventTime(e); t.After(lr.clock) {
				lr.clock = t
				evs = append(evs, lr.verdictsDue(log)...)
			}
		}
		for _, f := range lr.engine.Observe(index, e) {
			k := f.Rule + "\x00" + f.GroupKey
			if _, open := lr.open[k]; open {
				continue // deduplicated while open
			}
			if c, ok := lr.checks[k]; ok {
				// The pattern came back after the resolution: the finding
				// reopens, linked to the new evidence.
				evs = append(evs, recurred(log, c, index, f, lr.clock)...)
				lr.open[k] = c.Finding
				delete(lr.checks, k)
				continue
			}
			if until, ok := lr.suppress[k]; ok {
				if f.Time.Before(until) {
					continue // dismissed with a suppression
				}
				delete(lr.suppress, k)
			}
			ev := Event(log, index, f, lr.config)
			ev.Project, ev.Environment = e.Project, e.Environment
			lr.open[k] = ev.ID
			evs = append(evs, ev)
		}
	}
	if len(evs) > 0 {
		if err := r.cfg.Record(ctx, log, evs); err != nil {
			// Forget this batch: the next step redoes it from the saved
			// state, and raises the same findings.
			r.mu.Lock()
			delete(r.logs, log)
			r.mu.Unlock()
			return false, fmt.Errorf("recording %d findings: %w", len(evs), err)
		}
	}
	r.mu.Lock()
	lr.cursor = end
	r.mu.Unlock()
	lr.dirty = true
	if time.Since(lr.saved) >= r.cfg.SaveEvery {
		if err := r.save(log, lr); err != nil {
			return false, err
		}
	}
	return end < head.Size, nil
}

// save saves the state of lr.
func (r *Runner) save(log string, lr *logRun) error {
	snap, err := lr.engine.Snapshot()
	if err != nil {
		return err
	}
	b, err := json.Marshal(saved{Cursor: lr.cursor, Config: lr.config, Engine: snap, Open: lr.open, Suppress: lr.suppress,
		Checks: lr.checks, Clock: lr.clock})
	if err != nil {
		return err
	}
	if err := r.cfg.States.Save(log, b); err != nil {
		return fmt.Errorf("saving the analysis state of log %q: %w", log, err)
	}
	lr.saved, lr.dirty = time.Now(), false
	return nil
}

// SaveAll saves the state of every log analysed since its last save. Run
// calls it when it stops; call it only when Run is not running.
func (r *Runner) SaveAll() error {
	r.mu.Lock()
	logs := make(map[string]*logRun, len(r.logs))
	for k, v := range r.logs {
		logs[k] = v
	}
	r.mu.Unlock()
	var errs []error
	for log, lr := range logs {
		if lr.dirty {
			errs = append(errs, r.save(log, lr))
		}
	}
	return errors.Join(errs...)
}

// Lag returns how many committed entries of log the analysis has not
// seen yet (as of its last look at the log's head).
func (r *Runner) Lag(log string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	lr := r.logs[log]
	if lr == nil || lr.pending < lr.cursor {
		return 0
	}
	return lr.pending - lr.cursor
}

// Lags returns the lag of every log analysed so far.
func (r *Runner) Lags() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]uint64, len(r.logs))
	for log, lr := range r.logs {
		if lr.pending > lr.cursor {
			out[log] = lr.pending - lr.cursor
		} else {
			out[log] = 0
		}
	}
	return out
}

// follow applies a finding transition to the open set: a resolved or
// dismissed finding no longer holds back its rule and group key (a
// dismissal may suppress them until a time), a reopened one does again.
func (lr *logRun) follow(index uint64, e *event.Entry, followUp time.Duration) {
	c, ok := ChangeFromEntry(index, e)
	if !ok {
		return
	}
	k := str(e.Data, "rule") + "\x00" + str(e.Data, "group_key")
	switch c.Type {
	case TypeResolved:
		delete(lr.open, k)
		d := lr.acfg.FollowUpFor(str(e.Data, "rule"), followUp)
		lr.checks[k] = &check{Finding: str(e.Data, "finding"), Resolved: lr.clock, Due: lr.clock.Add(d)}
	case TypeDismissed:
		delete(lr.open, k)
		delete(lr.checks, k)
		if !c.SuppressUntil.IsZero() {
			lr.suppress[k] = c.SuppressUntil
		}
	case TypeReopened:
		lr.open[k] = str(e.Data, "finding")
		delete(lr.suppress, k)
		delete(lr.checks, k)
	}
}

// TypeVerdict records the check-back of a resolved finding.
const TypeVerdict = "indelible.finding.verdict"

// Verdicts.
const (
	VerdictEffective    = "effective"
	VerdictRecurred     = "recurred"
	VerdictInconclusive = "inconclusive"
)

// groupMatches reports whether e belongs to the group of a check key
// (rule + "\x00" + group key): the actor or address it names, or any
// event for other groups.
func groupMatches(k string, e *event.Entry) bool {
	_, g, _ := strings.Cut(k, "\x00")
	switch {
	case strings.HasPrefix(g, "actor:"):
		return strings.HasPrefix(g[len("actor:"):], e.Actor.ID) && (len(g) == len("actor:")+len(e.Actor.ID) || g[len("actor:")+len(e.Actor.ID)] == '|')
	case strings.HasPrefix(g, "ip:"):
		return e.Actor.IP != "" && g[len("ip:"):] == e.Actor.IP
	}
	return true
}

// verdictsDue returns the verdicts of the checks whose follow-up window
// has passed on the log's clock, and ends them.
func (lr *logRun) verdictsDue(log string) []*event.Event {
	var due []string
	for k, c := range lr.checks {
		if !lr.clock.Before(c.Due) {
			due = append(due, k)
		}
	}
	slices.Sort(due) // the same entries in the same order on a replay
	var out []*event.Event
	for _, k := range due {
		c := lr.checks[k]
		v := VerdictEffective
		if c.Activity == 0 {
			v = VerdictInconclusive
		}
		out = append(out, verdictEvent(log, c, v, c.Due, map[string]any{"activity_after": c.Activity}))
		delete(lr.checks, k)
	}
	return out
}

// recurred returns the entries that reopen the finding of c because its
// rule raised f again (at the entry trigger) during the follow-up.
func recurred(log string, c *check, trigger uint64, f analyze.Finding, now time.Time) []*event.Event {
	evidence := make([]any, len(f.Evidence))
	for i, x := range f.Evidence {
		evidence[i] = x
	}
	rule, group := f.Rule, f.GroupKey
	reopen := &event.Event{
		ID: derivedID("reopen", c.Finding, trigger), Time: now, Type: TypeReopened, Outcome: event.OutcomeSuccess,
		Actor:    event.Actor{ID: "indelible/checkback", Type: "system"},
		Resource: &event.Resource{Type: "finding", ID: c.Finding}, Source: "indelible",
		Data: map[string]any{"finding": c.Finding, "status": StatusOpen, "rule": rule, "group_key": group,
			"note": "the pattern recurred after the resolution: " + f.Summary, "evidence": evidence, "trigger": trigger},
	}
	v := verdictEvent(log, c, VerdictRecurred, now, map[string]any{"activity_after": c.Activity, "trigger": trigger, "evidence": evidence})
	return []*event.Event{v, reopen}
}

func verdictEvent(log string, c *check, verdict string, at time.Time, extra map[string]any) *event.Event {
	data := map[string]any{"finding": c.Finding, "verdict": verdict, "resolved_at": c.Resolved.Format(time.RFC3339Nano),
		"follow_up_until": c.Due.Format(time.RFC3339Nano)}
	for k, v := range extra {
		data[k] = v
	}
	outcome := event.OutcomeSuccess
	if verdict == VerdictRecurred {
		outcome = event.OutcomeFailure
	}
	return &event.Event{
		ID: derivedID("verdict", c.Finding, uint64(c.Resolved.UnixNano())), Time: at.UTC(), Type: TypeVerdict, Outcome: outcome,
		Actor:    event.Actor{ID: "indelible/checkback", Type: "system"},
		Resource: &event.Resource{Type: "finding", ID: c.Finding}, Source: "indelible", Data: data,
	}
}

// derivedID is an id that depends only on its inputs, so that a replay
// after a crash records nothing twice.
func derivedID(kind, finding string, n uint64) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", kind, finding, n))
	return kind + "-" + hex.EncodeToString(h[:12])
}
