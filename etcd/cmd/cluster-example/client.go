package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// say prints one line of the demo's story.
func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func newEtcdClient(endpoints string) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   strings.Split(endpoints, ","),
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return cli, nil
}

// dialName dials name through etcd and waits until want servers are
// healthy (0: any).
func dialName(cli *clientv3.Client, name string, want int) (*simplerpc.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := simplerpc.Dial(ctx, name, simplerpc.WithResolver(etcd.NewResolver(cli)))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", name, err)
	}
	for want > 0 && healthy(c) < want {
		if ctx.Err() != nil {
			c.Close()
			return nil, fmt.Errorf("dial %s: %d of %d servers healthy after 10s", name, healthy(c), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c, nil
}

func healthy(c *simplerpc.Client) int {
	n := 0
	for _, e := range c.Endpoints() {
		if e.Healthy {
			n++
		}
	}
	return n
}

// tally counts calls by the server that answered and failures by code.
type tally struct {
	mu       sync.Mutex
	byServer map[string]int
	failed   map[string]int
	calls    int
}

func newTally() *tally { return &tally{byServer: make(map[string]int), failed: make(map[string]int)} }

func (t *tally) add(server string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	if err != nil {
		code := "error"
		var e *simplerpc.Error
		if errors.As(err, &e) {
			code = e.Code.String()
		}
		t.failed[code]++
		return
	}
	t.byServer[server]++
}

// report prints the calls per server and the failures.
func (t *tally) report() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range slices.Sorted(maps.Keys(t.byServer)) {
		say("    %-16s %6d calls (%4.1f%%)", s, t.byServer[s], 100*float64(t.byServer[s])/float64(max(t.calls, 1)))
	}
	if len(t.failed) == 0 {
		say("    %d calls, none failed", t.calls)
		return
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(t.failed)) {
		parts = append(parts, fmt.Sprintf("%d %s", t.failed[code], code))
	}
	say("    %d calls, failed: %s", t.calls, strings.Join(parts, ", "))
}

// check returns an error if a call failed with a code not in allowed.
func (t *tally) check(allowed ...string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for code, n := range t.failed {
		if !slices.Contains(allowed, code) {
			return fmt.Errorf("%d calls failed with %s", n, code)
		}
	}
	return nil
}

// load calls Calc.Add from workers goroutines until ctx ends, checking
// every sum.
func load(ctx context.Context, c *simplerpc.Client, workers int, t *tally) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				var sum Sum
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := c.Call(cctx, "Calc.Add", []any{w, i}, &sum)
				cancel()
				if err == nil && sum.Sum != w+i {
					err = fmt.Errorf("wrong sum %d for %d+%d", sum.Sum, w, i)
				}
				t.add(sum.Server, err)
			}
		})
	}
	wg.Wait()
}

// runClient dials -name, calls it for -d and prints the spread.
func runClient(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	endpoints := fs.String("endpoints", "127.0.0.1:2379", "etcd endpoints, comma-separated")
	name := fs.String("name", "calc", "name the servers are registered under")
	d := fs.Duration("d", 5*time.Second, "how long to call")
	workers := fs.Int("workers", 8, "goroutines calling at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cli, err := newEtcdClient(*endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	c, err := dialName(cli, *name, 0)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *d)
	defer cancel()
	t := newTally()
	load(ctx, c, *workers, t)
	say("client: %v of calls to %q from %d goroutines:", *d, *name, *workers)
	t.report()
	return nil
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
