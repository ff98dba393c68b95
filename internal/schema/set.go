package schema

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/a24ba333/indelible/event"
)

// Set is an immutable snapshot of the schemas registered in one log
// (tenant): for each event type, all its versions, numbered 1, 2, ... with
// no gap. The newest version of a type is the one its events are
// validated against; the older ones stay so that the entries they
// validated can still be explained. A nil *Set is an empty set. A Set is
// safe for concurrent use; With returns a new one.
type Set struct {
	versions map[string][]*Schema // per type; [i] is version i+1
	types    []string             // the keys of versions, sorted
}

// NewSet returns the set of the given schemas, in any order. Each type's
// versions must be exactly 1 to n: a duplicate or a missing version is an
// error, as it would make "the newest version" ambiguous.
func NewSet(schemas ...*Schema) (*Set, error) {
	if slices.Contains(schemas, nil) {
		return nil, errors.New("schema set: nil schema")
	}
	sorted := slices.Clone(schemas)
	slices.SortFunc(sorted, func(a, b *Schema) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Version, b.Version))
	})
	s := &Set{versions: make(map[string][]*Schema)}
	for _, sc := range sorted {
		vs := s.versions[sc.Type]
		switch want := len(vs) + 1; {
		case sc.Version < want:
			return nil, fmt.Errorf("schema set: %s is given twice", sc.Ref())
		case sc.Version > want:
			return nil, fmt.Errorf("schema set: %s is given, but not version %d of %s", sc.Ref(), want, sc.Type)
		}
		if len(vs) == 0 {
			s.types = append(s.types, sc.Type)
		}
		s.versions[sc.Type] = append(vs, sc)
	}
	return s, nil
}

// With returns a new set that is s with sc added. sc must be the next
// version of its type: 1 for a new type, else the newest version plus 1.
// It copies the index of s, which takes time proportional to the number
// of types.
func (s *Set) With(sc *Schema) (*Set, error) {
	if sc == nil {
		return nil, errors.New("schema set: nil schema")
	}
	vs := s.Versions(sc.Type)
	if want := len(vs) + 1; sc.Version != want {
		return nil, fmt.Errorf("schema set: cannot add %s: the next version of %s is %d", sc.Ref(), sc.Type, want)
	}
	next := &Set{types: s.Types()}
	if s != nil {
		next.versions = maps.Clone(s.versions)
	}
	if next.versions == nil {
		next.versions = make(map[string][]*Schema)
	}
	if len(vs) == 0 {
		i, _ := slices.BinarySearch(next.types, sc.Type)
		next.types = slices.Insert(next.types, i, sc.Type)
	}
	next.versions[sc.Type] = append(vs, sc)
	return next, nil
}

// Latest returns the newest version of the schema of eventType, which
// events of that type are validated against, or nil if it has none.
func (s *Set) Latest(eventType string) *Schema {
	if s == nil {
		return nil
	}
	vs := s.versions[eventType]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// Versions returns every version of the schema of eventType, oldest
// first (the schema at index i is version i+1), or nil.
func (s *Set) Versions(eventType string) []*Schema {
	if s == nil {
		return nil
	}
	return slices.Clone(s.versions[eventType])
}

// Types returns the event types that have a schema, sorted.
func (s *Set) Types() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.types)
}

// Check validates ev against the newest schema of its type and returns
// that schema and the problems found (see Schema.Validate). known is
// false, and sc and errs nil, when the type has no schema: whether such
// events are accepted is the caller's decision, per log.
func (s *Set) Check(ev *event.Event) (sc *Schema, known bool, errs []event.FieldError) {
	sc = s.Latest(ev.Type)
	if sc == nil {
		return nil, false, nil
	}
	return sc, true, sc.Validate(ev)
}
