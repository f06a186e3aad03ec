package testkit

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fatal records the message of Fatalf and ends the goroutine, as
// testing.T does.
type fatal struct {
	testing.TB
	msg string
}

func (f *fatal) Helper() {}

func (f *fatal) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	began := time.Now()
	Eventually(t, 5*time.Second, "the clock to pass 100 ms", func() bool { return time.Since(began) > 100*time.Millisecond })
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Eventually returned %s after the condition held", d-100*time.Millisecond)
	}
}

func TestEventuallyFailsNamingWhatItWaitedFor(t *testing.T) {
	f := &fatal{TB: t}
	polls := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Eventually(f, 200*time.Millisecond, "the impossible", func() bool { polls++; return false })
	}()
	<-done
	if f.msg != "the impossible: not within 200ms" {
		t.Errorf("the failure says %q", f.msg)
	}
	if polls < 3 || polls > 15 {
		t.Errorf("%d polls in 200 ms, want one about every 20 ms", polls)
	}
}

// No package of the program imports the test kit: only tests do. (A
// package that imports none of it directly cannot reach it through
// another of the program's packages either.)
func TestOnlyTestsImportTheKit(t *testing.T) {
	const kit = "github.com/dialpad-etl/dialpad-etl/internal/testkit"
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case d.IsDir() && (rel == filepath.Join("internal", "testkit") || strings.HasPrefix(d.Name(), ".") && rel != "."):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == kit || strings.HasPrefix(p, kit+"/") {
				t.Errorf("%s imports %s: only tests may", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
