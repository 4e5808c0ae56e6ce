package simplerpc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"math"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// rawStream opens Feed.Count(n) on a connection spoken by hand, with the
// hello flags given, reads it to its reply — slowly at first, so that the
// server's items queue behind its writer — and returns the items in the
// order they came and how many frames were packed.
func rawStream(t *testing.T, addr string, flags uint8, n int) (items []int, packed int) {
	t.Helper()
	w := dialWire(t, addr)
	wel := w.hello(wire.Hello{Version: wire.Version, Codec: "cbor", Flags: flags})
	if wel.Status != wire.StatusOK {
		t.Fatalf("welcome status %d", wel.Status)
	}
	if got, want := wel.Flags&wire.WelcomePacked != 0, flags&wire.HelloPacked != 0; got != want {
		t.Fatalf("welcome flags %#x for hello flags %#x", wel.Flags, flags)
	}
	w.codec = codecByName(t, "cbor")
	body, cflags := w.callBody("Feed.Count", 0, nil, n)
	w.frame(wire.KindCall, cflags|wire.FlagStream, 1, body)
	time.Sleep(20 * time.Millisecond) // the server fills its window meanwhile
	var consumed, reported wire.Window
	take := func(item []byte) {
		var v int
		if err := w.codec.Unmarshal(item, &v); err != nil {
			t.Fatalf("item %d: %v", len(items), err)
		}
		items = append(items, v)
		consumed.Items++
		consumed.Bytes += wire.ItemCost(len(item))
	}
	for {
		f := w.next()
		switch f.Kind {
		case wire.KindWindow:
			continue
		case wire.KindReply:
			if f.Flags&wire.FlagError != 0 {
				t.Fatalf("the stream failed: %+v", w.errorObject(f))
			}
			return items, packed
		case wire.KindItem:
		default:
			t.Fatalf("unexpected %s frame", f.Kind)
		}
		if f.Flags&wire.FlagPacked == 0 {
			take(f.body)
		} else {
			packed++
			sum, err := wire.CheckPacked(f.body)
			if err != nil {
				t.Fatalf("packed frame: %v", err)
			}
			if sum.Items < 2 {
				t.Fatalf("a packed frame of %d items: the server packs only items that wait together", sum.Items)
			}
			for rest := f.body; len(rest) > 0; {
				var item []byte
				item, rest = wire.NextPacked(rest)
				take(item)
			}
		}
		if consumed.Bytes-reported.Bytes >= wire.StreamWindow/4 {
			reported = consumed
			w.frame(wire.KindWindow, 0, 1, wire.AppendWindowBody(nil, consumed))
		}
	}
}

// A client that asks for packed items gets them: items that wait for the
// writer together travel in one frame, each counted in the window as if
// on its own, every item once and in order. A client of the version
// before packing, which does not ask, gets plain frames only.
func TestStreamPackedItems(t *testing.T) {
	_, ts, _, _ := startFeed(t)
	const n = 30000
	for _, tc := range []struct {
		name  string
		flags uint8
	}{
		{"packed", wire.HelloStreams | wire.HelloPacked},
		{"older client", wire.HelloStreams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, packed := rawStream(t, ts.addr, tc.flags, n)
			if len(items) != n {
				t.Fatalf("%d items, want %d", len(items), n)
			}
			for i, v := range items {
				if v != i {
					t.Fatalf("item %d is %d", i, v)
				}
			}
			switch {
			case tc.flags&wire.HelloPacked == 0 && packed != 0:
				t.Fatalf("%d packed frames to a client that did not ask for them", packed)
			case tc.flags&wire.HelloPacked != 0 && packed == 0:
				t.Fatalf("no packed frame in %d items that waited for the writer", n)
			}
			t.Logf("%d items, %d packed frames", n, packed)
		})
	}
}

// Only a server packs items: a packed item frame from a client closes
// its connection, as does a malformed or empty packed frame.
func TestStreamPackedFromClient(t *testing.T) {
	_, ts, _, _ := startFeed(t)
	for _, body := range [][]byte{
		wire.AppendPacked(wire.AppendPacked(nil, []byte("a")), []byte("b")),
		{0x05, 'a'},
		nil,
	} {
		w := dialWire(t, ts.addr)
		w.hello(wire.Hello{Version: wire.Version, Codec: "cbor", Flags: wire.HelloStreams | wire.HelloPacked})
		w.codec = codecByName(t, "cbor")
		cbody, cflags := w.callBody("Feed.Upload", 0, nil, "x")
		w.frame(wire.KindCall, cflags|wire.FlagStream, 1, cbody)
		w.frame(wire.KindItem, wire.FlagPacked, 1, body)
		expectClosedAfterStream(w)
	}
}

// expectClosedAfterStream checks that the server closes w's connection,
// having at most ended the stream it had open with an error: the stream's
// method, whose context the closing ends, may reply before the connection
// is gone.
func expectClosedAfterStream(w *wireConn) {
	w.t.Helper()
	_ = w.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := w.tryNext()
		if err != nil {
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				w.t.Fatal("the server did not close the connection")
			}
			return
		}
		if f.Kind == wire.KindReply && f.Flags&wire.FlagError == 0 {
			w.t.Fatalf("a successful reply %d where the connection should close", f.ID)
		}
	}
}

// A client reads packed items only from a server that granted them: on a
// connection whose welcome did not, a packed frame is a violation, and
// the stream fails with the connection. From one that did, the items of a
// packed frame arrive one by one, in order.
func TestStreamPackedToClient(t *testing.T) {
	for _, granted := range []bool{true, false} {
		flags := wire.WelcomeStreams
		if granted {
			flags |= wire.WelcomePacked
		}
		addr := fakeServer(t, flags, func(w *wireConn) {
			f, err := w.tryNext()
			if err != nil || f.Kind != wire.KindCall {
				return
			}
			w.frame(wire.KindWindow, 0, f.ID, wire.AppendWindowBody(nil, wire.Window{}))
			var body []byte
			for i := range 3 {
				var b bytes.Buffer
				_ = w.codec.Append(&b, i)
				body = wire.AppendPacked(body, b.Bytes())
			}
			w.frame(wire.KindItem, wire.FlagPacked, f.ID, body)
			w.frame(wire.KindReply, 0, f.ID, []byte{0x80})
			for {
				if _, err := w.tryNext(); err != nil {
					return
				}
			}
		})
		c := dial(t, addr, simplerpc.WithResumableSessions(false))
		var got []int
		var last error
		for v, err := range simplerpc.Stream[int](context.Background(), c, "Feed.Count", 3) {
			if err != nil {
				last = err
				break
			}
			got = append(got, v)
		}
		switch {
		case granted && (last != nil || !slices.Equal(got, []int{0, 1, 2})):
			t.Fatalf("packed items from a server that granted them: %v, %v", got, last)
		case !granted && (len(got) != 0 || codeOf(t, last) != simplerpc.CodeConnectionLost):
			t.Fatalf("packed items from a server that did not grant them: %v, %v", got, last)
		}
		c.Close()
	}
}

// Bursts yields rounds bursts of the integers in burstValues, and waits
// after each for got, on which the client says it received the burst.
type Bursts struct{ got chan struct{} }

// burstValues are integers of every CBOR head size, both signs.
var burstValues = []int64{0, 1, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, math.MaxInt64, -1, -24, -25, -256, -257, -1 << 32, math.MinInt64}

func (b Bursts) Run(ctx context.Context, rounds int) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for r := range rounds {
			for _, v := range burstValues {
				if !yield(v+int64(r%2), nil) {
					return
				}
			}
			select {
			case <-b.got:
			case <-ctx.Done():
				return
			}
		}
	}
}

// Integer items yielded in bursts, the method's iterator then waiting
// for the client, reach the client whole and in order while it waits:
// the last items of a burst, packed onto a batch behind the writer, are
// not held back for more. Each burst is received before the next is
// yielded, so a burst held back would leave Recv waiting until ctx ends.
func TestStreamIntBurstsArriveWhileTheIteratorWaits(t *testing.T) {
	ts := startServer(t)
	b := Bursts{got: make(chan struct{})}
	if err := ts.srv.Register("Bursts", b); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const rounds = 200
	s, err := c.OpenStream(ctx, "Bursts.Run", rounds)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for r := range rounds {
		for i, want := range burstValues {
			want += int64(r % 2) // MaxInt64 + 1 wraps, as it does on the server
			var v int64
			if err := s.Recv(&v); err != nil {
				t.Fatalf("burst %d, item %d: %v", r, i, err)
			}
			if v != want {
				t.Fatalf("burst %d, item %d is %d, want %d", r, i, v, want)
			}
		}
		select {
		case b.got <- struct{}{}:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	var v int64
	if err := s.Recv(&v); err != io.EOF {
		t.Fatalf("after the last burst: %v, want io.EOF", err)
	}
}

// A window frame reporting more items consumed than the client sent is a
// violation: the client ends the connection, and its stream fails with
// it, rather than give back, as consumed, items it may still be writing.
func TestStreamWindowPastItemsSent(t *testing.T) {
	addr := fakeServer(t, wire.WelcomeStreams, func(w *wireConn) {
		f, err := w.tryNext()
		if err != nil || f.Kind != wire.KindCall {
			return
		}
		w.frame(wire.KindWindow, 0, f.ID, wire.AppendWindowBody(nil, wire.Window{Items: 1 << 40}))
		_ = w.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			if _, err := w.tryNext(); err != nil {
				return // the client closed the connection
			}
		}
	})
	c := dial(t, addr, simplerpc.WithResumableSessions(false))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.OpenStream(ctx, "Feed.Upload", "bogus")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 4 {
		if err = s.Send(bytes.Repeat([]byte{1}, 64<<10)); err != nil {
			break
		}
	}
	if err == nil {
		err = s.Finish()
	}
	if codeOf(t, err) != simplerpc.CodeConnectionLost {
		t.Fatalf("the stream after a window past the items sent: %v, want connection lost", err)
	}
}

// A window frame from a client reporting more items consumed than the
// server sent closes the connection.
func TestStreamWindowPastItemsSentToServer(t *testing.T) {
	_, ts, _, _ := startFeed(t)
	w := dialWire(t, ts.addr)
	w.hello(wire.Hello{Version: wire.Version, Codec: "cbor", Flags: wire.HelloStreams})
	w.codec = codecByName(t, "cbor")
	body, cflags := w.callBody("Feed.Count", 0, nil, -1) // until its ctx ends: the stream is open when the window comes
	w.frame(wire.KindCall, cflags|wire.FlagStream, 1, body)
	w.frame(wire.KindWindow, 0, 1, wire.AppendWindowBody(nil, wire.Window{Items: 1 << 40}))
	expectClosedAfterStream(w)
}
