package event

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Event is what a client records.
type Event struct {
	ID          string         `json:"id,omitempty"`      // idempotency key, unique per log
	Time        time.Time      `json:"time"`              // when it happened; required, UTC after Parse
	Type        string         `json:"type"`              // category[.more].action, required
	Outcome     string         `json:"outcome,omitempty"` // success, failure or unknown
	Actor       Actor          `json:"actor"`             // who did it; Actor.ID is required
	Resource    *Resource      `json:"resource,omitempty"`
	Project     string         `json:"project,omitempty"`
	Environment string         `json:"environment,omitempty"`
	Source      string         `json:"source,omitempty"`
	Message     string         `json:"message,omitempty"`  // human text
	TraceID     string         `json:"trace_id,omitempty"` // distributed-tracing id
	Subject     string         `json:"subject,omitempty"`  // data subject whose personal fields are protected
	Data        map[string]any `json:"data,omitempty"`     // type-specific fields, values as ParseJSON returns them
}

// Actor is who performed the action.
type Actor struct {
	ID        string `json:"id"`
	Type      string `json:"type,omitempty"`
	IP        string `json:"ip,omitempty"` // an IPv4 or IPv6 address
	UserAgent string `json:"user_agent,omitempty"`
}

// Resource is what the action was performed on.
type Resource struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
}

// Outcome values.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeUnknown = "unknown"
)

// ReservedCategory is the category of the events Indelible writes about
// itself. Clients may not use it.
const ReservedCategory = "indelible"

// Category returns the first segment of the event's type.
func (e *Event) Category() string {
	c, _, _ := strings.Cut(e.Type, ".")
	return c
}

// Action returns the last segment of the event's type.
func (e *Event) Action() string {
	return e.Type[strings.LastIndexByte(e.Type, '.')+1:]
}

// Parse parses and validates one event sent by a client. Input that is not
// JSON is reported as a *SyntaxError; a JSON value that is not a valid
// event as a *ValidationError listing every problem. Optional fields may be
// null, which means absent. An absent outcome becomes "unknown", and the
// reserved category is refused (see Validate).
func Parse(data []byte, lim Limits) (*Event, error) {
	return parseOne(data, lim, eventItem)
}

// itemParser parses the event value at p.pos, returning a syntax error, or
// the event and its problems. Parse and ParseBatch use eventItem; the
// tests' reference implementation, built on the generic parser, shares
// parseOne and parseBatch with them so that only the decoding differs.
type itemParser func(p *parser) (*Event, []FieldError, error)

// eventItem decodes an event while parsing it.
func eventItem(p *parser) (*Event, []FieldError, error) { return p.eventValue(false) }

// parseOne is Parse with the event parsed by item.
func parseOne(data []byte, lim Limits, item itemParser) (*Event, error) {
	p, err := startParse(data, lim, true)
	if err != nil {
		return nil, err
	}
	e, errs, err := item(&p)
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return e, nil
}

// decoder maps generic JSON values to typed fields, collecting problems.
type decoder struct {
	errs []FieldError
}

func (d *decoder) add(path, msg string) {
	d.errs = append(d.errs, FieldError{Path: path, Message: msg})
}

// finish runs the field checks in check and returns every problem,
// leaving out those about fields the decoder already reported.
func (d *decoder) finish(check func(*validator)) []FieldError {
	var v validator
	check(&v)
	return d.merge(&v)
}

// merge is finish for checks already run into v. Unlike finish, it lets v
// live on the caller's stack.
func (d *decoder) merge(v *validator) []FieldError {
	decoded := len(d.errs)
	for _, fe := range v.errs {
		if !covered(d.errs[:decoded], fe.Path) {
			d.errs = append(d.errs, fe)
		}
	}
	return d.errs
}

// covered reports whether path is, or is inside, one of the reported paths.
func covered(errs []FieldError, path string) bool {
	for _, fe := range errs {
		if path == fe.Path || strings.HasPrefix(path, fe.Path+"/") {
			return true
		}
	}
	return false
}

func isEventField(k string) bool {
	switch k {
	case "id", "time", "type", "outcome", "actor", "resource", "project",
		"environment", "source", "message", "trace_id", "subject", "data":
		return true
	}
	return false
}

// event decodes the event fields of m into e. known reports which keys of
// m are allowed; the others are reported as unknown.
func (d *decoder) event(m map[string]any, e *Event, known func(string) bool) {
	d.string(m, "id", "", &e.ID)
	if v, ok := m["time"]; ok && v != nil {
		if s, ok := d.asString(v, "", "time"); ok {
			t, err := parseTime(s)
			if err != nil {
				d.add("/time", err.Error())
			}
			e.Time = t
		}
	}
	d.string(m, "type", "", &e.Type)
	d.string(m, "outcome", "", &e.Outcome)
	switch am := d.object(m, "actor", ""); {
	case am != nil:
		d.string(am, "id", "/actor", &e.Actor.ID)
		d.string(am, "type", "/actor", &e.Actor.Type)
		d.string(am, "ip", "/actor", &e.Actor.IP)
		d.string(am, "user_agent", "/actor", &e.Actor.UserAgent)
		d.unknown(am, "/actor", func(k string) bool {
			return k == "id" || k == "type" || k == "ip" || k == "user_agent"
		})
	case m["actor"] == nil:
		d.add("/actor", "is required")
	}
	if rm := d.object(m, "resource", ""); rm != nil {
		e.Resource = new(Resource)
		d.string(rm, "type", "/resource", &e.Resource.Type)
		d.string(rm, "id", "/resource", &e.Resource.ID)
		d.unknown(rm, "/resource", func(k string) bool { return k == "type" || k == "id" })
	}
	d.string(m, "project", "", &e.Project)
	d.string(m, "environment", "", &e.Environment)
	d.string(m, "source", "", &e.Source)
	d.string(m, "message", "", &e.Message)
	d.string(m, "trace_id", "", &e.TraceID)
	d.string(m, "subject", "", &e.Subject)
	if dm := d.object(m, "data", ""); dm != nil {
		e.Data = dm
	}
	d.unknown(m, "", known)
}

// string decodes the optional string member key of m into dst.
func (d *decoder) string(m map[string]any, key, parent string, dst *string) {
	v, ok := m[key]
	if !ok || v == nil {
		return
	}
	if s, ok := d.asString(v, parent, key); ok {
		*dst = s
	}
}

// asString returns v as a string, reporting an error at parent/key if
// it is not one.
func (d *decoder) asString(v any, parent, key string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		d.add(parent+"/"+key, "must be a string, not "+jsonType(v))
	}
	return s, ok
}

// object returns the optional object member key of m, or nil.
func (d *decoder) object(m map[string]any, key, parent string) map[string]any {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		d.add(parent+"/"+key, "must be an object, not "+jsonType(v))
	}
	return o
}

// unknown reports the members of m that known does not allow, in key order.
func (d *decoder) unknown(m map[string]any, parent string, known func(string) bool) {
	var bad []string
	for k := range m {
		if !known(k) {
			bad = append(bad, k)
		}
	}
	slices.Sort(bad)
	for _, k := range bad {
		d.add(parent+"/"+escapePointer(k), "unknown field")
	}
}

// jsonType names the JSON type of a value returned by ParseJSON.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64, int, int64, uint64:
		return "number"
	case []any, []string:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}
