// Command bench compares simplerpc with a raw-TCP floor and with other Go
// RPC libraries over 127.0.0.1 TCP, all in one process run.
//
// Usage:
//
//	go run . [-d 1s] [-reps 5] [-smoke] [-systems floor,grpc,...] [-workloads add,idle,...] [-otel] [-out results/latest.md]
//
// Each repetition visits every system in turn (starting one system later
// each time), so drift in a shared machine's speed hits all systems alike;
// the report gives the median over repetitions. The markdown report is
// printed and written to -out, and a throughput chart to throughput.svg
// beside it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// config is the parsed command line.
type config struct {
	d, warm time.Duration
	reps    int
	smoke   bool
	otel    bool // the cost of OpenTelemetry instrumentation alone (otel.go)
	conc    []int
	idleN   []int
	work    []workload // the call workloads to run
	scen    []scenario // the scenario workloads to run
	systems []system
	out     string
	profile string // directory of the conns and streams workloads' CPU profiles; "" for none
	args    []string
}

func main() {
	if spec := os.Getenv(idleChildEnv); spec != "" {
		if err := runIdleChild(spec); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		return
	}
	if spec := os.Getenv(connsChildEnv); spec != "" {
		if err := runConnsChild(spec); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		return
	}
	if spec := os.Getenv(streamsChildEnv); spec != "" {
		if err := runStreamsChild(spec); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	run := runAll
	if cfg.otel {
		run = runOtelCost
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	d := fs.Duration("d", time.Second, "duration of each measurement")
	reps := fs.Int("reps", 5, "repetitions of each measurement; the report shows medians")
	smoke := fs.Bool("smoke", false, "quick check: 0.2s per measurement, 1 repetition, 100 idle connections (overrides -d and -reps)")
	only := fs.String("systems", "", "comma-separated systems to run (default all): "+strings.Join(systemNames(allSystems()), ","))
	workList := fs.String("workloads", "", "comma-separated workloads to run (default all): "+strings.Join(append(append(workloadNames(workloads()), idleWorkload), scenarioNames(scenarios())...), ","))
	otel := fs.Bool("otel", false, "measure only the cost of OpenTelemetry instrumentation, simplerpc beside gRPC-go with otelgrpc (otel.go); default -out results/otel.md")
	out := fs.String("out", "results/latest.md", "markdown report path; throughput.svg is written beside it")
	profile := fs.String("cpuprofile", "", "directory to write profiles of the conns workload into: CPU and goroutine profiles of its server and clients, the server's heap after the load; and of the streams workload: a CPU profile of each shape")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg := config{
		d:       *d,
		reps:    *reps,
		smoke:   *smoke,
		otel:    *otel,
		conc:    []int{1, 8, 64, 256, 1024},
		idleN:   []int{1000, 10000},
		out:     *out,
		profile: *profile,
		args:    args,
	}
	outSet := false
	fs.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
	if cfg.otel && !outSet {
		cfg.out = "results/otel.md"
	}
	if cfg.d <= 0 || cfg.reps < 1 {
		return config{}, errors.New("bench: -d must be positive and -reps at least 1")
	}
	cfg.warm = cfg.d / 10
	if cfg.smoke {
		cfg.d, cfg.warm, cfg.reps, cfg.idleN = 200*time.Millisecond, 0, 1, []int{100}
	}
	systems, err := selectSystems(*only)
	if err != nil {
		return config{}, err
	}
	cfg.systems = systems
	work, idle, err := selectWorkloads(*workList)
	if err != nil {
		return config{}, err
	}
	cfg.work = work
	cfg.scen = selectScenarios(*workList)
	if !idle {
		cfg.idleN = nil
	}
	return cfg, nil
}

func systemNames(systems []system) []string {
	names := make([]string, len(systems))
	for i, s := range systems {
		names[i] = s.name()
	}
	return names
}

// selectSystems returns the systems named in the comma-separated list, in
// report order; an empty list selects all.
func selectSystems(list string) ([]system, error) {
	all := allSystems()
	if list == "" {
		return all, nil
	}
	want := strings.Split(list, ",")
	for _, w := range want {
		if !slices.Contains(systemNames(all), w) {
			return nil, fmt.Errorf("bench: unknown system %q", w)
		}
	}
	return slices.DeleteFunc(all, func(s system) bool { return !slices.Contains(want, s.name()) }), nil
}

func workloadNames(ws []workload) []string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.name
	}
	return names
}

// selectWorkloads returns the call workloads named in the comma-separated
// list, in report order, and whether it names the idle measurement; an
// empty list selects everything.
func selectWorkloads(list string) ([]workload, bool, error) {
	all := workloads()
	if list == "" {
		return all, true, nil
	}
	want := strings.Split(list, ",")
	for _, w := range want {
		if w != idleWorkload && !slices.Contains(workloadNames(all), w) && !isScenario(w) {
			return nil, false, fmt.Errorf("bench: unknown workload %q", w)
		}
	}
	return slices.DeleteFunc(all, func(w workload) bool { return !slices.Contains(want, w.name) }),
		slices.Contains(want, idleWorkload), nil
}

func runAll(cfg config) error {
	limit, err := raiseFileLimit()
	if err != nil {
		return err
	}
	var skippedN []int
	cfg.idleN = slices.DeleteFunc(cfg.idleN, func(n int) bool {
		if uint64(n)+512 > limit {
			skippedN = append(skippedN, n)
			return true
		}
		return false
	})
	res := newResults(systemNames(cfg.systems))
	for _, n := range skippedN {
		res.failures = append(res.failures, fmt.Sprintf("idle N=%d skipped: open-file limit is %d", n, limit))
	}
	start := time.Now()
	for rep := range cfg.reps {
		for i := range cfg.systems {
			s := cfg.systems[(rep+i)%len(cfg.systems)]
			fmt.Fprintf(os.Stderr, "rep %d/%d %-14s %v\n", rep+1, cfg.reps, s.name(), time.Since(start).Round(time.Second))
			if err := benchSystem(cfg, s, res); err != nil {
				res.failures = append(res.failures, fmt.Sprintf("rep %d %s: %v", rep+1, s.name(), err))
			}
			for _, n := range cfg.idleN {
				if err := idleOnce(s, n, res); err != nil {
					res.failures = append(res.failures, fmt.Sprintf("rep %d %s idle N=%d: %v", rep+1, s.name(), n, err))
				}
			}
			runScenariosFor(cfg, rep, s, res)
		}
		runScenariosRep(cfg, rep, res)
	}
	for _, f := range res.failures {
		fmt.Fprintln(os.Stderr, "failure:", f)
	}
	md := report(cfg, res, time.Since(start))
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	// The throughput chart is of Add: a run without it leaves the chart
	// of the last run that had it.
	if slices.ContainsFunc(cfg.work, func(w workload) bool { return w.name == "add" }) {
		svg := filepath.Join(filepath.Dir(cfg.out), "throughput.svg")
		if err := os.WriteFile(svg, []byte(chart(res, cfg.conc)), 0o644); err != nil {
			return fmt.Errorf("write chart: %w", err)
		}
	}
	if err := writeScenarioCharts(cfg, res, filepath.Dir(cfg.out)); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}

// benchSystem serves s, dials one shared client, and measures every
// workload once. It stops at the first failed call.
func benchSystem(cfg config, s system, res *results) (err error) {
	if len(cfg.work) == 0 {
		return nil
	}
	perSystem := time.Duration(len(cfg.work)*(1+len(cfg.conc))) * (cfg.d + cfg.warm)
	ctx, cancel := context.WithTimeout(context.Background(), perSystem+time.Minute)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	stop, err := s.serve(ln)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	c, err := s.dial(ctx, ln.Addr().String())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.close()) }()
	name := s.name()
	for _, w := range cfg.work {
		if err := warmUp(ctx, c, w, 1, cfg.warm); err != nil {
			return err
		}
		p50, p99, err := latency(ctx, c, w, cfg.d)
		if err != nil {
			return err
		}
		res.add(name, metric{w.name, kindP50, 1}, p50.Seconds())
		res.add(name, metric{w.name, kindP99, 1}, p99.Seconds())
		for _, n := range cfg.conc {
			if err := warmUp(ctx, c, w, n, cfg.warm); err != nil {
				return err
			}
			r, err := throughput(ctx, c, w, n, cfg.d)
			if err != nil {
				return err
			}
			res.add(name, metric{w.name, kindTput, n}, r.rate)
			if n == 1 {
				res.add(name, metric{w.name, kindAllocs, 1}, r.mallocs)
				res.add(name, metric{w.name, kindBytes, 1}, r.bytes)
			}
		}
	}
	return nil
}

// warmUp runs w at concurrency conc for d, unmeasured; d == 0 skips it.
func warmUp(ctx context.Context, c client, w workload, conc int, d time.Duration) error {
	if d == 0 {
		return nil
	}
	_, err := throughput(ctx, c, w, conc, d)
	return err
}
