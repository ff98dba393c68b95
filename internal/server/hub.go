package server

import "sync"

// Hub tells live streams that a log grew. The ledger calls Notify after
// each durable commit (as its Config.OnCommit); each stream subscribes to
// its log and, when told, reads the new entries from the store at its own
// pace. Sizes are coalesced: a subscriber that has not taken the last size
// yet gets only the largest one, so a slow stream never holds up a commit
// or another stream. Notify takes one lock and visits the subscribers of
// its log; a Hub is safe for concurrent use.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{} // by log; guarded by mu
}

// subscriber is one subscription. Its channel has room for one size,
// which only Notify fills, under Hub.mu.
type subscriber struct {
	ch chan uint64
}

// NewHub returns a Hub with no subscribers. The zero Hub is ready to use
// too.
func NewHub() *Hub {
	return &Hub{subs: make(map[string]map[*subscriber]struct{})}
}

// Notify tells the subscribers of log that it now has size entries. It
// never blocks (beyond a short lock) and is safe for concurrent use.
func (h *Hub) Notify(log string, size uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[log] {
		// Replace a size not taken yet by the larger of the two. Only
		// Notify sends, under h.mu, so after the drain the send has room.
		select {
		case old := <-s.ch:
			size := max(old, size)
			s.ch <- size
		default:
			s.ch <- size
		}
	}
}

// Subscribe returns a channel that receives the size of log after
// commits that Notify reports, the latest size first when several arrive
// between two receives, and a cancel function that ends the subscription
// (the channel is then no longer sent to, and not closed). Cancel may be
// called more than once. Safe for concurrent use.
func (h *Hub) Subscribe(log string) (sizes <-chan uint64, cancel func()) {
	s := &subscriber{ch: make(chan uint64, 1)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[string]map[*subscriber]struct{})
	}
	m := h.subs[log]
	if m == nil {
		m = make(map[*subscriber]struct{})
		h.subs[log] = m
	}
	m[s] = struct{}{}
	h.mu.Unlock()
	return s.ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if m := h.subs[log]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.subs, log)
			}
		}
	}
}

// subscribers returns the number of subscriptions to log.
func (h *Hub) subscribers(log string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[log])
}
