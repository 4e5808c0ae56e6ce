package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// connsChildEnv, when set to "SYSTEM ADDR N CALLERS", turns the process
// into the client side of a conns measurement: it connects N clients of
// SYSTEM to ADDR, each with its own connection, makes one call on each,
// prints "ready", then for every line "WORKLOAD WARM D" read from its
// standard input runs CALLERS callers per client for WARM unmeasured and
// D measured, and prints the loadStats as one line of JSON. It closes the
// clients and exits when its standard input closes. Keeping the clients
// in another process leaves only the server in the measuring process.
const connsChildEnv = "SIMPLERPC_BENCH_CONNS_CHILD"

// connsProfileEnv, when set in a conns child, is the path prefix of the
// CPU profiles it writes of its clients, one per workload (-cpuprofile).
const connsProfileEnv = "SIMPLERPC_BENCH_CONNS_PROFILE"

// connsProfilePath is the path prefix of the CPU profiles of one side
// ("server" or "client") of a conns measurement.
func connsProfilePath(cfg config, s system, sh connShape, side string) string {
	name := strings.ReplaceAll(s.name(), "/", "")
	return filepath.Join(cfg.profile, fmt.Sprintf("conns-%s-%dx%d-%s", name, sh.clients, sh.callers, side))
}

// startProfile, if on, starts a CPU profile written to prefix-w.pprof,
// and after snapAt writes where every goroutine is (a goroutine profile,
// as text) to prefix-w-goroutines.txt: what waits does not show in a CPU
// profile. It returns the function that stops both.
func startProfile(on bool, prefix, w string, snapAt time.Duration) (stop func() error, err error) {
	if !on {
		return func() error { return nil }, nil
	}
	f, err := os.Create(prefix + "-" + w + ".pprof")
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	snapped := make(chan error, 1)
	snap := time.AfterFunc(snapAt, func() { snapped <- writeProfile("goroutine", prefix+"-"+w+"-goroutines.txt", 1) })
	return func() error {
		pprof.StopCPUProfile()
		err := f.Close()
		if snap.Stop() {
			snapped <- nil
		}
		if err = errors.Join(err, <-snapped); err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		return nil
	}, nil
}

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string, debug int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%s profile: %w", name, err)
	}
	err = pprof.Lookup(name).WriteTo(f, debug)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s profile: %w", name, err)
	}
	return nil
}

// connShape is how many clients, each with its own connection, and how
// many callers on each.
type connShape struct{ clients, callers int }

func (sh connShape) String() string { return fmt.Sprintf("%d×%d", sh.clients, sh.callers) }

// connShapes returns the shapes measured; -smoke measures 100 clients
// only.
func connShapes(cfg config) []connShape {
	if cfg.smoke {
		return []connShape{{100, 1}, {100, 8}}
	}
	return []connShape{{100, 1}, {1000, 1}, {100, 8}}
}

// connsWorkloads are the call workloads of conns: Add and the 1 KiB echo.
func connsWorkloads() []workload {
	var ws []workload
	for _, w := range workloads() {
		if w.name == "add" || w.name == "struct" {
			ws = append(ws, w)
		}
	}
	return ws
}

func connsKey(w string, sh connShape) string { return fmt.Sprintf("conns-%s-%s", w, sh) }

func connsScenario() scenario {
	return scenario{
		name: "conns",
		perSystem: func(cfg config, s system, res *results) error {
			var errs []error
			for _, sh := range connShapes(cfg) {
				if err := connsOnce(cfg, s, sh, res); err != nil {
					errs = append(errs, fmt.Errorf("%v: %w", sh, err))
				}
			}
			return errors.Join(errs...)
		},
		report: reportConns,
	}
}

// connsOnce serves s, has a child process connect sh.clients clients and
// load them with sh.callers callers each, one workload after another, and
// records throughput, latency, and the server's memory and goroutines per
// connection before the load and once it is over (connections still open
// both times).
func connsOnce(cfg config, s system, sh connShape, res *results) (err error) {
	limit, err := raiseFileLimit()
	if err != nil {
		return err
	}
	if uint64(sh.clients)+512 > limit {
		return fmt.Errorf("skipped: open-file limit is %d", limit)
	}
	ws := connsWorkloads()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+time.Duration(len(ws))*(cfg.d+cfg.warm))
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
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find executable: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d %d", connsChildEnv, s.name(), ln.Addr(), sh.clients, sh.callers))
	if cfg.profile != "" {
		if err := os.MkdirAll(cfg.profile, 0o755); err != nil {
			return fmt.Errorf("profile dir: %w", err)
		}
		cmd.Env = append(cmd.Env, connsProfileEnv+"="+connsProfilePath(cfg, s, sh, "client"))
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("child stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("child stdout: %w", err)
	}
	before := settledMemStats()
	goroutines := runtime.NumGoroutine()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start child: %w", err)
	}
	defer func() {
		stdin.Close()
		if werr := cmd.Wait(); werr != nil {
			err = errors.Join(err, fmt.Errorf("child: %w", werr))
		}
	}()
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
		return fmt.Errorf("child: %q, %w", line, err)
	}
	// Memory with every client connected and idle, then after the load.
	n := float64(sh.clients)
	perConn := func(key string) {
		time.Sleep(200 * time.Millisecond) // let the server settle
		ms := settledMemStats()
		mem := float64(ms.HeapInuse+ms.StackInuse) - float64(before.HeapInuse+before.StackInuse)
		res.add(s.name(), metric{key, kindMem, 0}, mem/n)
		res.add(s.name(), metric{key, kindHeap, 0}, (float64(ms.HeapInuse)-float64(before.HeapInuse))/n)
		res.add(s.name(), metric{key, kindGoroutines, 0}, float64(runtime.NumGoroutine()-goroutines)/n)
	}
	perConn(connsKey("idle", sh))
	name := s.name()
	for _, w := range ws {
		stopProfile, err := startProfile(cfg.profile != "", connsProfilePath(cfg, s, sh, "server"), w.name, cfg.warm+cfg.d/2)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(stdin, "%s %d %d\n", w.name, cfg.warm, cfg.d); err != nil {
			return errors.Join(fmt.Errorf("child stdin: %w", err), stopProfile())
		}
		// The child says when the measured part begins: the server's CPU
		// time is taken from then to its report.
		line, err := out.ReadString('\n')
		var cpu0, cpu1 time.Duration
		if err == nil && strings.TrimSpace(line) != connsMeasuring {
			err = fmt.Errorf("%q before the measurement", line)
		}
		if err == nil {
			cpu0, err = processCPU()
		}
		if err == nil {
			line, err = out.ReadString('\n')
		}
		if err == nil {
			cpu1, err = processCPU()
		}
		if err := errors.Join(err, stopProfile()); err != nil {
			return fmt.Errorf("child: %w", err)
		}
		var st connsStats
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			return fmt.Errorf("child: %s", strings.TrimSpace(line))
		}
		st.record(res, name, connsKey(w.name, sh), 0)
		if st.Calls > 0 {
			res.add(name, metric{connsKey(w.name, sh), kindServerCPU, 0}, (cpu1-cpu0).Seconds()/float64(st.Calls))
			res.add(name, metric{connsKey(w.name, sh), kindClientCPU, 0}, st.ClientCPU/float64(st.Calls))
		}
	}
	perConn(connsKey("loaded", sh))
	if cfg.profile != "" {
		return writeProfile("heap", connsProfilePath(cfg, s, sh, "server")+"-heap.pprof", 0)
	}
	return nil
}

// runConnsChild is the child side of connsOnce; spec is connsChildEnv's
// value.
func runConnsChild(spec string) error {
	var name, addr string
	var sh connShape
	if _, err := fmt.Sscanf(spec, "%s %s %d %d", &name, &addr, &sh.clients, &sh.callers); err != nil {
		return fmt.Errorf("bad %s %q: %w", connsChildEnv, spec, err)
	}
	systems, err := selectSystems(name)
	if err != nil {
		return err
	}
	if _, err := raiseFileLimit(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	clients, err := dialIdle(ctx, systems[0], addr, sh.clients)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	if err != nil {
		return err
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var wname string
		var warm, d time.Duration
		if _, err := fmt.Sscanf(in.Text(), "%s %d %d", &wname, &warm, &d); err != nil {
			return fmt.Errorf("bad command %q: %w", in.Text(), err)
		}
		stopProfile, err := startProfile(os.Getenv(connsProfileEnv) != "", os.Getenv(connsProfileEnv), wname, warm+d/2)
		if err != nil {
			return err
		}
		var cpu0 time.Duration
		measuring := func() (err error) {
			fmt.Println(connsMeasuring)
			cpu0, err = processCPU()
			return err
		}
		var st connsStats
		st.loadStats, err = connsLoad(ctx, clients, sh.callers, wname, warm, d, measuring)
		if err == nil {
			var cpu1 time.Duration
			cpu1, err = processCPU()
			st.ClientCPU = (cpu1 - cpu0).Seconds()
		}
		if err := errors.Join(err, stopProfile()); err != nil {
			return err
		}
		line, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("encode stats: %w", err)
		}
		fmt.Println(string(line))
	}
	if err := in.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("wait for parent: %w", err)
	}
	return nil
}

// connsMeasuring is the child's line that says its measured load begins.
const connsMeasuring = "measuring"

// connsStats is the child's report of one measurement: the load's
// figures, and the CPU time the child used for it, in seconds.
type connsStats struct {
	loadStats
	ClientCPU float64 `json:"client_cpu"`
}

// CPU time per call of the conns workload, in seconds: the server's
// process and the clients'.
const (
	kindServerCPU = "server_cpu"
	kindClientCPU = "client_cpu"
)

// connsLoad runs callers goroutines on each client, warm unmeasured and
// then d measured; measuring is called in between.
func connsLoad(ctx context.Context, clients []client, callers int, wname string, warm, d time.Duration, measuring func() error) (loadStats, error) {
	var w *workload
	for _, cw := range connsWorkloads() {
		if cw.name == wname {
			w = &cw
		}
	}
	if w == nil {
		return loadStats{}, fmt.Errorf("unknown workload %q", wname)
	}
	call := func(ctx context.Context, i int) error { return w.call(ctx, clients[i/callers]) }
	if warm > 0 {
		if _, err := timedLoad(ctx, len(clients)*callers, warm, call); err != nil {
			return loadStats{}, err
		}
	} else if err := primeLoad(ctx, len(clients)*callers, call); err != nil {
		return loadStats{}, err
	}
	if err := measuring(); err != nil {
		return loadStats{}, err
	}
	return timedLoad(ctx, len(clients)*callers, d, call)
}

// reportConns writes the conns section.
func reportConns(b *strings.Builder, cfg config, res *results) {
	shapes := connShapes(cfg)
	fmt.Fprintf(b, "\n## Many connections: N clients × C callers\n\n")
	fmt.Fprintf(b, "A child process connects N clients, each with its own connection (drpc: its own pool), and runs C callers on each, "+
		"calling back to back; the server runs in the harness process. p50/p99 are of every call's duration. "+
		"Memory is the server process's growth in HeapInuse + StackInuse per connection (after two GCs, 200 ms after the last call), "+
		"with every client connected after one call each (idle), and once the load is over (loaded), the connections still open.\n")
	for _, w := range connsWorkloads() {
		var cols []column
		for _, sh := range shapes {
			k := connsKey(w.name, sh)
			cols = append(cols,
				medianCol(res, "calls/s "+sh.String(), 0, metric{k, kindTput, 0}, 1),
				medianCol(res, "p50 ms", 2, metric{k, kindP50, 0}, 1e3),
				medianCol(res, "p99 ms", 2, metric{k, kindP99, 0}, 1e3))
		}
		fmt.Fprintf(b, "\n### %s\n\n", w.title)
		writeTable(b, res, cols)
		fmt.Fprintf(b, "\nRatios:\n\n")
		writeRatios(b, res, cols)
		var cpu []column
		for _, sh := range shapes {
			k := connsKey(w.name, sh)
			cpu = append(cpu,
				medianCol(res, "server µs/call "+sh.String(), 1, metric{k, kindServerCPU, 0}, 1e6),
				medianCol(res, "client µs/call", 1, metric{k, kindClientCPU, 0}, 1e6))
		}
		fmt.Fprintf(b, "\nCPU time per call (user + system, of the server's process and of the clients' over the measured part; "+
			"on a machine whose cores are all busy, throughput follows it):\n\n")
		writeTable(b, res, cpu)
		fmt.Fprintf(b, "\nRatios:\n\n")
		writeRatios(b, res, cpu)
	}
	var cols []column
	for _, sh := range shapes {
		idle, loaded := connsKey("idle", sh), connsKey("loaded", sh)
		cols = append(cols,
			medianCol(res, "KiB/conn idle "+sh.String(), 1, metric{idle, kindMem, 0}, 1.0/1024),
			medianCol(res, "loaded", 1, metric{loaded, kindMem, 0}, 1.0/1024),
			medianCol(res, "of it heap", 1, metric{loaded, kindHeap, 0}, 1.0/1024),
			medianCol(res, "goroutines/conn loaded", 1, metric{loaded, kindGoroutines, 0}, 1))
	}
	fmt.Fprintf(b, "\n### Server memory per connection\n\n")
	fmt.Fprintf(b, "The server's memory moves by a few hundred KiB between measurements whatever is connected, "+
		"so with 100 connections a figure of a few KiB is within noise (it can even come out below zero); no ratios are given for that reason.\n\n")
	writeTable(b, res, cols)
}
