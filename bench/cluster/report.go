package main

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// loadAvg returns the 1-minute load average, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// report renders the results as markdown.
func report(cfg config, r results, took time.Duration) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# simplerpc: client-side balancing and failover")
	p("")
	p("`%s` (from `bench/`), %s, %s/%s, %d CPUs, %s; took %v. Client and servers share one process and its CPUs, over 127.0.0.1 TCP. Medians over %d repetitions; each throughput measurement lasts %v.",
		strings.Join(append([]string{"go run ./cluster"}, cfg.args...), " "), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		time.Now().UTC().Format("2006-01-02"), took.Round(time.Second), cfg.reps, cfg.d)
	p("")
	p("Load average of the machine (1 min) at the start and the end: %s and %s. Other work on the machine slows every figure down; the ratios (difference, spread) hold better than the absolute rates.", cfg.loadStart, loadAvg())
	p("")
	if over := r.over; over != nil {
		p("## Balancer overhead with one server")
		p("")
		p("The same server dialed as `addr` and as `static:///addr` (resolver, endpoint list, balancer). The two clients are measured in back-to-back slices of %v, %d pairs per repetition, alternating which goes first; *difference* is the median over all pairs of the ratio within a pair, which the machine's drift cancels out of. `Calc.Add`, calls/s (median over all slices).",
			max(cfg.d/overheadPairs, 10*time.Millisecond), overheadPairs)
		p("")
		p("| callers | `addr` | `static:///addr` | difference: median of %d pairs | middle half of the pairs |", cfg.reps*overheadPairs)
		p("|---:|---:|---:|---:|---:|")
		for _, c := range over.conc {
			r := over.ratio[c]
			p("| %d | %s | %s | %+.1f%% | %+.1f%% to %+.1f%% |", c, rate(median(over.plain[c])), rate(median(over.static[c])),
				100*(median(r)-1), 100*(quantile(r, 0.25)-1), 100*(quantile(r, 0.75)-1))
		}
		p("")
	}
	if spread := r.spread; spread != nil {
		p("## Spread and throughput over 1, 2 and 4 servers")
		p("")
		p("%d callers on one `static:///` target, default balancer (least loaded of two). The three setups run side by side and are measured in turn, in slices of %v, %d per repetition; calls/s is the median over slices. `Calc.Add` costs nothing but the RPC itself, so every server competes for the same %d CPUs: more servers cannot mean more throughput here. `Calc.Work` has a fixed capacity per server (%d at once, %v each: %s calls/s), as a server limited by its own CPUs, disk or database would be; on a busy machine a 1ms sleep lasts longer, so one server's measured capacity is below that: compare the rows with each other.",
			spread.conc, spread.slice, spreadSlices, runtime.NumCPU(), workSlots, workTime, rate(float64(workSlots)/workTime.Seconds()))
		p("")
		p("| workload | servers | calls/s | calls per server (all repetitions) | busiest server ÷ fair share (worst repetition) |")
		p("|---|---:|---:|---|---:|")
		for _, m := range spread.methods {
			for _, n := range spread.counts {
				k := spreadKey{m, n}
				p("| `%s` | %d | %s | %s | %.2f |", m, n, rate(median(spread.rates[k])), shares(spread.hits[k]), spread.worst[k])
			}
		}
		p("")
		p("`Calc.Work` servers are alike, and the calls split evenly. `Calc.Add` servers are not: they fight over the same CPUs with the client and each other, and the least-loaded choice rightly sends more calls to whichever answers faster at the moment. Its throughput falls with more servers because one connection carrying all 64 callers packs many calls into each read and write; spread over 4 connections, each system call carries fewer — on machines of their own, each server would bring its own CPUs.")
		p("")
	}
	if fail, silent := r.fail, r.silent; fail != nil {
		p("## Failover")
		p("")
		p("One of three servers fails while %d callers call `Calc.Add` through `static:///` (the endpoint stays listed; it is marked down and probed). Keepalive at its defaults (%v interval, %v timeout). *Last call sent* is the last time the balancer chose the failed server, from the moment it began to fail (0: never after that).",
			failoverCallers, "15s", "10s")
		p("")
		p("| failure | last call sent to it after | marked down after | calls failed |")
		p("|---|---:|---:|---|")
		var last, down []float64
		failed := map[string]int{}
		var calls int64
		for _, f := range fail {
			last = append(last, f.lastPick.Seconds())
			down = append(down, f.down.Seconds())
			for k, v := range f.failed {
				failed[k] += v
			}
			calls += f.calls
		}
		p("| hard kill (`Server.Close`: connections closed), median of %d | %s (max %s) | %s (max %s) | %s of %d over all repetitions |",
			len(fail), dur(median(last)), dur(slices.Max(last)), dur(median(down)), dur(slices.Max(down)), codes(failed), calls)
		if silent != nil {
			p("| silent server (connections open, nothing gets through), 1 run | %s (%d calls sent after the silence) | %s (keepalive) | %s of %d |",
				dur(silent.lastPick.Seconds()), silent.sent, dur(silent.down.Seconds()), codes(silent.failed), silent.calls)
		}
		p("")
		p("A hard kill closes the server's sockets, so the client learns at once; calls in flight on it fail with `connection_lost` (never retried), calls not yet sent go elsewhere. A silent server is only found out by keepalive; meanwhile the balancer stops choosing it by itself once its calls in flight pile up, and those calls fail with `connection_lost` when keepalive gives up on the connection.")
	}
	return b.String()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// quantile returns the q-quantile of xs (nearest rank).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

// rate formats calls per second.
func rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1f k", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

// dur formats seconds.
func dur(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.1f s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.1f ms", s*1e3)
	}
	return fmt.Sprintf("%.0f µs", s*1e6)
}

// shares formats each server's share of the calls.
func shares(hits []int64) string {
	var total int64
	for _, h := range hits {
		total += h
	}
	parts := make([]string, len(hits))
	for i, h := range hits {
		parts[i] = fmt.Sprintf("%.1f%%", 100*float64(h)/float64(max(total, 1)))
	}
	return strings.Join(parts, " / ")
}

// codes formats failures by code.
func codes(failed map[string]int) string {
	if len(failed) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(failed)) {
		parts = append(parts, fmt.Sprintf("%d %s", failed[k], k))
	}
	return strings.Join(parts, ", ")
}
