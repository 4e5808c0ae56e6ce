// Command cluster measures simplerpc's client-side balancing, all in one
// process over 127.0.0.1 TCP:
//
//   - overhead: one server dialed as "addr" and as "static:///addr", the
//     two clients measured in turn, repetition after repetition;
//   - spread: calls per server and throughput with 1, 2 and 4 servers;
//   - failover: from a hard kill (Server.Close) of one of three servers
//     to the last call sent to it, with keepalive at its default; and, as
//     a second row, a server that goes silent (its packets stop, its
//     connections stay open), which only keepalive can detect.
//
// Usage, from bench/:
//
//	go run ./cluster [-d 1s] [-reps 5] [-smoke] [-silent=true] [-out results/cluster.md]
//
// The markdown report is printed and written to -out.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// config is the parsed command line.
type config struct {
	d      time.Duration
	reps   int
	silent bool
	out    string
	args   []string
	only   string // figures to measure, comma-separated; "" for all
	// loadStart is the load average when the run began.
	loadStart string
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	md, err := runAll(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	fmt.Print(md)
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	d := fs.Duration("d", time.Second, "duration of each throughput measurement")
	reps := fs.Int("reps", 5, "repetitions; the report shows medians")
	smoke := fs.Bool("smoke", false, "quick check: 0.1s measurements, 1 repetition, no silent-server row")
	only := fs.String("only", "", "comma-separated figures to measure (default all): overhead,spread,failover")
	silent := fs.Bool("silent", true, "also measure a server that goes silent (takes about 30s: keepalive's default)")
	out := fs.String("out", "results/cluster.md", "markdown report path")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg := config{d: *d, reps: *reps, silent: *silent, out: *out, args: args, only: *only}
	if *smoke {
		cfg.d, cfg.reps, cfg.silent = 100*time.Millisecond, 1, false
	}
	if cfg.d <= 0 || cfg.reps < 1 {
		return config{}, errors.New("-d must be positive and -reps at least 1")
	}
	return cfg, nil
}

// runAll measures the figures cfg selects and returns the report.
func runAll(cfg config) (string, error) {
	start := time.Now()
	cfg.loadStart = loadAvg()
	want := func(figure string) bool {
		if cfg.only != "" && !slices.Contains(strings.Split(cfg.only, ","), figure) {
			return false
		}
		fmt.Fprintf(os.Stderr, "%-40s %v\n", figure, time.Since(start).Round(time.Second))
		return true
	}
	var r results
	var err error
	if want("overhead") {
		if r.over, err = measureOverhead(cfg); err != nil {
			return "", fmt.Errorf("overhead: %w", err)
		}
	}
	if want("spread") {
		if r.spread, err = measureSpread(cfg); err != nil {
			return "", fmt.Errorf("spread: %w", err)
		}
	}
	if want("failover") {
		if r.fail, err = measureFailover(cfg); err != nil {
			return "", fmt.Errorf("failover: %w", err)
		}
		if cfg.silent {
			if r.silent, err = measureSilent(); err != nil {
				return "", fmt.Errorf("silent server: %w", err)
			}
		}
	}
	return report(cfg, r, time.Since(start)), nil
}

// results holds the figures measured; nil for those not measured.
type results struct {
	over   *overheadResult
	spread *spreadResult
	fail   []failoverResult
	silent *silentResult
}
