package exports

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// nsExports is the id namespace of exports (see traffic.MakeID).
const nsExports = 1<<26 - 5

const (
	RequestTTL = time.Hour                          // an export's request id answers for this long (then 404)
	LinkTTL    = time.Hour                          // a download link is valid this long after the poll that gave it
	exportKeep = RequestTTL + LinkTTL + time.Minute // an export is forgotten after it
)

// Draws of an export's faults.
const (
	drawExportSlow = iota
	drawExportFail
)

// Store holds the exports of a company's traffic and signs the links
// their CSVs are downloaded from. It is safe for concurrent use.
type Store struct {
	tr      *traffic.Traffic
	linkKey []byte   // signs the download links
	dispCol []string // the dispositions CSV's columns

	mu    sync.Mutex
	seq   int64
	byID  map[int64]*Export
	posts []time.Time // wall times of the hour's POSTs, oldest first (StatsPerHour)
}

// NewStore returns an empty store of tr's exports, whose download links
// are signed with a key derived from seed. dispositionColumns are the
// columns of the dispositions CSV, in order, each one of
// DispositionColumnNames (none: DefaultDispositionColumns).
func NewStore(tr *traffic.Traffic, seed int64, dispositionColumns []string) *Store {
	if len(dispositionColumns) == 0 {
		dispositionColumns = DefaultDispositionColumns
	}
	return &Store{tr: tr, linkKey: exportLinkKey(seed), dispCol: slices.Clone(dispositionColumns)}
}

// The stat types of an export: records of calls, or of dispositions.
const (
	StatCalls        = "calls"
	StatDispositions = "dispositions"
)

// Query is what an export covers; two requests with the same query are
// identical.
type Query struct {
	Stat     string         // StatCalls or StatDispositions
	Target   dialpad.Target // zero: the whole company (calls only)
	TZ       string         // the request's timezone, as it named it
	From, To int64          // the local days, epoch ms, half-open
}

// Export is one requested export.
type Export struct {
	id      int64
	q       Query
	loc     *time.Location
	created int64         // the simulator's clock when requested, epoch ms: the CSV's moment
	wall    time.Time     // the wall clock then
	wait    time.Duration // processing for this long (ExportDelay, plus ExportSlowDelay if slow)
	failed  bool          // then failed rather than complete
}

// ID is the export's request id.
func (e *Export) ID() int64 { return e.id }

// Age is how old e is by the simulator's clock now (epoch ms).
func (e *Export) Age(now int64) time.Duration {
	return time.Duration(now-e.created) * time.Millisecond
}

// Status is e's state at the simulator's now and the wall clock's wall:
// "processing", "failed" or "complete".
func (e *Export) Status(now int64, wall time.Time) string {
	switch {
	case e.Age(now) < e.wait && wall.Sub(e.wall) < e.wait:
		return "processing"
	case e.failed:
		return "failed"
	}
	return "complete"
}

// Faults are how a new export may go wrong, drawn per export when it is
// requested (the simulator's Faults.ExportFailRate, ExportSlowRate and
// ExportSlowDelay).
type Faults struct {
	FailRate  float64       // share of exports that end "failed" instead of "complete", after their delay
	SlowRate  float64       // share of exports that stay processing SlowDelay longer
	SlowDelay time.Duration // how much longer
}

// Start returns the export of q, requested at now (the simulator's
// clock, epoch ms) and wall (the wall clock): an identical one less than
// an hour old that has not failed, or a new one in loc, processing for
// delay, whose faults are drawn from f.
func (st *Store) Start(q Query, loc *time.Location, now int64, wall time.Time, delay time.Duration, f Faults) (e *Export, reused bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byID == nil {
		st.byID = map[int64]*Export{}
	}
	for id, old := range st.byID {
		switch {
		case old.Age(now) >= exportKeep:
			delete(st.byID, id)
		case old.q == q && old.Age(now) < RequestTTL && old.Status(now, wall) != "failed" && (e == nil || old.created > e.created):
			e = old
		}
	}
	if e != nil {
		return e, true
	}
	st.seq++
	salt := st.tr.Salt()
	d := traffic.Draws(traffic.Mix64(salt ^ 0xE4B0 ^ uint64(st.seq)*0x9E3779B97F4A7C15))
	e = &Export{id: traffic.MakeID(salt, nsExports, st.seq), q: q, loc: loc, created: now, wall: wall,
		wait: max(delay, 0), failed: d.U(drawExportFail) < f.FailRate}
	if d.U(drawExportSlow) < f.SlowRate {
		e.wait += f.SlowDelay
	}
	st.byID[e.id] = e
	return e, false
}

// TakePost counts a POST at wall time now against limit an hour; when
// the hour's are spent it reports how long until one is free.
func (st *Store) TakePost(limit int, now time.Time) (ok bool, wait time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for n < len(st.posts) && now.Sub(st.posts[n]) >= time.Hour {
		n++
	}
	st.posts = append(st.posts[:0], st.posts[n:]...)
	if len(st.posts) >= limit {
		return false, st.posts[0].Add(time.Hour).Sub(now)
	}
	st.posts = append(st.posts, now)
	return true, 0
}

// Lookup returns the export with id, nil when there is none.
func (st *Store) Lookup(id int64) *Export {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byID[id]
}

// exportLinkKey derives the key that signs download links from the seed.
func exportLinkKey(seed int64) []byte {
	k := sha256.Sum256(fmt.Appendf(nil, "dialpad simulator: export links of seed %d", seed))
	return k[:]
}

// LinkMAC is the signature of a download link: HMAC-SHA256 over
// "<id>:<expires>".
func (st *Store) LinkMAC(id, expires int64) []byte {
	m := hmac.New(sha256.New, st.linkKey)
	fmt.Fprintf(m, "%d:%d", id, expires)
	return m.Sum(nil)
}
