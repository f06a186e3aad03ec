package traffic

import (
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Config is what the traffic is generated from. Every field must be set:
// the simulator's Config fills in the defaults and checks the ranges.
type Config struct {
	Seed        int64
	Start, End  time.Time        // calls start within [Start, End)
	CallsPerDay int              // mean customer calls per group per weekday
	Location    *time.Location   // the company's time zone: business hours, weekends and the users' timezone
	Now         func() time.Time // the simulator's clock: only legs that have ended by Now are listed
	// AlwaysOpen keeps the company open around the clock: every day gets
	// a weekday's calls (CallsPerDay per group, times its share), spread
	// evenly over its hours, every hour is staffed, and the call center's
	// agents work rotating shifts. Off, the traffic follows business
	// hours and weekdays.
	AlwaysOpen bool
}

// Traffic is the company and its legs. Nothing in it changes after New,
// so it is safe for concurrent use.
type Traffic struct {
	cfg   Config
	salt  uint64
	co    *Company
	legs  []Leg                      // newest first by date_started, then call_id
	index map[dialpad.Target][]int32 // per target: positions in legs, in list order
	all   []int32                    // every leg (no target filter)
	dir   directory
}

// New generates the company and its traffic. A million legs take
// about a second to generate and under 100 MB to hold (about 200 MB at
// the peak of generation).
func New(cfg Config) *Traffic {
	tr := &Traffic{cfg: cfg, salt: Mix64(uint64(cfg.Seed))}
	pool := min(max(cfg.CallsPerDay*25, 2000), 50_000)
	tr.co = newCompany(cfg.Seed, tr.salt, cfg.Location.String(), pool)
	tr.legs = tr.generate()
	tr.buildIndex()
	tr.dir = tr.renderDirectory()
	return tr
}

// Company is the company whose traffic this is.
func (tr *Traffic) Company() *Company { return tr.co }

// List is every leg in the call list's order: newest first by
// date_started, then call_id. The caller must not modify it.
func (tr *Traffic) List() []Leg { return tr.legs }

// Index returns the positions in List of the legs of target t, in list
// order; false for a target the company does not have.
func (tr *Traffic) Index(t dialpad.Target) ([]int32, bool) {
	ix, ok := tr.index[t]
	return ix, ok
}

// IndexAll returns the position in List of every leg.
func (tr *Traffic) IndexAll() []int32 { return tr.all }

// Directory returns the body of the directory endpoint at path (the
// groups, their operators, the users and the office); false for a path
// that is none of them.
func (tr *Traffic) Directory(path string) ([]byte, bool) {
	b, ok := tr.dir[path]
	return b, ok
}

// Salt is the hash of the seed that every id and every decision drawn
// from a hash mixes in.
func (tr *Traffic) Salt() uint64 { return tr.salt }

// AlwaysOpen reports whether the company works around the clock (see
// Config.AlwaysOpen).
func (tr *Traffic) AlwaysOpen() bool { return tr.cfg.AlwaysOpen }

// Location is the company's time zone.
func (tr *Traffic) Location() *time.Location { return tr.cfg.Location }

// generate builds every day's legs, days in parallel, and sorts them
// into list order.
func (tr *Traffic) generate() []Leg {
	from, to := tr.cfg.Start.UnixMilli(), tr.cfg.End.UnixMilli()
	first, last := floorDiv(from, MsPerDay), floorDiv(to-1, MsPerDay)
	days := make([][]Leg, last-first+1)
	spills := make([][]Leg, len(days))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(days)) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(days)); i = next.Add(1) - 1 {
				g := dayGen{c: tr.co, day: first + i, salt: tr.salt, from: from, to: to, loc: tr.cfg.Location,
					perGroupWD: float64(tr.cfg.CallsPerDay), alwaysOpen: tr.cfg.AlwaysOpen, rng: newDayRand(tr.cfg.Seed, first+i)}
				g.out = make([]Leg, 0, tr.cfg.CallsPerDay*len(tr.co.Groups)*3)
				g.generate()
				days[i], spills[i] = splitSpill(g.out, (first+i+1)*MsPerDay)
			}
		})
	}
	wg.Wait()
	var n, nSpill int
	for i := range days {
		n += len(days[i]) + len(spills[i])
		nSpill += len(spills[i])
	}
	// Each day's own legs sort within the day, so the days concatenate
	// newest first; the legs that started after their call's day (agent
	// legs past midnight, late transfers) are few: sort them apart and
	// merge them in.
	legs := make([]Leg, nSpill, n)
	for i := len(days) - 1; i >= 0; i-- {
		legs = append(legs, days[i]...)
		days[i] = nil
	}
	spill := make([]Leg, 0, nSpill)
	for _, sp := range spills {
		spill = append(spill, sp...)
	}
	slices.SortFunc(spill, cmpLegs)
	w, j := 0, 0
	for i := nSpill; i < n || j < nSpill; w++ {
		if j < nSpill && (i == n || spill[j].before(&legs[i])) {
			legs[w] = spill[j]
			j++
		} else {
			legs[w] = legs[i]
			i++
		}
	}
	return legs
}

// splitSpill sorts a day's legs into list order and moves those starting
// at or after dayEnd into a second slice.
func splitSpill(out []Leg, dayEnd int64) (day, spill []Leg) {
	slices.SortFunc(out, cmpLegs)
	k := 0
	for k < len(out) && out[k].Started >= dayEnd {
		k++
	}
	return slices.Clip(out[k:]), slices.Clone(out[:k])
}

func newDayRand(seed, day int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(day)^0xDA7A_0000_0000_0000))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (tr *Traffic) buildIndex() {
	co := tr.co
	counts := make([]int, len(co.Parties))
	for i := range tr.legs {
		l := &tr.legs[i]
		counts[l.Group]++
		if int(l.Target) >= len(co.Groups) {
			counts[l.Target]++
		}
	}
	byParty := make([][]int32, len(co.Parties))
	for pi := range byParty {
		byParty[pi] = make([]int32, 0, counts[pi])
	}
	tr.all = make([]int32, len(tr.legs))
	for i := range tr.legs {
		l := &tr.legs[i]
		tr.all[i] = int32(i)
		byParty[l.Group] = append(byParty[l.Group], int32(i))
		if int(l.Target) >= len(co.Groups) {
			byParty[l.Target] = append(byParty[l.Target], int32(i))
		}
	}
	tr.index = make(map[dialpad.Target][]int32, len(co.Parties)+1)
	for pi := range co.Parties {
		tr.index[co.Target(pi)] = byParty[pi]
	}
	// The office is known, but no call in the simulation went through its
	// main line.
	tr.index[dialpad.Target{Type: "office", ID: co.OfficeID}] = []int32{}
}

// Targets returns the company's groups: its departments, then its call
// center.
func (tr *Traffic) Targets() []dialpad.Target {
	out := make([]dialpad.Target, len(tr.co.Groups))
	for gi := range tr.co.Groups {
		out[gi] = tr.co.Target(gi)
	}
	return out
}

// Legs is the ground truth: exactly the items GET /api/v2/call returns for
// t (over all its pages) with from <= date_started < to, ended by the
// simulator's Now, newest first, byte-identical to what is served. It
// returns nil for an unknown target.
func (tr *Traffic) Legs(t dialpad.Target, from, to time.Time) []json.RawMessage {
	ix, ok := tr.index[t]
	if !ok {
		return nil
	}
	out := []json.RawMessage{}
	tr.Scan(ix, Window{After: from.UnixMilli() - 1, HasAfter: true, Before: to.UnixMilli(), HasBefore: true},
		tr.cfg.Now().UnixMilli(), func(l *Leg) bool {
			out = append(out, tr.AppendLeg(nil, l))
			return true
		})
	return out
}

// NumLegs returns how many legs have ended by the simulator's Now: the
// legs a full read of every group would see (agent legs counted once).
func (tr *Traffic) NumLegs() int {
	now, n := tr.cfg.Now().UnixMilli(), 0
	for i := range tr.legs {
		if tr.legs[i].Ended <= now {
			n++
		}
	}
	return n
}
