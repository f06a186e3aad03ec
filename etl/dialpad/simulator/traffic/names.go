package traffic

// Name lists for a company, its staff and its customers. Realistic, varied
// and deterministic: the seed picks from them.

// companies: a name, an email domain and the names of its two
// departments and its call center.
var companies = []struct {
	name, domain string
	groups       [3]string
}{
	{"Northgate Auto Group", "northgateauto.com", [3]string{"Sales", "Service", "Customer Care"}},
	{"Riverside Motors", "riversidemotors.com", [3]string{"Sales", "Parts & Service", "Owner Care"}},
	{"Harborview Home Services", "harborviewhome.com", [3]string{"Scheduling", "Dispatch", "Customer Support"}},
	{"Summit Ridge Dental", "summitridgedental.com", [3]string{"Front Desk", "Billing", "Patient Care Line"}},
	{"Bluebonnet Insurance", "bluebonnetins.com", [3]string{"New Policies", "Claims", "Policyholder Services"}},
	{"Cedar & Pine Property Management", "cedarpinepm.com", [3]string{"Leasing", "Maintenance", "Resident Care"}},
	{"Lakeshore Veterinary Partners", "lakeshorevets.com", [3]string{"Appointments", "Pharmacy", "Client Care"}},
	{"Copperline Internet", "copperline.net", [3]string{"New Accounts", "Billing", "Support Center"}},
}

var roomNames = []string{"Front Desk Phone", "Showroom Phone", "Conference Room", "Lobby Phone", "Warehouse Phone", "Break Room Phone"}

var officeNames = []string{"Austin HQ", "Main Office", "Downtown Office", "Headquarters"}

var firstNames = []string{
	"Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Elijah",
	"Isabella", "James", "Mia", "Benjamin", "Amelia", "Lucas", "Harper",
	"Ethan", "Priya", "Wei", "Fatima", "Kwame", "Aisha", "Diego", "Yuki",
	"Chloé", "José", "Siobhán", "Nikhil", "Thanh", "Ingrid", "Omar",
	"Grace", "Samuel", "Layla", "Daniel", "Zoe", "Hiroshi", "Camila",
	"Andrés", "Naomi", "Tobias", "Leah", "Marcus", "Ana", "Jamal", "Elena",
	"Ravi", "Keisha", "Connor", "Mei", "Rafael", "Nora", "Ibrahim", "Hannah",
	"Xavier", "Lucía", "Dmitri", "Ayesha", "Brandon", "Sofía", "Kofi",
}

var lastNames = []string{
	"Johnson", "Nguyen", "Garcia", "Smith", "Patel", "Williams", "Kim",
	"Martinez", "Brown", "O'Connor", "Hernández", "Chen", "Davis", "Okafor",
	"Lopez", "Wilson", "Anderson", "Singh", "Thomas", "Moore", "Tanaka",
	"Jackson", "Rossi", "White", "Müller", "Harris", "Clark", "Lewis",
	"Robinson", "Walker", "Young", "Ali", "King", "Wright", "Scott",
	"Torres", "Hill", "Green", "Adams", "Baker", "Nakamura", "Rivera",
	"Campbell", "Mitchell", "Carter", "Roberts", "Phillips", "Evans",
	"Turner", "Diaz", "Parker", "Collins", "Edwards", "Stewart", "Morris",
	"Murphy", "Cook", "Rogers", "Ivanova", "Mensah",
}

var businessNames = []string{
	"Acme Plumbing LLC", "Greenfield Logistics", "Tri-County Fleet Services",
	"Bright Smile Pediatrics", "Oakwood Realty", "Metro Courier Co.",
	"Sunrise Bakery", "Lone Star Roofing", "Pinecrest Elementary",
	"Hill Country Catering", `Dave's "Best" Auto Body`, "Redline Towing",
}

// jobTitles by role.
var jobTitles = map[string][]string{
	"operator":   {"Customer Service Representative", "Account Specialist", "Service Advisor", "Support Agent", "Sales Consultant"},
	"supervisor": {"Team Lead", "Shift Supervisor"},
	"admin":      {"Operations Manager"},
}

// labelSets are the call labels each group's agents use.
var labelSets = [][]string{
	{"new-lead", "quote", "follow-up", "callback"},
	{"appointment", "billing", "reschedule", "follow-up"},
	{"complaint", "account-update", "escalation", "resolved"},
}

// areaCodes for US numbers; the company's numbers use the first one the
// seed picks, customers use all of them.
var areaCodes = []int{512, 737, 210, 214, 713, 415, 617, 312, 206, 303, 646, 404, 305, 602, 919, 503}

// asciiFold maps the accented letters of the lists above to ASCII, for
// email addresses.
var asciiFold = map[rune]string{
	'é': "e", 'á': "a", 'í': "i", 'ó': "o", 'ú': "u", 'ü': "u", 'ñ': "n",
}
