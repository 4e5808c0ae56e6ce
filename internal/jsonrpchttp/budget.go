package jsonrpchttp

import (
	"sync/atomic"
)

// What a JSON-RPC request over HTTP charges to the server's memory
// budget (WithMemoryBudget), besides its body and its responses, which
// are charged at their size.
const (
	// CallCost is charged for every call while it runs: its
	// goroutine, stack and state. A batch call blocked in a method that
	// calls nothing measured 7.4 KB; a lone call also holds its request's
	// state on the connection (a lone request measured 41 KB for client
	// and server together). 16 KiB covers either with a method's own
	// stack, and bounds the calls running at once to the budget over
	// 16 KiB (16,384 with the default budget) whatever
	// WithMaxConcurrentCalls says.
	CallCost = 16 << 10
)

// BulkShare is the part of the budget a bulk reservation (a call of a
// batch, a body larger than SmallBody) may fill, as a fraction
// BulkShare/8: the last eighth is kept for lone small requests, so a
// flood of batches or large bodies does not starve the callers who send
// one small call at a time.
const BulkShare = 7

// SmallBody is the largest body that may use the budget's last eighth.
const SmallBody = 64 << 10

// rpcCharge is what one HTTP request holds of the server's memory
// budget: its body, its calls while they run, its responses until they
// are written. The calls of a batch charge it from their goroutines; the
// request gives everything back at once when it ends.
//
// It has no lock: held is an atomic, and so are the budget's counters;
// h is set when the request begins.
type rpcCharge struct {
	h    *Handler     // whose budget it is charged to, and whose Config.Evict ends the session detached the longest
	held atomic.Int64 // bytes taken from the budget and not yet given back
	// admitBy is the end of the request's wait for slots at the limit
	// of concurrent calls (Dispatcher.Admit), shared by its calls.
	admitBy atomic.Int64
}

// rpcEvictTries bounds the detached sessions one reservation may evict.
const rpcEvictTries = 8

// rpcFloor is what a request may hold whatever the budget: a lone small
// call (a body up to SmallBody, its call and params) is always run, as
// a native connection holding nothing may always run one call, so that
// no client is starved by others filling the budget.
const rpcFloor = 128 << 10

// tryTake reserves n bytes if the budget can take them, and reports
// whether it did. A bulk reservation must leave the budget's last
// eighth free. When they do not fit, the sessions detached the longest
// are evicted first, as for native calls; a request holding no more than
// rpcFloor in all is then let through anyway.
func (c *rpcCharge) tryTake(n int64, bulk bool) bool {
	for tries := 0; ; tries++ {
		if c.fits(n, bulk) {
			c.held.Add(n)
			return true
		}
		if evict := c.h.cfg.Evict; tries >= rpcEvictTries || evict == nil || !evict("the memory budget is spent") {
			if !bulk && c.held.Load()+n <= rpcFloor {
				c.take(n)
				return true
			}
			return false
		}
	}
}

// fits reserves n bytes of the budget if they fit under the rule for
// their kind.
func (c *rpcCharge) fits(n int64, bulk bool) bool {
	if bulk && c.h.budget.InUse()+n > c.h.budget.Limit()/8*BulkShare {
		return false
	}
	return c.h.budget.TryTake(n)
}

// take reserves n bytes already held in memory (a response built),
// whether or not they fit.
func (c *rpcCharge) take(n int64) {
	c.h.budget.Take(n)
	c.held.Add(n)
}

// give returns n bytes the request no longer holds.
func (c *rpcCharge) give(n int64) {
	c.held.Add(-n)
	c.h.budget.Give(n)
}

// release returns everything the request holds.
func (c *rpcCharge) release() { c.h.budget.Give(c.held.Swap(0)) }
