// Package transformtest computes the call model's aggregates in plain Go,
// straight from the rules in docs/counting.md, so that
// tests can check what the warehouse computed in SQL against an
// independent reckoning of the same legs.
//
// Only tests import it. It imports dialpad and transform.
package transformtest

import (
	"cmp"
	"sort"
	"strconv"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

// Conversation is a customer call as the call model defines it.
type Conversation struct {
	Target     dialpad.Target
	ID         uint64
	Direction  string
	StartedMs  int64
	Day        string // YYYY-MM-DD in the reporting zone
	Answered   bool
	AnsweredBy uint64
	Outcome    string
	WaitMs     uint64
	TalkMs     uint64
	Legs       int
	// The contact-center KPIs' flags (docs/counting.md, "Contact-center KPIs"), by
	// the default thresholds.
	ExternalNumber                                 string
	ShortAbandoned, Abandoned, AnsweredInThreshold bool
	HandleMs                                       uint64
	Transferred, RepeatContact, Recovered          bool
	RecoveryMs                                     uint64
	// Reasons and satisfaction (docs/counting.md, "Reasons and
	// satisfaction").
	Labels, Dispositions                 []string // each once, sorted
	CSATScore                            string   // as Dialpad gave it
	CSAT                                 uint8    // 1-5, 0 when the score is not one of "1".."5"
	CSATComments                         []string
	CSATAgent                            uint64 // the agent whose leg has the CSAT; 0 for the entry leg's
	PCSATScore                           string
	MOSLegs, LowMOSLegs                  int
	WorstMOS                             float64
	AgentRang                            bool
	AbandonedBeforeAgent, MissedByAgents bool
}

// LowMOS is the MOS below which a connected leg's line counts as poor.
const LowMOS = 3.5

// Feedback is what events and exports told of a leg after it ended.
type Feedback struct {
	CSAT         string
	Comments     []string
	PCSAT        string
	Dispositions []string
}

// FeedbackKey names a leg under one target.
type FeedbackKey struct {
	Target dialpad.Target
	CallID uint64
}

// The KPI thresholds the reference uses: the settings' defaults.
const (
	ShortAbandonMs = 5000
	ServiceLevelMs = 60000
)

// AgentDay is one agent's activity on one day.
type AgentDay struct {
	Target                                                            dialpad.Target
	Day                                                               string
	AgentID                                                           uint64
	Total, Inbound, Outbound, Completed, Missed, Voicemail, Cancelled int
	TotalDurationMs, AvgDurationMs                                    uint64
	MOSLegs, LowMOSLegs                                               int // connected legs with a MOS, and below LowMOS
}

type convKey struct {
	target dialpad.Target
	id     uint64
}

// Dedup keeps one leg per (target, call id), the last one given.
func Dedup(legs []transform.Leg) []transform.Leg {
	type key struct {
		target dialpad.Target
		id     uint64
	}
	at := map[key]int{}
	var out []transform.Leg
	for _, l := range legs {
		k := key{l.Target, l.CallID}
		if i, ok := at[k]; ok {
			out[i] = l
			continue
		}
		at[k] = len(out)
		out = append(out, l)
	}
	return out
}

// Conversations groups deduplicated legs into conversations, sorted by
// target and id.
func Conversations(legs []transform.Leg, loc *time.Location) []Conversation {
	return ConversationsWith(legs, loc, nil)
}

// ConversationsWith is Conversations with what fb tells of the legs.
func ConversationsWith(legs []transform.Leg, loc *time.Location, fb map[FeedbackKey]Feedback) []Conversation {
	groups := map[convKey][]transform.Leg{}
	for _, l := range legs {
		k := convKey{l.Target, l.ConversationID}
		groups[k] = append(groups[k], l)
	}
	var out []Conversation
	for k, ls := range groups {
		sort.Slice(ls, func(i, j int) bool { return ls[i].StartedMs < ls[j].StartedMs })
		c := Conversation{Target: k.target, ID: k.id, Legs: len(ls), StartedMs: ls[0].StartedMs, Direction: ls[0].Direction}
		c.Day = transform.Day(c.StartedMs, loc).Format(time.DateOnly)
		var firstConnected, firstAgentConnected, waitFrom int64
		voicemail, hasAgentLegs := false, false
		var agentTalk, entryTalk, agentHold, entryHold uint64
		agentsConnected := 0
		c.ExternalNumber = ls[0].Call.ExternalNumber
		ringMs := ls[0].TotalDuration
		for _, l := range ls {
			if l.IsEntryLeg {
				c.Direction = l.Direction
				entryTalk += l.DurationMs
				entryHold += l.HoldMs
				c.ExternalNumber, ringMs = l.Call.ExternalNumber, l.TotalDuration
			}
			for _, at := range []int64{l.QueuedMs, l.FirstRangMs} {
				if at > 0 && (waitFrom == 0 || at < waitFrom) {
					waitFrom = at
				}
			}
			if l.Call.IsTransferred {
				c.Transferred = true
			}
			if l.AgentID != 0 {
				agentHold += l.HoldMs
				if l.ConnectedMs > 0 {
					agentsConnected++
				}
			}
			if l.HasVoicemail {
				voicemail = true
			}
			if l.AgentID != 0 {
				hasAgentLegs = true
				agentTalk += l.DurationMs
			}
			if l.ConnectedMs > 0 {
				c.Answered = true
				if firstConnected == 0 || l.ConnectedMs < firstConnected {
					firstConnected = l.ConnectedMs
				}
				if l.AgentID != 0 && (firstAgentConnected == 0 || l.ConnectedMs < firstAgentConnected) {
					firstAgentConnected = l.ConnectedMs
					c.AnsweredBy = l.AgentID
				}
			}
		}
		if waitFrom == 0 {
			waitFrom = c.StartedMs
		}
		switch {
		case c.Answered:
			c.Outcome = "answered"
			if firstConnected > waitFrom {
				c.WaitMs = uint64(firstConnected - waitFrom)
			}
		case voicemail:
			c.Outcome = "voicemail"
		case c.Direction == "inbound":
			c.Outcome = "missed"
		default:
			c.Outcome = "cancelled"
		}
		hold := entryHold
		if hasAgentLegs {
			c.TalkMs, hold = agentTalk, agentHold
		} else {
			c.TalkMs = entryTalk
		}
		c.Transferred = c.Transferred || agentsConnected > 1
		if c.Answered {
			c.HandleMs = c.TalkMs + hold
		}
		c.reasons(ls, fb)
		if c.Direction == "inbound" {
			c.AbandonedBeforeAgent = c.Outcome == "missed" && !c.AgentRang
			c.MissedByAgents = c.Outcome == "missed" && c.AgentRang
			c.ShortAbandoned = !c.Answered && ringMs <= ShortAbandonMs
			c.Abandoned = !c.Answered && !c.ShortAbandoned
			c.AnsweredInThreshold = c.Answered && c.WaitMs <= ServiceLevelMs
		}
		out = append(out, c)
	}
	flagRepeatsAndRecoveries(out)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target.String() < out[j].Target.String()
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// flagRepeatsAndRecoveries sets the flags that depend on the target's
// other conversations with the same number: a repeat contact is an
// inbound conversation followed by another inbound one within 7 days; an
// abandoned one is recovered by an answered one within 24 hours. Starts
// are compared in whole seconds, as the conversations table stores them.
func flagRepeatsAndRecoveries(convs []Conversation) {
	type key struct {
		target dialpad.Target
		number string
	}
	byNumber := map[key][]int{}
	for i, c := range convs {
		if c.ExternalNumber != "" {
			k := key{c.Target, c.ExternalNumber}
			byNumber[k] = append(byNumber[k], i)
		}
	}
	after := func(y, c Conversation) (int64, bool) {
		ys, cs := y.StartedMs/1000, c.StartedMs/1000
		return ys - cs, ys > cs || (ys == cs && y.ID > c.ID)
	}
	for _, idx := range byNumber {
		for _, i := range idx {
			c := &convs[i]
			best := int64(-1)
			for _, j := range idx {
				y := convs[j]
				d, later := after(y, *c)
				if !later {
					continue
				}
				if c.Direction == "inbound" && y.Direction == "inbound" && d <= 7*24*3600 {
					c.RepeatContact = true
				}
				if c.Abandoned && y.Answered && d <= 24*3600 && (best < 0 || d < best) {
					best = d
				}
			}
			if best >= 0 {
				c.Recovered, c.RecoveryMs = true, uint64(best)*1000
			}
		}
	}
}

// AgentDays sums deduplicated legs whose target is a user per target, day
// and agent, sorted by target, day and agent.
func AgentDays(legs []transform.Leg) []AgentDay {
	type key struct {
		target dialpad.Target
		day    string
		agent  uint64
	}
	days := map[key]*AgentDay{}
	for _, l := range legs {
		if l.AgentID == 0 {
			continue
		}
		k := key{l.Target, l.Day.Format(time.DateOnly), l.AgentID}
		d := days[k]
		if d == nil {
			d = &AgentDay{Target: k.target, Day: k.day, AgentID: k.agent}
			days[k] = d
		}
		d.Total++
		if l.Direction == "inbound" {
			d.Inbound++
		} else {
			d.Outbound++
		}
		switch l.Status {
		case transform.StatusCompleted:
			d.Completed++
		case transform.StatusVoicemail:
			d.Voicemail++
		case transform.StatusCancelled:
			d.Cancelled++
		}
		if l.Direction == "inbound" && (l.Status == transform.StatusMissed || l.Status == transform.StatusVoicemail) {
			d.Missed++
		}
		d.TotalDurationMs += l.DurationMs
		if l.ConnectedMs > 0 && l.Call.MOSScore != nil {
			d.MOSLegs++
			if float64(*l.Call.MOSScore) < LowMOS {
				d.LowMOSLegs++
			}
		}
	}
	var out []AgentDay
	for _, d := range days {
		if d.Completed > 0 {
			d.AvgDurationMs = d.TotalDurationMs / uint64(d.Completed)
		}
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Target != b.Target {
			return a.Target.String() < b.Target.String()
		}
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		return a.AgentID < b.AgentID
	})
	return out
}

// reasons sets c's labels, dispositions, CSAT, predicted CSAT and MOS
// from its legs ls and fb. A leg's CSAT is its own (the list's), else
// fb's; the conversation's is that of its last connected agent leg with
// one, else of its entry leg.
func (c *Conversation) reasons(ls []transform.Leg, fb map[FeedbackKey]Feedback) {
	labels, dispositions := map[string]bool{}, map[string]bool{}
	type pick struct {
		leg   *transform.Leg
		score string
		notes []string
	}
	var agentCSAT, entryCSAT, agentPCSAT, entryPCSAT *pick
	for i := range ls {
		l := &ls[i]
		f := fb[FeedbackKey{l.Target, l.CallID}]
		for _, x := range l.Call.Labels {
			labels[x] = true
		}
		for _, x := range f.Dispositions {
			dispositions[x] = true
		}
		if l.AgentID != 0 {
			c.AgentRang = true
		}
		if l.ConnectedMs > 0 && l.Call.MOSScore != nil {
			c.MOSLegs++
			mos := float64(*l.Call.MOSScore)
			if mos < LowMOS {
				c.LowMOSLegs++
			}
			if c.MOSLegs == 1 || mos < c.WorstMOS {
				c.WorstMOS = mos
			}
		}
		csat := &pick{leg: l, score: l.Call.CSATScore, notes: l.Call.CSATComments}
		if csat.score == "" {
			csat.score = f.CSAT
		}
		if len(csat.notes) == 0 {
			csat.notes = f.Comments
		}
		if csat.score != "" || len(csat.notes) > 0 {
			switch {
			case l.AgentID != 0 && (agentCSAT == nil || l.ConnectedMs > agentCSAT.leg.ConnectedMs):
				agentCSAT = csat
			case l.IsEntryLeg && (entryCSAT == nil || l.StartedMs < entryCSAT.leg.StartedMs):
				entryCSAT = csat
			}
		}
		if f.PCSAT != "" {
			p := &pick{leg: l, score: f.PCSAT}
			switch {
			case l.AgentID != 0 && (agentPCSAT == nil || l.ConnectedMs > agentPCSAT.leg.ConnectedMs):
				agentPCSAT = p
			case l.IsEntryLeg && (entryPCSAT == nil || l.StartedMs < entryPCSAT.leg.StartedMs):
				entryPCSAT = p
			}
		}
	}
	c.Labels, c.Dispositions = sortedKeys(labels), sortedKeys(dispositions)
	if p := cmp.Or(agentCSAT, entryCSAT); p != nil {
		c.CSATScore, c.CSATComments, c.CSATAgent = p.score, p.notes, p.leg.AgentID
		if n, err := strconv.Atoi(p.score); err == nil && n >= 1 && n <= 5 && p.score == strconv.Itoa(n) {
			c.CSAT = uint8(n)
		}
	}
	if c.CSATComments == nil {
		c.CSATComments = []string{}
	}
	if p := cmp.Or(agentPCSAT, entryPCSAT); p != nil {
		c.PCSATScore = p.score
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Reason is reasons_daily's row: the inbound conversations of a target
// and day with one reason of a kind (all, label, disposition; "" for
// none), credited to one agent: the one whose leg has the CSAT, else the
// one who answered (0: not answered).
type Reason struct {
	Target        dialpad.Target
	Day           string
	Kind, Reason  string
	AgentID       uint64
	Conversations int
	Answered      int
	HandleMs      uint64
	CSATResponses int
	CSATTotal     int
	CSATSatisfied int
}

// Reasons counts convs as reasons_daily does, sorted by target, day,
// kind, reason and agent.
func Reasons(convs []Conversation) []Reason {
	type key struct {
		target            dialpad.Target
		day, kind, reason string
		agent             uint64
	}
	at := map[key]*Reason{}
	for _, c := range convs {
		if c.Direction != "inbound" {
			continue
		}
		kinds := map[string][]string{"all": {""}, "label": c.Labels, "disposition": c.Dispositions}
		for kind, reasons := range kinds {
			if len(reasons) == 0 {
				reasons = []string{""}
			}
			for _, r := range reasons {
				agent := cmp.Or(c.CSATAgent, c.AnsweredBy)
				k := key{c.Target, c.Day, kind, r, agent}
				x := at[k]
				if x == nil {
					x = &Reason{Target: c.Target, Day: c.Day, Kind: kind, Reason: r, AgentID: agent}
					at[k] = x
				}
				x.Conversations++
				if c.Answered {
					x.Answered++
					x.HandleMs += c.HandleMs
					x.CSATTotal += int(c.CSAT)
					if c.CSAT > 0 {
						x.CSATResponses++
					}
					if c.CSAT >= 4 {
						x.CSATSatisfied++
					}
				}
			}
		}
	}
	out := make([]Reason, 0, len(at))
	for _, x := range at {
		out = append(out, *x)
	}
	kindOrder := map[string]int{"all": 1, "label": 2, "disposition": 3}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.Target != b.Target:
			return a.Target.String() < b.Target.String()
		case a.Day != b.Day:
			return a.Day < b.Day
		case a.Kind != b.Kind:
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		case a.Reason != b.Reason:
			return a.Reason < b.Reason
		}
		return a.AgentID < b.AgentID
	})
	return out
}

// DaySatisfaction is target_daily's columns of reasons and satisfaction.
type DaySatisfaction struct {
	Target                                          dialpad.Target
	Day                                             string
	AbandonedBeforeAgent, MissedByAgents, Voicemail int
	CSATResponses, CSATTotal, CSATSatisfied         int
	MOSLegs, LowMOSLegs                             int
}

// Satisfaction sums convs per target and day as target_daily does, for
// every target and day with a conversation, sorted by target and day.
func Satisfaction(convs []Conversation) []DaySatisfaction {
	type key struct {
		target dialpad.Target
		day    string
	}
	at := map[key]*DaySatisfaction{}
	for _, c := range convs {
		k := key{c.Target, c.Day}
		d := at[k]
		if d == nil {
			d = &DaySatisfaction{Target: c.Target, Day: c.Day}
			at[k] = d
		}
		d.MOSLegs += c.MOSLegs
		d.LowMOSLegs += c.LowMOSLegs
		if c.Direction != "inbound" {
			continue
		}
		d.AbandonedBeforeAgent += b2i(c.AbandonedBeforeAgent)
		d.MissedByAgents += b2i(c.MissedByAgents)
		d.Voicemail += b2i(c.Outcome == "voicemail")
		if c.Answered {
			d.CSATTotal += int(c.CSAT)
			d.CSATResponses += b2i(c.CSAT > 0)
			d.CSATSatisfied += b2i(c.CSAT >= 4)
		}
	}
	out := make([]DaySatisfaction, 0, len(at))
	for _, d := range at {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target.String() < out[j].Target.String()
		}
		return out[i].Day < out[j].Day
	})
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
