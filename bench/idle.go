package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

// idleChildEnv, when set to "SYSTEM ADDR N", turns the process into the
// client side of an idle-connection measurement: it connects N clients of
// SYSTEM to ADDR, makes one call on each, prints "ready" and holds them
// until its standard input closes. Keeping the clients in another process
// leaves only the server's memory in the measuring process.
const idleChildEnv = "SIMPLERPC_BENCH_IDLE_CHILD"

// idleOnce serves s, has a child process hold n idle clients of it, and
// records the server's heap, stack and goroutine growth per connection.
func idleOnce(s system, n int, res *results) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
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
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find executable: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d", idleChildEnv, s.name(), ln.Addr(), n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("child stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("child stdout: %w", err)
	}
	before := settledMemStats()
	goroutines := runtime.NumGoroutine()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start child: %w", err)
	}
	defer func() {
		stdin.Close()
		if werr := cmd.Wait(); werr != nil {
			err = errors.Join(err, fmt.Errorf("child: %w", werr))
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("child: %w", err)
	}
	if line = strings.TrimSpace(line); line != "ready" {
		return fmt.Errorf("child: %s", line)
	}
	time.Sleep(200 * time.Millisecond) // let the server finish accepting
	after := settledMemStats()
	perConn := func(b, a uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	name := s.name()
	res.add(name, metric{idleWorkload, kindMem, n}, perConn(before.HeapInuse+before.StackInuse, after.HeapInuse+after.StackInuse))
	res.add(name, metric{idleWorkload, kindHeap, n}, perConn(before.HeapInuse, after.HeapInuse))
	res.add(name, metric{idleWorkload, kindStack, n}, perConn(before.StackInuse, after.StackInuse))
	res.add(name, metric{idleWorkload, kindGoroutines, n}, float64(runtime.NumGoroutine()-goroutines)/float64(n))
	return nil
}

// settledMemStats collects garbage twice, so that only live memory is in
// use, and returns the memory statistics.
func settledMemStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// runIdleChild is the child side of idleOnce; spec is idleChildEnv's value.
func runIdleChild(spec string) error {
	var name, addr string
	var n int
	if _, err := fmt.Sscanf(spec, "%s %s %d", &name, &addr, &n); err != nil {
		return fmt.Errorf("bad %s %q: %w", idleChildEnv, spec, err)
	}
	systems, err := selectSystems(name)
	if err != nil {
		return err
	}
	if _, err := raiseFileLimit(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	clients, err := dialIdle(ctx, systems[0], addr, n)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	if err != nil {
		return err
	}
	fmt.Println("ready")
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return fmt.Errorf("wait for parent: %w", err)
	}
	return nil
}

// dialIdle connects n clients of s to addr, a few at a time, and makes one
// call on each so that every connection is fully set up on both ends.
func dialIdle(ctx context.Context, s system, addr string, n int) ([]client, error) {
	clients := make([]client, n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 16)
	)
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := s.dial(ctx, addr)
			if err == nil {
				clients[i] = c
				err = callAdd(ctx, c)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return clients, fmt.Errorf("%d of %d clients failed: %w", len(errs), n, errs[0])
	}
	return clients, nil
}
