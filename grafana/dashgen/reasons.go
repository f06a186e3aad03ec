package dashgen

import "fmt"

// The pieces of the Reasons & satisfaction dashboard and of the figures
// it shares with the overview and the scorecard. reasons_daily,
// target_daily and agent_daily count the days of the job's reporting
// zone: a range is read as the days it touches in tz (rangeDays,
// workforce.go).
const (
	// dayTime is a daily row's day as an instant: its midnight in tz.
	dayTime = "toDateTime(day, '${tz}')"
	// lowMOS is the low-MOS share: the connected legs with a MOS below
	// 3.5, of those with a MOS.
	lowMOS = "if(sum(mos_legs) > 0, sum(low_mos_legs) / sum(mos_legs), NULL)"
)

// The CSAT figures over summed reasons_daily rows: the average score of
// those who answered the survey (1-5), the share of them who gave 4 or 5,
// and the response rate (scored / answered conversations).
var (
	csatAverage   = ratio("sum(csat_total)", "sum(csat_responses)")
	csatSatisfied = ratio("sum(csat_satisfied)", "sum(csat_responses)")
	csatRate      = ratio("sum(csat_responses)", "sum(answered)")
)

// unanswered is a subquery of the range's unanswered inbound
// conversations as the overview counts them (abandoned: not answered, not
// short) and as Dialpad's Analytics does (abandoned before an agent rang,
// missed by the agents rung, voicemail), for sums over the range.
var unanswered = rangeRows("abandoned, abandoned_before_agent, missed_by_agents, voicemail",
	"toUInt32(abandoned) AS abandoned, toUInt32(abandoned_before_agent) AS abandoned_before_agent,\n"+
		"        toUInt32(missed_by_agents) AS missed_by_agents, toUInt32(direction = 'inbound' AND outcome = 'voicemail') AS voicemail",
	"unanswered")

// agentCSAT is a subquery of each agent's CSAT over the range (agent_id,
// csat_name, csat_answered, csat_responses, csat_total, csat_satisfied),
// from the inbound conversations credited to the agent (whose leg has the
// CSAT, else who answered: reasons_daily's agent_id).
var agentCSAT = fmt.Sprintf(`(
    SELECT agent_id, argMax(agent_name, day) AS csat_name, toUInt64(sum(answered)) AS csat_answered, toUInt64(sum(csat_responses)) AS csat_responses,
        toUInt64(sum(csat_total)) AS csat_total, toUInt64(sum(csat_satisfied)) AS csat_satisfied
    FROM reasons_daily FINAL
    WHERE %s AND kind = 'all' AND agent_id != 0 AND %s
    GROUP BY agent_id
) AS csat`, oneTarget, rangeDays)
