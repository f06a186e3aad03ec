package traffic

import "strconv"

// What a leg tells of the call's reason and outcome besides its times:
// its labels, the CSAT survey's score and comments, Dialpad's predicted
// CSAT, the agent's dispositions and the line's MOS. Each is decided by
// the hashes of the leg's call id, so the list, the events and the
// exports give the same ones. The share of legs carrying each is meant
// to look like a real company's:
//
//	labels        connected agent legs 9/16, connected entry legs 6/16,
//	              connected outbound legs 5/16, other inbound legs 1/16
//	csat_score    connected agent legs 3/16, connected entry legs 1/32
//	              (about a fifth of answered calls), outbound legs none;
//	              mostly 4 and 5, and 1/32 of them "N/A": Dialpad's field
//	              is a free string
//	comments      5/16 of the legs with a csat_score: one comment,
//	              matching the score's mood
//	pcsat_score   half the connected agent legs of the call center
//	dispositions  connected agent legs of the call center: one (11/16),
//	              two (2/16) or none
//	mos_score     connected legs: 82% 4.00-4.40, 10% 3.50-3.99, 3.5%
//	              below 3.50, the rest 4.41-4.50

// decor is a third hash of a leg, from its first (h), for the decisions
// that the bits of h and h2 have no room for.
func decor(h uint64) uint64 { return Mix64(h ^ 0xFEED_BAC4_C5A7_0001) }

// csatValues are the survey's scores, drawn uniformly: 3/4 of the
// numeric ones 4 or 5, and one non-numeric.
var csatValues = [32]string{
	"5", "5", "5", "5", "5", "5", "5", "5", "5", "5", "5", "5", "5", "5", "5", "5",
	"4", "4", "4", "4", "4", "4", "4", "4", "3", "3", "3", "2", "2", "1", "1", "N/A",
}

// pcsatValues are Dialpad's predicted scores, drawn uniformly.
var pcsatValues = [16]string{"5", "5", "5", "5", "5", "4", "4", "4", "4", "4", "4", "3", "3", "3", "2", "1"}

// CSATScore is l's csat_score, "" when it has none.
func CSATScore(l *Leg, h uint64) string {
	if l.Connected < 0 || l.Flags&Inbound == 0 {
		return ""
	}
	d := decor(h)
	switch p := (h >> 42) & 15; {
	case l.EntryID != 0 && p < 3, l.Flags&Entry != 0 && p == 15 && d>>17&1 == 0:
		return csatValues[d&31]
	}
	return ""
}

// CSATComments is l's csat_transcriptions: one comment for some of the
// legs with a csat_score, nil for the others.
func CSATComments(l *Leg, h uint64) []string {
	score := CSATScore(l, h)
	d := decor(h)
	if score == "" || (d>>5)&15 >= 5 {
		return nil
	}
	mood := 1
	switch score {
	case "4", "5":
		mood = 0
	case "1", "2":
		mood = 2
	}
	list := csatComments[mood]
	return []string{list[int(d>>9&255)%len(list)]}
}

// AppendCSAT appends l's csat_score and csat_transcriptions, when it has
// them, as ,"key":value pairs.
func AppendCSAT(b []byte, l *Leg, h uint64) []byte {
	score := CSATScore(l, h)
	if score == "" {
		return b
	}
	b = append(b, `,"csat_score":`...)
	b = AppendString(b, score)
	if comments := CSATComments(l, h); comments != nil {
		b = append(b, `,"csat_transcriptions":[`...)
		for i, s := range comments {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, s)
		}
		b = append(b, ']')
	}
	return b
}

// PCSATScore is Dialpad's predicted CSAT of l, "1" to "5": half the
// connected agent legs of the call center have one; "" for the others.
func (c *Company) PCSATScore(l *Leg, h uint64) string {
	d := decor(h)
	if !c.agentOfCallCenter(l) || (d>>38)&15 >= 8 {
		return ""
	}
	return pcsatValues[d>>42&15]
}

// Dispositions are the dispositions the agent picked at the end of l, a
// connected agent leg of the call center: none, one or two of the
// company's, the first few of its list the most used; nil for any other
// leg. The call list does not carry them.
func (c *Company) Dispositions(l *Leg, h uint64) []string {
	if !c.agentOfCallCenter(l) {
		return nil
	}
	d := decor(h)
	n := 0
	switch k := (d >> 18) & 15; {
	case k < 11:
		n = 1
	case k < 13:
		n = 2
	}
	if n == 0 {
		return nil
	}
	list := c.dispositions
	v := d >> 22 & 255
	first := int(v * v * uint64(len(list)) >> 16)
	if n == 1 {
		return []string{list[first]}
	}
	second := (first + 1 + int(d>>30&255)%(len(list)-1)) % len(list)
	return []string{list[first], list[second]}
}

// DispositionID is the id of the company's disposition name, as the
// dispositions event gives it: a 16-digit id, the same for every leg.
func (c *Company) DispositionID(name string) int64 {
	for i, s := range c.dispositions {
		if s == name {
			return MakeID(c.salt, nsEntities, 1000+int64(i))
		}
	}
	return 0
}

// agentOfCallCenter reports whether l is a connected agent leg of a call
// center's call.
func (c *Company) agentOfCallCenter(l *Leg) bool {
	return l.EntryID != 0 && l.Connected >= 0 && c.Parties[l.Group].Type == "callcenter"
}

// Labels is l's labels as a rendered JSON array, nil when it has none.
func (c *Company) Labels(l *Leg, h uint64) []byte {
	limit := uint64(0)
	switch connected := l.Connected >= 0; {
	case connected && l.EntryID != 0:
		limit = 9
	case connected && l.Flags&Entry != 0:
		limit = 6
	case connected:
		limit = 5
	case l.Flags&Inbound != 0:
		limit = 1
	}
	if (h>>49)&15 >= limit {
		return nil
	}
	labels := c.Groups[l.Group].Labels
	return labels[int(h>>53&31)%len(labels)]
}

// AppendMOS appends the mos_score of a connected leg, from the hash h2,
// always with two decimals: mostly 4.00 to 4.40, as a good VoIP line
// measures, some 3.50 to 3.99, a few bad lines down to 2.60.
func AppendMOS(b []byte, h2 uint64) []byte {
	var m uint64
	switch u := h2 & 1023; {
	case u < 36:
		m = 260 + u*89/35
	case u < 140:
		m = 350 + (u-36)*49/103
	case u < 980:
		m = 400 + (u-140)*40/839
	default:
		m = 441 + (u-980)*9/43
	}
	b = strconv.AppendUint(b, m/100, 10)
	return append(b, '.', byte('0'+m/10%10), byte('0'+m%10))
}
