// Package chdb runs SQL on a current ClickHouse for the tests: chdb, the
// ClickHouse engine as a library, installed from the npm registry (the
// package chdb, which brings @chdb/lib-linux-x64-gnu) and driven by a small
// Node script in a process of its own.
//
// A process of its own rather than the Go binding (chdb-go) loading the
// same libchdb.so into the test binary: the tests then need no cgo, the
// race detector's runtime and ClickHouse's allocator never share a
// process, and a crash of the engine fails one comparison instead of the
// whole test binary. chdb has no server and no native protocol: it takes
// SQL text and answers text in any ClickHouse format.
//
// Only tests import it. It imports internal/child only.
package chdb

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/dialpad-etl/dialpad-etl/internal/child"
)

//go:embed bridge.js
var bridge []byte

// Version is the npm package that make test installs, and so the engine's
// release the tests are proven on (chdb 3.4.0 is ClickHouse 26.7).
const Version = "3.4.0"

// InstallHint tells a developer how to get the engine.
const InstallHint = "run 'make test' (it installs chdb " + Version + " with npm into " +
	"~/.cache/dialpad-etl/chdb), or set CHDB_MODULES to a node_modules folder that holds chdb"

// Modules returns the node_modules folder that holds chdb: CHDB_MODULES,
// else the cache folder make test installs into. It is an error when
// neither holds it, or when node is missing.
func Modules() (string, error) {
	dir := os.Getenv("CHDB_MODULES")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(cache, "dialpad-etl", "chdb", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(dir, "chdb", "package.json")); err != nil {
		return "", fmt.Errorf("chdb is not installed in %s", dir)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node is not on PATH")
	}
	return dir, nil
}

// Engine is a running chdb session. It is safe for concurrent use; its
// statements run one at a time, in the order they were sent.
type Engine struct {
	Version string // the engine's version(), e.g. 26.7.2.1
	dir     string
	cmd     *exec.Cmd
	mu      sync.Mutex
	in      io.WriteCloser
	out     *bufio.Reader
}

// Start starts a session with its data in a new temporary folder.
func Start() (*Engine, error) {
	modules, err := Modules()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "chdb-")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "bridge.js")
	if err := os.WriteFile(script, bridge, 0o644); err != nil {
		return nil, err
	}
	cmd := child.Command(false, "node", script, filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "TZ=UTC")
	cmd.Stderr = os.Stderr
	e := &Engine{dir: dir, cmd: cmd}
	if e.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	e.out = bufio.NewReaderSize(stdout, 1<<20)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	v, err := e.Query("", "SELECT version()", "TabSeparated")
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("chdb in %s: %w", modules, err)
	}
	e.Version = strings.TrimSpace(v)
	return e, nil
}

// Error is an exception the engine raised.
type Error struct {
	Code    int // ClickHouse's error code, 0 when the message has none
	Message string
}

func (e *Error) Error() string { return e.Message }

var codeRe = regexp.MustCompile(`Code: (\d+)`)

// Query runs sql in database (the session's current one when "") and
// returns its result in format, e.g. TabSeparatedWithNames.
func (e *Engine) Query(database, sql, format string) (string, error) {
	req, err := json.Marshal(map[string]string{"db": database, "sql": sql, "format": format})
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.in.Write(append(req, '\n')); err != nil {
		return "", fmt.Errorf("chdb bridge: %w", err)
	}
	line, err := e.out.ReadBytes('\n')
	if err != nil {
		return "", fmt.Errorf("chdb bridge: %w", err)
	}
	var answer struct {
		Data  *string `json:"data"`
		Error string  `json:"error"`
	}
	if err := json.Unmarshal(line, &answer); err != nil {
		return "", fmt.Errorf("chdb bridge: %w", err)
	}
	if answer.Data == nil {
		ex := &Error{Message: strings.TrimPrefix(answer.Error, "Query failed: ")}
		if m := codeRe.FindStringSubmatch(ex.Message); m != nil {
			ex.Code, _ = strconv.Atoi(m[1])
		}
		return "", ex
	}
	return *answer.Data, nil
}

// Exec runs a statement whose result is not wanted.
func (e *Engine) Exec(database, sql string) error {
	_, err := e.Query(database, sql, "TabSeparated")
	return err
}

// Close ends the session and removes its data.
func (e *Engine) Close() error {
	e.in.Close()
	err := e.cmd.Wait()
	os.RemoveAll(e.dir)
	return err
}
