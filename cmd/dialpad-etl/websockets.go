package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// The websocket side of 'webhooks' (DIALPAD_EVENTS=websocket). A
// websocket has no URL of ours to tell it by: the job's is the one
// signed with DIALPAD_WEBHOOK_SECRET. Websockets signed otherwise may
// be another integration's, and are left alone. Nothing here prints a
// websocket's URL, which carries a token.

func (w *webhooks) oursSocket(s *dialpad.Websocket) bool {
	return s.Signed() && subtle.ConstantTimeCompare([]byte(s.Signature.Secret), []byte(w.secret)) == 1
}

// setupSocket finds (or creates) the websocket signed with the secret,
// deletes a second one, subscribes the first to every target's call
// events and to agent status, and returns it. Dialpad asks that a
// websocket be reused (a fresh URL comes with GET), so setup creates
// one only when there is none.
func (w *webhooks) setupSocket(ctx context.Context) (dialpad.Websocket, error) {
	all, err := w.c.Websockets(ctx)
	if err != nil {
		return dialpad.Websocket{}, fmt.Errorf("list websockets: %w", err)
	}
	var ws *dialpad.Websocket
	for i := range all {
		s := all[i]
		if !w.oursSocket(&s) {
			continue
		}
		if ws == nil {
			ws = &all[i]
			continue
		}
		// A second one (a retried request created it) would split the
		// subscriptions.
		if err := w.deleteSocket(ctx, s); err != nil {
			return dialpad.Websocket{}, err
		}
		fmt.Fprintf(w.out, "deleted websocket %s: a second one\n", s.ID)
	}
	if ws == nil {
		s, err := w.c.CreateWebsocket(ctx, w.secret)
		if err != nil {
			return dialpad.Websocket{}, fmt.Errorf("create the websocket: %w", err)
		}
		ws = &s
		fmt.Fprintf(w.out, "created websocket %s\n", s.ID)
	} else {
		fmt.Fprintf(w.out, "websocket %s: exists\n", ws.ID)
	}
	return *ws, w.subscribe(ctx, endpoint{kind: "websocket", id: ws.ID})
}

func (w *webhooks) deleteSocket(ctx context.Context, s dialpad.Websocket) error {
	if err := w.unsubscribe(ctx, endpoint{kind: "websocket", id: s.ID}); err != nil {
		return err
	}
	if err := w.c.DeleteWebsocket(ctx, s.ID); err != nil {
		return fmt.Errorf("delete websocket %s: %w", s.ID, err)
	}
	return nil
}

// removeSockets deletes the websockets signed with the secret and their
// subscriptions.
func (w *webhooks) removeSockets(ctx context.Context) error {
	all, err := w.c.Websockets(ctx)
	if err != nil {
		return fmt.Errorf("list websockets: %w", err)
	}
	n := 0
	for _, s := range all {
		if !w.oursSocket(&s) {
			continue
		}
		if err := w.deleteSocket(ctx, s); err != nil {
			return err
		}
		n++
		fmt.Fprintf(w.out, "deleted websocket %s\n", s.ID)
	}
	if n == 0 {
		fmt.Fprintln(w.out, "no websocket signed with DIALPAD_WEBHOOK_SECRET: nothing to remove")
	}
	return nil
}

// statusSockets lists the websockets (never a URL or a secret) and their
// subscriptions, and the targets whose calls no websocket of the job
// receives.
func (w *webhooks) statusSockets(ctx context.Context) error {
	all, err := w.c.Websockets(ctx)
	if err != nil {
		return fmt.Errorf("list websockets: %w", err)
	}
	subs, err := w.c.CallSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("list call subscriptions: %w", err)
	}
	agents, err := w.c.AgentSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("list agent status subscriptions: %w", err)
	}
	tw := tabwriter.NewWriter(w.out, 2, 4, 2, ' ', 0)
	if !slices.ContainsFunc(all, func(s dialpad.Websocket) bool { return w.oursSocket(&s) }) {
		fmt.Fprintln(tw, "no websocket signed with DIALPAD_WEBHOOK_SECRET: run 'dialpad-etl webhooks setup' (or start 'schedule', which does it)")
	}
	for _, s := range all {
		sig := "unsigned: not this job's"
		switch {
		case w.oursSocket(&s):
			sig = "signed with DIALPAD_WEBHOOK_SECRET"
		case s.Signed():
			sig = "signed with another secret: not this job's"
		}
		fmt.Fprintf(tw, "websocket %s\t%s\n", s.ID, sig)
		printSubs(tw, endpoint{kind: "websocket", id: s.ID}, subs, agents)
	}
	for _, t := range w.targets {
		if !slices.ContainsFunc(subs, func(s dialpad.CallSubscription) bool {
			return s.Target() == t && s.Enabled && s.Websocket != nil && slices.ContainsFunc(all, func(ws dialpad.Websocket) bool {
				return ws.ID == s.Websocket.ID && w.oursSocket(&ws)
			})
		}) {
			fmt.Fprintf(tw, "%s has no enabled call subscription to a websocket signed with DIALPAD_WEBHOOK_SECRET: "+
				"its calls reach the warehouse only with the loads\n", t)
		}
	}
	return tw.Flush()
}
