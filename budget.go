package simplerpc

import (
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// DefaultMemoryBudget is the memory a server lets what its clients send
// hold, unless WithMemoryBudget says otherwise: 256 MiB.
const DefaultMemoryBudget = 256 << 20

// minMemoryBudget is the least budget WithMemoryBudget sets.
const minMemoryBudget = 16 << 20

// memBudget counts the bytes a server holds for its clients against a
// limit. It is lock-free: a reservation is one atomic add. limit is set
// by NewServer; used, freed and freedAt are atomics, taken under any
// lock.
type memBudget struct {
	limit int64
	// used has a cache line of its own: every call writes it, and it must
	// not make the lines of fields every call reads (the method table)
	// bounce between cores.
	_    [64]byte
	used atomic.Int64
	_    [56]byte
	// freed counts memory given back in bulk (giveFreed) that is garbage
	// until the collector has run: it counts against the limit until
	// then. freedAt is the collector's cycle count when it was given.
	freed   atomic.Int64
	freedAt atomic.Uint64
	// collecting is set while a collection asked for by collect runs;
	// collectAfter is the earliest time, in Unix nanoseconds, of the
	// next one.
	collecting   atomic.Bool
	collectAfter atomic.Int64
}

// tryTake reserves n bytes if they fit under the limit, and reports
// whether it did.
func (b *memBudget) tryTake(n int64) bool {
	if b.used.Add(n)+b.pendingFree() > b.limit {
		used := b.used.Add(-n)
		if used+n <= b.limit {
			b.collect() // only memory awaiting the collector is in the way
		}
		return false
	}
	return true
}

// collect has the collector run now, in a goroutine of its own that ends
// with the collection, when memory given back in bulk (giveFreed) alone
// stands in the way of a reservation: the collector would otherwise run
// only when the whole heap grows enough — long after, in a process whose
// heap is large — and the budget would refuse calls for garbage all that
// time. One collection runs at a time, and the next waits nine times as
// long as the last took, so that collections asked for take at most a
// tenth of the time.
func (b *memBudget) collect() {
	if time.Now().UnixNano() < b.collectAfter.Load() || !b.collecting.CompareAndSwap(false, true) {
		return
	}
	n, at := b.freed.Load(), b.freedAt.Load()
	go func() {
		defer b.collecting.Store(false)
		start := time.Now()
		runtime.GC()
		b.collectAfter.Store(time.Now().Add(9 * time.Since(start)).UnixNano())
		if b.freedAt.Load() == at { // nothing freed since: all of it is reclaimed
			b.freed.CompareAndSwap(n, 0)
		}
	}()
}

// giveFreed returns n bytes that just became garbage in bulk — the kept
// replies of a session that ended: they stay counted, as freed, until
// the collector has run a whole cycle since. Given back at once, they
// would be taken again by new calls while the old ones still fill the
// heap, and a stream of evictions would hold the heap far past the
// budget.
func (b *memBudget) giveFreed(n int64) {
	if n == 0 {
		return
	}
	b.freedAt.Store(gcCycles())
	b.freed.Add(n)
	b.used.Add(-n)
}

// pendingFree returns the bytes given back by giveFreed that the
// collector may not have reclaimed yet: none once two cycles have ended
// since the last were given (the first may have begun before).
func (b *memBudget) pendingFree() int64 {
	n := b.freed.Load()
	if n == 0 {
		return 0
	}
	if gcCycles() >= b.freedAt.Load()+2 {
		b.freed.CompareAndSwap(n, 0)
		return 0
	}
	return n
}

// gcCycles returns how many collections the runtime has completed.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// take reserves n bytes whether or not they fit: for memory already held
// (a reply built), which the budget must know of to refuse what comes
// next.
func (b *memBudget) take(n int64) { b.used.Add(n) }

// give returns n bytes.
func (b *memBudget) give(n int64) { b.used.Add(-n) }

// inUse returns the bytes held, those freed but not yet collected
// included.
func (b *memBudget) inUse() int64 { return b.used.Load() + b.pendingFree() }

// connShare is the most one connection (or one session) may hold of the
// server's budget: an eighth of it, but at least two maximum-size
// messages, and never more than the whole.
func (s *Server) connShare() int64 {
	b := int64(s.cfg.memoryBudget)
	return min(b, max(b/8, 2*int64(s.cfg.maxMessageSize)))
}

// callOverhead is what the budget counts for a running call besides its
// arguments and its reply: its goroutine's state, context and
// bookkeeping.
const callOverhead = 2 << 10

// reserve counts a call about to be decoded and run against the memory
// budget: its overhead, its arguments (the decoder's estimate of what
// decoding them may take) and, until its reply is built,
// twice the reply its method is expected to make (the result values and
// their encoding). It returns the bytes reserved, which the call gives
// back with unreserve, or the error to refuse the call with when the
// budget is spent even after evicting the sessions detached the longest.
// A connection that holds nothing may always run one call, so that no
// client is starved by others that fill the budget.
func (sc *serverConn) reserve(m *method, argsCost int64) (int64, *Error) {
	s := sc.srv
	n := callOverhead + argsCost + m.reply.reserve(s.connShare())
	for tries := 0; !s.budget.tryTake(n); tries++ {
		if tries < 8 && s.evictOldest("the memory budget is spent") {
			continue
		}
		if sc.reserved.Load() == 0 && sc.w.Held() == 0 {
			s.budget.take(n)
			break
		}
		s.refused.memory.Add(1)
		s.logs.log(sc.logger(), slog.LevelWarn, "simplerpc: call refused: memory budget spent",
			slog.String("method", m.name), slog.Int64("budget", s.budget.limit), slog.Int64("in_use", s.budget.inUse()))
		return 0, errorf(CodeUnavailable, m.name, "server busy: its memory budget is spent; call not run")
	}
	sc.reserved.Add(n)
	return n, nil
}

// unreserve gives back what reserve took, waking the reader if it waits
// for the connection's share to fall.
func (sc *serverConn) unreserve(n int64) {
	if n == 0 {
		return
	}
	sc.srv.budget.give(n)
	sc.reserved.Add(-n)
	if sc.roomWait.Load() {
		select {
		case sc.sched.wake <- struct{}{}:
		default:
		}
	}
}

// rereserve changes what a call holds from old to n bytes, whether or
// not the budget has room: the memory is held already. It returns n.
func (sc *serverConn) rereserve(old, n int64) int64 {
	sc.srv.budget.take(n - old)
	sc.reserved.Add(n - old)
	return n
}

// budgetSpent reports whether the memory budget is spent, once the
// sessions detached the longest — a few at most — are evicted to make
// room.
func (s *Server) budgetSpent() bool {
	for tries := 0; s.budget.used.Load()+s.budget.pendingFree() > s.budget.limit; tries++ {
		if tries >= 8 || !s.evictOldest("the memory budget is spent") {
			return true
		}
	}
	return false
}

// roomPoll is how often a reader waiting for its connection's share to
// fall looks at the bytes its write queue holds, which drain without
// telling it.
const roomPoll = 5 * time.Millisecond

// waitRoom holds the reader, before it takes in another frame, while what
// the connection holds — the reservations of its running calls and its
// write queue — is at its share of the budget: the client is slowed,
// through TCP, instead of making the server hold more.
func (sc *serverConn) waitRoom(share int64) {
	budget := &sc.srv.budget
	over := func() bool {
		r := sc.reserved.Load()
		// Stream items are read before the budget can refuse them: a
		// connection holding some reads no more while the whole budget is
		// spent, so that many connections cannot each fill their share.
		return r > 0 && (r+sc.w.Held() >= share || sc.streamed.Load() > 0 && budget.used.Load() > budget.limit)
	}
	if !over() {
		return
	}
	sc.roomWait.Store(true)
	defer sc.roomWait.Store(false)
	t := time.NewTimer(roomPoll)
	defer t.Stop()
	probed := time.Now()
	for over() {
		select {
		case <-sc.sched.wake:
		case <-t.C:
			t.Reset(roomPoll)
			if time.Since(probed) >= roomProbe {
				probed = time.Now()
				sc.probePeer()
			}
		case <-sc.ctx.Done():
			return
		}
	}
}

// roomProbe is how often a reader waiting for room checks that its
// client is still there.
const roomProbe = 100 * time.Millisecond

// probePeer writes a ping when nothing else is being written, so that a
// client gone while the reader waits for room is found by the write
// failing (a ping to a closed socket draws a reset; the next fails),
// which aborts the connection: its reader stops waiting, and its session
// is detached and can be evicted, rather than staying attached to a
// connection no one reads until its calls end. A write under way finds
// it as well; a queue that holds bytes already will.
func (sc *serverConn) probePeer() {
	if sc.w.Held() == 0 {
		sc.ping()
	}
}
