package traffic

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// FirstDepartmentID is the id of the first department, the one most
// examples of the Dialpad API use.
const FirstDepartmentID int64 = 4869792674824192

// Party is a participant as it appears in a leg's target, contact or
// entry_point_target, pre-rendered.
type Party struct {
	Type  string
	ID    int64
	Name  string
	Email string
	Phone string
	json  []byte // {"email":...,"id":"...","name":...,"phone":...,"type":...}
	QNum  []byte // the phone number as a JSON string
	QID   []byte // the id as a JSON string (group_id)
}

func newParty(typ string, id int64, name, email, phone string) Party {
	return Party{
		Type: typ, ID: id, Name: name, Email: email, Phone: phone,
		json: renderParty(email, id, name, phone, typ),
		QNum: AppendString(nil, phone),
		QID:  appendQuotedInt(nil, id),
	}
}

// Membership is a user's place in a group.
type Membership struct {
	Group int // index into Company.Groups
	Role  string
}

// User is a member of the company's staff.
type User struct {
	first, last, title, extension string
	Groups                        []Membership
}

// Group is a department or the call center.
type Group struct {
	Members     []int    // party indexes of its users
	room        int      // index into Company.rooms
	Labels      [][]byte // rendered label arrays its agents use
	volume      float64  // share of Config.CallsPerDay
	recordShare float64  // share of connected legs recorded
}

type room struct {
	id          int64
	name, phone string
}

// Company is the simulated Dialpad company: its groups, users, rooms and
// customers. Parties holds the groups first, then the users, so a leg's
// target is one small index.
type Company struct {
	id             int64
	name, domain   string
	OfficeID       int64
	officeName     string
	officePhone    string
	tz             string
	Parties        []Party
	Groups         []Group // Groups[i] is Parties[i]
	Users          []User  // Users[i] is Parties[len(Groups)+i]
	rooms          []room
	Customers      []Party
	numbersInUse   map[string]bool
	companyAreaIdx int
	dispositions   []string // the call center's (Dispositions)
	salt           uint64
}

// UserParty is the index in Parties of user ui.
func (c *Company) UserParty(ui int) int { return len(c.Groups) + ui }

// Target is party pi as the API names it.
func (c *Company) Target(pi int) dialpad.Target {
	return dialpad.Target{Type: c.Parties[pi].Type, ID: c.Parties[pi].ID}
}

// newCompany builds the company for seed; customers is the size of the
// customer pool.
func newCompany(seed int64, salt uint64, tz string, customers int) *Company {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5EED0001))
	cn := companies[rng.IntN(len(companies))]
	gn := cn.groups
	c := &Company{
		id: MakeID(salt, nsEntities, 0), name: cn.name, domain: cn.domain,
		OfficeID: MakeID(salt, nsEntities, 1), officeName: officeNames[rng.IntN(len(officeNames))],
		tz: tz, numbersInUse: map[string]bool{}, dispositions: cn.dispositions, salt: salt,
		companyAreaIdx: rng.IntN(4),
	}
	nextID := int64(10)
	id := func() int64 { nextID++; return MakeID(salt, nsEntities, nextID) }

	types := [3]string{"department", "department", "callcenter"}
	volumes := [3]float64{1.15, 0.8, 1.05}
	records := [3]float64{0.4, 0.85, 1}
	sizes := [3]int{}
	for i := range types {
		gid := id()
		if i == 0 {
			gid = FirstDepartmentID
		}
		c.Parties = append(c.Parties, newParty(types[i], gid, gn[i], "", c.companyNumber(rng)))
		sizes[i] = 4 + rng.IntN(5)
		c.Groups = append(c.Groups, Group{volume: volumes[i], recordShare: records[i], Labels: renderLabels(labelSets[i])})
		c.rooms = append(c.rooms, room{id: id(), name: roomNames[(i+rng.IntN(2)*3)%len(roomNames)], phone: c.companyNumber(rng)})
		c.Groups[i].room = i
	}

	// Staff: unique first/last pairs; the second member of the first
	// department also works in the call center.
	fp, lp := rng.Perm(len(firstNames)), rng.Perm(len(lastNames))
	next := 0
	for gi := range c.Groups {
		for k := range sizes[gi] {
			if gi == 2 && k == sizes[gi]-1 {
				shared := c.Groups[0].Members[1]
				c.Users[shared-len(c.Groups)].Groups = append(c.Users[shared-len(c.Groups)].Groups, Membership{gi, "operator"})
				c.Groups[gi].Members = append(c.Groups[gi].Members, shared)
				continue
			}
			role := "operator"
			switch {
			case k == 0 && gi == 0:
				role = "admin"
			case k == 0:
				role = "supervisor"
			}
			first, last := firstNames[fp[next%len(fp)]], lastNames[lp[next%len(lp)]]
			next++
			titles := jobTitles[role]
			u := User{first: first, last: last, title: titles[rng.IntN(len(titles))],
				extension: fmt.Sprint(100 + len(c.Users)), Groups: []Membership{{gi, role}}}
			email := emailLocal(first) + "." + emailLocal(last) + "@" + c.domain
			c.Users = append(c.Users, u)
			pi := len(c.Parties)
			c.Parties = append(c.Parties, Party{}) // filled below, ids after groups
			c.Parties[pi] = newParty("user", id(), first+" "+last, email, c.companyNumber(rng))
			c.Groups[gi].Members = append(c.Groups[gi].Members, pi)
		}
	}
	c.officePhone = c.companyNumber(rng)
	c.Customers = newCustomers(seed, salt, customers)
	return c
}

// companyNumber draws an unused number in the company's area code.
func (c *Company) companyNumber(rng *rand.Rand) string {
	for {
		n := fmt.Sprintf("+1%d%d%04d", areaCodes[c.companyAreaIdx], 200+rng.IntN(800), rng.IntN(10000))
		if !c.numbersInUse[n] {
			c.numbersInUse[n] = true
			return n
		}
	}
}

func renderLabels(labels []string) [][]byte {
	var out [][]byte
	for i, l := range labels {
		b := append([]byte{'['}, AppendString(nil, l)...)
		if i%2 == 1 { // every other set carries a second label
			b = append(b, ',')
			b = AppendString(b, labels[(i+1)%len(labels)])
		}
		out = append(out, append(b, ']'))
	}
	return out
}

func emailLocal(name string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z':
			sb.WriteRune(r)
		case asciiFold[r] != "":
			sb.WriteString(asciiFold[r])
		}
	}
	return sb.String()
}

var contactEmailDomains = []string{"gmail.com", "outlook.com", "yahoo.com", "icloud.com"}

// newCustomers builds the pool of callers: mostly people, some
// businesses, some unknown numbers without a name.
func newCustomers(seed int64, salt uint64, n int) []Party {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5EED0002))
	out := make([]Party, n)
	for i := range out {
		phone := fmt.Sprintf("+1%d%d%04d", areaCodes[rng.IntN(len(areaCodes))], 200+rng.IntN(800), rng.IntN(10000))
		var name, email string
		typ := "local"
		switch p := rng.Float64(); {
		case p < 0.80:
			first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
			name = first + " " + last
			if rng.Float64() < 0.2 {
				email = emailLocal(first) + "." + emailLocal(last) + fmt.Sprint(rng.IntN(100)) + "@" + contactEmailDomains[rng.IntN(len(contactEmailDomains))]
			}
		case p < 0.88:
			name = businessNames[rng.IntN(len(businessNames))]
			typ = "shared"
		}
		id := MakeID(salt, nsContacts, int64(i))
		out[i] = Party{Type: typ, ID: id, Name: name, Email: email, Phone: phone,
			json: renderParty(email, id, name, phone, typ), QNum: AppendString(nil, phone)}
	}
	return out
}
