// Package transformtest computes the call model's aggregates in plain Go,
// straight from the rules in docs/counting.md, so that
// tests can check what the warehouse computed in SQL against an
// independent reckoning of the same legs.
//
// Only tests import it. It imports dialpad and transform.
package transformtest

import (
	"sort"
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
		if c.Direction == "inbound" {
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
