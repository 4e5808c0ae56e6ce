package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// tailConc are the caller counts of the tail workload.
var tailConc = []int{64, 256}

func tailScenario() scenario {
	return scenario{name: "tail", perSystem: tailOnce, report: reportTail, chartFile: "tail.svg", chart: chartTail}
}

// chartTail draws the tail workload's p99 against callers.
func chartTail(res *results) string {
	return lineChart(res, lineSpec{
		title: "Add under load: p99 latency vs concurrent callers (one shared client)",
		rows:  res.systems, workload: "tail", kind: kindP99, xs: tailConc, scale: 1e3,
		xLabel: "concurrent callers (log scale)", yLabel: "p99 ms, median (log scale)",
	})
}

// tailOnce serves s, dials one client shared by all callers, and times
// every Add call at each of tailConc callers.
func tailOnce(cfg config, s system, res *results) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+time.Duration(len(tailConc))*(cfg.d+cfg.warm))
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
	call := func(ctx context.Context, _ int) error { return callAdd(ctx, c) }
	for _, n := range tailConc {
		if cfg.warm > 0 {
			if _, err := timedLoad(ctx, n, cfg.warm, call); err != nil {
				return err
			}
		} else if err := primeLoad(ctx, n, call); err != nil {
			return err
		}
		st, err := timedLoad(ctx, n, cfg.d, call)
		if err != nil {
			return err
		}
		st.record(res, s.name(), "tail", n)
	}
	return nil
}

// reportTail writes the tail section.
func reportTail(b *strings.Builder, _ config, res *results) {
	fmt.Fprintf(b, "\n## Tail latency: Add under load\n\n")
	fmt.Fprintf(b, "C callers share one client and call Add back to back; every call is timed, and the percentiles are of all calls that finished within the measurement.\n\n")
	var cols []column
	for _, n := range tailConc {
		cols = append(cols, percentileCols(res, "tail", n, fmt.Sprintf(" C=%d", n))...)
	}
	writeTable(b, res, cols)
	fmt.Fprintf(b, "\nRatios:\n\n")
	writeRatios(b, res, cols)
}
