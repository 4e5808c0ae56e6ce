package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Calc is the service every benchmark server exposes.
type Calc struct {
	hits  atomic.Int64  // calls run
	slots chan struct{} // Work's capacity
}

// Add is the cheap call: the cost is all RPC.
func (c *Calc) Add(a, b int) int {
	c.hits.Add(1)
	return a + b
}

// Work stands for a call with a bounded capacity per server: it waits
// for one of the server's workSlots, then holds it for workTime.
func (c *Calc) Work(n int) int {
	c.hits.Add(1)
	c.slots <- struct{}{}
	time.Sleep(workTime)
	<-c.slots
	return n
}

// A server runs workSlots Work calls at once, each taking workTime: a
// capacity of 8,000 calls/s, whatever the machine.
const (
	workSlots = 8
	workTime  = time.Millisecond
)

// server is one running benchmark server.
type server struct {
	srv    *simplerpc.Server
	calc   *Calc
	addr   string
	served chan error
	once   sync.Once
	err    error
}

var quiet = slog.New(slog.DiscardHandler)

func startServer() (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &server{
		srv:    simplerpc.NewServer(simplerpc.WithLogger(quiet)),
		calc:   &Calc{slots: make(chan struct{}, workSlots)},
		addr:   l.Addr().String(),
		served: make(chan error, 1),
	}
	if err := s.srv.Register("Calc", s.calc); err != nil {
		l.Close()
		return nil, err
	}
	go func() { s.served <- s.srv.Serve(l) }()
	return s, nil
}

// kill stops the server at once, as a crash would. Later calls return
// the first one's result.
func (s *server) kill() error {
	s.once.Do(func() {
		s.srv.Close()
		if err := <-s.served; !errors.Is(err, simplerpc.ErrServerClosed) {
			s.err = err
		}
	})
	return s.err
}

// startServers starts n servers; on error none is left running.
func startServers(n int) ([]*server, error) {
	var out []*server
	for range n {
		s, err := startServer()
		if err != nil {
			stopAll(out)
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func stopAll(servers []*server) {
	for _, s := range servers {
		_ = s.kill()
	}
}

// staticTarget returns the "static:///a,b,..." target of servers.
func staticTarget(servers []*server) string {
	t := "static:///"
	for i, s := range servers {
		if i > 0 {
			t += ","
		}
		t += s.addr
	}
	return t
}

// dial dials target and waits until want endpoints are healthy.
func dial(target string, want int, opts ...simplerpc.ClientOption) (*simplerpc.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts = append([]simplerpc.ClientOption{simplerpc.WithLogger(quiet)}, opts...)
	c, err := simplerpc.Dial(ctx, target, opts...)
	if err != nil {
		return nil, err
	}
	for healthy(c) < want {
		if ctx.Err() != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %d of %d endpoints healthy after 10s", target, healthy(c), want)
		}
		time.Sleep(time.Millisecond)
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
