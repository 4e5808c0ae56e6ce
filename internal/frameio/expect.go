package frameio

// A goroutine likely to queue a frame soon can be announced to the
// Writer beforehand, so that the send loop does not start without its
// frame. The one who knows is whoever wakes it: a client's reader,
// handing replies to callers who, woken, mostly call again at once.
// While any goroutine announced has not arrived, small frames queue
// without starting the loop; the last one to arrive starts it. A caller
// arrives as it wakes, just before it returns to call again, so its own
// next frame joins the loop's first write through the loop's yield (see
// loop), not by being waited for.
//
// Without it, the first of the woken callers to queue a frame starts the
// loop, and the frames of the others go out in the writes after. That
// costs more system calls, and it costs latency: starting the loop makes
// a goroutine runnable, which can wake an idle thread, and on a busy
// machine the kernel may queue that thread behind a running one until
// its next tick, 4 ms on the machine measured, while every call in
// flight waits (BENCHMARKS.md, "Tail latency").
//
// What is not held: a queue of coalesceBelow bytes or more, a source's
// frames, a control frame (WriteControl: a pong, a cancel), and anything
// once the Writer closes. A client's acknowledgements are held
// (WriteControlLazy): one every 128 replies, it would otherwise start
// the loop in the middle of a burst.

// Expect announces a goroutine about to run that will likely queue a
// frame; it must call Arrived once it runs, whether it queues one or not.
func (w *Writer) Expect() { w.expected.Add(1) }

// Arrived undoes one Expect. The last goroutine expected to arrive
// starts the send loop for the frames queued while it was awaited,
// unless they are already being written.
func (w *Writer) Arrived() {
	// queued is stored before awaitingLocked loads expected, and expected
	// is decremented here before queued is loaded: with sequentially
	// consistent atomics, a frame queued while this goroutine was awaited
	// is seen here, or its Write saw no one awaited and started the loop.
	if w.expected.Add(-1) == 0 && w.queued.Load() > 0 {
		w.mu.Lock()
		w.startLoopLocked()
		w.mu.Unlock()
	}
}

// Expected returns the goroutines announced by Expect that have not yet
// Arrived.
func (w *Writer) Expected() int { return int(w.expected.Load()) }

// awaitingLocked reports whether the send loop should not start yet:
// goroutines expected to queue frames have not arrived, the frames queued
// are small enough to wait for theirs, and nothing else asks for the loop
// (a source's frames, a control frame, or a close). w.mu must be held.
func (w *Writer) awaitingLocked() bool {
	return w.q.n < coalesceBelow && len(w.sources) == 0 && !w.urgent && !w.closing && w.expected.Load() > 0
}
