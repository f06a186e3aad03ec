// Package chtest gives tests a real ClickHouse server.
//
// With CLICKHOUSE_ADDR set, tests use that server. Otherwise the first test
// that asks starts a private clickhouse-server (found on PATH or at
// /usr/sbin/clickhouse-server) on free loopback ports, with its data in a
// temporary directory; [Main] stops it when the package's tests end. Each
// test gets a database of its own, dropped when the test ends.
//
// When no server can be had, tests fail if CI is set and skip otherwise,
// with a message that says how to install one.
package chtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// InstallHint tells a developer how to get a server for the tests.
const InstallHint = "install it with 'apt-get install -y clickhouse-server clickhouse-client' (or run 'make test'), or set CLICKHOUSE_ADDR"

var (
	once    sync.Once
	shared  *Server
	errOnce error
	seq     atomic.Int64
)

// Server is a running ClickHouse server.
type Server struct {
	Addr    string // host:port of the native protocol
	HTTP    string // host:port of the HTTP interface ("" for an external server)
	Dir     string // data directory of a private server
	cmd     *exec.Cmd
	private bool
}

// Main runs the package's tests and stops the private server afterwards.
// Call it from TestMain: func TestMain(m *testing.M) { chtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// Get returns the package's server, starting it on first use. It skips or
// fails the test when no server can be had.
func Get(tb testing.TB) *Server {
	tb.Helper()
	once.Do(func() { shared, errOnce = start() })
	if errOnce != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("no ClickHouse server for the tests: %v", errOnce)
		}
		tb.Skipf("no ClickHouse server for the tests: %v; %s", errOnce, InstallHint)
	}
	return shared
}

// Database returns the server's address and the name of a fresh, empty
// database that is dropped when the test ends.
func Database(tb testing.TB) (addr, database string) {
	tb.Helper()
	s := Get(tb)
	name := fmt.Sprintf("t_%d_%d_%s", os.Getpid(), seq.Add(1), sanitize(tb.Name()))
	if len(name) > 100 {
		name = name[:100]
	}
	conn := s.Conn(tb, "default")
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if os.Getenv("CHTEST_KEEP") == "" {
			_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
		}
		conn.Close()
	})
	return s.Addr, name
}

// Conn opens a connection to database on the server, closed when the test ends.
func (s *Server) Conn(tb testing.TB, database string) clickhouse.Conn {
	tb.Helper()
	conn, err := open(s.Addr, database)
	if err != nil {
		tb.Fatalf("connect to ClickHouse at %s: %v", s.Addr, err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func open(addr, database string) (clickhouse.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr: []string{addr},
		Auth: clickhouse.Auth{Database: database, Username: "default"},
	})
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_]+`)

func sanitize(s string) string { return nonWord.ReplaceAllString(s, "_") }

func start() (*Server, error) {
	if addr := os.Getenv("CLICKHOUSE_ADDR"); addr != "" {
		s := &Server{Addr: addr}
		return s, s.wait(10 * time.Second)
	}
	bin, err := findServer()
	if err != nil {
		return nil, err
	}
	return StartPrivate(bin, "")
}

func findServer() (string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/clickhouse-server"); err == nil {
		return "/usr/sbin/clickhouse-server", nil
	}
	return "", errors.New("clickhouse-server is not installed")
}

// StartPrivate starts bin with its data in dir (a new temporary directory
// when dir is ""), on free loopback ports, from a copy of the packaged
// configuration in /etc/clickhouse-server, and waits until it answers.
// The server dies with the process that started it.
func StartPrivate(bin, dir string) (*Server, error) {
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "chtest-"); err != nil {
			return nil, err
		}
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	conf, err := writeConfig(dir, ports)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config-file="+conf)
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{
		Addr:    fmt.Sprintf("127.0.0.1:%d", ports[0]),
		HTTP:    fmt.Sprintf("127.0.0.1:%d", ports[1]),
		Dir:     dir,
		cmd:     cmd,
		private: true,
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := s.waitOrExit(30*time.Second, exited); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w (server log: %s)", err, filepath.Join(dir, "log"))
	}
	return s, nil
}

// Stop ends a private server and removes its data; it does nothing for an
// external one.
func (s *Server) Stop() {
	if !s.private || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	time.Sleep(50 * time.Millisecond)
	if os.Getenv("CHTEST_KEEP") == "" {
		_ = os.RemoveAll(s.Dir)
	}
}

func (s *Server) wait(limit time.Duration) error { return s.waitOrExit(limit, nil) }

func (s *Server) waitOrExit(limit time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("clickhouse-server exited at start: %v", err)
		default:
		}
		conn, err := open(s.Addr, "default")
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = conn.Ping(ctx)
			cancel()
			conn.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("ClickHouse at %s did not answer within %s: %v", s.Addr, limit, last)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeConfig copies the packaged config.xml and users.xml into dir with
// the ports and paths rewritten, and returns the config's path.
func writeConfig(dir string, ports []int) (string, error) {
	const etc = "/etc/clickhouse-server"
	raw, err := os.ReadFile(filepath.Join(etc, "config.xml"))
	if err != nil {
		return "", fmt.Errorf("read packaged config: %w", err)
	}
	users, err := os.ReadFile(filepath.Join(etc, "users.xml"))
	if err != nil {
		return "", fmt.Errorf("read packaged users: %w", err)
	}
	data := filepath.Join(dir, "data") + "/"
	logs := filepath.Join(dir, "log")
	for _, d := range []string{data, logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	set := map[string]string{
		"tcp_port":              strconv.Itoa(ports[0]),
		"http_port":             strconv.Itoa(ports[1]),
		"interserver_http_port": strconv.Itoa(ports[2]),
		"path":                  data,
		"tmp_path":              data + "tmp/",
		"user_files_path":       data + "user_files/",
		"format_schema_path":    data + "format_schemas/",
		"log":                   filepath.Join(logs, "clickhouse-server.log"),
		"errorlog":              filepath.Join(logs, "clickhouse-server.err.log"),
	}
	conf := string(raw)
	for tag, v := range set {
		re := regexp.MustCompile(`<` + tag + `>[^<]*</` + tag + `>`)
		conf = re.ReplaceAllLiteralString(conf, "<"+tag+">"+v+"</"+tag+">")
	}
	for _, tag := range []string{"https_port", "tcp_port_secure", "listen_host"} {
		re := regexp.MustCompile(`(?m)^.*<` + tag + `>[^<]*</` + tag + `>.*$`)
		conf = re.ReplaceAllLiteralString(conf, "")
	}
	conf = strings.Replace(conf, "<logger>", "<logger>\n", 1)
	conf = strings.Replace(conf, "</yandex>", "    <listen_host>127.0.0.1</listen_host>\n</yandex>", 1)
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), users, 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.xml")
	return path, os.WriteFile(path, []byte(conf), 0o644)
}
