package analyze

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// histCap bounds an actor's hour-of-week histogram: when it holds this
// many events every count is halved, so that it follows changing habits
// (the events of about the last month weigh most) and its counts fit in
// 16 bits.
const histCap = 4096

// offHours is the off_hours detector.
type offHours struct {
	cfg       OffHoursConfig
	loc       *time.Location
	maxGroups int
	actors    map[string]*hours
}

// hours is the hour-of-week histogram of one actor's events.
type hours struct {
	First    int64       `json:"first"` // its first event
	Last     int64       `json:"last"`  // its latest event
	Hist     [168]uint16 `json:"hist"`  // events per hour of the week, from Sunday 00:00
	Total    int         `json:"total"` // the sum of Hist
	Raised   bool        `json:"raised,omitempty"`
	RaisedAt int64       `json:"raised_at,omitempty"` // the time of its latest finding
}

func newOffHours(c *Config, loc *time.Location) *offHours {
	return &offHours{cfg: c.OffHours, loc: loc, maxGroups: c.MaxGroups, actors: map[string]*hours{}}
}

func (h *offHours) key() string { return OffHours }

// params includes the time zone: the histogram counts its hours.
func (h *offHours) params() string { return "timezone=" + h.loc.String() }

func (h *offHours) observe(o *obs, out []Finding) []Finding {
	if o.failure {
		return out
	}
	id := o.en.Actor.ID
	a := h.actors[id]
	if a == nil {
		if len(h.actors) >= h.maxGroups {
			evictIdle(h.actors, h.maxGroups-1, func(a *hours) int64 { return a.Last }, strings.Compare)
		}
		a = &hours{First: o.t, Last: o.t}
		h.actors[id] = a
	}
	a.Last = max(a.Last, o.t)
	local := time.Unix(0, o.t).In(h.loc)
	how := int(local.Weekday())*24 + local.Hour()
	if o.t-a.First >= int64(h.cfg.Learning) && a.Total >= h.cfg.MinEvents &&
		(!a.Raised || o.t-a.RaisedAt >= int64(h.cfg.Cooldown)) {
		if share := a.mass(how, h.cfg.Margin) / float64(a.Total); share < h.cfg.MinShare {
			a.Raised, a.RaisedAt = true, o.t
			from, to := a.usual()
			out = append(out, finding(OffHours, h.cfg.Severity, "actor:"+id, o.t, []uint64{o.index},
				"%s active at %s %s (%s), outside its usual hours (%02d:00 to %02d:00): %.2f%% of its activity lies within %dh of that hour",
				id, local.Weekday(), local.Format("15:04"), h.loc, from, to, 100*share, h.cfg.Margin))
		}
	}
	a.Hist[how]++
	a.Total++
	if a.Total >= histCap {
		a.Total = 0
		for i, n := range a.Hist {
			a.Hist[i] = n / 2
			a.Total += int(n / 2)
		}
	}
	return out
}

// mass returns how much of the actor's activity lies within margin hours
// of hour of the week how: the events of those hours of the same day,
// plus a seventh of those of the same hours on every day.
func (a *hours) mass(how, margin int) float64 {
	var week, day int
	h := how % 24
	for d := -margin; d <= margin; d++ {
		week += int(a.Hist[(how+d+168)%168])
		hd := (h + d + 24) % 24
		for wd := 0; wd < 7; wd++ {
			day += int(a.Hist[wd*24+hd])
		}
	}
	return float64(week) + float64(day)/7
}

// usual returns the shortest span of hours of the day that holds 90% of
// the actor's activity, as its first hour and the hour after its last.
func (a *hours) usual() (from, to int) {
	var day [24]int
	for i, n := range a.Hist {
		day[i%24] += int(n)
	}
	need := (a.Total*9 + 9) / 10
	best := 24
	for start := 0; start < 24; start++ {
		sum := 0
		for n := 1; n <= 24 && n < best; n++ {
			sum += day[(start+n-1)%24]
			if sum >= need {
				best, from = n, start
				break
			}
		}
	}
	return from, (from + best) % 24
}

// sweep keeps everything: the histograms are what the detector learned.
func (h *offHours) sweep(int64) {}

func (h *offHours) save() any { return h.actors }

func (h *offHours) load(data []byte) error {
	actors := map[string]*hours{}
	if err := json.Unmarshal(data, &actors); err != nil {
		return err
	}
	for id, a := range actors {
		if a == nil {
			return fmt.Errorf("actor %q without state", id)
		}
		total := 0
		for _, n := range a.Hist {
			total += int(n)
		}
		if total != a.Total {
			return fmt.Errorf("actor %q: total %d, but its hours hold %d", id, a.Total, total)
		}
	}
	h.actors = actors
	return nil
}
