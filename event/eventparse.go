package event

import (
	"fmt"
	"maps"
	"slices"
)

// This file decodes a client event while parsing it. Parse and ParseBatch
// used to build the generic value of the whole event with parser.value and
// then map it onto an Event (decoder.event); building the maps of the top
// level, the actor and the resource, and boxing every string in an
// interface, was most of the cost of parsing an event. The functions here
// produce the same Event and report the same problems, in the same order,
// as that two-step path, which the tests keep as their reference
// (referenceParse in reference_test.go) and compare against on every
// input they have.
// Only data, whose values are generic anyway, is still parsed by
// parser.value.

// Members of an event, numbered in the order in which decoder.event
// reports their problems.
const (
	memberID = iota
	memberTime
	memberType
	memberOutcome
	memberActor
	memberResource
	memberProject
	memberEnvironment
	memberSource
	memberMessage
	memberTraceID
	memberSubject
	memberData
	numEventMembers
)

// problems holds the decoder's problems with the members of one object
// (the event, its actor or its resource) by member index: decoder.event
// reports them in member order, whatever the order of the members in the
// input.
type problems [numEventMembers][]FieldError

func (ps *problems) add(i int, path, msg string) {
	ps[i] = append(ps[i], FieldError{Path: path, Message: msg})
}

// list returns the problems in member order followed by the unknown
// members of the object at parent, as decoder.event reports them.
func (ps *problems) list(parent string, unknown []string) []FieldError {
	var errs []FieldError
	for _, fes := range ps {
		errs = append(errs, fes...)
	}
	for _, k := range unknown {
		errs = append(errs, FieldError{Path: parent + "/" + escapePointer(k), Message: "unknown field"})
	}
	return errs
}

// eventValue parses the value at p.pos as an event, as parser.value
// followed by decoder.event and the validator would: a syntax error is
// returned as such, the problems of a well-formed value that is not a
// valid event as a list, nil if there are none.
func (p *parser) eventValue(allowReserved bool) (*Event, []FieldError, error) {
	if p.at('{') {
		return p.event(allowReserved)
	}
	v, err := p.value()
	if err != nil {
		return nil, nil, err
	}
	return nil, []FieldError{{Path: "", Message: "an event must be a JSON object, not " + jsonType(v)}}, nil
}

// event parses the event object at p.pos straight into an Event. See
// eventValue.
func (p *parser) event(allowReserved bool) (*Event, []FieldError, error) {
	names := []string{"id", "time", "type", "outcome", "actor", "resource", "project",
		"environment", "source", "message", "trace_id", "subject", "data"}
	e := new(Event)
	var ps problems
	actor := false // whether actor is an object
	unknown, err := p.fields(names, func(i int) error {
		switch i {
		case memberTime:
			s, typ, err := p.stringValue()
			switch {
			case err != nil:
				return err
			case typ == "string":
				t, err := parseTime(s)
				if err != nil {
					ps.add(i, "/time", err.Error())
				}
				e.Time = t
			case typ != "null":
				ps.add(i, "/time", "must be a string, not "+typ)
			}
			return nil
		case memberActor:
			if !p.at('{') {
				return p.notAnObject(&ps, i, "/actor")
			}
			actor = true
			errs, err := p.stringObject("/actor", []string{"id", "type", "ip", "user_agent"},
				[]*string{&e.Actor.ID, &e.Actor.Type, &e.Actor.IP, &e.Actor.UserAgent})
			ps[i] = errs
			return err
		case memberResource:
			if !p.at('{') {
				return p.notAnObject(&ps, i, "/resource")
			}
			e.Resource = new(Resource)
			errs, err := p.stringObject("/resource", []string{"type", "id"},
				[]*string{&e.Resource.Type, &e.Resource.ID})
			ps[i] = errs
			return err
		case memberData:
			if !p.at('{') {
				return p.notAnObject(&ps, i, "/data")
			}
			v, err := p.object()
			if err != nil {
				return err
			}
			e.Data = v.(map[string]any)
			return nil
		}
		return p.stringField(&ps, i, "", names[i], e.stringMember(i))
	})
	if err != nil {
		return nil, nil, err
	}
	if !actor && ps[memberActor] == nil {
		ps.add(memberActor, "/actor", "is required")
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeUnknown
	}
	d := decoder{errs: ps.list("", unknown)}
	var v validator
	v.event(e, allowReserved, false)
	return e, d.merge(&v), nil
}

// stringMember returns the string field of e for member i.
func (e *Event) stringMember(i int) *string {
	switch i {
	case memberID:
		return &e.ID
	case memberType:
		return &e.Type
	case memberOutcome:
		return &e.Outcome
	case memberProject:
		return &e.Project
	case memberEnvironment:
		return &e.Environment
	case memberSource:
		return &e.Source
	case memberMessage:
		return &e.Message
	case memberTraceID:
		return &e.TraceID
	case memberSubject:
		return &e.Subject
	}
	panic(fmt.Sprintf("event member %d is not a string", i))
}

// stringObject parses an object whose members are all optional strings,
// such as an actor, storing member names[i] in *dst[i]. It returns the
// decoder's problems with it, whose paths start with parent.
func (p *parser) stringObject(parent string, names []string, dst []*string) ([]FieldError, error) {
	var ps problems
	unknown, err := p.fields(names, func(i int) error {
		return p.stringField(&ps, i, parent, names[i], dst[i])
	})
	if err != nil {
		return nil, err
	}
	return ps.list(parent, unknown), nil
}

// at reports whether the next byte is c.
func (p *parser) at(c byte) bool {
	return p.pos < len(p.data) && p.data[p.pos] == c
}

// stringValue parses a value meant for a string field. It returns the
// string and "string" if it is one, else its JSON type, which is all the
// decoder needs of another value.
func (p *parser) stringValue() (s, typ string, err error) {
	if p.at('"') {
		if s, err = p.string(); err != nil {
			return "", "", err
		}
		return s, "string", nil
	}
	v, err := p.value()
	if err != nil {
		return "", "", err
	}
	return "", jsonType(v), nil
}

// stringField parses the value of optional string member i, named name,
// of the object at parent into dst, as decoder.string does: null leaves
// dst alone and another type is a problem. The path is built only then,
// not to cost an allocation per member.
func (p *parser) stringField(ps *problems, i int, parent, name string, dst *string) error {
	s, typ, err := p.stringValue()
	switch {
	case err != nil:
		return err
	case typ == "string":
		*dst = s
	case typ != "null":
		ps.add(i, parent+"/"+name, "must be a string, not "+typ)
	}
	return nil
}

// notAnObject parses the value of optional object member i, which is not
// an object, and reports it at path unless it is null, as decoder.object
// does.
func (p *parser) notAnObject(ps *problems, i int, path string) error {
	v, err := p.value()
	if err != nil {
		return err
	}
	if v != nil {
		ps.add(i, path, "must be an object, not "+jsonType(v))
	}
	return nil
}

// fields parses the object at p.pos as object does (both are members),
// but without building a map: for each member whose key is one of names,
// it calls field with the key's index in names and p at the member's
// value, which field must parse. The values of other members are parsed
// and dropped; fields returns their keys, sorted, for the decoder to
// report. names has at most 32 entries.
func (p *parser) fields(names []string, field func(i int) error) ([]string, error) {
	var (
		seen    uint32              // known members, by index
		unknown map[string]struct{} // other members, rare
		cur     int                 // index in names of the member being parsed, or -1
	)
	err := p.members(func(k string) bool {
		cur = slices.Index(names, k)
		if cur >= 0 {
			dup := seen&(1<<cur) != 0
			seen |= 1 << cur
			return dup
		}
		_, dup := unknown[k]
		if unknown == nil {
			unknown = make(map[string]struct{})
		}
		unknown[k] = struct{}{}
		return dup
	}, func(string) error {
		if cur >= 0 {
			return field(cur)
		}
		_, err := p.value()
		return err
	})
	if err != nil || unknown == nil {
		return nil, err // with no unknown keys, Sorted would allocate even so
	}
	return slices.Sorted(maps.Keys(unknown)), nil
}
