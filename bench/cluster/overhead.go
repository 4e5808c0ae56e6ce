package main

import (
	"fmt"
	"os"
	"time"
)

// overheadResult holds, by callers, the throughput of one server dialed
// plainly and through the balancer, slice by slice, and the ratio of the
// two within each pair of back-to-back slices.
type overheadResult struct {
	conc          []int
	plain, static map[int][]float64 // calls/s per slice
	ratio         map[int][]float64 // static ÷ plain, per pair
}

// overheadPairs is the number of back-to-back pairs of slices per
// repetition: on a shared machine whose speed drifts, comparing the two
// clients a fraction of a second apart, many times, is what holds.
const overheadPairs = 10

// measureOverhead dials one server twice — "addr" and "static:///addr"
// — and measures the two clients in alternating slices of d/10, switching
// which goes first from one pair to the next.
func measureOverhead(cfg config) (*overheadResult, error) {
	s, err := startServer()
	if err != nil {
		return nil, err
	}
	defer stopAll([]*server{s})
	plain, err := dial(s.addr, 1)
	if err != nil {
		return nil, err
	}
	defer plain.Close()
	static, err := dial("static:///"+s.addr, 1)
	if err != nil {
		return nil, err
	}
	defer static.Close()
	res := &overheadResult{conc: []int{1, 64}, plain: map[int][]float64{}, static: map[int][]float64{}, ratio: map[int][]float64{}}
	slice := max(cfg.d/overheadPairs, 10*time.Millisecond)
	for _, c := range res.conc { // warm up both
		if _, err := throughput(plain, "Calc.Add", c, slice); err != nil {
			return nil, err
		}
		if _, err := throughput(static, "Calc.Add", c, slice); err != nil {
			return nil, err
		}
	}
	for rep := range cfg.reps {
		for _, c := range res.conc {
			for pair := range overheadPairs {
				var a, b float64
				var err error
				if pair%2 == 0 {
					if a, err = throughput(plain, "Calc.Add", c, slice); err == nil {
						b, err = throughput(static, "Calc.Add", c, slice)
					}
				} else {
					if b, err = throughput(static, "Calc.Add", c, slice); err == nil {
						a, err = throughput(plain, "Calc.Add", c, slice)
					}
				}
				if err != nil {
					return nil, err
				}
				res.plain[c] = append(res.plain[c], a)
				res.static[c] = append(res.static[c], b)
				res.ratio[c] = append(res.ratio[c], b/a)
			}
		}
		fmt.Fprintf(os.Stderr, "  overhead rep %d/%d: x64 static/plain median so far %.3f\n", rep+1, cfg.reps, median(res.ratio[64]))
	}
	return res, nil
}
