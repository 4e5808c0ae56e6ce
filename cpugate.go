package simplerpc

import (
	"context"
	"runtime"
)

// cpuGate bounds how many goroutines do one kind of work at once: work
// that only computes — it never blocks, so a turn always ends soon — and
// that one request can make large. Past the bound, goroutines wait their
// turn in order, parked rather than runnable: the runtime shares the CPU
// among runnable goroutines, so a few hundred large requests computing at
// once would make every other client's small call wait behind all of
// them, whereas behind a gate it waits behind at most a few. A gate of
// half the CPUs leaves the other half to everyone else (measured: with
// every CPU's worth of turns, a client's call beside 300 batches of a
// thousand calls waited about twice as long).
type cpuGate struct{ turns chan struct{} }

// newCPUGate returns a gate of one turn per two CPUs the runtime uses,
// and at least one.
func newCPUGate() *cpuGate {
	return &cpuGate{turns: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
}

// enter waits for a turn, reporting false if ctx ends first. A goroutine
// that entered must leave.
func (g *cpuGate) enter(ctx context.Context) bool {
	select {
	case g.turns <- struct{}{}:
		return true
	default:
	}
	select {
	case g.turns <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// leave ends a turn.
func (g *cpuGate) leave() { <-g.turns }
