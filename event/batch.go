package event

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrEmptyBatch is returned for a batch that holds no event.
var ErrEmptyBatch = errors.New("the batch holds no event")

// MaxItemErrors is the number of bad items after which ReadNDJSON stops.
const MaxItemErrors = 100

// ItemError lists the problems of one event of a batch.
type ItemError struct {
	Item   int          // 0-based position of the event in the batch
	Line   int          // 1-based line where the event starts, 0 if unknown
	Errors []FieldError // paths are relative to the event
}

func (e ItemError) String() string {
	if e.Line > 0 {
		return fmt.Sprintf("item %d (line %d): %s", e.Item, e.Line, joinFieldErrors(e.Errors))
	}
	return fmt.Sprintf("item %d: %s", e.Item, joinFieldErrors(e.Errors))
}

// BatchError lists the bad events of a batch, in input order.
type BatchError struct {
	Items []ItemError
	// Truncated is set when reading stopped after MaxItemErrors bad
	// events, so that later events were not checked.
	Truncated bool
}

func (e *BatchError) Error() string {
	var b strings.Builder
	if len(e.Items) == 1 {
		b.WriteString("1 invalid event: ")
	} else {
		fmt.Fprintf(&b, "%d invalid events: ", len(e.Items))
	}
	for i, it := range e.Items {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(it.String())
	}
	if e.Truncated {
		b.WriteString("; stopped checking after these")
	}
	return b.String()
}

// itemErrors turns an error from Parse into the problems of one item.
func itemErrors(err error) []FieldError {
	var se *SyntaxError
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		return ve.Errors
	case errors.As(err, &se):
		return []FieldError{{Path: se.Path, Message: fmt.Sprintf("column %d: %s", se.Column, se.Msg)}}
	}
	return []FieldError{{Message: err.Error()}}
}

// ReadNDJSON reads newline-delimited JSON events from r, one per line,
// and calls fn with the 1-based line number of each valid event. Blank
// lines are skipped and a line may end in "\r\n". lim applies to each
// line; a longer line is reported without being held in memory whole.
//
// Bad lines do not stop the reading: ReadNDJSON returns a *BatchError
// listing every bad line (up to MaxItemErrors), so that a caller importing
// all or nothing should keep the events passed to fn only if the result
// is nil. An input without events gives ErrEmptyBatch. If fn returns an
// error, ReadNDJSON stops and returns it; errors reading r are wrapped.
func ReadNDJSON(r io.Reader, lim Limits, fn func(line int, ev *Event) error) error {
	lim = lim.orDefault()
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		bad   BatchError
		buf   []byte
		line  int
		items int
	)
	for {
		// Read one line, keeping at most MaxBytes+2 bytes of it ("\r\n").
		buf = buf[:0]
		tooLong, eof := false, false
		for {
			chunk, err := br.ReadSlice('\n')
			if !tooLong {
				if len(buf)+len(chunk) > lim.MaxBytes+2 {
					tooLong = true
				} else {
					buf = append(buf, chunk...)
				}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				eof = true
			} else if err != nil {
				return fmt.Errorf("reading line %d: %w", line+1, err)
			}
			break
		}
		if eof && len(buf) == 0 && !tooLong {
			break
		}
		line++
		text := trimLineEnd(buf)
		if !tooLong && len(text) > lim.MaxBytes {
			tooLong = true
		}
		if !tooLong && isBlank(text) {
			if eof {
				break
			}
			continue
		}
		item := items
		items++
		var errs []FieldError
		if tooLong {
			errs = []FieldError{{Message: fmt.Sprintf("line is longer than %d bytes", lim.MaxBytes)}}
		} else if ev, err := Parse(text, lim); err != nil {
			errs = itemErrors(err)
		} else if err := fn(line, ev); err != nil {
			return err
		}
		if errs != nil {
			bad.Items = append(bad.Items, ItemError{Item: item, Line: line, Errors: errs})
			if len(bad.Items) >= MaxItemErrors {
				bad.Truncated = !eof
				return &bad
			}
		}
		if eof {
			break
		}
	}
	if len(bad.Items) > 0 {
		return &bad
	}
	if items == 0 {
		return ErrEmptyBatch
	}
	return nil
}

func trimLineEnd(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// ParseBatch parses a single event object or a JSON array of event
// objects. lim applies to each event (MaxBytes to the event's own text,
// MaxDepth counted from the event), not to the whole batch, which the
// caller bounds. Input that is not JSON is a *SyntaxError whose path
// starts with the item's index; invalid events are reported together in a
// *BatchError; an empty array is ErrEmptyBatch.
func ParseBatch(data []byte, lim Limits) ([]*Event, error) {
	return parseBatch(data, lim, eventItem)
}

// parseBatch is ParseBatch with each event parsed by item.
func parseBatch(data []byte, lim Limits, item itemParser) ([]*Event, error) {
	lim = lim.orDefault()
	p := newParser(data, lim.MaxDepth)
	p.canon = true
	p.skipSpace()
	if p.pos == len(data) {
		return nil, ErrEmptyBatch
	}
	if data[p.pos] != '[' {
		start := p.pos
		ev, err := parseOne(data, lim, item)
		var ve *ValidationError
		if errors.As(err, &ve) {
			line, _ := lineCol(data, start)
			return nil, &BatchError{Items: []ItemError{{Item: 0, Line: line, Errors: ve.Errors}}}
		}
		if err != nil {
			return nil, err
		}
		return []*Event{ev}, nil
	}

	p.maxDepth++ // the array
	p.depth, p.base = 1, 1
	p.pos++
	var (
		events   []*Event
		bad      BatchError
		lastPos  int
		lastLine = 1
	)
	p.skipSpace()
	if p.pos < len(data) && data[p.pos] == ']' {
		p.pos++
	} else {
		for {
			n := len(events) + len(bad.Items)
			start := p.pos
			ev, errs, err := item(&p)
			if err != nil {
				return nil, within(err, strconv.Itoa(n))
			}
			if p.pos-start > lim.MaxBytes {
				errs = []FieldError{{Message: fmt.Sprintf("event is longer than %d bytes", lim.MaxBytes)}}
			} else if errs == nil {
				events = append(events, ev)
			}
			if errs != nil {
				// Positions grow, so count newlines only since the last bad item.
				for _, c := range data[lastPos:start] {
					if c == '\n' {
						lastLine++
					}
				}
				lastPos = start
				bad.Items = append(bad.Items, ItemError{Item: n, Line: lastLine, Errors: errs})
			}
			p.skipSpace()
			if p.pos < len(data) && data[p.pos] == ',' {
				p.pos++
				p.skipSpace()
				continue
			}
			if p.pos < len(data) && data[p.pos] == ']' {
				p.pos++
				break
			}
			return nil, p.errorf("unexpected %s, want ',' or ']'", p.describe())
		}
	}
	p.skipSpace()
	if p.pos < len(data) {
		return nil, p.errorf("unexpected %s after the array of events", p.describe())
	}
	if len(bad.Items) > 0 {
		return nil, &bad
	}
	if len(events) == 0 {
		return nil, ErrEmptyBatch
	}
	return events, nil
}
