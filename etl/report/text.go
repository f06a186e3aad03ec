package report

import (
	"fmt"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"
)

// Text is the report as plain text, with the figures of its HTML.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.Subject())
	fmt.Fprintf(&b, "Days and hours in %s. Read from the warehouse at %s, with the queries of the Department overview, Workforce, Reasons & satisfaction and ETL health dashboards.\n",
		r.Location, r.Built.In(r.Location).Format(time.DateTime))
	for i := range r.Sections {
		r.Sections[i].text(&b, r.Location)
	}
	return trailingSpace.ReplaceAllString(b.String(), "")
}

// trailingSpace is what tabwriter leaves at the ends of lines.
var trailingSpace = regexp.MustCompile(`(?m)[ \t]+$`)

func (s *Section) text(b *strings.Builder, loc *time.Location) {
	fmt.Fprintf(b, "\n== %s ==\n\n", s.Name)
	var cards []string
	for _, c := range s.Cards {
		cards = append(cards, c.Title+": "+c.Fields[0].Text)
	}
	fmt.Fprintf(b, "%s\n\n", strings.Join(cards, "   "))

	tw := tabwriter.NewWriter(b, 2, 4, 3, ' ', 0)
	for _, k := range s.KPIs {
		var more []string
		for _, f := range k.Fields[1:] {
			more = append(more, f.Name+": "+f.Text)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", k.Title, k.Fields[0].Text, strings.Join(more, ", "))
	}
	tw.Flush()

	if t := s.trendTable(); len(t.Rows) > 0 {
		per := "day"
		if s.Trends[0].Step == time.Hour {
			per = "hour"
		}
		fmt.Fprintf(b, "\nPer %s\n", per)
		tw = tabwriter.NewWriter(b, 2, 4, 3, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "  \t%s\t\n", strings.Join(t.Columns, "\t"))
		for _, r := range t.Rows {
			var vs []string
			for _, v := range r.Values {
				vs = append(vs, v.Text)
			}
			fmt.Fprintf(tw, "  %s\t%s\t\n", r.Label, strings.Join(vs, "\t"))
		}
		tw.Flush()
	}

	fmt.Fprintf(b, "\nBusiest hours\n")
	slots := s.BusiestHours(busiestSlots)
	if len(slots) == 0 {
		fmt.Fprintf(b, "  No calls.\n")
	}
	for _, sl := range slots {
		fmt.Fprintf(b, "  %s   %s calls\n", sl, sl.Calls.Text)
	}

	fmt.Fprintf(b, "\n%s\n", s.Agents.Title)
	textTable(b, s.Agents)

	if s.AgentTime.Title != "" {
		fmt.Fprintf(b, "\n%s\n", s.AgentTime.Title)
		if len(s.AgentTime.Rows) == 0 {
			fmt.Fprintf(b, "  %s\n", noAgentTime)
		} else {
			textTable(b, s.AgentTime)
		}
	}

	if s.Staffing.Title != "" {
		fmt.Fprintf(b, "\n%s (agents to schedule, busiest quarter hour)\n", s.Staffing.Title)
		if len(s.Staffing.Rows) == 0 {
			fmt.Fprintf(b, "  %s\n", noStaffing)
		} else {
			textTable(b, s.Staffing)
		}
	}

	fmt.Fprintf(b, "\nSatisfaction (CSAT)\n")
	var sat []string
	for _, st := range s.Satisfaction {
		sat = append(sat, st.Title+": "+st.Fields[0].Text)
	}
	fmt.Fprintf(b, "  %s\n", strings.Join(sat, "   "))
	if len(s.AgentCSAT.Rows) > 0 {
		textTable(b, s.AgentCSAT)
	}

	fmt.Fprintf(b, "\nWhy they called (inbound calls per label and disposition)\n")
	reasons, n := s.topReasons()
	if n == 0 {
		fmt.Fprintf(b, "  No inbound calls.\n")
	} else {
		textTable(b, reasons)
		if n > len(reasons.Rows) {
			fmt.Fprintf(b, "  And %d more: see the Reasons & satisfaction dashboard.\n", n-len(reasons.Rows))
		}
	}

	cb, n := s.callBacks()
	fmt.Fprintf(b, "\n%s\n", cb.Title)
	if n == 0 {
		fmt.Fprintf(b, "  None: every caller whose last call was abandoned has been answered since.\n")
	} else {
		textTable(b, cb)
		if n > len(cb.Rows) {
			fmt.Fprintf(b, "  And %d more: see the Department overview.\n", n-len(cb.Rows))
		}
	}

	fmt.Fprintf(b, "\nData health\n")
	lines, warn := s.healthLines(loc)
	for i, l := range lines {
		mark := "  "
		if warn[i] {
			mark = "! "
		}
		fmt.Fprintf(b, "%s%s\n", mark, l)
	}
	if nm := withoutColumn(s.Health.NotMatching, "Target"); len(nm.Rows) > 0 {
		textTable(b, nm)
	}
}

var oneLine = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

// textTable writes t in aligned columns, indented.
// Text is t as the terminal report prints it: aligned columns, indented.
func (t Table) Text() string {
	var b strings.Builder
	textTable(&b, t)
	return b.String()
}

func textTable(b *strings.Builder, t Table) {
	if len(t.Rows) == 0 {
		fmt.Fprintf(b, "  No rows.\n")
		return
	}
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\t\n", strings.Join(t.Columns, "\t"))
	for _, row := range t.Rows {
		var vs []string
		for _, v := range row {
			vs = append(vs, oneLine.Replace(v.Text))
		}
		fmt.Fprintf(tw, "  %s\t\n", strings.Join(vs, "\t"))
	}
	tw.Flush()
}
