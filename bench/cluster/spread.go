package main

import (
	"fmt"
	"os"
	"time"

	"github.com/simplerpc/simplerpc"
)

// spreadKey names one configuration: a workload over n servers.
type spreadKey struct {
	method  string
	servers int
}

// spreadResult holds, per configuration, the throughput of each slice,
// the calls each server ran over all repetitions, and the worst ratio of
// a server's calls to its fair share in any repetition.
type spreadResult struct {
	counts  []int
	methods []string
	conc    int
	slice   time.Duration
	rates   map[spreadKey][]float64
	hits    map[spreadKey][]int64
	worst   map[spreadKey]float64
}

// spreadSlices is the number of slices of d/spreadSlices each
// configuration gets per repetition.
const spreadSlices = 5

// setup is a client of n servers behind one static target.
type setup struct {
	servers []*server
	client  *simplerpc.Client
}

// measureSpread measures each workload at 64 callers over 1, 2 and 4
// servers behind one static target. The three setups run side by side
// and are measured in turn, slice after slice, so that the machine's
// drift hits them alike.
func measureSpread(cfg config) (*spreadResult, error) {
	res := &spreadResult{
		counts:  []int{1, 2, 4},
		methods: []string{"Calc.Add", "Calc.Work"},
		conc:    64,
		slice:   max(cfg.d/spreadSlices, 10*time.Millisecond),
		rates:   map[spreadKey][]float64{},
		hits:    map[spreadKey][]int64{},
		worst:   map[spreadKey]float64{},
	}
	setups := make([]setup, len(res.counts))
	defer func() {
		for _, s := range setups {
			if s.client != nil {
				s.client.Close()
			}
			stopAll(s.servers)
		}
	}()
	for i, n := range res.counts {
		servers, err := startServers(n)
		if err != nil {
			return nil, err
		}
		setups[i].servers = servers
		if setups[i].client, err = dial(staticTarget(servers), n); err != nil {
			return nil, err
		}
		for _, m := range res.methods { // warm up
			if _, err := throughput(setups[i].client, m, res.conc, res.slice); err != nil {
				return nil, err
			}
		}
	}
	for rep := range cfg.reps {
		ran := map[spreadKey][]int64{}
		for slice := range spreadSlices {
			for j := range setups {
				i := (rep*spreadSlices + slice + j) % len(setups)
				if err := spreadSlice(res, setups[i], ran); err != nil {
					return nil, err
				}
			}
		}
		for k, hits := range ran {
			var total int64
			for i, h := range hits {
				total += h
				if res.hits[k] == nil {
					res.hits[k] = make([]int64, len(hits))
				}
				res.hits[k][i] += h
			}
			fair := float64(total) / float64(len(hits))
			for _, h := range hits {
				res.worst[k] = max(res.worst[k], float64(h)/fair)
			}
		}
		fmt.Fprintf(os.Stderr, "  spread rep %d/%d done\n", rep+1, cfg.reps)
	}
	return res, nil
}

// spreadSlice measures every workload on s for one slice, adding the
// calls each server ran to ran.
func spreadSlice(res *spreadResult, s setup, ran map[spreadKey][]int64) error {
	n := len(s.servers)
	for _, m := range res.methods {
		before := make([]int64, n)
		for i, srv := range s.servers {
			before[i] = srv.calc.hits.Load()
		}
		r, err := throughput(s.client, m, res.conc, res.slice)
		if err != nil {
			return err
		}
		k := spreadKey{m, n}
		res.rates[k] = append(res.rates[k], r)
		if ran[k] == nil {
			ran[k] = make([]int64, n)
		}
		for i, srv := range s.servers {
			ran[k][i] += srv.calc.hits.Load() - before[i]
		}
	}
	return nil
}
