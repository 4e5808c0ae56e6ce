package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/simplerpc/simplerpc"
)

// serverProc is one server process of the demo.
type serverProc struct {
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
}

func startServerProc(endpoints, addr string, ttl time.Duration) (*serverProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &serverProc{addr: addr, exited: make(chan struct{})}
	p.cmd = exec.Command(self, "server", "-endpoints", endpoints, "-addr", addr, "-ttl", ttl.String())
	p.cmd.Stdout, p.cmd.Stderr = os.Stdout, os.Stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

// signal sends sig (nothing if the process is gone) and waits for the
// exit, killing the process after 30s.
func (p *serverProc) signal(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// runDemo starts etcd (unless -endpoints names one), three server
// processes and a client, and makes one server leave and one crash
// while the client calls.
func runDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	bin := fs.String("etcd", "etcd", "etcd binary to start")
	endpoints := fs.String("endpoints", "", "use this running etcd instead of starting one")
	d := fs.Duration("d", time.Second, "length of each phase of calls")
	workers := fs.Int("workers", 8, "goroutines calling at once")
	ttl := fs.Duration("ttl", 3*time.Second, "servers' lease TTL: how long a crashed server stays registered")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *endpoints == "" {
		e, err := startEtcd(*bin)
		if err != nil {
			return err
		}
		defer e.stop()
		*endpoints = e.endpoint
		say("etcd %s: serving on %s", e.version, e.endpoint)
	}
	var servers []*serverProc
	defer func() {
		for _, s := range servers {
			s.signal(syscall.SIGTERM)
		}
	}()
	for _, addr := range freePorts(3) {
		s, err := startServerProc(*endpoints, addr, *ttl)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	cli, err := newEtcdClient(*endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	c, err := dialName(cli, "calc", 3)
	if err != nil {
		return err
	}
	defer c.Close()
	say("client: dialed \"calc\": %s", describe(c))
	return phases(c, servers, *d, *workers, *ttl)
}

// phases runs the client's load through a steady phase, a graceful leave
// and a crash, printing what the client saw in each. It fails if a call
// failed other than as promised: only calls in flight on the crashed
// server may, with connection_lost.
func phases(c *simplerpc.Client, servers []*serverProc, d time.Duration, workers int, ttl time.Duration) error {
	// run calls for d; during, if any, runs a quarter of the way in, and
	// the calls go on until it returns.
	var errs []error
	run := func(title string, during func(), allowed ...string) {
		say("\n%s", title)
		t := newTally()
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			load(ctx, c, workers, t)
		}()
		if during != nil {
			time.Sleep(d / 4)
			during()
		}
		time.Sleep(d - time.Since(start))
		cancel()
		<-done
		t.report()
		if err := t.check(allowed...); err != nil {
			errs = append(errs, fmt.Errorf("%s %w", title, err))
		}
	}
	run(fmt.Sprintf("1. %v of calls from %d goroutines, three servers:", d, workers), nil)

	leaving := servers[2]
	run(fmt.Sprintf("2. server %s leaves gracefully (SIGTERM) while the calls go on:", leaving.addr), func() {
		leaving.signal(syscall.SIGTERM)
	})

	crashing := servers[1]
	var downAfter, goneAfter time.Duration
	run(fmt.Sprintf("3. server %s crashes (SIGKILL) while the calls go on:", crashing.addr), func() {
		killed := time.Now()
		crashing.signal(syscall.SIGKILL)
		waitUntil(func() bool { return !isHealthy(c, crashing.addr) })
		downAfter = time.Since(killed)
		waitUntil(func() bool {
			return !slices.ContainsFunc(c.Endpoints(), func(e simplerpc.EndpointStatus) bool { return e.Addr == crashing.addr })
		})
		goneAfter = time.Since(killed)
	}, simplerpc.CodeConnectionLost.String())
	say("    the client stopped sending it calls %s after the kill (its connection closed);", ms(downAfter))
	say("    it dropped the address %s after the kill (the %v lease ran out)", ms(goneAfter), ttl)
	run(fmt.Sprintf("4. %v more calls:", d), nil)
	say("\nclient: %s", describe(c))
	if len(c.Endpoints()) != 1 || !c.Endpoints()[0].Healthy {
		errs = append(errs, fmt.Errorf("the client ended with servers %s, want the one live server", describe(c)))
	}
	return errors.Join(errs...)
}

// waitUntil polls cond every millisecond, for up to a minute.
func waitUntil(cond func() bool) {
	for start := time.Now(); !cond() && time.Since(start) < time.Minute; {
		time.Sleep(time.Millisecond)
	}
}

func isHealthy(c *simplerpc.Client, addr string) bool {
	for _, e := range c.Endpoints() {
		if e.Addr == addr {
			return e.Healthy
		}
	}
	return false
}

// describe describes the client's servers.
func describe(c *simplerpc.Client) string {
	s := ""
	for _, e := range c.Endpoints() {
		state := "healthy"
		if !e.Healthy {
			state = "down"
		}
		s += fmt.Sprintf("%s (%s) ", e.Addr, state)
	}
	return fmt.Sprintf("servers %s", strings.TrimSpace(s))
}
