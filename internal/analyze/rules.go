package analyze

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/condition"
)

// sensitive is the sensitive_action detector. It has no state.
type sensitive struct {
	cfg   SensitiveActionConfig
	globs []glob
}

func newSensitive(c *SensitiveActionConfig) *sensitive {
	s := &sensitive{cfg: *c}
	for _, p := range c.Types {
		s.globs = append(s.globs, newGlob(p))
	}
	return s
}

func (s *sensitive) observe(o *obs, out []Finding) []Finding {
	e := o.en
	for _, g := range s.globs {
		if !g.Match(e.Type) {
			continue
		}
		on := ""
		if r := e.Resource; r != nil && (r.Type != "" || r.ID != "") {
			on = fmt.Sprintf(" on %s %s", r.Type, r.ID)
		}
		return append(out, finding(SensitiveAction, s.cfg.Severity, "actor:"+e.Actor.ID+"|type:"+e.Type, o.t, []uint64{o.index},
			"%s: %s by %s%s (%s)", e.Type, outcomeOf(&e.Event), e.Actor.ID, on, g.String()))
	}
	return out
}

// outcomeOf returns the event's outcome, "unknown" when it is empty.
func outcomeOf(e *event.Event) string {
	if e.Outcome == "" {
		return event.OutcomeUnknown
	}
	return e.Outcome
}

// glob is a type pattern (event.TypePattern).
type glob = event.TypePattern

// newGlob compiles a pattern that checkGlob accepted.
func newGlob(pat string) glob {
	g, _ := event.NewTypePattern(pat)
	return g
}

// checkGlob vets a type pattern, as capture policies do.
func checkGlob(pat string) string {
	if _, err := event.NewTypePattern(pat); err != nil {
		return err.Error()
	}
	return ""
}

// ruleDetector runs one user rule.
type ruleDetector struct {
	r         Rule
	severity  string
	maxGroups int
	prg       cel.Program
	groupBy   fieldGetter // nil without a window
	distinct  fieldGetter // nil unless counting distinct values
	groups    windows     // by the group's value
}

// fieldGetter returns the value of a field of an event.
type fieldGetter func(e *event.Event) (string, bool)

func newRuleDetector(c *Config, r *Rule) (*ruleDetector, error) {
	prg, msgs := condition.Compile(r.Condition)
	if len(msgs) > 0 {
		return nil, fmt.Errorf("rule %q: %s", r.Name, msgs[0]) // Validate reported it already
	}
	d := &ruleDetector{r: *r, severity: r.Severity, maxGroups: c.MaxGroups, prg: prg, groups: windows{}}
	if d.severity == "" {
		d.severity = SeverityMedium
	}
	if w := r.Window; w != nil {
		d.groupBy = getter(d.groupField())
		if w.Distinct != "" {
			d.distinct = getter(w.Distinct)
		}
	}
	return d, nil
}

func (d *ruleDetector) key() string { return "rule:" + d.r.Name }

func (d *ruleDetector) params() string {
	s := "condition=" + strconv.Quote(d.r.Condition)
	if w := d.r.Window; w != nil {
		s += fmt.Sprintf(" duration=%s group_by=%s distinct=%s", w.Duration, d.groupField(), w.Distinct)
	}
	return s
}

func (d *ruleDetector) groupField() string {
	if d.r.Window == nil || d.r.Window.GroupBy == "" {
		return "actor.id"
	}
	return d.r.Window.GroupBy
}

func (d *ruleDetector) observe(o *obs, out []Finding) []Finding {
	if ok, err := condition.Eval(d.prg, &o.en.Event); err != nil || !ok {
		return out // an evaluation error is no match
	}
	w := d.r.Window
	if w == nil {
		return append(out, d.finding("actor.id:"+o.en.Actor.ID, o.t, []uint64{o.index}, ""))
	}
	g, ok := d.groupBy(&o.en.Event)
	if !ok {
		return out
	}
	it := item{T: o.eff, I: o.index}
	if d.distinct != nil {
		if it.V, ok = d.distinct(&o.en.Event); !ok {
			return out
		}
	}
	win := d.groups.get(g, d.maxGroups)
	span := int64(w.Duration)
	win.add(it, span, w.Threshold, d.distinct != nil)
	if len(win.Items) < w.Threshold || win.Fired && o.eff < win.FiredAt+span {
		return out
	}
	win.Fired, win.FiredAt = true, o.eff
	what := fmt.Sprintf("%d matching events", len(win.Items))
	if d.distinct != nil {
		what = fmt.Sprintf("%d distinct %s", len(win.Items), w.Distinct)
	}
	return append(out, d.finding(d.groupField()+":"+g, o.t, win.evidence(), fmt.Sprintf(" (%s within %s)", what, formatDuration(w.Duration))))
}

func (d *ruleDetector) finding(group string, t int64, evidence []uint64, detail string) Finding {
	summary := d.r.Description
	if summary == "" {
		summary = "rule " + d.r.Name + " matched"
	}
	f := finding(UserRule, d.severity, group, t, evidence, "%s%s", summary, detail)
	f.Rule = d.r.Name
	return f
}

func (d *ruleDetector) sweep(before int64) {
	if d.r.Window != nil {
		d.groups.sweep(before, int64(d.r.Window.Duration))
	}
}

func (d *ruleDetector) save() any { return d.groups }

func (d *ruleDetector) load(data []byte) error {
	ws := windows{}
	if err := json.Unmarshal(data, &ws); err != nil {
		return err
	}
	d.groups = ws
	return nil
}

// checkField returns a message if path is not a field a window can use
// (see Window).
func checkField(path string) string {
	if getter(path) == nil {
		return fmt.Sprintf("unknown field %q; use one of id, type, category, action, outcome, actor.id, actor.type, actor.ip, actor.user_agent, resource.type, resource.id, project, environment, source, subject, trace_id or data.<key>", path)
	}
	return ""
}

// getter returns the getter of a field, nil for an unknown field.
func getter(path string) fieldGetter {
	str := func(f func(e *event.Event) string) fieldGetter {
		return func(e *event.Event) (string, bool) {
			s := f(e)
			return s, s != ""
		}
	}
	switch path {
	case "id":
		return str(func(e *event.Event) string { return e.ID })
	case "type":
		return str(func(e *event.Event) string { return e.Type })
	case "category":
		return str(func(e *event.Event) string { return e.Category() })
	case "action":
		return str(func(e *event.Event) string { return e.Action() })
	case "outcome":
		return str(outcomeOf)
	case "actor.id":
		return str(func(e *event.Event) string { return e.Actor.ID })
	case "actor.type":
		return str(func(e *event.Event) string { return e.Actor.Type })
	case "actor.ip":
		return str(func(e *event.Event) string { return e.Actor.IP })
	case "actor.user_agent":
		return str(func(e *event.Event) string { return e.Actor.UserAgent })
	case "resource.type":
		return str(func(e *event.Event) string {
			if e.Resource == nil {
				return ""
			}
			return e.Resource.Type
		})
	case "resource.id":
		return str(func(e *event.Event) string {
			if e.Resource == nil {
				return ""
			}
			return e.Resource.ID
		})
	case "project":
		return str(func(e *event.Event) string { return e.Project })
	case "environment":
		return str(func(e *event.Event) string { return e.Environment })
	case "source":
		return str(func(e *event.Event) string { return e.Source })
	case "subject":
		return str(func(e *event.Event) string { return e.Subject })
	case "trace_id":
		return str(func(e *event.Event) string { return e.TraceID })
	}
	rest, ok := strings.CutPrefix(path, "data.")
	if !ok || rest == "" {
		return nil
	}
	keys := strings.Split(rest, ".")
	for _, k := range keys {
		if k == "" {
			return nil
		}
	}
	return func(e *event.Event) (string, bool) {
		var v any = e.Data
		for _, k := range keys {
			m, ok := v.(map[string]any)
			if !ok {
				return "", false
			}
			if v, ok = m[k]; !ok {
				return "", false
			}
		}
		switch v := v.(type) {
		case string:
			return v, true
		case json.Number:
			return string(v), true
		case bool:
			return strconv.FormatBool(v), true
		case float64:
			return strconv.FormatFloat(v, 'g', -1, 64), true
		case int:
			return strconv.Itoa(v), true
		case int64:
			return strconv.FormatInt(v, 10), true
		}
		return "", false
	}
}
