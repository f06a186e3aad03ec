package traffic_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// legsByID maps the call ids of s's legs to the legs.
func legsByID(s *traffic.Traffic) map[wire.ID]*traffic.Leg {
	out := map[wire.ID]*traffic.Leg{}
	for i := range s.List() {
		out[wire.ID(s.List()[i].ID)] = &s.List()[i]
	}
	return out
}

func share(n, of int) float64 { return float64(n) / float64(max(of, 1)) }

// TestFeedbackFrequencies: labels, CSAT, its comments, predicted CSAT,
// dispositions and MOS come in the shares a real company shows, from the
// same helpers whatever the encoding.
func TestFeedbackFrequencies(t *testing.T) {
	t.Parallel()
	s := simtest.NewTraffic(t, traffic.Config{})
	co := s.Company()
	byID := legsByID(s)
	legs := simtest.AllLegs(t, s, simtest.Start, simtest.End.Add(24*time.Hour))
	convs, _ := conversations(t, legs)

	var answered, scored, satisfied, numeric, nonNumeric, withComment, inbound, labelled int
	for _, c := range convs {
		if c.entry == nil {
			continue
		}
		inbound++
		score, any := "", len(c.entry.Labels) > 0
		for _, a := range c.agents {
			any = any || len(a.Labels) > 0
			if score == "" {
				score = a.CSATScore
			}
		}
		if any {
			labelled++
		}
		if c.entry.DateConnected == 0 {
			continue
		}
		answered++
		if score == "" {
			score = c.entry.CSATScore
		}
		if score == "" {
			continue
		}
		scored++
		switch n, err := strconv.Atoi(score); {
		case err != nil:
			nonNumeric++
		case n < 1 || n > 5:
			t.Errorf("csat_score %q", score)
		default:
			numeric++
			if n >= 4 {
				satisfied++
			}
		}
	}

	var connected, mosGood, mosLow, ccAgents, oneDisp, twoDisp, pcsat, csatLegs int
	for i := range legs {
		l := &legs[i]
		leg := byID[l.CallID]
		h, _ := s.LegHashes(leg)
		if l.CSATScore != traffic.CSATScore(leg, h) || !slices.Equal(l.CSATComments, traffic.CSATComments(leg, h)) {
			t.Fatalf("leg %d: the list's csat %q %q, the helpers' %q %q", l.CallID, l.CSATScore, l.CSATComments,
				traffic.CSATScore(leg, h), traffic.CSATComments(leg, h))
		}
		if l.CSATScore != "" {
			csatLegs++
			if len(l.CSATComments) > 0 {
				withComment++
			}
			if l.Direction == "outbound" {
				t.Errorf("outbound leg %d has a csat_score", l.CallID)
			}
		}
		if len(l.CSATComments) > 1 || len(l.CSATComments) == 1 && l.CSATScore == "" {
			t.Errorf("leg %d: csat_score %q, comments %q", l.CallID, l.CSATScore, l.CSATComments)
		}
		if _, ok := l.Keys["dispositions"]; ok {
			t.Errorf("leg %d: the list carries dispositions", l.CallID)
		}
		disp, pc := co.Dispositions(leg, h), co.PCSATScore(leg, h)
		ccAgent := l.DateConnected != 0 && l.Target.Type == "user" && l.EntryPointTarget.Type == "callcenter"
		if !ccAgent && (disp != nil || pc != "") {
			t.Errorf("leg %d (target %s, entry point %s, connected %d) has dispositions %q, pcsat %q",
				l.CallID, l.Target.Type, l.EntryPointTarget.Type, l.DateConnected, disp, pc)
		}
		if ccAgent {
			ccAgents++
			switch len(disp) {
			case 1:
				oneDisp++
			case 2:
				twoDisp++
				if disp[0] == disp[1] {
					t.Errorf("leg %d: the same disposition twice: %q", l.CallID, disp)
				}
			}
			if pc != "" {
				pcsat++
				if n, err := strconv.Atoi(pc); err != nil || n < 1 || n > 5 {
					t.Errorf("leg %d: pcsat_score %q", l.CallID, pc)
				}
			}
		}
		if l.DateConnected != 0 {
			connected++
			switch m := float64(*l.MOSScore); {
			case m < 2.5 || m > 4.5:
				t.Errorf("leg %d: mos_score %v", l.CallID, m)
			case m < 3.5:
				mosLow++
			case m >= 4 && m <= 4.4:
				mosGood++
			}
		}
	}

	t.Logf("%d answered calls: %d with a csat (%d numeric, %d of them 4-5, %d not numeric); %d of %d scored legs with a comment; "+
		"%d of %d inbound calls labelled; %d connected call-center agent legs: %d with one disposition, %d with two, %d with a pcsat; "+
		"%d connected legs: %d with a mos of 4.0-4.4, %d below 3.5",
		answered, scored, numeric, satisfied, nonNumeric, withComment, csatLegs, labelled, inbound,
		ccAgents, oneDisp, twoDisp, pcsat, connected, mosGood, mosLow)
	for _, c := range []struct {
		what   string
		got    float64
		lo, hi float64
	}{
		{"answered calls with a csat", share(scored, answered), 0.15, 0.25},
		{"numeric csat of 4-5", share(satisfied, numeric), 0.65, 0.9},
		{"csat not numeric", share(nonNumeric, scored), 0.005, 0.08},
		{"scored legs with a comment", share(withComment, csatLegs), 0.2, 0.4},
		{"inbound calls labelled", share(labelled, inbound), 0.45, 0.85},
		{"call-center agent legs with one disposition", share(oneDisp, ccAgents), 0.6, 0.78},
		{"call-center agent legs with two dispositions", share(twoDisp, ccAgents), 0.05, 0.2},
		{"call-center agent legs with a pcsat", share(pcsat, ccAgents), 0.4, 0.6},
		{"connected legs with a mos of 4.0-4.4", share(mosGood, connected), 0.75, 0.9},
		{"connected legs with a mos below 3.5", share(mosLow, connected), 0.01, 0.06},
	} {
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s: %.3f, want %.2f-%.2f", c.what, c.got, c.lo, c.hi)
		}
	}
}

// TestHostileCommentsSurviveJSON: the comments that must be displayed
// escaped (markup, SQL, Grafana macros, quotes and backslashes, line
// breaks, emoji, non-Latin script) are in the list, and decode to
// exactly the text the helper gives.
func TestHostileCommentsSurviveJSON(t *testing.T) {
	t.Parallel()
	s := simtest.NewTraffic(t, traffic.Config{})
	byID := legsByID(s)
	seen := map[string]bool{}
	for _, tg := range s.Targets() {
		for _, raw := range s.Legs(tg, simtest.Start, simtest.End) {
			var c struct {
				CallID   wire.ID  `json:"call_id"`
				Comments []string `json:"csat_transcriptions"`
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatalf("%v\n%s", err, raw)
			}
			leg := byID[c.CallID]
			h, _ := s.LegHashes(leg)
			if want := traffic.CSATComments(leg, h); !slices.Equal(c.Comments, want) {
				t.Fatalf("leg %d: comments decode as %q, want %q", c.CallID, c.Comments, want)
			}
			for _, cm := range c.Comments {
				seen[cm] = true
			}
		}
	}
	for what, found := range map[string]func(string) bool{
		"markup":            func(c string) bool { return c == "<script>alert('x')</script>" },
		"SQL":               func(c string) bool { return c == "'; DROP TABLE calls; --" },
		"Grafana macros":    func(c string) bool { return strings.Contains(c, "${__from} $__timeFilter(started_at)") },
		"quotes, backslash": func(c string) bool { return strings.Contains(c, `\" \\`) },
		"a line break":      func(c string) bool { return strings.Contains(c, "\n") },
		"a CR LF":           func(c string) bool { return strings.Contains(c, "\r\n") },
		"an emoji":          func(c string) bool { return strings.Contains(c, "👍") || strings.Contains(c, "😡") },
		"non-Latin script": func(c string) bool {
			return strings.Contains(c, "担当者") || strings.Contains(c, "Не смогли")
		},
	} {
		ok := false
		for c := range seen {
			ok = ok || found(c)
		}
		if !ok {
			t.Errorf("no comment with %s among %d distinct comments", what, len(seen))
		}
	}
}

// TestAgentRangFlagsEntryLegsWithAgents: an entry leg is flagged
// AgentRang exactly when its call has agent legs.
func TestAgentRangFlagsEntryLegsWithAgents(t *testing.T) {
	t.Parallel()
	s := simtest.NewTraffic(t, traffic.Config{})
	hasAgents := map[int64]bool{}
	for _, l := range s.List() {
		if l.EntryID != 0 {
			hasAgents[l.EntryID] = true
		}
	}
	var with, without int
	for _, l := range s.List() {
		flagged := l.Flags&traffic.AgentRang != 0
		switch {
		case l.Flags&traffic.Entry == 0 && flagged:
			t.Fatalf("leg %d is no entry leg but flagged AgentRang", l.ID)
		case l.Flags&traffic.Entry == 0:
		case flagged != hasAgents[l.ID]:
			t.Fatalf("entry leg %d: AgentRang %v, agent legs %v", l.ID, flagged, hasAgents[l.ID])
		case flagged:
			with++
		default:
			without++
		}
	}
	if without == 0 || with < 10*without {
		t.Errorf("%d entry legs rang an agent, %d none: want a few without", with, without)
	}
}
