package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Webhook events. A webhook created with a secret receives each event as
// a compact JWT signed HS256 with it, whose claims are the event: a call
// event (the call object, with state and event_timestamp) or an agent
// status event (on_duty_status of a call-center agent).

// Call states of the events. The list shows only ended legs; events show
// every state on the way. A leg's final event is one of FinalStates.
var (
	// CallStates are the states subscribed to: those the warehouse uses.
	CallStates = []string{"calling", "ringing", "queued", "connected", "hold", "hangup", "missed", "voicemail",
		"csat", "pcsat", "dispositions"}
	// FinalStates end a leg.
	FinalStates = []string{"hangup", "missed", "voicemail"}
)

// FeedbackStates tell of a leg after it ended: the survey's CSAT score
// and comments, Dialpad's predicted CSAT, the agent's dispositions.
var FeedbackStates = []string{"csat", "pcsat", "dispositions"}

// IsFinal reports whether state ends a leg.
func IsFinal(state string) bool {
	for _, s := range FinalStates {
		if s == state {
			return true
		}
	}
	return false
}

// CallEvent is a call event: the call object as the list has it, plus
// the fields only events carry. Call.Raw is the whole event.
type CallEvent struct {
	Call
	EventTimestamp Millis `json:"event_timestamp"`
	DateQueued     Millis `json:"date_queued"`     // when the caller entered the queue
	DateFirstRang  Millis `json:"date_first_rang"` // when an agent was first rung
	HoldTime       Float  `json:"hold_time"`       // ms on hold so far
	TalkTime       Float  `json:"talk_time"`       // ms talking so far
	// PCSATScore is Dialpad's predicted CSAT score (state pcsat), kept
	// apart from the survey's CSATScore.
	PCSATScore Text `json:"pcsat_score"`
	// Dispositions are those the agent picked at the end of the call
	// (state dispositions).
	Dispositions Names `json:"dispositions"`
}

// AgentStatusEvent is a change of a call-center agent's on-duty status.
type AgentStatusEvent struct {
	Target             Party  `json:"target"` // the agent (type user)
	OnDutyStatus       string `json:"on_duty_status"`
	OnDutyStatusReason string `json:"on_duty_status_reason"`
	AvailabilityStatus string `json:"availability_status"`
	CallCenterIDs      []ID   `json:"call_center_ids"` // the call centers the agent is on duty for
	Date               Millis `json:"date"`            // when the status changed
	EventTimestamp     Millis `json:"event_timestamp"`
}

// Event is one decoded event: exactly one of Call and Agent is set.
type Event struct {
	Call  *CallEvent
	Agent *AgentStatusEvent
	Raw   json.RawMessage // the claims as sent
}

// DecodeEvent reads the claims of an event. A call event has a call_id;
// an agent status event has on_duty_status and a target. Anything else,
// or a call event that breaks the invariants of a leg, is an error.
func DecodeEvent(claims []byte) (Event, error) {
	claims = bytes.TrimSpace(claims)
	var probe struct {
		CallID       json.RawMessage `json:"call_id"`
		OnDutyStatus json.RawMessage `json:"on_duty_status"`
	}
	if err := json.Unmarshal(claims, &probe); err != nil {
		return Event{}, fmt.Errorf("the event is not a JSON object: %s", Describe(claims, err))
	}
	ev := Event{Raw: bytes.Clone(claims)}
	switch {
	case probe.CallID != nil:
		var c CallEvent
		if err := json.Unmarshal(claims, &c); err != nil {
			// The embedded Call's fields, then the event's own.
			for _, typ := range []reflect.Type{reflect.TypeOf(Call{}), typeOfCallEvent} {
				if where := locate(claims, typ, ""); where != nil {
					err = where
					break
				}
			}
			return Event{}, fmt.Errorf("call event: %w", err)
		}
		c.Raw = ev.Raw
		if err := c.check(); err != nil {
			return Event{}, fmt.Errorf("call event: %w", err)
		}
		if c.State == "" {
			return Event{}, errors.New("call event: state is missing")
		}
		if c.EventTimestamp <= 0 {
			return Event{}, errors.New("call event: event_timestamp is missing or not positive")
		}
		ev.Call = &c
	case probe.OnDutyStatus != nil:
		var a AgentStatusEvent
		if err := json.Unmarshal(claims, &a); err != nil {
			return Event{}, fmt.Errorf("agent status event: %w", err)
		}
		if a.Target.ID <= 0 {
			return Event{}, errors.New("agent status event: target.id is missing or not positive")
		}
		if a.Date <= 0 && a.EventTimestamp <= 0 {
			return Event{}, errors.New("agent status event: neither date nor event_timestamp is set")
		}
		ev.Agent = &a
	default:
		return Event{}, errors.New("neither a call event (call_id) nor an agent status event (on_duty_status)")
	}
	return ev, nil
}

// ErrBadSignature is a body that is not a JWT signed HS256 with the
// webhook's secret.
var ErrBadSignature = errors.New("not signed HS256 with the webhook secret")

// VerifyEvent checks that token is a compact JWT signed HS256 with secret
// and returns its claims exactly as sent. An unsigned token (alg none),
// another algorithm or another secret is ErrBadSignature.
func VerifyEvent(token, secret []byte) ([]byte, error) {
	s := string(bytes.TrimSpace(token))
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}))
	if _, err := p.Parse(s, func(*jwt.Token) (any, error) { return secret, nil }); err != nil {
		if errors.Is(err, jwt.ErrTokenMalformed) {
			return nil, fmt.Errorf("not a compact JWT")
		}
		return nil, ErrBadSignature
	}
	parts := strings.Split(s, ".")
	claims, err := p.DecodeSegment(parts[1])
	if err != nil {
		return nil, fmt.Errorf("not a compact JWT")
	}
	return claims, nil
}

// SignEvent encodes claims (a JSON object, kept byte for byte) as a
// compact JWT signed HS256 with secret, as Dialpad sends events.
func SignEvent(claims, secret []byte) (string, error) {
	seg := base64.RawURLEncoding.EncodeToString
	signing := seg([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + seg(claims)
	sig, err := jwt.SigningMethodHS256.Sign(signing, secret)
	if err != nil {
		return "", err
	}
	return signing + "." + seg(sig), nil
}

var typeOfCallEvent = reflect.TypeOf(CallEvent{})
