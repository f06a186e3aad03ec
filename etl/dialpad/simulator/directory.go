package simulator

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The directory endpoints (groups, operators, users, offices) never
// change, so their bodies are rendered once, keyed by path.
type directory map[string][]byte

type groupDetailJSON struct {
	DoNotDisturb bool   `json:"do_not_disturb"`
	GroupID      int64  `json:"group_id,string"`
	GroupType    string `json:"group_type"`
	Role         string `json:"role"`
}

type userJSON struct {
	CompanyID    int64             `json:"company_id,string"`
	Country      string            `json:"country"`
	DateAdded    string            `json:"date_added"`
	DisplayName  string            `json:"display_name"`
	Emails       []string          `json:"emails"`
	Extension    string            `json:"extension"`
	FirstName    string            `json:"first_name"`
	GroupDetails []groupDetailJSON `json:"group_details"`
	ID           int64             `json:"id,string"`
	IsAdmin      bool              `json:"is_admin"`
	IsOnDuty     bool              `json:"is_on_duty"`
	JobTitle     string            `json:"job_title"`
	Language     string            `json:"language"`
	LastName     string            `json:"last_name"`
	License      string            `json:"license"`
	OfficeID     int64             `json:"office_id,string"`
	OnDutyStatus string            `json:"on_duty_status,omitempty"`
	PhoneNumbers []string          `json:"phone_numbers"`
	State        string            `json:"state"`
	Timezone     string            `json:"timezone"`
}

type roomJSON struct {
	CompanyID    int64    `json:"company_id,string"`
	Country      string   `json:"country"`
	ID           int64    `json:"id,string"`
	IsFree       bool     `json:"is_free"`
	IsOnDuty     bool     `json:"is_on_duty"`
	Name         string   `json:"name"`
	OfficeID     int64    `json:"office_id,string"`
	PhoneNumbers []string `json:"phone_numbers"`
	State        string   `json:"state"`
}

type groupJSON struct {
	AutoCallRecording  bool     `json:"auto_call_recording"`
	AvailabilityStatus string   `json:"availability_status"`
	Country            string   `json:"country"`
	FirstAction        string   `json:"first_action"`
	FridayHours        []string `json:"friday_hours"`
	HoursOn            bool     `json:"hours_on"`
	ID                 int64    `json:"id,string"`
	MondayHours        []string `json:"monday_hours"`
	Name               string   `json:"name"`
	NoOperatorsAction  string   `json:"no_operators_action"`
	OfficeID           int64    `json:"office_id,string"`
	PhoneNumbers       []string `json:"phone_numbers"`
	RingSeconds        int64    `json:"ring_seconds,string"`
	State              string   `json:"state"`
	ThursdayHours      []string `json:"thursday_hours"`
	Timezone           string   `json:"timezone"`
	TuesdayHours       []string `json:"tuesday_hours"`
	WednesdayHours     []string `json:"wednesday_hours"`
}

type officeJSON struct {
	CompanyID    int64    `json:"company_id,string"`
	Country      string   `json:"country"`
	ID           int64    `json:"id,string"`
	Name         string   `json:"name"`
	PhoneNumbers []string `json:"phone_numbers"`
	State        string   `json:"state"`
	Timezone     string   `json:"timezone"`
}

func (tr *Traffic) renderDirectory() directory {
	co := tr.co
	added := tr.cfg.Start.Add(-400 * 24 * time.Hour).UTC().Format(time.RFC3339)
	users := make([]userJSON, len(co.users))
	for ui, u := range co.users {
		p := co.parties[co.userParty(ui)]
		uj := userJSON{CompanyID: co.id, Country: "us", DateAdded: added, DisplayName: p.name,
			Emails: []string{p.email}, Extension: u.extension, FirstName: u.first, ID: p.id,
			JobTitle: u.title, Language: "en", LastName: u.last, License: "agents", OfficeID: co.officeID,
			PhoneNumbers: []string{p.phone}, State: "active", Timezone: co.tz}
		for _, m := range u.groups {
			gp := co.parties[m.group]
			uj.GroupDetails = append(uj.GroupDetails, groupDetailJSON{GroupID: gp.id, GroupType: gp.typ, Role: m.role})
			uj.IsAdmin = uj.IsAdmin || m.role == "admin"
			if gp.typ == "callcenter" {
				uj.IsOnDuty, uj.OnDutyStatus = true, "available"
			}
		}
		users[ui] = uj
	}
	rooms := make([]roomJSON, len(co.rooms))
	for i, r := range co.rooms {
		rooms[i] = roomJSON{CompanyID: co.id, Country: "us", ID: r.id, IsFree: true, IsOnDuty: true,
			Name: r.name, OfficeID: co.officeID, PhoneNumbers: []string{r.phone}, State: "active"}
	}

	d := directory{}
	put := func(path string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("simulator: render %s: %v", path, err)) // static data: a bug
		}
		d[path] = b
	}
	type items[T any] struct {
		Items []T `json:"items"`
	}
	type operators struct {
		Users []userJSON `json:"users"`
		Rooms []roomJSON `json:"rooms"`
	}
	hours := []string{"08:00", "18:00"}
	lists := map[string][]groupJSON{"department": {}, "callcenter": {}}
	for gi, g := range co.groups {
		p := co.parties[gi]
		gj := groupJSON{AutoCallRecording: g.recordShare == 1, AvailabilityStatus: "open", Country: "us",
			FirstAction: "operators", FridayHours: hours, HoursOn: true, ID: p.id, MondayHours: hours,
			Name: p.name, NoOperatorsAction: "voicemail", OfficeID: co.officeID, PhoneNumbers: []string{p.phone},
			RingSeconds: 30, State: "active", ThursdayHours: hours, Timezone: co.tz, TuesdayHours: hours,
			WednesdayHours: hours}
		lists[p.typ] = append(lists[p.typ], gj)
		base := "/api/v2/" + p.typ + "s/" + strconv.FormatInt(p.id, 10)
		put(base, gj)
		ops := operators{Rooms: []roomJSON{rooms[g.room]}}
		for _, pi := range g.members {
			ops.Users = append(ops.Users, users[pi-len(co.groups)])
		}
		put(base+"/operators", ops)
	}
	put("/api/v2/departments", items[groupJSON]{lists["department"]})
	put("/api/v2/callcenters", items[groupJSON]{lists["callcenter"]})
	put("/api/v2/users", items[userJSON]{users})
	for _, u := range users {
		put("/api/v2/users/"+strconv.FormatInt(u.ID, 10), u)
	}
	office := "/api/v2/offices/" + strconv.FormatInt(co.officeID, 10)
	put("/api/v2/offices", items[officeJSON]{[]officeJSON{{CompanyID: co.id, Country: "us", ID: co.officeID,
		Name: co.officeName, PhoneNumbers: []string{co.officePhone}, State: "active", Timezone: co.tz}}})
	put(office+"/operators", operators{Users: users, Rooms: rooms})
	return d
}
