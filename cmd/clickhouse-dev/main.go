// Command clickhouse-dev starts and stops a private ClickHouse server for
// the demo and the benchmarks: Debian's clickhouse-server with a copy of
// its packaged configuration, its data in a directory of the project's,
// listening on loopback only.
//
//	clickhouse-dev start --dir .demo/clickhouse --port 19000
//	clickhouse-dev stop --dir .demo/clickhouse
//
// It imports internal/chserver only.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "start" && os.Args[1] != "stop") {
		fmt.Fprintln(os.Stderr, "usage: clickhouse-dev start|stop --dir DIR [--port N]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", ".demo/clickhouse", "data and configuration directory")
	port := fs.Int("port", 19000, "native protocol port (HTTP on port+1, interserver on port+2)")
	fs.Parse(os.Args[2:])
	abs, err := filepath.Abs(*dir)
	if err == nil {
		if os.Args[1] == "start" {
			err = start(abs, *port)
		} else {
			err = stop(abs)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clickhouse-dev:", err)
		os.Exit(1)
	}
}

func start(dir string, port int) error {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if _, err := chserver.External(addr, "", time.Second); err == nil {
		fmt.Printf("ClickHouse already answers at %s\n", addr)
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s, err := chserver.Start(chserver.Options{Dir: dir, Port: port, Detach: true})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(s.Pid())), 0o644); err != nil {
		return err
	}
	fmt.Printf("ClickHouse started at %s (data in %s)\n", s.Addr, dir)
	return nil
}

func stop(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("no ClickHouse was started in", dir)
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	os.Remove(filepath.Join(dir, "pid"))
	fmt.Println("ClickHouse stopped")
	return nil
}
