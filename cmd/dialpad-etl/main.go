// Command dialpad-etl loads a contact center's Dialpad call history into
// ClickHouse. Run "dialpad-etl help" for its commands.
//
// Each command is a file of its own: it reads the settings (etl/config,
// the only package that reads the environment), wires the parts of etl/
// into one another and runs them. It may import any package of etl/, and
// nothing of internal/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand: its name, a one-line summary, and what runs it.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "load every target from its high-water mark (less ETL_LOOKBACK) up to now", runRun},
		{"backfill", "load a past range, day by day, resuming where a crashed backfill stopped", runBackfill},
		{"schedule", "stay up: hourly and nightly loads, /healthz and /metrics", runSchedule},
		{"migrate", "apply the ClickHouse schema", runMigrate},
		{"rebuild", "count every stored day again in ETL_TIMEZONE and rebuild agent days and conversations, without Dialpad", runRebuild},
		{"reconcile", "compare days with Dialpad's own records export, re-load the days it shows we missed, record the differences", runReconcile},
		{"dispositions", "load the dispositions agents picked, from Dialpad's dispositions export, for a range of days", runDispositions},
		{"report", "a range's or the last day's, week's or month's report: in the terminal, or as one HTML file (--html)", runReport},
		{"staffing", "how many agents each interval needs: next week's forecast per target, or Erlang C for a what-if (--calls)", runStaffing},
		{"status", "show each target's high-water mark, recent runs and row counts", runStatus},
		{"webhooks", "set up, show or remove the webhook and subscriptions of Dialpad's real-time events", runWebhooks},
		{"simulate", "serve a simulated Dialpad API for demos and tests", runSimulate},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tuneGC()
	stopProfile := profile()
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}

// dispatch runs the command named by args[0] and returns the exit code.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintf(stderr, "dialpad-etl %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "dialpad-etl: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errUsage marks an error whose message the flag package already printed.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "dialpad-etl loads Dialpad call history into ClickHouse.")
	fmt.Fprintln(w, "\nUsage: dialpad-etl <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'dialpad-etl <command> --help' for a command's flags.")
}

// newFlags returns a flag set for a command that prints its usage to stderr.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dialpad-etl %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, mapping a bad flag to errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if err := parse(newFlags("version", "version", stderr), args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "dialpad-etl", version)
	return nil
}
