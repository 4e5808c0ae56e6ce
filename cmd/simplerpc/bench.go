package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc"
)

const benchSynopsis = "[flags] ADDR METHOD [ARG...]"

const benchHelp = `
Bench calls METHOD on the server at ADDR with the same arguments (as for
"simplerpc call") from -c concurrent callers for -d, then reports the
calls per second and the latency: percentiles p50, p90, p99, the maximum,
and a histogram. While it runs, a progress line on standard error shows
the calls so far (a line a second when standard error is not a terminal).
Interrupting it (Ctrl-C) ends the run early and still reports.

It exits with status 1 if any call failed; the report counts the
failures by code.

Example:

	simplerpc bench -c 64 -d 10s 127.0.0.1:4000 Calc.Add 1 2
`

// benchConfig is what one run does.
type benchConfig struct {
	addr, method string
	args         []any
	concurrency  int
	conns        int
	duration     time.Duration
	timeout      time.Duration
}

func runBench(e *env, args []string) int {
	fs := newFlagSet("bench", benchSynopsis, benchHelp)
	cfg := benchConfig{}
	fs.IntVar(&cfg.concurrency, "c", 64, "number of concurrent callers")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "how long to run")
	fs.IntVar(&cfg.conns, "conns", 1, "number of client connections the callers share")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "give up on one call after this `duration`")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, code, ok := parse(fs, e, args)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		return usageError(e, fs, "bench needs ADDR and METHOD")
	}
	if cfg.concurrency < 1 || cfg.conns < 1 || cfg.duration <= 0 {
		return usageError(e, fs, "-c and -conns must be at least 1, and -d positive")
	}
	cfg.addr, cfg.method = pos[0], pos[1]
	var err error
	if cfg.args, err = parseArgs(pos[2:]); err != nil {
		return usageError(e, fs, "%v", err)
	}
	rep, err := bench(e.ctx, cfg, e.stderr)
	if err != nil {
		printError(e.stderr, "bench", err, *asJSON)
		return 1
	}
	if *asJSON {
		rep.writeJSON(e.stdout)
	} else {
		rep.writeText(e.stdout)
	}
	if rep.Errors > 0 {
		return 1
	}
	return 0
}

// bench runs the benchmark, showing progress on progress.
func bench(ctx context.Context, cfg benchConfig, progress io.Writer) (*report, error) {
	clients := make([]*simplerpc.Client, 0, cfg.conns)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range cfg.conns {
		dctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		c, err := dialServer(dctx, cfg.addr, false, progress)
		cancel()
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
	}
	// One call first: it tells the number of results, and a call that
	// fails every time is better reported at once.
	cctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	m, err := describeMethod(cctx, clients[0], cfg.method)
	if err != nil {
		return nil, err
	}
	if m != nil && m.Stream != nil {
		return nil, fmt.Errorf("%s streams (a %s stream): bench measures calls", cfg.method, m.Stream.Kind)
	}
	first, err := call(cctx, clients[0], cfg.method, m, cfg.args)
	cancel()
	if err != nil {
		return nil, err
	}
	nres := len(first)

	var (
		stop   atomic.Bool
		calls  atomic.Int64
		failed atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		lat    []time.Duration
		codes  = map[string]int64{}
	)
	start := time.Now()
	for i := range cfg.concurrency {
		c := clients[i%len(clients)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1024)
			myCodes := map[string]int64{}
			ptrs := make([]any, nres)
			for !stop.Load() {
				cctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
				t0 := time.Now()
				err := c.Call(cctx, cfg.method, cfg.args, ptrs...)
				d := time.Since(t0)
				cancel()
				calls.Add(1)
				if err != nil {
					failed.Add(1)
					myCodes[errorCode(err)]++
					continue
				}
				mine = append(mine, d)
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range myCodes {
				codes[k] += v
			}
			mu.Unlock()
		}()
	}
	p := newProgress(progress, cfg.duration)
	timer := time.NewTimer(cfg.duration)
	tick := time.NewTicker(p.every)
	interrupted := false
wait:
	for {
		select {
		case <-timer.C:
			break wait
		case <-ctx.Done():
			interrupted = true
			break wait
		case <-tick.C:
			p.show(time.Since(start), calls.Load(), failed.Load())
		}
	}
	timer.Stop()
	tick.Stop()
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	p.done(elapsed, calls.Load(), failed.Load())
	rep := newReport(cfg, elapsed, lat, calls.Load(), failed.Load(), codes)
	rep.Interrupted = interrupted
	return rep, nil
}

// errorCode names the code of a failed call.
func errorCode(err error) string {
	var e *simplerpc.Error
	if errors.As(err, &e) {
		return e.Code.String()
	}
	return "local"
}

// progress shows how a run goes: a line rewritten in place on a
// terminal, else a line a second.
type progress struct {
	w        io.Writer
	terminal bool
	every    time.Duration
	total    time.Duration
}

func newProgress(w io.Writer, total time.Duration) *progress {
	p := &progress{w: w, total: total, every: time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal, p.every = true, 100*time.Millisecond
		}
	}
	return p
}

func (p *progress) line(elapsed time.Duration, calls, failed int64) string {
	rate := float64(calls) / max(elapsed.Seconds(), 1e-9)
	return fmt.Sprintf("%5.1fs / %s  %10d calls  %10.0f calls/s  %d errors",
		elapsed.Seconds(), p.total, calls, rate, failed)
}

func (p *progress) show(elapsed time.Duration, calls, failed int64) {
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", p.line(elapsed, calls, failed))
	} else {
		fmt.Fprintln(p.w, p.line(elapsed, calls, failed))
	}
}

func (p *progress) done(elapsed time.Duration, calls, failed int64) {
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
