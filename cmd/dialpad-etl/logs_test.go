package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/config"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// A target reads department:123 in both log formats, and a duration is
// milliseconds in JSON, as a log pipeline can read it.
func TestLogLinesSpellTargetsAndDurations(t *testing.T) {
	target := dialpad.Target{Type: "department", ID: 123}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log := newLogger(&config.Config{Env: config.Env{LogFormat: format, LogLevel: "info"}}, &buf)
		w := dialpad.Window{From: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)}
		log.Info("window loaded", "target", target, "window", w, "duration", 1500*time.Millisecond+250*time.Microsecond)
		line := buf.String()
		if format == "text" {
			if !strings.Contains(line, "target=department:123") || !strings.Contains(line, "duration=1.50025s") {
				t.Errorf("text log: %q", line)
			}
			continue
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("json log %q: %v", line, err)
		}
		if got["target"] != "department:123" || got["duration_ms"] != 1500.25 || got["duration"] != nil ||
			got["window"] != "2026-01-02T00:00:00Z/2026-01-03T00:00:00Z" {
			t.Errorf("json log: %q, want target department:123, the window as text and duration_ms 1500.25", line)
		}
	}
}

// /dev/null is a character device, not a terminal: no progress bar there.
func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("isTerminal(/dev/null) = true")
	}
}
