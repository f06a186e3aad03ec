// Package lease keeps two processes, on one host or several, from doing
// the same work at once, through leases in the warehouse's etl_leases
// table: loading a target, applying the schema, sending a period's report.
// It imports only the warehouse's connection (package db).
package lease

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Leases are the leases of one warehouse. They keep two processes, on one host or several, from doing the same
// work at once: loading one target (which would double the company's
// request rate) or applying the schema. ClickHouse has no compare-and-set,
// so a lease is taken by claiming it and then reading who won: every
// claimant writes a row stamped with the server's clock, waits until every
// claim of that second or earlier has landed, and the earliest live claim
// (then the smallest owner) wins, for every reader alike. A later claim
// can never displace a live one. A holder renews its own row while it
// works and expires it when done; nobody else ever writes it, and a
// claim whose holder died simply expires (at once for the processes of
// its own host, which can see that it died).
type Leases struct {
	db *db.DB
}

// New are the leases kept in the warehouse d.
func New(d *db.DB) *Leases { return &Leases{db: d} }

const createLeases = `CREATE TABLE IF NOT EXISTS etl_leases
	(name String, owner String, claimed_at DateTime('UTC'), expires_at DateTime('UTC'), version UInt64)
	ENGINE = ReplacingMergeTree(version) PARTITION BY tuple() ORDER BY (name, owner)`

// leaseSettle is how long after its claim's second a claimant reads the
// claims: every claim stamped that second or before has landed by then.
const leaseSettle = 2 * time.Second

// Held is a lease that someone else holds.
type Held struct {
	Name  string
	Owner Owner
	Until time.Time
}

func (h *Held) Error() string {
	return fmt.Sprintf("%s is leased by %s until %s", h.Name, h.Owner, h.Until.UTC().Format(time.RFC3339))
}

// Owner names a lease holder: this host, process and the process's
// identity (see processStamp), and a random part that tells two holders of
// one process apart, marked when the holder is Brief.
type Owner string

// Hold is how long an owner keeps the leases it takes.
type Hold int

const (
	// Long holds last as long as the work they guard (a load, a
	// migration, a report): a process that finds one skips the work.
	Long Hold = iota
	// Brief holds last a few seconds at a time (the event receiver's
	// recompute of the days its events touched): a load waits for one
	// rather than skip its target.
	Brief
)

// briefMark marks a Brief owner's random part, which keeps the owner's
// form (host/pid/stamp/random): a brief holder that died is recognised
// as dead like any other.
const briefMark = "brief-"

// NewOwner names a new holder of leases that it holds for h.
func NewOwner(h Hold) Owner {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	random := hex.EncodeToString(b)
	if h == Brief {
		random = briefMark + random
	}
	return Owner(fmt.Sprintf("%s/%d/%s/%s", host, os.Getpid(), processStamp(os.Getpid()), random))
}

// Hold is how long o holds its leases.
func (o Owner) Hold() Hold {
	if strings.HasPrefix(string(o[strings.LastIndexByte(string(o), '/')+1:]), briefMark) {
		return Brief
	}
	return Long
}

// The names of the leases.
const (
	// Schema is the lease of whoever applies migrations.
	Schema = "schema"
)

// Target is the name of the lease of loading target (a department, call
// center or office, as dialpad.Target's String writes it).
func Target(target fmt.Stringer) string { return "load " + target.String() }

// processStamp tells process pid apart from any other that has or had the
// same pid: the machine's boot, the PID namespace and when it started
// ("" where /proc does not tell).
func processStamp(pid int) string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The fields after the command's closing parenthesis: state is the
	// first, the start time (field 22 of the line) the 20th.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	fields := strings.Fields(string(rest))
	if len(fields) < 20 {
		return ""
	}
	nsID := strings.Trim(strings.TrimPrefix(ns, "pid:"), "[]")
	return fmt.Sprintf("%.8s-%s-%s", strings.TrimSpace(string(boot)), nsID, fields[19])
}

// Acquire claims the leases names for owner, for ttl from when it
// returns, and returns those it holds now; for each other one, held[name]
// says who has it. Renew the held ones well within ttl (KeepLeases), and
// Release them when done.
func (l *Leases) Acquire(ctx context.Context, owner Owner, ttl time.Duration, names ...string) (got []string, held map[string]*Held, err error) {
	if err := l.db.DDL(ctx, "etl_leases", createLeases); err != nil {
		return nil, nil, fmt.Errorf("leases: %w", err)
	}
	held = map[string]*Held{}
	// A lease someone holds is not claimed at all. (A claim younger than
	// leaseSettle may yet lose to one of the same second: it is not held
	// until it has settled.)
	live, err := l.liveLeases(ctx, names, true)
	if err != nil {
		return nil, nil, err
	}
	var claim []string
	for _, n := range names {
		if h, ok := live[n]; ok && h.Owner != owner {
			held[n] = h
			continue
		}
		claim = append(claim, n)
	}
	if len(claim) == 0 {
		return nil, held, nil
	}
	for _, n := range claim {
		if err := l.db.Exec(ctx, `INSERT INTO etl_leases (name, owner, claimed_at, expires_at, version)
			SELECT ?, ?, now(), now() + ?, toUInt64(?)`, n, string(owner), int64((ttl + leaseSettle).Seconds()), db.Version(time.Now())); err != nil {
			return nil, nil, fmt.Errorf("claim lease %s: %w", n, err)
		}
	}
	if err := l.settle(ctx); err != nil {
		return nil, nil, err
	}
	if live, err = l.liveLeases(ctx, claim, false); err != nil {
		return nil, nil, err
	}
	var lost []string
	for _, n := range claim {
		switch h, ok := live[n]; {
		case ok && h.Owner == owner:
			got = append(got, n)
		case ok:
			held[n] = h
			lost = append(lost, n)
		default: // expired while settling: ttl is far too short
			lost = append(lost, n)
			held[n] = &Held{Name: n, Owner: "nobody (the claim expired at once)"}
		}
	}
	if err := l.Release(ctx, owner, lost...); err != nil {
		return nil, nil, err
	}
	return got, held, nil
}

// settle waits until the server's clock is leaseSettle past the second it
// had when called.
func (l *Leases) settle(ctx context.Context) error {
	var start time.Time
	if err := l.db.QueryRow(ctx, "SELECT now()").Scan(&start); err != nil {
		return fmt.Errorf("leases: read the server's clock: %w", err)
	}
	for {
		var now time.Time
		if err := l.db.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
			return fmt.Errorf("leases: read the server's clock: %w", err)
		}
		if !now.Before(start.Add(leaseSettle)) {
			// On a cluster, the claims other nodes took are fetched too.
			return l.db.SyncGlobal(ctx, "etl_leases")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// liveLeases returns the winning live claim of each of names that has one
// (of the settled claims only, if settled). A claim of a process of this
// host that is no longer running does not count: it would otherwise keep
// the next run after a crash waiting for its expiry.
func (l *Leases) liveLeases(ctx context.Context, names []string, settled bool) (map[string]*Held, error) {
	out := map[string]*Held{}
	if len(names) == 0 {
		return out, nil
	}
	young := int64(0)
	if settled {
		young = int64(leaseSettle.Seconds())
	}
	rows, err := l.db.Query(ctx, `SELECT name, owner, expires_at FROM etl_leases FINAL
		WHERE has(?, name) AND expires_at > now() AND claimed_at <= now() - ?
		ORDER BY name, claimed_at, owner`, names, young)
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h Held
		var owner string
		if err := rows.Scan(&h.Name, &owner, &h.Until); err != nil {
			return nil, err
		}
		h.Owner = Owner(owner)
		if _, ok := out[h.Name]; !ok && !deadHere(h.Owner) {
			out[h.Name] = &h
		}
	}
	return out, rows.Err()
}

// deadHere reports whether owner (see NewOwner) is a process of this host,
// boot and PID namespace that is not running any more: its pid is gone,
// or is another process now (a container restarted with the same
// hostname gets pid 1 again). An owner this process cannot judge (another
// host or namespace, or a sharing of hostnames) is not dead.
func deadHere(owner Owner) bool {
	host, _ := os.Hostname()
	parts := strings.Split(string(owner), "/")
	if len(parts) != 4 || parts[0] != host || parts[2] == "" {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	mine := strings.SplitN(processStamp(os.Getpid()), "-", 3)
	theirs := strings.SplitN(parts[2], "-", 3)
	if len(mine) != 3 || len(theirs) != 3 || mine[0] != theirs[0] || mine[1] != theirs[1] {
		return false // another boot or PID namespace: its pids are not ours to look up
	}
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	return processStamp(pid) != parts[2]
}

// Renew extends owner's live claims of names by ttl from now. It returns
// the names whose claim had already expired (and so may be someone
// else's now): those must be given up.
func (l *Leases) Renew(ctx context.Context, owner Owner, ttl time.Duration, names ...string) (lost []string, err error) {
	// A claim taken through another node of a cluster is extended too.
	if err := l.db.SyncGlobal(ctx, "etl_leases"); err != nil {
		return nil, err
	}
	for _, n := range names {
		// Only a claim that is still live is extended: one that expired
		// may have been won by another since.
		if err := l.db.Exec(ctx, `INSERT INTO etl_leases (name, owner, claimed_at, expires_at, version)
			SELECT name, owner, claimed_at, now() + ?, toUInt64(?) FROM etl_leases FINAL
			WHERE name = ? AND owner = ? AND expires_at > now()`, int64(ttl.Seconds()), db.Version(time.Now()), n, string(owner)); err != nil {
			return nil, fmt.Errorf("renew lease %s: %w", n, err)
		}
	}
	live, err := l.liveLeases(ctx, names, false)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if h, ok := live[n]; !ok || h.Owner != owner {
			lost = append(lost, n)
		}
	}
	sort.Strings(lost)
	return lost, nil
}

// Release expires owner's claims of names (they expire when they were
// claimed).
func (l *Leases) Release(ctx context.Context, owner Owner, names ...string) error {
	for _, n := range names {
		if err := l.db.Exec(ctx, `INSERT INTO etl_leases (name, owner, claimed_at, expires_at, version)
			SELECT name, owner, claimed_at, claimed_at, toUInt64(?) FROM etl_leases FINAL
			WHERE name = ? AND owner = ?`, db.Version(time.Now()), n, string(owner)); err != nil {
			return fmt.Errorf("release lease %s: %w", n, err)
		}
	}
	return nil
}

// ErrLeaseLost is the cause of the context of KeepLeases when a lease was
// lost: another process may now do the same work.
var ErrLeaseLost = errors.New("lease lost")

// KeepLeases renews owner's leases names every ttl/3 until the returned
// stop is called. It returns a context derived from ctx, under which the
// work the leases guard must run: it is cancelled, with a cause that
// wraps ErrLeaseLost, when a lease was lost, or could not be renewed for
// so long that it may have expired.
func (l *Leases) KeepLeases(ctx context.Context, owner Owner, ttl time.Duration, names ...string) (context.Context, func()) {
	work, lose := context.WithCancelCause(ctx)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		renewed := time.Now()
		for {
			select {
			case <-quit:
				return
			case <-work.Done():
				return
			case <-t.C:
			}
			lost, err := l.Renew(work, owner, ttl, names...)
			switch {
			case work.Err() != nil:
				return
			case err != nil && time.Since(renewed) > ttl*2/3:
				l.db.Log().Error("leases not renewed in time: stopping the work they guard", "leases", names, "err", err)
				lose(fmt.Errorf("%w: %v not renewed since %s: %v", ErrLeaseLost, names, renewed.Format(time.RFC3339), err))
				return
			case err != nil:
				l.db.Log().Warn("could not renew leases; trying again", "leases", names, "err", err)
			case len(lost) > 0:
				l.db.Log().Error("leases lost: stopping the work they guard", "leases", lost)
				lose(fmt.Errorf("%w: %v", ErrLeaseLost, lost))
				return
			default:
				renewed = time.Now()
			}
		}
	}()
	return work, func() {
		close(quit)
		<-done
		lose(context.Canceled)
	}
}
