package main

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc"
)

// recorder is a balancer that notes when each address was last picked
// and how often, around the default balancer.
type recorder struct {
	inner simplerpc.Balancer
	seen  sync.Map // addr -> *picks
}

type picks struct {
	last atomic.Int64 // UnixNano of the last pick
	n    atomic.Int64
}

func newRecorder() *recorder { return &recorder{inner: simplerpc.LeastLoadedOfTwo()} }

// Pick implements simplerpc.Balancer.
func (r *recorder) Pick(ready []simplerpc.Endpoint) simplerpc.Endpoint {
	ep := r.inner.Pick(ready)
	p, _ := r.seen.LoadOrStore(ep.Addr(), new(picks))
	p.(*picks).last.Store(time.Now().UnixNano())
	p.(*picks).n.Add(1)
	return ep
}

func (r *recorder) of(addr string) *picks {
	p, _ := r.seen.LoadOrStore(addr, new(picks))
	return p.(*picks)
}

// failoverResult is one repetition of a hard kill.
type failoverResult struct {
	lastPick time.Duration // from the kill to the last call sent to the dead server
	down     time.Duration // from the kill to the endpoint marked down
	calls    int64
	failed   map[string]int
}

// failoverCallers is the number of goroutines calling during failovers.
const failoverCallers = 16

// measureFailover kills one of three servers under load, cfg.reps times.
func measureFailover(cfg config) ([]failoverResult, error) {
	var out []failoverResult
	for rep := range cfg.reps {
		r, err := failoverOnce()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		fmt.Fprintf(os.Stderr, "  failover rep %d/%d: last call to the dead server %v after the kill, failed %v\n", rep+1, cfg.reps, r.lastPick, r.failed)
	}
	return out, nil
}

func failoverOnce() (failoverResult, error) {
	servers, err := startServers(3)
	if err != nil {
		return failoverResult{}, err
	}
	defer stopAll(servers)
	rec := newRecorder()
	c, err := dial(staticTarget(servers), 3, simplerpc.WithBalancer(rec))
	if err != nil {
		return failoverResult{}, err
	}
	defer c.Close()
	bg := startBackground(c, failoverCallers)
	time.Sleep(200 * time.Millisecond)
	dead := servers[0].addr
	killed := time.Now()
	if err := servers[0].kill(); err != nil {
		bg.stop()
		return failoverResult{}, err
	}
	downAt := waitDown(c, dead, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	bg.stop()
	return failoverResult{
		lastPick: max(time.Unix(0, rec.of(dead).last.Load()).Sub(killed), 0),
		down:     downAt.Sub(killed),
		calls:    bg.calls.Load(),
		failed:   bg.failed,
	}, nil
}

// waitDown polls until addr is no longer a healthy endpoint of c, or
// limit passes, and returns when.
func waitDown(c *simplerpc.Client, addr string, limit time.Duration) time.Time {
	start := time.Now()
	for time.Since(start) < limit {
		if !slices.ContainsFunc(c.Endpoints(), func(e simplerpc.EndpointStatus) bool { return e.Addr == addr && e.Healthy }) {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	return time.Now()
}

// silentResult is a server that went silent: its connections stay open
// but nothing comes back.
type silentResult struct {
	lastPick time.Duration // from the silence to the last call sent to it
	sent     int64         // calls sent to it after the silence
	down     time.Duration // from the silence to the connection declared dead (keepalive)
	failed   map[string]int
	calls    int64
}

// measureSilent puts one of three servers behind a proxy that goes
// silent under load, and waits for the client's keepalive (defaults) to
// declare the connection dead.
func measureSilent() (*silentResult, error) {
	servers, err := startServers(3)
	if err != nil {
		return nil, err
	}
	defer stopAll(servers)
	p, err := startFreezeProxy(servers[0].addr)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	servers[0].addr = p.addr()
	rec := newRecorder()
	c, err := dial(staticTarget(servers), 3, simplerpc.WithBalancer(rec))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	bg := startBackground(c, failoverCallers)
	time.Sleep(300 * time.Millisecond)
	silent := p.addr()
	before := rec.of(silent).n.Load()
	froze := time.Now()
	p.freeze()
	downAt := waitDown(c, silent, 90*time.Second)
	time.Sleep(3 * time.Second) // the stuck calls fail once no new connection can be made
	bg.stop()
	return &silentResult{
		lastPick: max(time.Unix(0, rec.of(silent).last.Load()).Sub(froze), 0),
		sent:     rec.of(silent).n.Load() - before,
		down:     downAt.Sub(froze),
		failed:   bg.failed,
		calls:    bg.calls.Load(),
	}, nil
}
