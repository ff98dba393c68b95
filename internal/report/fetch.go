package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a24ba333/indelible/internal/findings"
	"github.com/a24ba333/indelible/verify"
)

// builder gathers the answers of one Build.
type builder struct {
	get     Getter
	p       Params
	r       *Report
	impacts []Impact // candidates, measured once all are known
}

// statsAnswer is the answer of GET /v1/stats.
type statsAnswer struct {
	Log     string `json:"log"`
	Buckets []struct {
		Start  *time.Time `json:"start"`
		Counts []Count    `json:"counts"`
	} `json:"buckets"`
	Totals []Count `json:"totals"`
	Total  uint64  `json:"total"`
}

// stats asks GET /v1/stats for [from, to), counted by field, per bucket
// if interval is set.
func (b *builder) stats(ctx context.Context, by, q string, from, to time.Time, interval time.Duration, top int) (*statsAnswer, error) {
	v := url.Values{
		"from": {from.UTC().Format(time.RFC3339)},
		"to":   {to.UTC().Format(time.RFC3339)},
		"by":   {by},
		"top":  {strconv.Itoa(top)},
	}
	if b.p.Log != "" {
		v.Set("log", b.p.Log)
	}
	if interval > 0 {
		v.Set("interval", formatInterval(interval))
	}
	if q != "" {
		v.Set("q", q)
	}
	var a statsAnswer
	if err := b.get(ctx, "/v1/stats", v, &a); err != nil {
		return nil, fmt.Errorf("stats by %s: %w", by, err)
	}
	if b.r.Log == "" {
		b.r.Log = a.Log
	}
	return &a, nil
}

// traffic fills sections 1 to 3.
func (b *builder) traffic(ctx context.Context) error {
	from, to := b.p.From, b.p.To
	cat, err := b.stats(ctx, "category", "", from, to, b.p.Interval, b.p.Top)
	if err != nil {
		return err
	}
	b.r.Volume = volume(cat, b.grid())
	out, err := b.stats(ctx, "outcome", "", from, to, b.p.Interval, 100)
	if err != nil {
		return err
	}
	b.r.FailureRate = failureRates(out, b.grid())
	act, err := b.stats(ctx, "actor", "", from, to, 0, b.p.Top)
	if err != nil {
		return err
	}
	b.r.TopActors = withoutOther(act.Totals)
	res, err := b.stats(ctx, "resource.id", "", from, to, 0, b.p.Top)
	if err != nil {
		return err
	}
	b.r.TopResources = withoutOther(res.Totals)
	return nil
}

// grid returns the bucket starts of the period, aligned on the Unix epoch
// as the stats API aligns them, or nil if there would be too many.
func (b *builder) grid() []time.Time {
	iv := b.p.Interval
	start := time.Unix(0, 0).Add(b.p.From.Sub(time.Unix(0, 0)) / iv * iv).UTC()
	if start.After(b.p.From) {
		start = start.Add(-iv)
	}
	if b.p.To.Sub(start)/iv > 1000 {
		return nil
	}
	var g []time.Time
	for t := start; t.Before(b.p.To); t = t.Add(iv) {
		g = append(g, t)
	}
	return g
}

// withoutOther drops the "(other)" total and empty values.
func withoutOther(cs []Count) []Count {
	out := []Count{}
	for _, c := range cs {
		if c.Value != "(other)" && c.Value != "" {
			out = append(out, c)
		}
	}
	return out
}

// findings fills sections 4 and 5.
func (b *builder) findings(ctx context.Context) error {
	var all []findings.Finding
	v := url.Values{"limit": {strconv.Itoa(pageLimit)}}
	if b.p.Log != "" {
		v.Set("log", b.p.Log)
	}
	for range maxPages {
		var a struct {
			Findings   []findings.Finding `json:"findings"`
			NextCursor string             `json:"next_cursor"`
		}
		if err := b.get(ctx, "/v1/findings", v, &a); err != nil {
			return fmt.Errorf("listing findings: %w", err)
		}
		all = append(all, a.Findings...)
		if a.NextCursor == "" {
			break
		}
		v.Set("cursor", a.NextCursor)
	}
	b.r.Findings = summarizeFindings(all, b.p.From, b.p.To, b.p.Top)
	b.r.Silent = silentSources(all, b.p.From, b.p.To)
	return nil
}

// config fills section 6 and the configuration part of section 7.
func (b *builder) config(ctx context.Context) error {
	v := url.Values{}
	if b.p.Log != "" {
		v.Set("log", b.p.Log)
	}
	var a struct {
		History []Change `json:"history"`
	}
	if err := b.get(ctx, "/v1/config/history", v, &a); err != nil {
		return fmt.Errorf("reading the configuration history: %w", err)
	}
	b.r.Changes = []Change{}
	for _, c := range a.History {
		if !inPeriod(c.Time, b.p.From, b.p.To) {
			continue
		}
		c.Time = c.Time.UTC()
		b.r.Changes = append(b.r.Changes, c)
		if takesEffect(c.Type) {
			b.impacts = append(b.impacts, Impact{Time: c.Time, Index: c.Index, Kind: "config", Type: c.Type, Actor: c.Actor})
		}
	}
	slices.SortFunc(b.r.Changes, func(x, y Change) int { return compareTimeIndex(x.Time, x.Index, y.Time, y.Index) })
	return nil
}

// takesEffect reports whether a configuration entry of type typ changes
// what the log does (a rejection or a proposal does not).
func takesEffect(typ string) bool {
	return !strings.HasSuffix(typ, ".rejected") && !strings.HasSuffix(typ, ".proposed")
}

// changeQuery selects the tenant's own change events.
const changeQuery = "type:config.* OR type:deploy.*"

// events adds the tenant's change events of the period to section 7.
func (b *builder) events(ctx context.Context) error {
	v := url.Values{
		"q":     {changeQuery},
		"from":  {b.p.From.UTC().Format(time.RFC3339)},
		"to":    {b.p.To.UTC().Format(time.RFC3339)},
		"limit": {strconv.Itoa(pageLimit)},
	}
	if b.p.Log != "" {
		v.Set("log", b.p.Log)
	}
	for range maxPages {
		var a struct {
			Events []struct {
				Index uint64 `json:"index"`
				Entry struct {
					Type   string    `json:"type"`
					Time   time.Time `json:"time"`
					Source string    `json:"source"`
					Actor  struct {
						ID string `json:"id"`
					} `json:"actor"`
				} `json:"entry"`
			} `json:"events"`
			NextCursor string `json:"next_cursor"`
		}
		if err := b.get(ctx, "/v1/events", v, &a); err != nil {
			return fmt.Errorf("querying change events: %w", err)
		}
		for _, e := range a.Events {
			en := e.Entry
			if !inPeriod(en.Time, b.p.From, b.p.To) {
				continue
			}
			b.impacts = append(b.impacts, Impact{Time: en.Time.UTC(), Index: e.Index, Kind: "event", Type: en.Type, Actor: en.Actor.ID, Source: en.Source})
		}
		if a.NextCursor == "" {
			break
		}
		v.Set("cursor", a.NextCursor)
	}
	return nil
}

// limitImpacts sorts the candidates oldest first and keeps the newest
// maxImpacts; it returns how many it dropped.
func limitImpacts(im []Impact) ([]Impact, int) {
	slices.SortFunc(im, func(x, y Impact) int { return compareTimeIndex(x.Time, x.Index, y.Time, y.Index) })
	im = slices.CompactFunc(im, func(x, y Impact) bool { return x.Kind == y.Kind && x.Index == y.Index })
	dropped := max(0, len(im)-maxImpacts)
	out := slices.Clone(im[dropped:])
	if out == nil {
		out = []Impact{}
	}
	return out, dropped
}

// measure fills the failure rates around one change.
func (b *builder) measure(ctx context.Context, im *Impact) error {
	q := ""
	if im.Source != "" {
		q = "source:" + quote(im.Source)
	}
	before, err := b.stats(ctx, "outcome", q, im.Time.Add(-impactWindow), im.Time, 0, 100)
	if err != nil {
		return fmt.Errorf("change impact at %d: %w", im.Index, err)
	}
	after, err := b.stats(ctx, "outcome", q, im.Time, im.Time.Add(impactWindow), 0, 100)
	if err != nil {
		return fmt.Errorf("change impact at %d: %w", im.Index, err)
	}
	im.Before, im.After = rateOf(before.Totals), rateOf(after.Totals)
	im.Delta, im.Verdict = compare(im.Before, im.After)
	return nil
}

// quote writes s as a value of the query language.
func quote(s string) string {
	bare := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@/", c)) {
			bare = false
		}
	}
	if bare {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// checkpoint fills section 8.
func (b *builder) checkpoint(ctx context.Context) error {
	if b.r.Log == "" {
		return fmt.Errorf("the log's name is unknown")
	}
	var raw []byte
	if err := b.get(ctx, "/v1/logs/"+url.PathEscape(b.r.Log)+"/checkpoint", nil, &raw); err != nil {
		return fmt.Errorf("reading the checkpoint: %w", err)
	}
	c, err := parseCheckpoint(raw)
	if err != nil {
		return err
	}
	b.r.Checkpoint = c
	return nil
}

// parseCheckpoint reads the body of a C2SP checkpoint note (the text
// before the blank line) with verify.ParseCheckpoint. It does not check
// the signatures (indelible verify does).
func parseCheckpoint(raw []byte) (*Checkpoint, error) {
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		raw = raw[:i+1]
	}
	c, err := verify.ParseCheckpoint(raw)
	if err != nil {
		return nil, fmt.Errorf("malformed checkpoint: %w", err)
	}
	return &Checkpoint{Origin: c.Origin, Size: c.Size, RootHash: base64.StdEncoding.EncodeToString(c.Root[:])}, nil
}

func inPeriod(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

func compareTimeIndex(t1 time.Time, i1 uint64, t2 time.Time, i2 uint64) int {
	if c := t1.Compare(t2); c != 0 {
		return c
	}
	switch {
	case i1 < i2:
		return -1
	case i1 > i2:
		return 1
	}
	return 0
}
