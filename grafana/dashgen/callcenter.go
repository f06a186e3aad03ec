package dashgen

// The wallboard's figures of Dialpad's own live status of a call center,
// polled by the job (callcenter_status): they need no events. A poll is
// stale when it is older than three polling intervals, or two minutes if
// that is longer: then the figures show no value rather than old numbers.
// A target that is not a polled call center has no polls, and no value.
const (
	// latestPoll is the target's latest poll of the last day, one row
	// (1970-01-01 as last_poll when there is none). It needs no FINAL:
	// a poll written twice has the same figures.
	latestPoll = "\n(\n    SELECT max(polled_at) AS last_poll, argMax(interval_s, polled_ms) AS every_s,\n" +
		"        argMax(pending, polled_ms) AS waiting, argMax(longest_call_wait_s, polled_ms) AS longest_s,\n" +
		"        argMax(on_duty_operators, polled_ms) AS on_duty, argMax(capacity, polled_ms) AS available,\n" +
		"        argMax(is_open, polled_ms) AS open_now\n" +
		"    FROM callcenter_status\n    WHERE " + oneTarget + "\n      AND polled_at >= now() - 86400\n) AS poll"
	// pollFresh holds while the latest poll is not stale.
	pollFresh = "last_poll >= now() - toUInt32(greatest(3 * every_s, 120))"
	// pollAge is how long ago the latest poll was taken, no value when
	// there was none in the last day.
	pollAge = "if(last_poll > toDateTime(0), greatest(dateDiff('second', last_poll, now()), 0), NULL)"
)
