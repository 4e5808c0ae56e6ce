package simplerpc

import (
	"math/rand/v2"
	"sync/atomic"
)

// Endpoint is what a Balancer sees of one server behind a target.
type Endpoint interface {
	// Addr is the server's "host:port".
	Addr() string
	// InFlight is the number of calls sent to it and not yet answered.
	InFlight() int
}

// A Balancer chooses, for each call, one of the endpoints ready to take
// it. It must be safe for concurrent use.
type Balancer interface {
	// Pick returns one element of ready, which is never empty. Anything
	// else — an Endpoint of its own making, or nil — fails the call with
	// CodeInternal, unsent.
	Pick(ready []Endpoint) Endpoint
}

// LeastLoadedOfTwo returns the default balancer: it picks two endpoints at
// random and sends the call to the one with fewer calls in flight (the
// "power of two choices"), which spreads load evenly and steers away from
// slow servers without any shared state.
func LeastLoadedOfTwo() Balancer { return leastLoadedOfTwo{} }

type leastLoadedOfTwo struct{}

func (leastLoadedOfTwo) Pick(ready []Endpoint) Endpoint {
	n := len(ready)
	if n == 1 {
		return ready[0]
	}
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	if ready[j].InFlight() < ready[i].InFlight() {
		return ready[j]
	}
	return ready[i]
}

// RoundRobin returns a balancer that sends calls to the ready endpoints in
// turn.
func RoundRobin() Balancer { return &roundRobin{} }

type roundRobin struct{ next atomic.Uint64 }

func (r *roundRobin) Pick(ready []Endpoint) Endpoint {
	return ready[(r.next.Add(1)-1)%uint64(len(ready))]
}
