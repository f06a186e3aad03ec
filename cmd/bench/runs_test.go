package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A backfill from the records export logs "export loaded" where one from
// the call list logs "window loaded": the span runs from the first
// export's start to the last one's end either way.
func TestWindowSpanReadsExportsAndWindows(t *testing.T) {
	for name, lines := range map[string]string{
		"list": `{"time":"2026-12-07T10:00:05Z","msg":"window loaded","duration_ms":5000}
{"time":"2026-12-07T10:00:20Z","msg":"window loaded","duration_ms":12000}
`,
		"export": `{"time":"2026-12-07T10:00:00Z","msg":"backfill started"}
{"time":"2026-12-07T10:00:40Z","msg":"export loaded","duration_ms":40000}
{"time":"2026-12-07T10:00:50Z","msg":"export failed; its days stay unloaded","duration_ms":1000}
{"time":"2026-12-07T10:01:15Z","msg":"export loaded","duration_ms":31000}
`,
	} {
		path := filepath.Join(t.TempDir(), "backfill.log")
		if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
			t.Fatal(err)
		}
		want := map[string]time.Duration{"list": 20 * time.Second, "export": 75 * time.Second}[name]
		if got, err := windowSpan(path); err != nil || got != want {
			t.Errorf("%s: windowSpan = %s, %v; want %s", name, got, err, want)
		}
	}
	path := filepath.Join(t.TempDir(), "backfill.log")
	if err := os.WriteFile(path, []byte(`{"time":"2026-12-07T10:00:00Z","msg":"backfill started"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := windowSpan(path); err == nil {
		t.Errorf("windowSpan of a log without a load: no error")
	}
}
