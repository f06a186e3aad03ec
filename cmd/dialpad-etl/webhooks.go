package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/config"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// runWebhooks registers with Dialpad where this job receives events
// (setup): a webhook, or with DIALPAD_EVENTS=websocket a websocket;
// shows what is registered (status) or removes it (remove).
func runWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "webhooks setup|status|remove [--url https://host/webhooks/dialpad] [flags]\n\n" +
		"setup creates (or finds and reuses) the webhook signed with DIALPAD_WEBHOOK_SECRET\n" +
		"(with DIALPAD_EVENTS=websocket: the websocket, and no --url), a call event\n" +
		"subscription per target and the agent status subscription; status lists what\n" +
		"Dialpad has and when an event last arrived; remove deletes the webhook at --url\n" +
		"(the websockets signed with the secret) and its subscriptions."
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "Usage: dialpad-etl %s\n", synopsis)
		return errUsage
	}
	action := args[0]
	if action != "setup" && action != "status" && action != "remove" {
		fmt.Fprintf(stderr, "unknown action %q: want setup, status or remove\n", action)
		return errUsage
	}
	fs := configFlags("webhooks", synopsis, stderr)
	hookURL := fs.String("url", "", "the public https URL Dialpad posts events to, ending in /webhooks/dialpad")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	e, err := setup(ctx, fs, stderr)
	if err != nil {
		return err
	}
	defer e.store.Close()
	w := &webhooks{c: e.client, out: stdout, secret: e.cfg.WebhookSecret, targets: e.cfg.Targets}
	if e.cfg.Events == config.EventsWebsocket {
		if *hookURL != "" {
			return errors.New("--url: DIALPAD_EVENTS is websocket: the job connects to Dialpad, which needs no URL of it")
		}
		switch action {
		case "setup":
			_, err := w.setupSocket(ctx)
			return err
		case "remove":
			return w.removeSockets(ctx)
		}
		if err := w.statusSockets(ctx); err != nil {
			return err
		}
		return lastEvent(ctx, e, stdout)
	}
	switch action {
	case "setup":
		if err := checkHookURL(*hookURL, e.cfg.BaseURL, e.cfg.InsecureText); err != nil {
			return err
		}
		if w.secret == "" {
			return errors.New("DIALPAD_WEBHOOK_SECRET: is required to set up the webhook (Dialpad signs events with it)")
		}
		return w.setup(ctx, *hookURL)
	case "remove":
		if *hookURL == "" {
			return errors.New("--url: name the webhook to remove (see 'webhooks status')")
		}
		return w.remove(ctx, *hookURL)
	}
	if err := w.status(ctx, *hookURL); err != nil {
		return err
	}
	return lastEvent(ctx, e, stdout)
}

// lastEvent prints when the last call event reached the warehouse.
func lastEvent(ctx context.Context, e *env, stdout io.Writer) error {
	var last time.Time
	var lastHour uint64
	if err := e.store.DB().QueryRow(ctx, `SELECT max(received_at), countIf(received_at > now() - INTERVAL 1 HOUR)
		FROM call_events`).Scan(&last, &lastHour); err != nil {
		return fmt.Errorf("read call_events: %w", err)
	}
	if last.Unix() <= 0 {
		fmt.Fprintln(stdout, "\nno call event has reached the warehouse yet")
	} else {
		fmt.Fprintf(stdout, "\nlast call event received %s (%s ago); %d in the last hour\n",
			last.UTC().Format(time.RFC3339), time.Since(last).Round(time.Second), lastHour)
	}
	return nil
}

// checkHookURL accepts an https URL, or, when DIALPAD_BASE_URL is a
// simulator, plain http to loopback or a host of DIALPAD_INSECURE_HOSTS.
func checkHookURL(s, base, insecure string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return errors.New("--url: is required: the https URL Dialpad posts events to, e.g. https://etl.example.com/webhooks/dialpad")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("--url: %q is not an http(s) URL", s)
	case u.Scheme == "http" && !(strings.HasPrefix(base, "http://") && config.PlainHTTPAllowed(u.Hostname(), insecure)):
		return fmt.Errorf("--url: %q is plain http: Dialpad posts only to https (put a reverse proxy with a certificate "+
			"in front of ETL_HTTP_ADDR); a simulator may post over http to loopback or a host in DIALPAD_INSECURE_HOSTS", s)
	case !strings.HasSuffix(u.Path, "/webhooks/dialpad"):
		return fmt.Errorf("--url: %q does not end in /webhooks/dialpad, where the job receives events", s)
	}
	return nil
}

type webhooks struct {
	c       *dialpad.Client
	out     io.Writer
	secret  string
	targets []dialpad.Target
}

// find returns the webhooks at hookURL.
func (w *webhooks) find(ctx context.Context, hookURL string) ([]dialpad.Webhook, error) {
	all, err := w.c.Webhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	var out []dialpad.Webhook
	for _, h := range all {
		if h.HookURL == hookURL {
			out = append(out, h)
		}
	}
	return out, nil
}

func (w *webhooks) ours(h *dialpad.Webhook) bool {
	return h.Signed() && subtle.ConstantTimeCompare([]byte(h.Signature.Secret), []byte(w.secret)) == 1
}

func (w *webhooks) setup(ctx context.Context, hookURL string) error {
	found, err := w.find(ctx, hookURL)
	if err != nil {
		return err
	}
	// Keep one webhook at the URL signed with our secret; the others
	// (another secret: their events would be refused; or a second one a
	// retried request created) go, with their subscriptions.
	var hook *dialpad.Webhook
	for i := range found {
		h := found[i]
		if hook == nil && w.ours(&h) {
			hook = &found[i]
			continue
		}
		if err := w.deleteHook(ctx, h); err != nil {
			return err
		}
		why := "signed with another secret"
		if w.ours(&h) {
			why = "a second one"
		}
		fmt.Fprintf(w.out, "deleted webhook %s at %s: %s\n", h.ID, h.HookURL, why)
	}
	if hook == nil {
		h, err := w.c.CreateWebhook(ctx, hookURL, w.secret)
		if err != nil {
			return fmt.Errorf("create the webhook: %w", err)
		}
		hook = &h
		fmt.Fprintf(w.out, "created webhook %s at %s\n", h.ID, hookURL)
	} else {
		fmt.Fprintf(w.out, "webhook %s at %s: exists\n", hook.ID, hookURL)
	}
	return w.subscribe(ctx, endpoint{kind: "webhook", id: hook.ID})
}

// endpoint is where subscriptions send events: a webhook or a websocket.
type endpoint struct {
	kind string // "webhook" or "websocket"
	id   wire.ID
}

// of reports whether a subscription's endpoint is e.
func (e endpoint) of(h *dialpad.Webhook, s *dialpad.Websocket) bool {
	if e.kind == "websocket" {
		return s != nil && s.ID == e.id
	}
	return h != nil && h.ID == e.id
}

// subscribe makes sure the endpoint has one enabled call subscription
// of every state per target, and the agent status subscription.
func (w *webhooks) subscribe(ctx context.Context, ep endpoint) error {
	subs, err := w.c.CallSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("list call subscriptions: %w", err)
	}
	for _, t := range w.targets {
		if err := w.subscribeTarget(ctx, ep, t, subs); err != nil {
			return err
		}
	}
	agents, err := w.c.AgentSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("list agent status subscriptions: %w", err)
	}
	if i := slices.IndexFunc(agents, func(s dialpad.AgentSubscription) bool {
		return ep.of(s.Webhook, s.Websocket) && s.Enabled
	}); i >= 0 {
		fmt.Fprintf(w.out, "agent status subscription %s: exists\n", agents[i].ID)
		return nil
	}
	s, err := w.c.CreateAgentSubscription(ctx, ep.id)
	if err != nil {
		return fmt.Errorf("subscribe to agent status events: %w", err)
	}
	fmt.Fprintf(w.out, "created agent status subscription %s (call-center agents)\n", s.ID)
	return nil
}

// subscribeTarget makes sure the endpoint has one enabled call
// subscription of every state for t, subs being the company's, and
// replaces one a former setup made of fewer states.
func (w *webhooks) subscribeTarget(ctx context.Context, ep endpoint, t dialpad.Target, subs []dialpad.CallSubscription) error {
	var mine, former []dialpad.CallSubscription
	for _, s := range subs {
		if !ep.of(s.Webhook, s.Websocket) || s.Target() != t || !s.Enabled {
			continue
		}
		switch {
		case covers(s.CallStates, wire.CallStates):
			mine = append(mine, s)
		case slices.ContainsFunc(formerCallStates, func(f []string) bool { return sameStates(s.CallStates, f) }):
			former = append(former, s)
		}
	}
	if len(mine) > 0 {
		fmt.Fprintf(w.out, "call subscription %s for %s: exists\n", mine[0].ID, t)
		// A second one (a retried request created it) would send
		// every event twice.
		for _, s := range mine[1:] {
			if err := w.c.DeleteCallSubscription(ctx, s.ID); err != nil {
				return fmt.Errorf("delete call subscription %s: %w", s.ID, err)
			}
			fmt.Fprintf(w.out, "deleted call subscription %s for %s: a second one\n", s.ID, t)
		}
	} else {
		s, err := w.c.CreateCallSubscription(ctx, ep.id, t, wire.CallStates)
		if err != nil {
			return fmt.Errorf("subscribe to %s's call events: %w", t, err)
		}
		fmt.Fprintf(w.out, "created call subscription %s for %s (%s)\n", s.ID, t, strings.Join(wire.CallStates, ", "))
	}
	// Once its successor exists: both would send the former states'
	// events, each twice.
	for _, s := range former {
		if err := w.c.DeleteCallSubscription(ctx, s.ID); err != nil {
			return fmt.Errorf("delete call subscription %s: %w", s.ID, err)
		}
		fmt.Fprintf(w.out, "deleted call subscription %s for %s: replaced (it lacked %s)\n", s.ID, t,
			strings.Join(missing(s.CallStates, wire.CallStates), ", "))
	}
	return nil
}

// formerCallStates are the states earlier versions of setup subscribed
// (wire.CallStates before csat, pcsat and dispositions): a subscription
// of exactly those is setup's own, and is replaced. One of other states
// was made by someone else, and is left alone.
var formerCallStates = [][]string{
	{"calling", "ringing", "queued", "connected", "hold", "hangup", "missed", "voicemail"},
}

// sameStates reports whether a and b hold the same states.
func sameStates(a, b []string) bool { return covers(a, b) && covers(b, a) }

// missing are the states of want that have lacks.
func missing(have, want []string) []string {
	var out []string
	for _, s := range want {
		if !slices.Contains(have, s) {
			out = append(out, s)
		}
	}
	return out
}

// covers reports whether have includes every state of want.
func covers(have, want []string) bool {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// deleteHook deletes a webhook and the subscriptions that send to it.
func (w *webhooks) deleteHook(ctx context.Context, h dialpad.Webhook) error {
	if err := w.unsubscribe(ctx, endpoint{kind: "webhook", id: h.ID}); err != nil {
		return err
	}
	if err := w.c.DeleteWebhook(ctx, h.ID); err != nil {
		return fmt.Errorf("delete webhook %s: %w", h.ID, err)
	}
	return nil
}

// unsubscribe deletes the subscriptions that send to ep.
func (w *webhooks) unsubscribe(ctx context.Context, ep endpoint) error {
	subs, err := w.c.CallSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("list call subscriptions: %w", err)
	}
	for _, s := range subs {
		if ep.of(s.Webhook, s.Websocket) {
			if err := w.c.DeleteCallSubscription(ctx, s.ID); err != nil {
				return fmt.Errorf("delete call subscription %s: %w", s.ID, err)
			}
			fmt.Fprintf(w.out, "deleted call subscription %s for %s\n", s.ID, s.Target())
		}
	}
	agents, err := w.c.AgentSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("list agent status subscriptions: %w", err)
	}
	for _, s := range agents {
		if ep.of(s.Webhook, s.Websocket) {
			if err := w.c.DeleteAgentSubscription(ctx, s.ID); err != nil {
				return fmt.Errorf("delete agent status subscription %s: %w", s.ID, err)
			}
			fmt.Fprintf(w.out, "deleted agent status subscription %s\n", s.ID)
		}
	}
	return nil
}

func (w *webhooks) remove(ctx context.Context, hookURL string) error {
	found, err := w.find(ctx, hookURL)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		fmt.Fprintf(w.out, "no webhook at %s: nothing to remove\n", hookURL)
		return nil
	}
	for _, h := range found {
		if err := w.deleteHook(ctx, h); err != nil {
			return err
		}
		fmt.Fprintf(w.out, "deleted webhook %s at %s\n", h.ID, h.HookURL)
	}
	return nil
}

// printSubs lists the subscriptions that send to ep.
func printSubs(tw io.Writer, ep endpoint, subs []dialpad.CallSubscription, agents []dialpad.AgentSubscription) {
	for _, s := range subs {
		if ep.of(s.Webhook, s.Websocket) {
			target := "the whole company"
			if s.TargetID != 0 {
				target = s.Target().String()
			}
			fmt.Fprintf(tw, "  call subscription %s\t%s\tenabled=%v\t%s\n", s.ID, target, s.Enabled, strings.Join(s.CallStates, ","))
		}
	}
	for _, s := range agents {
		if ep.of(s.Webhook, s.Websocket) {
			fmt.Fprintf(tw, "  agent status subscription %s\t%s agents\tenabled=%v\n", s.ID, s.AgentType, s.Enabled)
		}
	}
}

// status lists the webhooks and subscriptions (never a secret), marking
// the webhooks signed with DIALPAD_WEBHOOK_SECRET.
func (w *webhooks) status(ctx context.Context, hookURL string) error {
	hooks, err := w.c.Webhooks(ctx)
	if err != nil {
		return fmt.Errorf("list webhooks: %w", err)
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
	if len(hooks) == 0 {
		fmt.Fprintln(tw, "no webhooks: run 'dialpad-etl webhooks setup --url https://.../webhooks/dialpad'")
	}
	for _, h := range hooks {
		if hookURL != "" && h.HookURL != hookURL {
			continue
		}
		sig := "unsigned"
		switch {
		case w.ours(&h):
			sig = "signed with DIALPAD_WEBHOOK_SECRET"
		case h.Signed():
			sig = "signed with another secret: its events are refused"
		}
		fmt.Fprintf(tw, "webhook %s\t%s\t%s\n", h.ID, h.HookURL, sig)
		printSubs(tw, endpoint{kind: "webhook", id: h.ID}, subs, agents)
	}
	for _, t := range w.targets {
		if !slices.ContainsFunc(subs, func(s dialpad.CallSubscription) bool {
			return s.Target() == t && s.Enabled && s.Webhook != nil && w.ours(s.Webhook)
		}) {
			fmt.Fprintf(tw, "%s has no enabled call subscription to a webhook signed with DIALPAD_WEBHOOK_SECRET: "+
				"its calls reach the warehouse only with the loads\n", t)
		}
	}
	return tw.Flush()
}
