package simulator

// One customer call becomes several legs, as in Dialpad: an inbound call
// to a group has an entry leg (target = the group) and one leg per agent it
// rang (target = the user, entry_point_call_id = the entry leg); an
// outbound call is one leg with the agent as target.

const maxTalk = 4 * 3600 * 1000 // 4 h

// inbound appends an inbound call to group gi. Agents are rung all at
// once or one after another (hunting); one answers, or none (missed, and
// sometimes a voicemail). minOffset delays the agent legs.
func (g *dayGen) inbound(gi int, start int64, staffed bool, minOffset int64) {
	r, grp := g.rng, &g.c.groups[gi]
	cust := int32(r.IntN(len(g.c.customers)))
	entry := leg{id: g.newID(), started: start, callStart: start, rang: int32(between(r, 40, 400)),
		connected: -1, contact: cust, target: int16(gi), group: int16(gi), flags: fInbound | fEntry}

	members := grp.members
	var order [16]int
	for i := range members {
		order[i] = i
	}
	simultaneous := r.Float64() < 0.6
	n := 1 + r.IntN(min(3, len(members)))
	if simultaneous {
		n = 2 + r.IntN(min(3, len(members)-1))
	}
	for i := range n { // partial Fisher-Yates: n distinct agents
		j := i + r.IntN(len(members)-i)
		order[i], order[j] = order[j], order[i]
	}
	pAnswer := 0.55 // nights and weekends: few agents on duty
	if staffed {
		pAnswer = 0.83
	}
	answered := r.Float64() < pAnswer

	var agents [4]leg
	newAgent := func(i int, at int64) leg {
		return leg{id: g.newID(), entryID: entry.id, started: at, callStart: start,
			rang: int32(between(r, 80, 350)), connected: -1, contact: cust,
			target: int16(members[order[i]]), group: int16(gi), flags: fInbound}
	}
	giveUp := start + between(r, 20000, 60000) // when an unanswered caller stops ringing
	answerer, connect := -1, int64(0)
	if simultaneous {
		for i := range n {
			agents[i] = newAgent(i, start+minOffset+between(r, 300, 2500))
		}
		if answered {
			answerer = r.IntN(n)
			a := &agents[answerer]
			connect = max(start+logNormal(r, 9000, 0.6, 2500, 55000), a.started+int64(a.rang)+1000)
			giveUp = connect
		}
		for i := range n {
			agents[i].ended = max(giveUp+between(r, 20, 300), agents[i].started+int64(agents[i].rang)+800)
		}
	} else {
		at := start + minOffset + between(r, 300, 1500)
		for i := range n {
			agents[i] = newAgent(i, at)
			a := &agents[i]
			if answered && i == n-1 {
				answerer = i
				connect = a.started + int64(a.rang) + between(r, 2000, 12000)
				break
			}
			a.ended = a.started + int64(a.rang) + between(r, 12000, 20000)
			at = a.ended + between(r, 200, 1500)
		}
		if !answered {
			giveUp = agents[n-1].ended + between(r, 0, 3000)
		}
	}
	for i := range n {
		if i != answerer && r.Float64() < 0.1 {
			agents[i].state = stateMissed
		}
	}

	end := giveUp
	var transfer leg
	if answered {
		end = g.answer(&entry, &agents[answerer], &transfer, connect, members)
	} else if r.Float64() < 0.35 { // voicemail
		entry.flags |= fVoicemail
		entry.vmDur = int32(logNormal(r, 25000, 0.6, 3000, 180000))
		end = giveUp + between(r, 4000, 9000) + int64(entry.vmDur)
		if r.Float64() < 0.4 {
			entry.state = stateVoicemail
		}
	} else if r.Float64() < 0.15 {
		entry.state = stateMissed
	}
	for i := range n {
		end = max(end, agents[i].ended)
	}
	entry.ended = end + between(r, 100, 600)
	g.out = append(g.out, entry)
	g.out = append(g.out, agents[:n]...)
	if transfer.id != 0 {
		g.out = append(g.out, transfer)
	}
}

// answer connects agent a at connect, fills in the entry leg, and in some
// calls transfers the customer to a colleague (filling *transfer). It
// returns when the conversation ended.
func (g *dayGen) answer(entry, a, transfer *leg, connect int64, members []int) int64 {
	r := g.rng
	talk := logNormal(r, 180_000, 1.1, 6000, maxTalk)
	a.connected = int32(connect - a.started)
	a.ended = connect + talk
	entry.connected = int32(connect - entry.started)
	if r.Float64() < g.c.groups[a.group].recordShare {
		a.flags |= fRecorded
		entry.flags |= fRecorded
	}
	end := a.ended
	if r.Float64() < 0.07 { // transferred to a colleague
		at := connect + talk*int64(20+r.IntN(50))/100
		a.ended = at + between(r, 200, 1500)
		a.flags |= fTransferred
		to := members[r.IntN(len(members))]
		for to == int(a.target) {
			to = members[r.IntN(len(members))]
		}
		*transfer = leg{id: g.newID(), entryID: entry.id, started: at, callStart: entry.started,
			rang: int32(between(r, 100, 300)), contact: a.contact, target: int16(to),
			group: a.group, flags: fInbound | a.flags&fRecorded}
		transfer.connected = transfer.rang + int32(between(r, 2000, 12000))
		transfer.ended = at + int64(transfer.connected) + logNormal(r, 150_000, 0.9, 5000, maxTalk)
		end = transfer.ended
	}
	return end
}

// outbound appends an agent's outbound call placed for group gi: connected,
// or cancelled after ringing out.
func (g *dayGen) outbound(gi int, start int64) {
	r, grp := g.rng, &g.c.groups[gi]
	l := leg{id: g.newID(), started: start, callStart: start, rang: int32(between(r, 700, 2500)),
		connected: -1, contact: int32(r.IntN(len(g.c.customers))),
		target: int16(grp.members[r.IntN(len(grp.members))]), group: int16(gi)}
	if r.Float64() < 0.4 {
		l.flags |= fProxyGroup
	}
	if r.Float64() < 0.68 {
		l.connected = l.rang + int32(between(r, 4000, 25000))
		l.ended = start + int64(l.connected) + logNormal(r, 150_000, 1.0, 4000, maxTalk)
		if r.Float64() < grp.recordShare {
			l.flags |= fRecorded
		}
	} else {
		l.ended = start + int64(l.rang) + between(r, 5000, 40000)
	}
	g.out = append(g.out, l)
}
