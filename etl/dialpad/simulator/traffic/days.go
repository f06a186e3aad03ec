package traffic

import (
	"math"
	"math/rand/v2"
	"time"
)

// Milliseconds in an hour and in a day.
const (
	MsPerHour = int64(time.Hour / time.Millisecond)
	MsPerDay  = 24 * MsPerHour
)

// hourWeights is the share of a weekday's calls in each local hour:
// quiet nights, a morning peak at 10-11 and an afternoon one at 14-15.
var hourWeights = normalize([24]float64{
	0.004, 0.003, 0.003, 0.003, 0.004, 0.006, 0.010, 0.020,
	0.050, 0.090, 0.110, 0.105, 0.075, 0.090, 0.105, 0.095,
	0.080, 0.050, 0.025, 0.016, 0.011, 0.008, 0.006, 0.005,
})

// dayWeights scales a day's calls by weekday: busy Mondays, quiet weekends.
var dayWeights = [7]float64{
	time.Sunday: 0.06, time.Monday: 1.12, time.Tuesday: 1.02, time.Wednesday: 1,
	time.Thursday: 0.98, time.Friday: 0.88, time.Saturday: 0.14,
}

func normalize(w [24]float64) [24]float64 {
	var sum float64
	for _, v := range w {
		sum += v
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// businessHours reports whether a local time is a staffed weekday hour.
func businessHours(t time.Time) bool {
	wd, h := t.Weekday(), t.Hour()
	return wd != time.Saturday && wd != time.Sunday && h >= 8 && h < 18
}

// dayGen generates one UTC day's traffic from its own random source, so a
// day's calls are the same whatever range is simulated.
type dayGen struct {
	c          *Company
	rng        *rand.Rand
	day        int64 // days since 1970-01-01 UTC
	seq        int64
	salt       uint64
	from, to   int64 // keep calls starting in [from, to), epoch ms
	out        []Leg
	loc        *time.Location
	perGroupWD float64 // Config.CallsPerDay
	alwaysOpen bool    // Config.AlwaysOpen
}

func (g *dayGen) newID() int64 {
	g.seq++
	return MakeID(g.salt, g.day, g.seq)
}

// generate appends the day's legs to g.out.
func (g *dayGen) generate() {
	dayStart := g.day * MsPerDay
	for gi := range g.c.Groups {
		for h := range int64(24) {
			hourStart := dayStart + h*MsPerHour
			local := time.UnixMilli(hourStart).In(g.loc)
			lam := g.perGroupWD * g.c.Groups[gi].volume * hourWeights[local.Hour()] * dayWeights[local.Weekday()]
			staffed := businessHours(local)
			if g.alwaysOpen { // a weekday's calls, the same in every hour
				lam, staffed = g.perGroupWD*g.c.Groups[gi].volume/24, true
			}
			for range poisson(g.rng, lam) {
				start := hourStart + g.rng.Int64N(MsPerHour)
				inbound := g.rng.Float64() < 0.74 || (!staffed && g.rng.Float64() < 0.85)
				g.call(gi, start, inbound, staffed, 0)
			}
		}
	}
	// One call a day reaches a group in the last two seconds before
	// midnight UTC, so its agent legs start on the next day.
	start := dayStart + MsPerDay - 2000 + g.rng.Int64N(1700)
	g.call(int(g.day%int64(len(g.c.Groups))), start, true, false, 2200)
}

// call appends the legs of one customer call, or nothing when it starts
// outside [from, to) (its random draws are consumed all the same).
func (g *dayGen) call(gi int, start int64, inbound, staffed bool, minOffset int64) {
	n := len(g.out)
	if inbound {
		g.inbound(gi, start, staffed, minOffset)
	} else {
		g.outbound(gi, start)
	}
	if start < g.from || start >= g.to {
		g.out = g.out[:n]
	}
}

func poisson(r *rand.Rand, lam float64) int {
	if lam <= 0 {
		return 0
	}
	if lam > 40 {
		return max(0, int(math.Round(lam+math.Sqrt(lam)*r.NormFloat64())))
	}
	limit, p, k := math.Exp(-lam), r.Float64(), 0
	for p > limit {
		p *= r.Float64()
		k++
	}
	return k
}

// logNormal draws a duration in ms around median with spread sigma,
// clamped to [lo, hi].
func logNormal(r *rand.Rand, median, sigma float64, lo, hi int64) int64 {
	v := int64(median * math.Exp(sigma*r.NormFloat64()))
	return min(max(v, lo), hi)
}

func between(r *rand.Rand, lo, hi int64) int64 { return lo + r.Int64N(hi-lo+1) }
