package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// report is the result of a benchmark run, as -json prints it.
type report struct {
	Method       string           `json:"method"`
	Concurrency  int              `json:"concurrency"`
	Connections  int              `json:"connections"`
	Seconds      float64          `json:"seconds"`
	Interrupted  bool             `json:"interrupted,omitempty"`
	Calls        int64            `json:"calls"`
	Errors       int64            `json:"errors"`
	ErrorsByCode map[string]int64 `json:"errorsByCode,omitempty"`
	CallsPerSec  float64          `json:"callsPerSecond"`
	// Latency of the successful calls, in microseconds.
	Latency   latency  `json:"latencyMicros"`
	Histogram []bucket `json:"histogram"`
}

type latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// bucket counts the calls whose latency was at most UpTo microseconds
// and more than the previous bucket's bound.
type bucket struct {
	UpTo  float64 `json:"upToMicros"`
	Count int64   `json:"count"`
}

func newReport(cfg benchConfig, elapsed time.Duration, lat []time.Duration, calls, failed int64, codes map[string]int64) *report {
	r := &report{
		Method: cfg.method, Concurrency: cfg.concurrency, Connections: cfg.conns,
		Seconds: elapsed.Seconds(), Calls: calls, Errors: failed,
		CallsPerSec: float64(calls) / max(elapsed.Seconds(), 1e-9),
		Histogram:   []bucket{},
	}
	if len(codes) > 0 {
		r.ErrorsByCode = codes
	}
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)*10) / 10 }
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)] }
	r.Latency = latency{P50: us(pct(0.50)), P90: us(pct(0.90)), P99: us(pct(0.99)), Max: us(lat[len(lat)-1])}
	// Buckets follow the 1-2-5 series from 1µs; only those from the
	// first to the last that holds a call are kept.
	var counts []int64
	for _, d := range lat {
		i := 0
		for d > bucketBound(i) {
			i++
		}
		for len(counts) <= i {
			counts = append(counts, 0)
		}
		counts[i]++
	}
	first := slices.IndexFunc(counts, func(n int64) bool { return n > 0 })
	for i := first; i < len(counts); i++ {
		r.Histogram = append(r.Histogram, bucket{UpTo: float64(bucketBound(i) / time.Microsecond), Count: counts[i]})
	}
	return r
}

// bucketBound is the upper bound of histogram bucket i: 1µs, 2µs, 5µs,
// 10µs, 20µs...
func bucketBound(i int) time.Duration {
	d := time.Microsecond
	for range i / 3 {
		d *= 10
	}
	return d * time.Duration([3]int{1, 2, 5}[i%3])
}

func (r *report) writeJSON(w io.Writer) {
	b, _ := json.MarshalIndent(r, "", "  ")
	fmt.Fprintf(w, "%s\n", b)
}

func (r *report) writeText(w io.Writer) {
	note := ""
	if r.Interrupted {
		note = " (interrupted)"
	}
	fmt.Fprintf(w, "%s: %d calls in %.2fs%s from %d callers over %d connection(s)\n",
		r.Method, r.Calls, r.Seconds, note, r.Concurrency, r.Connections)
	fmt.Fprintf(w, "  %.0f calls/s, %d errors", r.CallsPerSec, r.Errors)
	if len(r.ErrorsByCode) > 0 {
		var parts []string
		for _, code := range slices.Sorted(maps.Keys(r.ErrorsByCode)) {
			parts = append(parts, fmt.Sprintf("%s: %d", code, r.ErrorsByCode[code]))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if len(r.Histogram) == 0 {
		return
	}
	fmt.Fprintf(w, "  latency: p50 %s  p90 %s  p99 %s  max %s\n",
		micros(r.Latency.P50), micros(r.Latency.P90), micros(r.Latency.P99), micros(r.Latency.Max))
	var most, total int64
	for _, b := range r.Histogram {
		most = max(most, b.Count)
		total += b.Count
	}
	fmt.Fprintln(w, "  histogram:")
	const width = 40
	for _, b := range r.Histogram {
		bar := strings.Repeat("█", int(math.Ceil(float64(b.Count)*width/float64(most))))
		if b.Count == 0 {
			bar = ""
		}
		fmt.Fprintf(w, "    ≤ %6s %9d %5.1f%% %s\n", micros(b.UpTo), b.Count, 100*float64(b.Count)/float64(total), bar)
	}
}

// micros formats a latency given in microseconds.
func micros(us float64) string {
	return time.Duration(us * float64(time.Microsecond)).Round(time.Microsecond).String()
}
