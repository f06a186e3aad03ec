// Package traffic is the simulated Dialpad company and its calls, as
// data: the company generated from a seed (two departments and a call
// center, their users, rooms and customers), weeks of call legs generated
// day by day (an inbound call is an entry leg and a leg for each agent it
// rang, an outbound call one leg), held in the call list's order and
// indexed by target, and the forms in which Dialpad's API writes them: a
// leg as GET /api/v2/call lists it, and the bodies of the directory
// endpoints. The decorations of a leg that other encodings of it share
// (its hashes, labels, CSAT score and comments, predicted CSAT,
// dispositions and MOS (feedback.go), master and entry point ids,
// recordings) are decided here, so that no encoding disagrees with the
// list.
//
// Everything is deterministic from Config.Seed: each UTC day's traffic
// comes from its own random source, so a day is the same whatever range
// is generated. Nothing changes after New, and nothing here serves HTTP.
// It imports etl/dialpad (for Target) and no other package of the
// project.
package traffic
