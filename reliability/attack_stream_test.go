package reliability_test

import (
	"bufio"
	"context"
	"fmt"
	"iter"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Stream abuse (PROTOCOL.md §12): items sent past the window, and server
// streams nobody consumes, on many connections at once.

// The stream flags and frame kinds.
const (
	helloStreams   = 1 << 2
	welcomeStreams = 1 << 1
	flagStream     = 1 << 3
	kindItem       = 8
	kindWindow     = 9
	streamWindow   = 262144 // StreamWindow
	itemCost       = 32     // what an item costs besides its body
)

// Hold takes a stream and never pulls an item: it returns when its
// context ends.
func (v *Victim) Hold(ctx context.Context, items iter.Seq[[]byte]) error {
	<-ctx.Done()
	return ctx.Err()
}

// Flood sends items of size bytes (at most 64 KiB) until its context
// ends.
func (v *Victim) Flood(ctx context.Context, size int) iter.Seq[[]byte] {
	item := make([]byte, min(max(size, 0), 64<<10))
	return func(yield func([]byte) bool) {
		for ctx.Err() == nil && yield(item) {
		}
	}
}

// streamCall is a call frame flagged stream.
func streamCall(id uint64, method string, args []byte) []byte {
	f := callFrame(id, method, 0, args)
	f[5] |= flagStream
	return f
}

// itemFrame is an item of a stream, a CBOR byte string of n zeros.
func itemFrame(id uint64, n int) []byte {
	body := append(cborBytesHead(uint64(n)), make([]byte, n)...)
	return append(frameHeader(uint32(len(body)), kindItem, 0, id), body...)
}

// dialStreams opens a connection whose hello asks for streams (and a
// session, with sess).
func (a *attackRun) dialStreams(sess bool) (net.Conn, error) {
	flags := byte(helloStreams)
	if sess {
		flags |= helloSession
	}
	nc, w, err := a.dialHello(net.Dialer{}, "cbor", flags, newSessionID())
	if err != nil {
		return nil, err
	}
	if w.status != 0 || w.flags&welcomeStreams == 0 {
		return nil, fmt.Errorf("welcome status %d flags %#x: streams not granted", w.status, w.flags)
	}
	return nc, nil
}

// pastWindow matches the log line of a connection closed for items past
// a stream's window.
var pastWindow = regexp.MustCompile(`past its window`)

// TestAttackStreamPastWindow opens, on many connections at once, a
// stream to a method that never consumes it and sends items past its
// window: each connection must be closed, with a logged reason, and the
// server hold no more than the windows meanwhile.
func TestAttackStreamPastWindow(t *testing.T) {
	conns := attackSize(64, 512)
	as := startAttackServer(t, attackSetup{budget: attackBudget()})
	const itemSize = 32 << 10
	n := 2*streamWindow/(itemSize+itemCost) + 1
	name := fmt.Sprintf("%d connections at once, each a stream sent %d items of %s, twice its window", conns, n, byteCount(itemSize))
	items := repeatFrames(n, func(int) []byte { return itemFrame(1, itemSize) })
	as.attack(t, name, 60*time.Second, func(a *attackRun) string {
		mark := as.logs.count()
		var closed, open atomic.Int64
		var wg sync.WaitGroup
		for range conns {
			wg.Go(func() {
				nc, err := a.dialStreams(false)
				if err != nil {
					a.t.Error(err)
					return
				}
				if _, err := nc.Write(streamCall(1, "Victim.Hold", cborArray())); err != nil {
					a.t.Error(err)
					return
				}
				// The items may not all be read: the server closes the
				// connection once it sees one past the window.
				_, _ = nc.Write(items)
				if how, _, err := awaitClose(nc, 10*time.Second); err != nil {
					open.Add(1)
					a.t.Errorf("%s: %v", how, err)
					return
				}
				closed.Add(1)
			})
		}
		wg.Wait()
		time.Sleep(50 * time.Millisecond)
		logged := as.logs.matching(mark, pastWindow)
		if closed.Load() > 0 && logged == 0 { // the log is rate-limited: at least the first
			a.t.Errorf("%d connections closed, no log line saying why", closed.Load())
		}
		return fmt.Sprintf("%d closed, %d still open; %d log lines saying why", closed.Load(), open.Load(), logged)
	})
}

// TestAttackStreamsNeverConsumed opens, on many connections, many streams
// of a method that sends items without end, reads what comes and never
// reports an item consumed: each stream must stop at its window, and the
// server hold what the budget allows.
func TestAttackStreamsNeverConsumed(t *testing.T) {
	conns, streams := attackSize(8, 32), attackSize(32, 64)
	as := startAttackServer(t, attackSetup{budget: attackBudget()})
	const itemSize = 16 << 10
	hold := time.Duration(attackSize(1, 5)) * time.Second
	name := fmt.Sprintf("%d connections × %d streams of %s items, never consumed", conns, streams, byteCount(itemSize))
	as.attack(t, name, hold+60*time.Second, func(a *attackRun) string {
		var wg sync.WaitGroup
		var most atomic.Int64 // the most item cost one stream got
		var total atomic.Int64
		for c := range conns {
			nc, err := a.dialStreams(c%2 == 0) // half in a session, whose server keeps what it sent for a resume
			if err != nil {
				if a.stopped() { // the heap went past the bound: the attack reports it
					break
				}
				a.t.Fatal(err)
			}
			_ = nc.SetDeadline(time.Time{})
			calls := repeatFrames(streams, func(i int) []byte {
				return streamCall(uint64(i+1), "Victim.Flood", cborArray(cborUint(itemSize)))
			})
			if _, err := nc.Write(calls); err != nil {
				if a.stopped() {
					break
				}
				a.t.Fatal(err)
			}
			wg.Go(func() {
				costs := make(map[uint64]int64)
				br := bufio.NewReaderSize(nc, 64<<10)
				for {
					f, err := readFrame(br)
					if err != nil {
						return // closed at the end of the attack
					}
					switch f.kind {
					case kindPing:
						_, _ = nc.Write(frameHeader(0, kindPong, 0, f.id))
					case kindItem:
						costs[f.id] += int64(len(f.body)) + itemCost
						total.Add(int64(len(f.body)))
						for {
							m := most.Load()
							if costs[f.id] <= m || most.CompareAndSwap(m, costs[f.id]) {
								break
							}
						}
					}
				}
			})
		}
		time.Sleep(hold)
		a.closeAll()
		wg.Wait()
		// At most a window plus one item may be unconsumed (§12).
		if m := most.Load(); m > streamWindow+itemSize+itemCost {
			a.t.Errorf("a stream sent %d bytes of item costs unconsumed, past its window of %d plus an item", m, streamWindow)
		}
		return fmt.Sprintf("%s of items received in all, at most %s of item cost on a stream", byteCount(total.Load()), byteCount(most.Load()))
	})
}
