package dialpad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Operator is a user or room that can take the calls of a target.
type Operator struct {
	ID           int64
	Kind         string // "user" or "room"
	DisplayName  string // display_name, else a room's name, else first and last name
	FirstName    string
	LastName     string
	Emails       []string
	PhoneNumbers []string
	Role         string // admin, operator or supervisor in the target group; "" if not listed
	State        string // active, cancelled, deleted, pending or suspended
	OnDuty       *bool  // is_on_duty; nil when Dialpad does not say
	DutyStatus   string // on_duty_status of call-center operators: available, busy, ...
}

// Operators returns the operators of a department, call center or office
// (GET /api/v2/{departments|callcenters|offices}/{id}/operators, users then
// rooms), or, for a user target, that user (GET /api/v2/users/{id}).
//
// Results are cached per target for the TTL (WithOperatorsTTL); concurrent
// callers for one target share one request. Failures are not cached. The
// returned slice is the caller's; the Operators in it share their Emails
// and PhoneNumbers with the cache and must not be modified.
func (c *Client) Operators(ctx context.Context, t Target) ([]Operator, error) {
	if err := checkTarget(t); err != nil {
		return nil, err
	}
	for {
		c.ops.mu.Lock()
		e := c.ops.entries[t]
		if e != nil {
			select {
			case <-e.done:
				if c.cfg.now().Sub(e.fetched) < c.cfg.operatorsTTL {
					c.ops.mu.Unlock()
					return slices.Clone(e.ops), nil
				}
				e = nil // expired
			default: // another caller is fetching it
			}
		}
		if e == nil {
			e = &opEntry{done: make(chan struct{})}
			c.ops.entries[t] = e
			c.ops.mu.Unlock()
			e.ops, e.err = c.fetchOperators(ctx, t)
			e.fetched = c.cfg.now()
			if e.err != nil {
				c.ops.mu.Lock()
				if c.ops.entries[t] == e {
					delete(c.ops.entries, t)
				}
				c.ops.mu.Unlock()
			}
			close(e.done)
			return slices.Clone(e.ops), e.err
		}
		c.ops.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-e.done:
		}
		if e.err == nil {
			return slices.Clone(e.ops), nil
		}
		if ctx.Err() == nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
			continue // the caller that fetched gave up; fetch for ourselves
		}
		return nil, e.err
	}
}

type operatorCache struct {
	mu      sync.Mutex
	entries map[Target]*opEntry
}

// opEntry is one fetch; its fields are set before done is closed.
type opEntry struct {
	done    chan struct{}
	ops     []Operator
	err     error
	fetched time.Time
}

func (oc *operatorCache) init() { oc.entries = make(map[Target]*opEntry) }

// wireOperator is a user or a room as Dialpad sends it.
type wireOperator struct {
	ID           wire.ID  `json:"id"`
	DisplayName  string   `json:"display_name"`
	Name         string   `json:"name"`
	FirstName    string   `json:"first_name"`
	LastName     string   `json:"last_name"`
	Emails       []string `json:"emails"`
	PhoneNumbers []string `json:"phone_numbers"`
	GroupDetails []struct {
		GroupID wire.ID `json:"group_id"`
		Role    string  `json:"role"`
	} `json:"group_details"`
	State        string `json:"state"`
	IsOnDuty     *bool  `json:"is_on_duty"`
	OnDutyStatus string `json:"on_duty_status"`
}

func (w *wireOperator) operator(kind string, group Target) Operator {
	o := Operator{
		ID: int64(w.ID), Kind: kind,
		DisplayName: w.DisplayName, FirstName: w.FirstName, LastName: w.LastName,
		Emails: w.Emails, PhoneNumbers: w.PhoneNumbers,
		State: w.State, OnDuty: w.IsOnDuty, DutyStatus: w.OnDutyStatus,
	}
	if o.DisplayName == "" {
		o.DisplayName = w.Name
	}
	if o.DisplayName == "" {
		o.DisplayName = strings.TrimSpace(w.FirstName + " " + w.LastName)
	}
	if group.Type != "user" {
		for _, g := range w.GroupDetails {
			if int64(g.GroupID) == group.ID {
				o.Role = g.Role
				break
			}
		}
	}
	return o
}

func (c *Client) fetchOperators(ctx context.Context, t Target) ([]Operator, error) {
	validJSON := func(b []byte) error {
		if !json.Valid(b) {
			return errors.New("not valid JSON")
		}
		return nil
	}
	if t.Type == "user" {
		body, err := c.get(ctx, fmt.Sprintf("/api/v2/users/%d", t.ID), nil, t.String(), validJSON)
		if err != nil {
			return nil, fmt.Errorf("operators of %s: %w", t, err)
		}
		var u wireOperator
		if err := json.Unmarshal(body, &u); err != nil {
			return nil, fmt.Errorf("operators of %s: unexpected user object: %w", t, err)
		}
		return []Operator{u.operator("user", t)}, nil
	}
	path, _ := t.operatorsPath()
	body, err := c.get(ctx, path, nil, t.String(), validJSON)
	if err != nil {
		return nil, fmt.Errorf("operators of %s: %w", t, err)
	}
	var env struct {
		Users []wireOperator `json:"users"`
		Rooms []wireOperator `json:"rooms"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("operators of %s: unexpected response: %w", t, err)
	}
	ops := make([]Operator, 0, len(env.Users)+len(env.Rooms))
	for i := range env.Users {
		ops = append(ops, env.Users[i].operator("user", t))
	}
	for i := range env.Rooms {
		ops = append(ops, env.Rooms[i].operator("room", t))
	}
	return ops, nil
}

// checkTarget rejects a target the API has no endpoint for.
func checkTarget(t Target) error {
	if !slices.Contains(TargetTypes, t.Type) {
		return fmt.Errorf("dialpad: target %s: unknown type %q (want one of %s)", t, t.Type, strings.Join(TargetTypes, ", "))
	}
	if t.ID <= 0 {
		return fmt.Errorf("dialpad: target %s: the id must be positive", t)
	}
	return nil
}
