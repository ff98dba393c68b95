package backlog

import (
	"fmt"
	"testing"

	"github.com/a24ba333/indelible/event"
)

func entries(log string, start uint64, n int) []*event.Entry {
	es := make([]*event.Entry, n)
	for i := range es {
		es[i] = &event.Entry{Log: log, Event: event.Event{ID: fmt.Sprint(start + uint64(i))}}
	}
	return es
}

func ids(es []*event.Entry, _ uint64) string {
	s := ""
	for _, e := range es {
		s += e.ID + " "
	}
	return s
}

func TestBacklog(t *testing.T) {
	b := New(10)
	b.Offer("a", 0, entries("a", 0, 4))
	b.Offer("a", 4, entries("a", 4, 2))
	if got := ids(b.Take("a", 0, 3)); got != "0 1 2 " {
		t.Errorf("Take(0, 3) = %q", got)
	}
	if got := ids(b.Take("a", 2, 4)); got != "" {
		t.Errorf("Take(2, 4) after 2 was taken = %q, want nothing", got)
	}
	// Past what was offered: what is held, the rest from the store.
	if got := ids(b.Take("a", 3, 7)); got != "3 4 5 " {
		t.Errorf("Take(3, 7) past what was offered = %q, want 3 4 5", got)
	}
	if b.Len() != 0 {
		t.Errorf("Len = %d after taking everything", b.Len())
	}
	if got := ids(b.Take("a", 6, 7)); got != "" {
		t.Errorf("Take(6, 7) of nothing held = %q", got)
	}
	// A gap (another writer) replaces the run.
	b.Offer("a", 6, entries("a", 6, 2))
	b.Offer("a", 10, entries("a", 10, 2))
	if got := ids(b.Take("a", 6, 8)); got != "" {
		t.Errorf("Take(6, 8) after a gap = %q, want nothing", got)
	}
	if es, to := b.Take("a", 6, 12); es != nil || to != 10 {
		t.Errorf("Take(6, 12) after a gap = %d entries, read to %d; want the store up to 10, the first held", len(es), to)
	}
	if got := ids(b.Take("a", 10, 12)); got != "10 11 " || b.Len() != 0 {
		t.Errorf("Take(10, 12) = %q, Len %d", got, b.Len())
	}
	if es, to := b.Take("a", 12, 20); es != nil || to != 20 {
		t.Errorf("Take(12, 20) with nothing held = %d entries, read to %d; want the store up to 20", len(es), to)
	}
	if es, to := b.Take("z", 0, 5); es != nil || to != 5 {
		t.Errorf("Take of a log never offered = %d entries, read to %d; want the store up to 5", len(es), to)
	}
}

// TestBacklogBound: the bound holds across logs; the log being offered
// loses its oldest entries, which its reader then reads from the store.
func TestBacklogBound(t *testing.T) {
	b := New(10)
	b.Offer("a", 0, entries("a", 0, 8))
	b.Offer("b", 0, entries("b", 0, 5))
	if b.Len() != 10 {
		t.Errorf("Len = %d, want the bound 10", b.Len())
	}
	if got := ids(b.Take("b", 0, 3)); got != "" {
		t.Errorf("b's dropped entries were returned: %q", got)
	}
	if got := ids(b.Take("b", 3, 5)); got != "3 4 " {
		t.Errorf("Take(b, 3, 5) = %q", got)
	}
	if got := ids(b.Take("a", 0, 8)); got != "0 1 2 3 4 5 6 7 " {
		t.Errorf("Take(a, 0, 8) = %q", got)
	}
	// One offer larger than the bound keeps only its newest entries.
	b.Offer("c", 0, entries("c", 0, 25))
	if got := ids(b.Take("c", 15, 25)); got != "15 16 17 18 19 20 21 22 23 24 " || b.Len() != 0 {
		t.Errorf("Take(c, 15, 25) = %q, Len %d", got, b.Len())
	}
}
