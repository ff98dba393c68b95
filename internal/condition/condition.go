// Package condition compiles and evaluates the CEL conditions that capture
// policies and analysis rules write over an event, so that one expression
// means the same in both places. The variable "event" is typed: its fields
// are id, time (timestamp), type, category, action, outcome,
// actor{id,type,ip,user_agent}, resource{type,id}, project, environment,
// source, message, trace_id, subject and data (a map of any values; JSON
// numbers become int when whole and in range, double otherwise), so a
// misspelt field is refused when the condition is compiled.
package condition

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"

	"github.com/a24ba333/indelible/event"
)

// MaxCost bounds the work of one evaluation of one condition, in
// CEL cost units (about one per value visited or compared). An evaluation
// that exceeds it stops with an error, so that a pathological expression
// over a large event cannot stall ingestion or analysis (a capture policy
// then captures the event in full; an analysis rule does not match it). A
// condition whose cost, as CEL estimates it when it is compiled, stays
// within the bound for any event a client can send runs without counting
// its cost, which would take longer than evaluating it.
const MaxCost = 100_000

// maxConditionLen is the longest accepted condition, in characters.
const maxConditionLen = 4096

// The CEL object types of a condition's "event" variable. They exist only
// for type checking and field access: conditions cannot create them.
var (
	eventType    = types.NewObjectType("indelible.Event")
	actorType    = types.NewObjectType("indelible.Actor")
	resourceType = types.NewObjectType("indelible.Resource")
)

// Env returns the environment every condition is compiled in. It is
// built once and never changed afterwards.
var Env = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.CustomTypeProvider(celTypes),
		cel.CustomTypeAdapter(celTypes),
		cel.Variable("event", eventType),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.ParserExpressionSizeLimit(maxConditionLen),
	)
})

// Compile compiles and checks a condition. On failure it
// returns one message per problem, each with the problem's location in
// the expression.
func Compile(src string) (cel.Program, []string) {
	env, err := Env()
	if err != nil {
		return nil, []string{"condition environment: " + err.Error()}
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msg := strings.TrimSuffix(e.Message, " (in container '')")
			msgs = append(msgs, fmt.Sprintf("%s (at %d:%d of the expression)",
				msg, e.Location.Line(), e.Location.Column()+1))
		}
		if len(msgs) == 0 {
			msgs = append(msgs, iss.Err().Error())
		}
		return nil, msgs
	}
	// The object types exist to read the event; creating one would
	// fail at run time, so it is refused here.
	native := ast.NativeRep()
	if objs := celast.MatchDescendants(celast.NavigateAST(native), celast.KindMatcher(celast.StructKind)); len(objs) > 0 {
		loc := native.SourceInfo().GetStartLocation(objs[0].ID())
		return nil, []string{fmt.Sprintf("conditions cannot create objects (at %d:%d of the expression)", loc.Line(), loc.Column()+1)}
	}
	if t := ast.OutputType(); !t.IsExactType(types.BoolType) {
		hint := ""
		if t.IsExactType(types.DynType) {
			hint = ` (compare it, like "event.data.flag == true")`
		}
		return nil, []string{fmt.Sprintf("must be a bool expression, not %s%s", t, hint)}
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if !cheap(env, ast) {
		opts = append(opts, cel.CostLimit(MaxCost))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, []string{err.Error()}
	}
	return prg, nil
}

// maxValueSize bounds the size of any string, list or map in an event,
// as CEL's size() counts it: a client's event is at most 64 KiB of JSON.
// (An adapter may build a larger event; the cost of a condition proven
// cheap then grows with the event, not beyond what the event's size
// implies.)
var maxValueSize = uint64(event.DefaultLimits().MaxBytes)

// cheap reports whether a condition is proven, before it runs, to cost
// at most MaxCost on any event. Such a condition runs without
// tracking its cost, which would take more time than evaluating it;
// every other one is stopped at run time when it exceeds the limit.
func cheap(env *cel.Env, ast *cel.Ast) bool {
	est, err := env.EstimateCost(ast, sizeEstimator{})
	return err == nil && est.Max <= MaxCost
}

// sizeEstimator bounds the sizes of the values in an event.
type sizeEstimator struct{}

func (sizeEstimator) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: maxValueSize}
}

func (sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// Eval evaluates a compiled condition against ev.
func Eval(prg cel.Program, ev *event.Event) (bool, error) {
	out, _, err := prg.Eval(&activation{ev: object{v: ev, t: eventType}})
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition returned %s, not bool", out.Type().TypeName())
	}
	return bool(b), nil
}

// activation resolves the one variable of a condition. It costs nothing
// to build: fields are read from the event only when the expression
// selects them.
type activation struct {
	ev object // of the event
}

func (a *activation) ResolveName(name string) (any, bool) {
	if name == "event" {
		return &a.ev, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// object is the CEL value of an event, actor or resource. v is an
// *event.Event, *event.Actor or *event.Resource (never nil).
type object struct {
	v any
	t *types.Type
}

func (o *object) ConvertToNative(t reflect.Type) (any, error) {
	if reflect.TypeOf(o.v).AssignableTo(t) {
		return o.v, nil
	}
	return nil, fmt.Errorf("no conversion from %s to %v", o.t.TypeName(), t)
}

func (o *object) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return o.t
	}
	if t.TypeName() == o.t.TypeName() {
		return o
	}
	return types.NewErr("type conversion error from '%s' to '%s'", o.t.TypeName(), t.TypeName())
}

func (o *object) Equal(other ref.Val) ref.Val {
	p, ok := other.(*object)
	if !ok || p.t != o.t {
		return types.False
	}
	switch v := o.v.(type) {
	case *event.Actor:
		return types.Bool(*v == *p.v.(*event.Actor))
	case *event.Resource:
		return types.Bool(*v == *p.v.(*event.Resource))
	}
	return types.Bool(o.v == p.v)
}

func (o *object) Type() ref.Type { return o.t }
func (o *object) Value() any     { return o.v }

// field describes one field of an object type.
type field struct {
	t   *types.Type
	get func(v any) ref.Val
}

func eventField(t *types.Type, get func(e *event.Event) ref.Val) field {
	return field{t, func(v any) ref.Val { return get(v.(*event.Event)) }}
}

func actorField(get func(a *event.Actor) string) field {
	return field{types.StringType, func(v any) ref.Val { return types.String(get(v.(*event.Actor))) }}
}

var noResource = &event.Resource{}

// fields lists the fields of each object type. Unset fields read as their
// zero value, as in protocol buffers: "" for a string, an empty actor,
// resource or data map; has() reports whether they are set.
var fields = map[string]map[string]field{
	eventType.TypeName(): {
		"id":          eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.ID) }),
		"time":        eventField(types.TimestampType, func(e *event.Event) ref.Val { return types.Timestamp{Time: e.Time} }),
		"type":        eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.Type) }),
		"category":    eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.Category()) }),
		"action":      eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.Action()) }),
		"outcome":     eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(outcome(e)) }),
		"actor":       eventField(actorType, func(e *event.Event) ref.Val { return &object{v: &e.Actor, t: actorType} }),
		"resource":    eventField(resourceType, resourceOf),
		"project":     eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.Project) }),
		"environment": eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.Environment) }),
		"source":      eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.Source) }),
		"message":     eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.Message) }),
		"trace_id":    eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.TraceID) }),
		"subject":     eventField(types.StringType, func(e *event.Event) ref.Val { return types.String(e.Subject) }),
		"data":        eventField(types.NewMapType(types.StringType, types.DynType), dataOf),
	},
	actorType.TypeName(): {
		"id":         actorField(func(a *event.Actor) string { return a.ID }),
		"type":       actorField(func(a *event.Actor) string { return a.Type }),
		"ip":         actorField(func(a *event.Actor) string { return a.IP }),
		"user_agent": actorField(func(a *event.Actor) string { return a.UserAgent }),
	},
	resourceType.TypeName(): {
		"type": {types.StringType, func(v any) ref.Val { return types.String(v.(*event.Resource).Type) }},
		"id":   {types.StringType, func(v any) ref.Val { return types.String(v.(*event.Resource).ID) }},
	},
}

func resourceOf(e *event.Event) ref.Val {
	if e.Resource == nil {
		return &object{v: noResource, t: resourceType}
	}
	return &object{v: e.Resource, t: resourceType}
}

// dataOf returns the event's data as a CEL map whose values are
// converted by celTypes only when they are read.
func dataOf(e *event.Event) ref.Val {
	if e.Data == nil {
		return types.NewStringInterfaceMap(celTypes, map[string]any{})
	}
	return types.NewStringInterfaceMap(celTypes, e.Data)
}

// outcome returns the event's outcome, "unknown" when it is empty.
func outcome(e *event.Event) string {
	if e.Outcome == "" {
		return event.OutcomeUnknown
	}
	return e.Outcome
}

// isSet reports whether field name of the object v is set.
func isSet(v any, name string) bool {
	switch v := v.(type) {
	case *event.Event:
		switch name {
		case "id":
			return v.ID != ""
		case "time":
			return !v.Time.IsZero()
		case "type", "category", "action":
			return v.Type != ""
		case "outcome":
			return true
		case "actor":
			return v.Actor != event.Actor{}
		case "resource":
			return v.Resource != nil
		case "project":
			return v.Project != ""
		case "environment":
			return v.Environment != ""
		case "source":
			return v.Source != ""
		case "message":
			return v.Message != ""
		case "trace_id":
			return v.TraceID != ""
		case "subject":
			return v.Subject != ""
		case "data":
			return v.Data != nil
		}
	case *event.Actor:
		switch name {
		case "id":
			return v.ID != ""
		case "type":
			return v.Type != ""
		case "ip":
			return v.IP != ""
		case "user_agent":
			return v.UserAgent != ""
		}
	case *event.Resource:
		switch name {
		case "type":
			return v.Type != ""
		case "id":
			return v.ID != ""
		}
	}
	return false
}

// eventTypes is the CEL type provider and adapter of conditions: the
// standard registry, plus the event's object types and the conversion of
// JSON numbers.
type eventTypes struct {
	reg *types.Registry
}

var errNotObject = errors.New("not an event object")

func (p *eventTypes) EnumValue(name string) ref.Val { return p.reg.EnumValue(name) }

func (p *eventTypes) FindIdent(name string) (ref.Val, bool) { return p.reg.FindIdent(name) }

func (p *eventTypes) FindStructType(name string) (*types.Type, bool) {
	switch name {
	case eventType.TypeName():
		return types.NewTypeTypeWithParam(eventType), true
	case actorType.TypeName():
		return types.NewTypeTypeWithParam(actorType), true
	case resourceType.TypeName():
		return types.NewTypeTypeWithParam(resourceType), true
	}
	return p.reg.FindStructType(name)
}

func (p *eventTypes) FindStructFieldNames(name string) ([]string, bool) {
	if fs, ok := fields[name]; ok {
		names := make([]string, 0, len(fs))
		for n := range fs {
			names = append(names, n)
		}
		return names, true
	}
	return p.reg.FindStructFieldNames(name)
}

func (p *eventTypes) FindStructFieldType(name, fieldName string) (*types.FieldType, bool) {
	fs, ok := fields[name]
	if !ok {
		return p.reg.FindStructFieldType(name, fieldName)
	}
	f, ok := fs[fieldName]
	if !ok {
		return nil, false
	}
	return &types.FieldType{
		Type: f.t,
		IsSet: func(target any) bool {
			return isSet(target, fieldName)
		},
		GetFrom: func(target any) (any, error) {
			switch target.(type) {
			case *event.Event, *event.Actor, *event.Resource:
				return f.get(target), nil
			}
			return nil, errNotObject
		},
	}, true
}

func (p *eventTypes) NewValue(name string, _ map[string]ref.Val) ref.Val {
	return types.NewErr("cannot create a value of type %s", name)
}

// celTypes is the provider and adapter of every condition. It is never
// changed after it is built.
var celTypes = func() *eventTypes {
	reg, err := types.NewRegistry()
	if err != nil {
		panic(err) // the standard registry always builds
	}
	return &eventTypes{reg: reg}
}()

// NativeToValue converts a data value. A json.Number becomes an int when
// it is integral and fits in an int64, otherwise a double, so that
// "event.data.amount > 1000" holds for 1200 and 1200.5 alike.
func (p *eventTypes) NativeToValue(v any) ref.Val {
	switch v := v.(type) {
	case json.Number:
		return number(string(v))
	case map[string]any:
		return types.NewStringInterfaceMap(p, v)
	case []any:
		return types.NewDynamicList(p, v)
	case *event.Event:
		return &object{v: v, t: eventType}
	}
	return p.reg.NativeToValue(v)
}

func number(s string) ref.Val {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return types.Int(i)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return types.NewErr("invalid number %q", s)
	}
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return types.Int(int64(f))
	}
	return types.Double(f)
}
