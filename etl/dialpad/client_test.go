package dialpad

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadConfiguration(t *testing.T) {
	for _, tt := range []struct {
		base, token string
		opts        []Option
		say         string
	}{
		{"", testToken, nil, "https://"},
		{"dialpad.com", testToken, nil, "https://"},
		{"ftp://dialpad.com", testToken, nil, "https://"},
		{"https://", testToken, nil, "no host"},
		{"https://user:" + testToken + "@dialpad.com", testToken, nil, "credentials"},
		{"https://dialpad.com/?apikey=" + testToken, testToken, nil, "never put the API key in a URL"},
		{"https://dialpad.com/#frag", testToken, nil, "fragment"},
		{"https://dial pad.com\x7f/" + testToken, testToken, nil, "not a valid URL"},
		{"https://dialpad.com", "", nil, "DIALPAD_API_TOKEN"},
		{"https://dialpad.com", "abc def", nil, "DIALPAD_API_TOKEN"},
		{"https://dialpad.com", testToken, []Option{WithRateLimit(0)}, "WithRateLimit"},
		{"https://dialpad.com", testToken, []Option{WithMaxAttempts(0)}, "WithMaxAttempts"},
		{"https://dialpad.com", testToken, []Option{WithBackoff(2*time.Second, time.Second)}, "WithBackoff"},
		{"https://dialpad.com", testToken, []Option{WithTimeout(0)}, "WithTimeout"},
		{"https://dialpad.com", testToken, []Option{WithMaxPages(-1)}, "WithMaxPages"},
	} {
		_, err := New(tt.base, tt.token, tt.opts...)
		if err == nil {
			t.Errorf("New(%q) accepted", tt.base)
			continue
		}
		if !strings.Contains(err.Error(), tt.say) {
			t.Errorf("New(%q): %q does not say %q", tt.base, err, tt.say)
		}
		if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "abc def") {
			t.Errorf("New(%q): the error shows the token: %q", tt.base, err)
		}
	}
	for _, base := range []string{"https://dialpad.com", "https://dialpad.com/", "http://127.0.0.1:8080/proxy/"} {
		if _, err := New(base, " "+testToken+"\n"); err != nil {
			t.Errorf("New(%q): %v", base, err)
		}
	}
}

func TestClientPrintsWithoutToken(t *testing.T) {
	c, err := New("https://dialpad.com", testToken)
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	logs.logger().Info("client", "c", c)
	logs.logger().Debug("client", slog.Any("c", c))
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logs.String()} {
		if strings.Contains(s, testToken) {
			t.Errorf("printed the token: %s", s)
		}
	}
	if !strings.Contains(c.String(), "dialpad.com") {
		t.Errorf("String() = %q, want the base URL", c.String())
	}
}

// The token goes only into the Authorization header: never into a URL the
// server sees, a log line at debug level or an error, even when retries
// happen and when Dialpad echoes the header back.
func TestTokenNeverLeaks(t *testing.T) {
	f := newFake(t, 60)
	srv := f.start()
	srv.Config.SetKeepAlivesEnabled(false)
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		switch n {
		case 1:
			writeJSON(w, 429, `{"error":{"message":"slow down"}}`)
		case 2:
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 503, ``)
		case 3:
			truncatedBody(w)
		case 4:
			drop(w)
		case 6:
			writeJSON(w, 200, `{"items":[`)
		case 9: // a server that echoes the request's header into its error
			writeJSON(w, 403, `{"error":{"message":"key `+r.Header.Get("Authorization")+` lacks calls:list"}}`)
		default:
			return false
		}
		return true
	})
	var logs logBuffer
	c := f.client(srv, WithLogger(logs.logger()))
	var errs []error
	_, _, err := collect(t, c, dept, dayWindow)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = collect(t, c, dept, dayWindow) // request 9: the 403
	errs = append(errs, err)
	if !errors.Is(err, ErrForbidden) {
		t.Errorf("err = %v, want ErrForbidden", err)
	}
	c2, _ := New(srv.URL, testToken+"x") // a wrong key: 401
	_, _, err = collect(t, c2, dept, dayWindow)
	errs = append(errs, err)

	for _, err := range errs {
		if err == nil || strings.Contains(err.Error(), testToken) || strings.Contains(fmt.Sprintf("%#v", err), testToken) {
			t.Errorf("error %v shows the token (or is nil)", err)
		}
	}
	if got := logs.String(); strings.Contains(got, testToken) || strings.Contains(got, "Bearer") {
		t.Errorf("the debug log shows the token:\n%s", got)
	} else if strings.Count(got, `"msg":"dialpad: retrying request"`) != 5 || !strings.Contains(got, `"status":429`) || !strings.Contains(got, `"path":"/api/v2/call"`) {
		t.Errorf("want 5 retry lines at debug with path and status:\n%s", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, u := range f.urls {
		if strings.Contains(u, testToken) || strings.Contains(strings.ToLower(u), "apikey") {
			t.Errorf("request URL %s carries the key", u)
		}
		if i < len(f.auths)-1 && f.auths[i] != "Bearer "+testToken {
			t.Errorf("request %d: Authorization %q", i+1, f.auths[i])
		}
	}
}

func TestLogValueHidesToken(t *testing.T) {
	c, err := New("https://dialpad.com", testToken)
	if err != nil {
		t.Fatal(err)
	}
	v := c.LogValue()
	if v.Kind() != slog.KindGroup || strings.Contains(v.String(), testToken) {
		t.Errorf("LogValue = %v", v)
	}
}
