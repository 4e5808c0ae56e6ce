package frameio

import (
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// loopState reports whether w's send loop runs, or a write is under way,
// and how many bytes are queued.
func loopState(w *Writer) (running bool, queued int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.looping || w.busy, w.q.n
}

// readIDs reads n frames from r in a goroutine of its own and sends
// their ids, or the error that ended the reading, on the channel it
// returns.
func readIDs(r net.Conn, n int) <-chan []uint64 {
	out := make(chan []uint64, 1)
	go func() {
		fr := NewReader(r, nil, 1<<20)
		var ids []uint64
		for range n {
			h, _, err := fr.Next()
			if err != nil {
				break
			}
			ids = append(ids, h.ID)
		}
		out <- ids
	}()
	return out
}

// wantIDs fails t unless got is want.
func wantIDs(t *testing.T, got []uint64, want ...uint64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("frames %v arrived, want %v", got, want)
	}
}

// TestWriterAwaitsExpectedGoroutines checks that frames queued while
// goroutines are expected wait for the last of them to arrive, and then
// leave in one write; and that an arrival with nothing queued starts
// nothing, the next frame being written as without Expect.
func TestWriterAwaitsExpectedGoroutines(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	_ = b.SetReadDeadline(time.Now().Add(10 * time.Second)) // a frame held for ever fails the test
	open := make(chan struct{})
	close(open)
	cc := &gatedConn{Conn: a, gate: open} // counts writes, none held
	w := NewWriter(cc, time.Second, 0, nil)
	defer func() { w.Close(); <-w.Done() }()

	for range 3 {
		w.Expect()
	}
	for id := uint64(1); id <= 3; id++ {
		if err := w.Write(context.Background(), frame(id, "call")); err != nil {
			t.Fatal(err)
		}
		if id < 3 {
			w.Arrived()
		}
		if running, queued := loopState(w); running || queued == 0 {
			t.Fatalf("after frame %d, with a goroutine still expected: loop running %v, %d bytes queued; want the frames held", id, running, queued)
		}
	}
	done := readIDs(b, 3)
	w.Arrived() // the last one expected
	wantIDs(t, <-done, 1, 2, 3)
	cc.mu.Lock()
	n := cc.writes
	cc.mu.Unlock()
	if n != 1 {
		t.Errorf("3 frames held for the goroutines expected took %d writes, want 1", n)
	}

	// Arriving with nothing queued: nothing to start, and the count is
	// back to zero, so the next frame goes out at once.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if running, _ := loopState(w); !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the send loop did not end once the queue was empty")
		}
	}
	w.Expect()
	w.Arrived()
	if running, _ := loopState(w); running {
		t.Fatal("an arrival with nothing queued started the send loop")
	}
	done = readIDs(b, 1)
	if err := w.Write(context.Background(), frame(4, "alone")); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, <-done, 4)
}

// TestWriterDoesNotAwaitForEverything checks what starts the send loop
// though a goroutine is expected: a queue of coalesceBelow bytes or more,
// a scheduled source, a control frame, and a close that flushes.
func TestWriterDoesNotAwaitForEverything(t *testing.T) {
	cases := []struct {
		name string
		do   func(t *testing.T, w *Writer)
	}{
		{"a full queue", func(t *testing.T, w *Writer) {
			if err := w.Write(context.Background(), frame(1, strings.Repeat("x", coalesceBelow))); err != nil {
				t.Fatal(err)
			}
		}},
		{"a source", func(t *testing.T, w *Writer) {
			src := &batchSource{}
			src.add(frame(1, "item"))
			w.Schedule(src)
		}},
		{"a control frame", func(t *testing.T, w *Writer) {
			if err := w.WriteControl(frame(1, "pong")); err != nil {
				t.Fatal(err)
			}
		}},
		{"a close", func(t *testing.T, w *Writer) {
			if err := w.Write(context.Background(), frame(1, "last")); err != nil {
				t.Fatal(err)
			}
			w.CloseAfterFlush()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			_ = b.SetReadDeadline(time.Now().Add(10 * time.Second)) // a frame held for ever fails the test
			w := NewWriter(a, time.Second, 0, nil)
			defer func() { w.Close(); <-w.Done() }()
			w.Expect() // never arrives
			done := readIDs(b, 1)
			tc.do(t, w)
			wantIDs(t, <-done, 1)
		})
	}
}

// TestWriterExpectConcurrent has a "reader" expecting callers and
// waking them, callers arriving and mostly writing a frame, and writers
// never expected, all at once: every frame must leave, none twice, and
// no goroutine stay expected.
func TestWriterExpectConcurrent(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	w := NewWriter(a, time.Second, 0, nil)
	defer func() { w.Close(); <-w.Done() }()
	const callers, free, rounds = 32, 4, 100
	writes := func(i, r int) bool { return (i+r)%3 != 0 } // some woken callers do not call again
	total := free * rounds
	for i := range callers {
		for r := range rounds {
			if writes(i, r) {
				total++
			}
		}
	}
	seen := make(chan map[uint64]int)
	go func() {
		_ = b.SetReadDeadline(time.Now().Add(20 * time.Second)) // a frame held for ever fails the test
		fr := NewReader(b, nil, 1<<20)
		m := map[uint64]int{}
		for range total {
			h, _, err := fr.Next()
			if err != nil {
				break
			}
			m[h.ID]++
		}
		seen <- m
		_, _ = io.Copy(io.Discard, b)
	}()
	wake := make([]chan struct{}, callers)
	for i := range wake {
		wake[i] = make(chan struct{}, 1)
	}
	var wg sync.WaitGroup
	wg.Go(func() { // the reader
		for range rounds {
			for i := range callers {
				w.Expect()
				wake[i] <- struct{}{}
			}
		}
	})
	for i := range callers {
		wg.Go(func() {
			for r := range rounds {
				<-wake[i]
				w.Arrived()
				if writes(i, r) {
					if err := w.Write(context.Background(), frame(uint64(1+i*rounds+r), "call")); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	for f := range free {
		wg.Go(func() {
			for r := range rounds {
				if err := w.Write(context.Background(), frame(uint64(1_000_000+f*rounds+r), "free")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	m := <-seen
	if len(m) != total {
		t.Fatalf("%d distinct frames arrived, want %d", len(m), total)
	}
	for id, n := range m {
		if n != 1 {
			t.Fatalf("frame %d arrived %d times", id, n)
		}
	}
	if n := w.expected.Load(); n != 0 {
		t.Errorf("%d goroutines still expected after all arrived", n)
	}
}
