package traffic

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
	users := make([]userJSON, len(co.Users))
	for ui, u := range co.Users {
		p := co.Parties[co.UserParty(ui)]
		uj := userJSON{CompanyID: co.id, Country: "us", DateAdded: added, DisplayName: p.Name,
			Emails: []string{p.Email}, Extension: u.extension, FirstName: u.first, ID: p.ID,
			JobTitle: u.title, Language: "en", LastName: u.last, License: "agents", OfficeID: co.OfficeID,
			PhoneNumbers: []string{p.Phone}, State: "active", Timezone: co.tz}
		for _, m := range u.Groups {
			gp := co.Parties[m.Group]
			uj.GroupDetails = append(uj.GroupDetails, groupDetailJSON{GroupID: gp.ID, GroupType: gp.Type, Role: m.Role})
			uj.IsAdmin = uj.IsAdmin || m.Role == "admin"
			if gp.Type == "callcenter" {
				uj.IsOnDuty, uj.OnDutyStatus = true, "available"
			}
		}
		users[ui] = uj
	}
	rooms := make([]roomJSON, len(co.rooms))
	for i, r := range co.rooms {
		rooms[i] = roomJSON{CompanyID: co.id, Country: "us", ID: r.id, IsFree: true, IsOnDuty: true,
			Name: r.name, OfficeID: co.OfficeID, PhoneNumbers: []string{r.phone}, State: "active"}
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
	for gi, g := range co.Groups {
		p := co.Parties[gi]
		gj := groupJSON{AutoCallRecording: g.recordShare == 1, AvailabilityStatus: "open", Country: "us",
			FirstAction: "operators", FridayHours: hours, HoursOn: true, ID: p.ID, MondayHours: hours,
			Name: p.Name, NoOperatorsAction: "voicemail", OfficeID: co.OfficeID, PhoneNumbers: []string{p.Phone},
			RingSeconds: 30, State: "active", ThursdayHours: hours, Timezone: co.tz, TuesdayHours: hours,
			WednesdayHours: hours}
		lists[p.Type] = append(lists[p.Type], gj)
		base := "/api/v2/" + p.Type + "s/" + strconv.FormatInt(p.ID, 10)
		put(base, gj)
		ops := operators{Rooms: []roomJSON{rooms[g.room]}}
		for _, pi := range g.Members {
			ops.Users = append(ops.Users, users[pi-len(co.Groups)])
		}
		put(base+"/operators", ops)
	}
	put("/api/v2/departments", items[groupJSON]{lists["department"]})
	put("/api/v2/callcenters", items[groupJSON]{lists["callcenter"]})
	put("/api/v2/users", items[userJSON]{users})
	for _, u := range users {
		put("/api/v2/users/"+strconv.FormatInt(u.ID, 10), u)
	}
	office := "/api/v2/offices/" + strconv.FormatInt(co.OfficeID, 10)
	put("/api/v2/offices", items[officeJSON]{[]officeJSON{{CompanyID: co.id, Country: "us", ID: co.OfficeID,
		Name: co.officeName, PhoneNumbers: []string{co.officePhone}, State: "active", Timezone: co.tz}}})
	put(office+"/operators", operators{Users: users, Rooms: rooms})
	return d
}
