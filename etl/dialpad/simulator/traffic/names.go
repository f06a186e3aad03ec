package traffic

// Name lists for a company, its staff and its customers. Realistic, varied
// and deterministic: the seed picks from them.

// companies: a name, an email domain, the names of its two departments
// and its call center, and the dispositions its call center's agents
// pick.
var companies = []struct {
	name, domain string
	groups       [3]string
	dispositions []string // the call center's, most used first
}{
	{"Northgate Auto Group", "northgateauto.com", [3]string{"Sales", "Service", "Customer Care"},
		[]string{"Service appointment", "Sales inquiry", "Billing question", "Parts inquiry", "Warranty claim", "Follow-up needed", "Wrong number"}},
	{"Riverside Motors", "riversidemotors.com", [3]string{"Sales", "Parts & Service", "Owner Care"},
		[]string{"Service appointment", "Sales inquiry", "Recall question", "Billing question", "Follow-up needed", "Wrong number"}},
	{"Harborview Home Services", "harborviewhome.com", [3]string{"Scheduling", "Dispatch", "Customer Support"},
		[]string{"New booking", "Reschedule", "Technical issue", "Billing question", "Complaint", "Follow-up needed", "Wrong number"}},
	{"Summit Ridge Dental", "summitridgedental.com", [3]string{"Front Desk", "Billing", "Patient Care Line"},
		[]string{"Appointment change", "Insurance question", "New patient", "Billing question", "Follow-up needed", "Wrong number"}},
	{"Bluebonnet Insurance", "bluebonnetins.com", [3]string{"New Policies", "Claims", "Policyholder Services"},
		[]string{"Claim status", "Billing question", "Policy change", "New quote", "Cancellation", "Follow-up needed", "Wrong number"}},
	{"Cedar & Pine Property Management", "cedarpinepm.com", [3]string{"Leasing", "Maintenance", "Resident Care"},
		[]string{"Maintenance request", "Rent payment", "Lease question", "Noise complaint", "Follow-up needed", "Wrong number"}},
	{"Lakeshore Veterinary Partners", "lakeshorevets.com", [3]string{"Appointments", "Pharmacy", "Client Care"},
		[]string{"Appointment", "Prescription refill", "Billing question", "Emergency referral", "Follow-up needed", "Wrong number"}},
	{"Copperline Internet", "copperline.net", [3]string{"New Accounts", "Billing", "Support Center"},
		[]string{"Technical issue", "Billing question", "Sales inquiry", "Outage report", "Cancellation", "Follow-up needed", "Wrong number"}},
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

// csatComments are the comments of the CSAT survey (csat_transcriptions)
// by the score's mood: pleased (4-5), neutral (3 and non-numeric) and
// displeased (1-2). Each list holds text a reader must display escaped
// and never splice into SQL or a query: markup, SQL, Grafana macros,
// quotes and backslashes, line breaks, emoji and non-Latin script.
var csatComments = [3][]string{
	{
		"Very helpful, solved my problem on the first call.",
		"Quick and friendly, thank you!",
		"The agent was patient and explained everything clearly.",
		"Took a while to get through but the person I spoke with was great.",
		"Excellent service 👍 would recommend",
		"¡Muy amable, gracias por la ayuda!",
		"担当者の対応がとても丁寧でした。",
		"<script>alert('x')</script>",
		`She said "all set" and it was: \" \\ C:\calls\ok`,
		"Resolved.\nThanks again, see you next week.",
	},
	{
		"It was fine.",
		"Okay, but the wait was long.",
		"Got an answer, not the one I wanted.",
		"${__from} $__timeFilter(started_at)",
		"'; DROP TABLE calls; --",
		"Ça va, rien de spécial.",
	},
	{
		"On hold for 20 minutes and nobody called back.",
		"Transferred three times, still no answer.",
		"The line kept cutting out, I could barely hear the agent.",
		"Не смогли решить мою проблему.",
		"Rude. 😡😡",
		"'; DROP TABLE calls; --",
		"<img src=x onerror=alert(1)>",
		"Line one\r\nline two, \"quoted\", and a comma",
	},
}
