package main

import (
	"slices"
)

// Metric kinds. Throughput is keyed by concurrency, idle memory by the
// number of connections.
const (
	kindP50        = "p50"        // seconds
	kindP99        = "p99"        // seconds
	kindTput       = "tput"       // calls per second
	kindAllocs     = "allocs"     // heap objects per call, both sides
	kindBytes      = "bytes"      // heap bytes per call, both sides
	kindMem        = "mem"        // server HeapInuse+StackInuse bytes per idle connection
	kindHeap       = "heap"       // server HeapInuse bytes per idle connection
	kindStack      = "stack"      // server StackInuse bytes per idle connection
	kindGoroutines = "goroutines" // server goroutines per idle connection
)

// idleWorkload is the workload name of idle-connection metrics.
const idleWorkload = "idle"

// metric identifies one reported number of one system.
type metric struct {
	workload string
	kind     string
	n        int
}

// results collects every repetition's value of every metric.
type results struct {
	systems  []string // report order
	values   map[string]map[metric][]float64
	failures []string
}

func newResults(systems []string) *results {
	r := &results{systems: systems, values: map[string]map[metric][]float64{}}
	for _, s := range systems {
		r.values[s] = map[metric][]float64{}
	}
	return r
}

// add records v for m; a system not in the report order (a scenario's
// own server) gets its values recorded all the same.
func (r *results) add(system string, m metric, v float64) {
	if r.values[system] == nil {
		r.values[system] = map[metric][]float64{}
	}
	r.values[system][m] = append(r.values[system][m], v)
}

// median returns the median of the values recorded for m, and false when
// there are none.
func (r *results) median(system string, m metric) (float64, bool) {
	vs := slices.Clone(r.values[system][m])
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}
