package main

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Systems that every other system is compared with in the ratio tables.
const (
	refFloor     = "floor"
	refSimpleRPC = "simplerpc-cbor"
)

// column is one column of a report table.
type column struct {
	head  string
	prec  int // decimals shown
	value func(system string) (float64, bool)
}

// medianCol is a column showing the median of m multiplied by scale.
func medianCol(res *results, head string, prec int, m metric, scale float64) column {
	return column{head: head, prec: prec, value: func(s string) (float64, bool) {
		v, ok := res.median(s, m)
		return v * scale, ok
	}}
}

// report renders the results as markdown.
func report(cfg config, res *results, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\n")
	fmt.Fprintf(&b, "Measured %s with `go run .%s` (%s, %s/%s, %d CPUs). ",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), argString(cfg.args),
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(&b, "Every number is the median of %d repetitions; each measurement ran %v after a %v warm-up. The whole run took %v.\n\n",
		cfg.reps, cfg.d, cfg.warm, took.Round(time.Second))
	fmt.Fprintf(&b, "Latency is one caller making calls back to back. Throughput is completed calls per second with C callers sharing one client. "+
		"Allocations are heap objects and bytes per call for client and server together, measured during the one-caller throughput run. "+
		"In the ratio tables each cell is *value ÷ %s* / *value ÷ %s*: below 1 is better for latency, allocations and memory, above 1 is better for throughput.\n",
		refFloor, refSimpleRPC)
	for _, w := range cfg.work {
		cols := []column{
			medianCol(res, "p50 µs", 1, metric{w.name, kindP50, 1}, 1e6),
			medianCol(res, "p99 µs", 1, metric{w.name, kindP99, 1}, 1e6),
		}
		for _, n := range cfg.conc {
			cols = append(cols, medianCol(res, fmt.Sprintf("calls/s C=%d", n), 0, metric{w.name, kindTput, n}, 1))
		}
		if w.size > 0 {
			cols = append(cols, peakMBps(res, w, cfg.conc))
		}
		cols = append(cols,
			medianCol(res, "allocs/call", 1, metric{w.name, kindAllocs, 1}, 1),
			medianCol(res, "B/call", 0, metric{w.name, kindBytes, 1}, 1))
		fmt.Fprintf(&b, "\n## %s\n\n", w.title)
		writeTable(&b, res, cols)
		fmt.Fprintf(&b, "\nRatios:\n\n")
		writeRatios(&b, res, cols)
	}
	if len(cfg.idleN) > 0 {
		fmt.Fprintf(&b, "\n## Idle connections\n\n")
		fmt.Fprintf(&b, "N clients connect from a child process, make one call each and stay idle; the table shows the server process's growth per connection "+
			"in HeapInuse + StackInuse (after two GCs), split into heap and stack, and its goroutines per connection.\n\n")
		var cols []column
		for _, n := range cfg.idleN {
			cols = append(cols,
				medianCol(res, fmt.Sprintf("KiB/conn N=%d", n), 1, metric{idleWorkload, kindMem, n}, 1.0/1024),
				medianCol(res, "heap KiB", 1, metric{idleWorkload, kindHeap, n}, 1.0/1024),
				medianCol(res, "stack KiB", 1, metric{idleWorkload, kindStack, n}, 1.0/1024),
				medianCol(res, "goroutines", 1, metric{idleWorkload, kindGoroutines, n}, 1))
		}
		writeTable(&b, res, cols)
		fmt.Fprintf(&b, "\nRatios:\n\n")
		writeRatios(&b, res, cols)
	}
	reportScenarios(&b, cfg, res)
	if len(res.failures) > 0 {
		fmt.Fprintf(&b, "\n## Failures\n\n")
		for _, f := range res.failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	return b.String()
}

// peakMBps is the best payload rate over all concurrencies, counting the
// payload once per call.
func peakMBps(res *results, w workload, conc []int) column {
	return column{head: "peak MB/s", prec: 0, value: func(s string) (float64, bool) {
		best, ok := 0.0, false
		for _, n := range conc {
			if v, got := res.median(s, metric{w.name, kindTput, n}); got {
				best, ok = max(best, v*float64(w.size)/1e6), true
			}
		}
		return best, ok
	}}
}

func argString(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return " " + strings.Join(args, " ")
}

func writeHeader(b *strings.Builder, cols []column) {
	b.WriteString("| system |")
	for _, c := range cols {
		b.WriteString(" " + c.head + " |")
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
}

func writeTable(b *strings.Builder, res *results, cols []column) {
	writeHeader(b, cols)
	for _, s := range res.systems {
		b.WriteString("| " + s + " |")
		for _, c := range cols {
			cell := "–"
			if v, ok := c.value(s); ok {
				cell = formatNum(v, c.prec)
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
}

func writeRatios(b *strings.Builder, res *results, cols []column) {
	writeHeader(b, cols)
	for _, s := range res.systems {
		b.WriteString("| " + s + " |")
		for _, c := range cols {
			b.WriteString(" " + ratio(c, s, refFloor) + " / " + ratio(c, s, refSimpleRPC) + " |")
		}
		b.WriteString("\n")
	}
}

// ratio formats column c of system s divided by that of system ref.
func ratio(c column, s, ref string) string {
	v, ok := c.value(s)
	r, rok := c.value(ref)
	if !ok || !rok || r == 0 {
		return "–"
	}
	return strconv.FormatFloat(v/r, 'f', 2, 64)
}

// formatNum formats v with prec decimals and thousands separators.
func formatNum(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', prec, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var out []byte
	for i := range len(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, intPart[i])
	}
	if frac != "" {
		out = append(append(out, '.'), frac...)
	}
	if v < 0 && strings.Trim(s, "0.") != "" {
		return "-" + string(out)
	}
	return string(out)
}
