package index

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
)

// rowOf returns the index row of entry bytes as RowOf does, several times
// faster: for canonical entry bytes (all that the ledger writes) it reads
// just the members the row needs, without validating the rest. Anything
// unexpected sends it to RowOf, which validates everything, so the two
// always agree on what RowOf accepts (FuzzRowOf checks it). Check, which
// must judge the entries, uses RowOf.
func rowOf(index uint64, body []byte) (store.IndexRow, error) {
	if r, ok := scanRow(index, body); ok {
		return r, nil
	}
	return RowOf(index, body)
}

// errScan stops scanRow: the bytes are not what it expects.
var errScan = errors.New("not a canonical entry")

// scanRow reads the row's members from canonical entry bytes: one JSON
// object, no whitespace, strings escaped as RFC 8785 does (only '"', '\'
// and control characters). It returns ok == false for anything else.
func scanRow(index uint64, b []byte) (r store.IndexRow, ok bool) {
	s := entryScanner{b: b}
	r.Index = index
	var when string
	err := s.object(func(key string) error {
		var err error
		switch key {
		case "actor":
			return s.object(func(k string) error {
				if k == "id" {
					r.Actor, err = s.string()
					return err
				}
				return s.skip()
			})
		case "resource":
			return s.object(func(k string) error {
				switch k {
				case "id":
					r.ResourceID, err = s.string()
				case "type":
					r.ResourceType, err = s.string()
				default:
					err = s.skip()
				}
				return err
			})
		case "time":
			when, err = s.string()
		case "type":
			r.Type, err = s.string()
		case "outcome":
			r.Outcome, err = s.string()
		case "project":
			r.Project, err = s.string()
		case "environment":
			r.Environment, err = s.string()
		case "source":
			r.Source, err = s.string()
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil || s.i != len(b) || r.Type == "" || r.Actor == "" || !strings.HasSuffix(when, "Z") {
		return store.IndexRow{}, false
	}
	if r.Time, err = time.Parse(time.RFC3339Nano, when); err != nil {
		return store.IndexRow{}, false
	}
	switch r.Outcome {
	case "":
		r.Outcome = event.OutcomeUnknown
	case event.OutcomeSuccess, event.OutcomeFailure, event.OutcomeUnknown:
	default:
		return store.IndexRow{}, false
	}
	return r, true
}

// entryScanner reads canonical JSON from b[i:].
type entryScanner struct {
	b []byte
	i int
}

func (s *entryScanner) next(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads an object, calling member with each key, positioned at its
// value, which member must consume.
func (s *entryScanner) object(member func(key string) error) error {
	if !s.next('{') {
		return errScan
	}
	if s.next('}') {
		return nil
	}
	for {
		key, err := s.string()
		if err != nil || !s.next(':') {
			return errScan
		}
		if err := member(key); err != nil {
			return err
		}
		if s.next('}') {
			return nil
		}
		if !s.next(',') {
			return errScan
		}
	}
}

// string reads a string. Of the escapes, it accepts those that RFC 8785
// writes (\" \\ \b \f \n \r \t and \u00XX), which strconv.Unquote reads as
// JSON does.
func (s *entryScanner) string() (string, error) {
	if !s.next('"') {
		return "", errScan
	}
	start, escaped := s.i, false
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			if !escaped {
				return string(s.b[start : s.i-1]), nil
			}
			return strconv.Unquote(string(s.b[start-1 : s.i]))
		case c < 0x20:
			return "", errScan
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.b) {
				return "", errScan
			}
			switch s.b[s.i] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if s.i+4 >= len(s.b) || s.b[s.i+1] != '0' || s.b[s.i+2] != '0' {
					return "", errScan
				}
			default:
				return "", errScan
			}
		}
	}
	return "", errScan
}

// skip reads any value.
func (s *entryScanner) skip() error {
	if s.i >= len(s.b) {
		return errScan
	}
	switch s.b[s.i] {
	case '"':
		_, err := s.string()
		return err
	case '{':
		return s.object(func(string) error { return s.skip() })
	case '[':
		s.i++
		if s.next(']') {
			return nil
		}
		for {
			if err := s.skip(); err != nil {
				return err
			}
			if s.next(']') {
				return nil
			}
			if !s.next(',') {
				return errScan
			}
		}
	default: // a number, true, false or null
		start := s.i
		for s.i < len(s.b) && strings.IndexByte(",}]", s.b[s.i]) < 0 {
			s.i++
		}
		if s.i == start {
			return errScan
		}
		return nil
	}
}
