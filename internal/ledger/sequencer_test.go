package ledger

import (
	"testing"
	"time"
)

// TestGather checks how a sequencer without MaxWait gathers a batch: it
// takes what is queued, and waits for more only while less than half of
// the previous commit's items are back, at most as long as that commit
// took.
func TestGather(t *testing.T) {
	req := func(items int) *request { return &request{items: make([]item, items)} }
	newSeq := func(lastN int, lastTook time.Duration) *sequencer {
		return &sequencer{l: &Ledger{cfg: Config{MaxBatch: 100}}, reqs: make(chan *request, 16), lastN: lastN, lastTook: lastTook}
	}
	gather := func(s *sequencer, first *request) (int, time.Duration) {
		start := time.Now()
		n := 0
		for _, r := range s.gather([]*request{first}, len(first.items)) {
			n += len(r.items)
		}
		return n, time.Since(start)
	}

	t.Run("an idle log or a lone client does not wait", func(t *testing.T) {
		for _, lastN := range []int{0, 1, 2} {
			s := newSeq(lastN, time.Hour)
			if n, d := gather(s, req(1)); n != 1 || d > time.Second {
				t.Errorf("after a commit of %d: gathered %d in %v, want 1 at once", lastN, n, d)
			}
		}
	})
	t.Run("queued requests are taken", func(t *testing.T) {
		s := newSeq(0, 0)
		s.reqs <- req(3)
		s.reqs <- req(4)
		if n, _ := gather(s, req(1)); n != 8 {
			t.Errorf("gathered %d, want 8", n)
		}
	})
	t.Run("waits until half of the previous commit is back", func(t *testing.T) {
		s := newSeq(10, time.Hour) // the wait is bounded by maxRegroupWait
		go func() {
			time.Sleep(time.Millisecond)
			for i := 0; i < 4; i++ {
				s.reqs <- req(1)
			}
		}()
		n, d := gather(s, req(1))
		if n != 5 {
			t.Errorf("gathered %d, want 5 (half of 10)", n)
		}
		if d >= maxRegroupWait+time.Second {
			t.Errorf("waited %v", d)
		}
		if len(s.reqs) != 0 {
			t.Errorf("%d requests left queued", len(s.reqs))
		}
	})
	t.Run("waits at most as long as the previous commit took", func(t *testing.T) {
		s := newSeq(10, 2*time.Millisecond)
		n, d := gather(s, req(1))
		if n != 1 || d < 2*time.Millisecond {
			t.Errorf("gathered %d in %v, want 1 after 2ms", n, d)
		}
	})
	t.Run("MaxBatch ends the gathering", func(t *testing.T) {
		s := newSeq(0, 0)
		s.l.cfg.MaxBatch = 5
		for i := 0; i < 4; i++ {
			s.reqs <- req(2)
		}
		if n, _ := gather(s, req(2)); n != 6 || len(s.reqs) != 2 {
			t.Errorf("gathered %d, left %d queued; want 6 and 2", n, len(s.reqs))
		}
	})
	t.Run("MaxWait waits for a full batch", func(t *testing.T) {
		s := newSeq(0, 0)
		s.l.cfg.MaxWait = 20 * time.Millisecond
		n, d := gather(s, req(1))
		if n != 1 || d < 20*time.Millisecond {
			t.Errorf("gathered %d in %v, want 1 after 20ms", n, d)
		}
	})
}
