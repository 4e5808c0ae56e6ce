package reliability_test

import (
	"context"
	"sync/atomic"
	"time"
)

// Victim is the service the attack tests aim at: cheap calls, a large
// reply, a call that runs until its context ends, and parameters whose
// decoding an attacker can try to make expensive.
type Victim struct {
	running     atomic.Int64 // Slow calls running
	peakRunning atomic.Int64 // the most Slow calls that ran at once
}

// bigReply is the size of Victim.Big's reply.
const bigReply = 1 << 20

// slowMax bounds how long Victim.Slow runs when its context does not end.
const slowMax = 20 * time.Second

// VictimPoint is Victim.Struct's parameter.
type VictimPoint struct{ X, Y int }

// Add is what the well-behaved clients call.
func (v *Victim) Add(a, b int) int { return a + b }

// Echo returns s: a victim's replies carry what it sent, so a test can
// tell whether they reached anyone else.
func (v *Victim) Echo(s string) string { return s }

// Big returns a fresh 1 MiB.
func (v *Victim) Big() []byte { return make([]byte, bigReply) }

// Slow runs for ms milliseconds (at most slowMax) or until its context
// ends, and returns the context's error if it ended first.
func (v *Victim) Slow(ctx context.Context, ms int) error {
	n := v.running.Add(1)
	defer v.running.Add(-1)
	for {
		p := v.peakRunning.Load()
		if n <= p || v.peakRunning.CompareAndSwap(p, n) {
			break
		}
	}
	t := time.NewTimer(min(time.Duration(ms)*time.Millisecond, slowMax))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Struct takes a struct.
func (v *Victim) Struct(p VictimPoint) int { return p.X + p.Y }

// Map takes a map.
func (v *Victim) Map(m map[string]int) int { return len(m) }

// Any takes anything.
func (v *Victim) Any(x any) int {
	if x == nil {
		return 0
	}
	return 1
}

// List takes a list of anything.
func (v *Victim) List(x []any) int { return len(x) }
