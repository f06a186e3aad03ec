package traffic

// Ids are 16-digit positive int64s that look random but are a bijection of
// (namespace, sequence): a call's id depends only on its UTC day and its
// position in that day's traffic, so ids never collide and a day's ids
// are the same whatever range is generated.

const (
	mask52 = 1<<52 - 1
	idBase = 4_000_000_000_000_000 // ids lie in [4e15, 4e15+2^52): 16 digits

	// Namespaces above any real day number (days since 1970 stay far below).
	// The simulator's other parts take the next ones: 1<<26 - 3 for
	// malformed items, - 4 for webhooks and subscriptions, - 5 for exports.
	nsEntities = 1<<26 - 1 // company, office, groups, rooms, users
	nsContacts = 1<<26 - 2 // customers
)

// MakeID maps (ns, seq), both below 2^26, to a unique id; salt (from the
// seed) changes every id.
func MakeID(salt uint64, ns, seq int64) int64 {
	x := (uint64(ns)<<26 | uint64(seq)&(1<<26-1)) ^ (salt & mask52)
	x ^= x >> 27
	x = (x * 0x9E3779B97F4A7C15) & mask52
	x ^= x >> 25
	x = (x * 0xBF58476D1CE4E5B9) & mask52
	x ^= x >> 28
	return idBase + int64(x)
}

// Mix64 is splitmix64's finaliser: a fast, well-mixed hash of x.
func Mix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

// Draws are independent uniform draws from one hash: the fault decisions
// of one request, or of one export.
type Draws uint64

// U is draw number k, in [0, 1).
func (d Draws) U(k int) float64 { return Unit(Mix64(uint64(d) + uint64(k)*0x632BE59BD9B4E019)) }

// Unit maps a hash to [0, 1).
func Unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// AppendToken appends an 11-character base62 token derived from h, as
// used in share links.
func AppendToken(b []byte, h uint64) []byte {
	for range 11 {
		b = append(b, base62[h%62])
		h /= 62
	}
	return b
}
