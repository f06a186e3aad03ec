package dialpad

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinels for errors.Is. An *APIError matches the one of ErrUnauthorized,
// ErrForbidden, ErrNotFound and ErrRateLimited that fits its status.
var (
	// ErrUnauthorized: Dialpad refused the token (401). Not retried.
	ErrUnauthorized = errors.New("dialpad: unauthorized")
	// ErrForbidden: the token lacks the rights for the request (403). Not retried.
	ErrForbidden = errors.New("dialpad: forbidden")
	// ErrNotFound: the target does not exist (404). Not retried.
	ErrNotFound = errors.New("dialpad: not found")
	// ErrRateLimited: Dialpad still answered 429 when the attempts ran out.
	ErrRateLimited = errors.New("dialpad: rate limited")

	// ErrBadResponse: a 2xx response whose body was cut off or is not the
	// JSON envelope expected. Retried like a transient failure; returned
	// (wrapped) when the attempts run out.
	ErrBadResponse = errors.New("dialpad: bad response body")
	// ErrResponseTooLarge: a body larger than the client accepts. Not retried.
	ErrResponseTooLarge = errors.New("dialpad: response body too large")

	// ErrCursorLoop: Dialpad returned a cursor already followed in this
	// window. The window is incomplete.
	ErrCursorLoop = errors.New("dialpad: cursor repeats")
	// ErrPageLimit: the window has more pages than the configured maximum
	// (WithMaxPages). The window is incomplete and must not be marked loaded.
	ErrPageLimit = errors.New("dialpad: page limit reached")
)

// APIError is a response from Dialpad with a status that is not 2xx, either
// one that is never retried (400, 401, 403, 404, ...) or the last one after
// the attempts ran out (429, 5xx).
type APIError struct {
	Status   int    // HTTP status code
	Message  string // Dialpad's {"error":{"message":...}}, else the start of the body
	Target   string // the target the request was for, e.g. "department:123"; may be empty
	Attempts int    // requests made, counting retries
}

// Error says what went wrong and, for the statuses a user can fix, what to fix.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dialpad: HTTP %d %s", e.Status, http.StatusText(e.Status))
	switch e.Status {
	case http.StatusUnauthorized:
		b.WriteString(": the API token (DIALPAD_API_TOKEN) is wrong or expired")
	case http.StatusForbidden:
		b.WriteString(": the API token must be a company-admin API key with the calls:list scope")
	case http.StatusNotFound:
		if e.Target != "" {
			fmt.Fprintf(&b, ": target %s does not exist (check its type and id)", e.Target)
		} else {
			b.WriteString(": the target id does not exist")
		}
	case http.StatusTooManyRequests:
		b.WriteString(": Dialpad's rate limit (20/s per company, shared by every integration) is exhausted; lower the request rate")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, "; Dialpad says: %q", e.Message)
	}
	return b.String()
}

// Is matches the sentinel for e's status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// newAPIError builds the error for a non-2xx response. Any occurrence of
// the token in Dialpad's text is redacted: a server that echoes the request
// must not put the key into our logs.
func newAPIError(status int, body []byte, target string, attempts int, token string) *APIError {
	msg := errorMessage(body)
	if token != "" {
		msg = strings.ReplaceAll(msg, token, "[redacted]")
	}
	return &APIError{Status: status, Message: msg, Target: target, Attempts: attempts}
}

// errorMessage extracts Dialpad's error text: {"error":{"message":"..."}},
// {"error":"..."} or {"message":"..."}; otherwise the body's first line,
// shortened.
func errorMessage(body []byte) string {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &env) == nil {
		var inner struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(env.Error, &inner) == nil && inner.Message != "":
			return shorten(inner.Message)
		case json.Unmarshal(env.Error, &s) == nil && s != "":
			return shorten(s)
		case env.Message != "":
			return shorten(env.Message)
		}
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	return shorten(line)
}

func shorten(s string) string {
	const max = 300
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// timeoutError is one attempt that took longer than WithTimeout. It is a
// net.Error with Timeout() true, so the default policy retries it.
type timeoutError struct{ after string }

func (e *timeoutError) Error() string   { return "dialpad: request timed out after " + e.after }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
