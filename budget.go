package simplerpc

import (
	"sync/atomic"
)

// DefaultMemoryBudget is the memory a server lets what its clients send
// hold, unless WithMemoryBudget says otherwise: 256 MiB.
const DefaultMemoryBudget = 256 << 20

// minMemoryBudget is the least budget WithMemoryBudget sets.
const minMemoryBudget = 16 << 20

// WithMemoryBudget bounds the memory, in bytes, that what clients send
// may make the server hold at once (default 256 MiB): the decoded
// arguments and the results of running calls, replies waiting to be
// written, replies kept for sessions to resume, and JSON-RPC request and
// response bodies, each counted at its size in memory. A connection may
// hold an eighth of it (at least twice the maximum message size); past
// that the server stops reading it until its replies drain. Past the
// whole budget new calls are refused with CodeUnavailable (never run, so
// safe to retry) and the sessions detached the longest are ended first.
// Values below 16 MiB are raised to 16 MiB.
func WithMemoryBudget(n int) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.memoryBudget = max(n, minMemoryBudget) })
}

// memBudget counts the bytes a server holds for its clients against a
// limit. It is lock-free: a reservation is one atomic add.
type memBudget struct {
	limit int64
	used  atomic.Int64
}

// tryTake reserves n bytes if they fit under the limit, and reports
// whether it did.
func (b *memBudget) tryTake(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

// take reserves n bytes whether or not they fit: for memory already held
// (a reply built), which the budget must know of to refuse what comes
// next.
func (b *memBudget) take(n int64) { b.used.Add(n) }

// give returns n bytes.
func (b *memBudget) give(n int64) { b.used.Add(-n) }

// over reports whether the bytes held exceed the limit.
func (b *memBudget) over() bool { return b.used.Load() > b.limit }

// inUse returns the bytes held.
func (b *memBudget) inUse() int64 { return b.used.Load() }

// connShare is the most one connection (or one session) may hold of the
// server's budget: an eighth of it, but at least two maximum-size
// messages, and never more than the whole.
func (s *Server) connShare() int64 {
	b := int64(s.cfg.memoryBudget)
	return min(b, max(b/8, 2*int64(s.cfg.maxMessageSize)))
}
