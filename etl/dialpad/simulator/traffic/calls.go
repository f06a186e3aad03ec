package traffic

// One customer call becomes several legs, as in Dialpad: an inbound call
// to a group has an entry leg (target = the group) and one leg per agent it
// rang (target = the user, entry_point_call_id = the entry leg); an
// outbound call is one leg with the agent as target.

const maxTalk = 4 * 3600 * 1000 // 4 h

// inbound appends an inbound call to group gi. Agents are rung all at
// once or one after another (hunting); one answers, or none (missed, and
// sometimes a voicemail); or the caller hangs up before any agent rang
// (abandoned: the entry leg alone). minOffset delays the agent legs.
func (g *dayGen) inbound(gi int, start int64, staffed bool, minOffset int64) {
	r, grp := g.rng, &g.c.Groups[gi]
	cust := int32(r.IntN(len(g.c.Customers)))
	entry := Leg{ID: g.newID(), Started: start, callStart: start, Rang: int32(between(r, 40, 400)),
		Connected: -1, Contact: cust, Target: int16(gi), Group: int16(gi), Flags: Inbound | Entry}

	members := grp.Members
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
	// Some callers who are not answered hang up in the menu or the queue
	// before any agent rang: Dialpad's abandoned, as against missed.
	pEarly := 0.3
	if !staffed {
		pEarly = 0.45
	}
	if !answered && minOffset == 0 && r.Float64() < pEarly {
		entry.Ended = start + logNormal(r, 14000, 0.8, 2000, 180_000)
		if r.Float64() < 0.15 {
			entry.state = stateMissed
		}
		g.out = append(g.out, entry)
		return
	}
	entry.Flags |= AgentRang

	var agents [4]Leg
	newAgent := func(i int, at int64) Leg {
		return Leg{ID: g.newID(), EntryID: entry.ID, Started: at, callStart: start,
			Rang: int32(between(r, 80, 350)), Connected: -1, Contact: cust,
			Target: int16(members[order[i]]), Group: int16(gi), Flags: Inbound}
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
			connect = max(start+logNormal(r, 9000, 0.6, 2500, 55000), a.Started+int64(a.Rang)+1000)
			giveUp = connect
		}
		for i := range n {
			agents[i].Ended = max(giveUp+between(r, 20, 300), agents[i].Started+int64(agents[i].Rang)+800)
		}
	} else {
		at := start + minOffset + between(r, 300, 1500)
		for i := range n {
			agents[i] = newAgent(i, at)
			a := &agents[i]
			if answered && i == n-1 {
				answerer = i
				connect = a.Started + int64(a.Rang) + between(r, 2000, 12000)
				break
			}
			a.Ended = a.Started + int64(a.Rang) + between(r, 12000, 20000)
			at = a.Ended + between(r, 200, 1500)
		}
		if !answered {
			giveUp = agents[n-1].Ended + between(r, 0, 3000)
		}
	}
	for i := range n {
		if i != answerer && r.Float64() < 0.1 {
			agents[i].state = stateMissed
		}
	}

	end := giveUp
	var transfer Leg
	if answered {
		end = g.answer(&entry, &agents[answerer], &transfer, connect, members)
	} else if r.Float64() < 0.35 { // voicemail
		entry.Flags |= Voicemail
		entry.vmDur = int32(logNormal(r, 25000, 0.6, 3000, 180000))
		end = giveUp + between(r, 4000, 9000) + int64(entry.vmDur)
		if r.Float64() < 0.4 {
			entry.state = stateVoicemail
		}
	} else if r.Float64() < 0.15 {
		entry.state = stateMissed
	}
	for i := range n {
		end = max(end, agents[i].Ended)
	}
	entry.Ended = end + between(r, 100, 600)
	g.out = append(g.out, entry)
	g.out = append(g.out, agents[:n]...)
	if transfer.ID != 0 {
		g.out = append(g.out, transfer)
	}
}

// answer connects agent a at connect, fills in the entry leg, and in some
// calls transfers the customer to a colleague (filling *transfer). It
// returns when the conversation ended.
func (g *dayGen) answer(entry, a, transfer *Leg, connect int64, members []int) int64 {
	r := g.rng
	talk := logNormal(r, 180_000, 1.1, 6000, maxTalk)
	a.Connected = int32(connect - a.Started)
	a.Ended = connect + talk
	entry.Connected = int32(connect - entry.Started)
	if r.Float64() < g.c.Groups[a.Group].recordShare {
		a.Flags |= Recorded
		entry.Flags |= Recorded
	}
	end := a.Ended
	if r.Float64() < 0.07 { // transferred to a colleague
		at := connect + talk*int64(20+r.IntN(50))/100
		a.Ended = at + between(r, 200, 1500)
		a.Flags |= Transferred
		to := members[r.IntN(len(members))]
		for to == int(a.Target) {
			to = members[r.IntN(len(members))]
		}
		*transfer = Leg{ID: g.newID(), EntryID: entry.ID, Started: at, callStart: entry.Started,
			Rang: int32(between(r, 100, 300)), Contact: a.Contact, Target: int16(to),
			Group: a.Group, Flags: Inbound | a.Flags&Recorded}
		transfer.Connected = transfer.Rang + int32(between(r, 2000, 12000))
		transfer.Ended = at + int64(transfer.Connected) + logNormal(r, 150_000, 0.9, 5000, maxTalk)
		end = transfer.Ended
	}
	return end
}

// outbound appends an agent's outbound call placed for group gi: connected,
// or cancelled after ringing out.
func (g *dayGen) outbound(gi int, start int64) {
	r, grp := g.rng, &g.c.Groups[gi]
	l := Leg{ID: g.newID(), Started: start, callStart: start, Rang: int32(between(r, 700, 2500)),
		Connected: -1, Contact: int32(r.IntN(len(g.c.Customers))),
		Target: int16(grp.Members[r.IntN(len(grp.Members))]), Group: int16(gi)}
	if r.Float64() < 0.4 {
		l.Flags |= ProxyGroup
	}
	if r.Float64() < 0.68 {
		l.Connected = l.Rang + int32(between(r, 4000, 25000))
		l.Ended = start + int64(l.Connected) + logNormal(r, 150_000, 1.0, 4000, maxTalk)
		if r.Float64() < grp.recordShare {
			l.Flags |= Recorded
		}
	} else {
		l.Ended = start + int64(l.Rang) + between(r, 5000, 40000)
	}
	g.out = append(g.out, l)
}
