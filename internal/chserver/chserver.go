// Package chserver runs a private ClickHouse server from the packaged
// configuration (Debian's clickhouse-server, /etc/clickhouse-server) on
// loopback ports of its own, with its data in a directory of its own: for
// tests, the demo and the benchmarks, beside any system server.
//
// It imports internal/child only.
package chserver

import (
	"bytes"
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
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/dialpad-etl/dialpad-etl/internal/child"
)

// Server is a running ClickHouse server.
type Server struct {
	Addr    string // host:port of the native protocol
	HTTP    string // host:port of the HTTP interface
	Dir     string // data directory of a private server
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the private server's process is gone
	private bool
}

// Find returns the path of clickhouse-server: on PATH, else
// /usr/sbin/clickhouse-server.
func Find() (string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/clickhouse-server"); err == nil {
		return "/usr/sbin/clickhouse-server", nil
	}
	return "", errors.New("clickhouse-server is not installed")
}

// External is a server someone else runs at addr; it waits until it
// answers. Its HTTP interface is taken to be httpAddr, or port 8123 of
// the same host when httpAddr is "".
func External(addr, httpAddr string, limit time.Duration) (*Server, error) {
	if httpAddr == "" {
		host, _, _ := net.SplitHostPort(addr)
		httpAddr = net.JoinHostPort(host, "8123")
	}
	s := &Server{Addr: addr, HTTP: httpAddr}
	return s, s.wait(limit)
}

// Open connects to database on the server.
func (s *Server) Open(database string) (clickhouse.Conn, error) { return open(s.Addr, database) }

func open(addr, database string) (clickhouse.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr: []string{addr},
		Auth: clickhouse.Auth{Database: database, Username: "default"},
	})
}

// Options say how to start a private server.
type Options struct {
	Bin string // clickhouse-server; found with Find when ""
	Dir string // data and configuration; a new temporary directory when ""
	// Port is the native port; free loopback ports are chosen when 0 (the
	// HTTP and interserver ports are then Port+1 and Port+2).
	Port int
	// Detach leaves the server running when this process exits; otherwise
	// it dies with it.
	Detach bool
	// UsersD are files for the users.d folder beside users.xml, by name
	// (a <clickhouse> root is written as 18.16's <yandex>).
	UsersD map[string][]byte
	// Env is added to the server's environment (for from_env in them).
	Env []string
	// Config is XML added to the server's configuration (inside its
	// root). When set, the packaged example clusters, ZooKeeper and macros
	// are left out: a node of a cluster (see chcluster) names its own.
	Config string
}

// Start starts a private server from a copy of the packaged configuration
// and waits until it answers.
func Start(opt Options) (*Server, error) {
	bin, dir := opt.Bin, opt.Dir
	if bin == "" {
		var err error
		if bin, err = Find(); err != nil {
			return nil, err
		}
	}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "chtest-"); err != nil {
			return nil, err
		}
	}
	ports := []int{opt.Port, opt.Port + 1, opt.Port + 2}
	if opt.Port == 0 {
		var err error
		if ports, err = child.FreePorts(3); err != nil {
			return nil, err
		}
	}
	conf, err := writeConfig(dir, ports, opt.UsersD, opt.Config)
	if err != nil {
		return nil, err
	}
	cmd := child.Command(opt.Detach, bin, "--config-file="+conf)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), opt.Env...)
	logf, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{
		Addr:    fmt.Sprintf("127.0.0.1:%d", ports[0]),
		HTTP:    fmt.Sprintf("127.0.0.1:%d", ports[1]),
		Dir:     dir,
		cmd:     cmd,
		exited:  make(chan struct{}),
		private: true,
	}
	exited := make(chan error, 1)
	go func() {
		exited <- cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitOrExit(30*time.Second, exited); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w (server log: %s)", err, filepath.Join(dir, "log"))
	}
	return s, nil
}

// Pid is the private server's process id (0 for an external one).
func (s *Server) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop kills a private server; it does nothing for an external one.
func (s *Server) Stop() {
	if !s.private || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	// Until it is gone it holds its ports and its data directory's lock:
	// a server started again on them at once would exit.
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
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

// writeConfig copies the packaged config.xml and users.xml into dir with
// the ports and paths rewritten, and returns the config's path.
func writeConfig(dir string, ports []int, usersD map[string][]byte, extra string) (string, error) {
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
		// The first is the server's own; a later one is another's (the
		// distributed DDL queue's <path> in ZooKeeper).
		re := regexp.MustCompile(`<` + tag + `>[^<]*</` + tag + `>`)
		if loc := re.FindStringIndex(conf); loc != nil {
			conf = conf[:loc[0]] + "<" + tag + ">" + v + "</" + tag + ">" + conf[loc[1]:]
		}
	}
	for _, tag := range []string{"https_port", "tcp_port_secure", "listen_host"} {
		re := regexp.MustCompile(`(?m)^.*<` + tag + `>[^<]*</` + tag + `>.*$`)
		conf = re.ReplaceAllLiteralString(conf, "")
	}
	if extra != "" {
		conf = regexp.MustCompile(`(?s)<remote_servers[ >].*?</remote_servers>`).ReplaceAllLiteralString(conf, "")
		conf = regexp.MustCompile(`<(zookeeper|macros) incl="[^"]*"[^>]*/>`).ReplaceAllLiteralString(conf, "")
	}
	conf = strings.Replace(conf, "<logger>", "<logger>\n", 1)
	conf = strings.Replace(conf, "</yandex>", "    <listen_host>127.0.0.1</listen_host>\n"+extra+"\n</yandex>", 1)
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), users, 0o644); err != nil {
		return "", err
	}
	if len(usersD) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, "users.d"), 0o755); err != nil {
			return "", err
		}
	}
	for name, body := range usersD {
		body = bytes.ReplaceAll(bytes.ReplaceAll(body, []byte("<clickhouse>"), []byte("<yandex>")), []byte("</clickhouse>"), []byte("</yandex>"))
		if err := os.WriteFile(filepath.Join(dir, "users.d", name), body, 0o644); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, "config.xml")
	return path, os.WriteFile(path, []byte(conf), 0o644)
}
