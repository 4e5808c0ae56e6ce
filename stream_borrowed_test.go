package simplerpc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"iter"
	"net"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

// Lender receives its stream items borrowed.
type Lender struct{}

// Digest hashes the items it receives, in order, copying none.
func (Lender) Digest(ctx context.Context, name string, chunks iter.Seq2[simplerpc.BorrowedBytes, error]) (int64, []byte, error) {
	h := sha256.New()
	var n int64
	for b, err := range chunks {
		if err != nil {
			return 0, nil, err
		}
		n++
		h.Write(b)
	}
	return n, h.Sum(nil), nil
}

// Upload counts the chunks and bytes it receives, as Feed.Upload does.
func (Lender) Upload(ctx context.Context, name string, chunks iter.Seq2[simplerpc.BorrowedBytes, error]) (string, int64, error) {
	var n, total int64
	for c, err := range chunks {
		if err != nil {
			return "", 0, err
		}
		n++
		total += int64(len(c))
	}
	return fmt.Sprintf("%s: %d chunks", name, n), total, nil
}

// lentChunks is a named iterator of borrowed items, which the server
// ranges over by reflection.
type lentChunks func(yield func(simplerpc.BorrowedBytes, error) bool)

// DigestNamed is Digest through a named iterator type.
func (l Lender) DigestNamed(ctx context.Context, name string, chunks lentChunks) (int64, []byte, error) {
	return l.Digest(ctx, name, iter.Seq2[simplerpc.BorrowedBytes, error](chunks))
}

// Chunks yields chunkOf(0), … chunkOf(n-1).
func (Lender) Chunks(n int) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for i := range n {
			if !yield(chunkOf(i)) {
				return
			}
		}
	}
}

// Keep keeps every item both as it was lent and as a copy, and returns
// how many of the kept slices no longer hold what they held when lent.
func (Lender) Keep(chunks iter.Seq[simplerpc.BorrowedBytes]) int {
	var kept, copies [][]byte
	for b := range chunks {
		kept = append(kept, b) // what the rule forbids
		copies = append(copies, bytes.Clone(b))
	}
	changed := 0
	for i := range kept {
		if !bytes.Equal(kept[i], copies[i]) {
			changed++
		}
	}
	return changed
}

// borrowedSizes are item sizes on both sides of the frame reader's
// large-body boundary (16 KiB) and of the pooled-body limit (1 MiB).
var borrowedSizes = []int{0, 1, 100, 16<<10 - 8, 16 << 10, 16<<10 + 8, 64 << 10, 200 << 10, 3 << 10, 1<<20 + 5}

// chunkOf returns chunk i: borrowedSizes' size, filled from i.
func chunkOf(i int) []byte {
	b := make([]byte, borrowedSizes[i%len(borrowedSizes)])
	for j := range b {
		b[j] = byte(i*7 + j/997)
	}
	return b
}

// Items a method borrows arrive whole and in order, in either codec,
// whether the client's stub sends []byte or BorrowedBytes; the memory
// budget is back to what it was once the streams are over.
func TestStreamBorrowedItems(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		if err := ts.srv.Register("Lender", Lender{}); err != nil {
			t.Fatal(err)
		}
		var stub struct {
			Digest func(ctx context.Context, name string, chunks iter.Seq2[[]byte, error]) (int64, []byte, error)
		}
		var lent struct {
			Digest func(ctx context.Context, name string, chunks iter.Seq2[simplerpc.BorrowedBytes, error]) (int64, []byte, error)
		}
		if err := c.Bind("Lender", &stub); err != nil {
			t.Fatal(err)
		}
		if err := c.Bind("Lender", &lent); err != nil {
			t.Fatal(err)
		}
		before := settledMemory(ts)
		const n = 40
		want := sha256.New()
		for i := range n {
			want.Write(chunkOf(i))
		}
		got, sum, err := stub.Digest(context.Background(), "x", func(yield func([]byte, error) bool) {
			for i := range n {
				if !yield(chunkOf(i), nil) {
					return
				}
			}
		})
		if err != nil || got != n || !bytes.Equal(sum, want.Sum(nil)) {
			t.Fatalf("Digest = %d, %x, %v; want %d, %x", got, sum, err, n, want.Sum(nil))
		}
		got, sum, err = lent.Digest(context.Background(), "x", func(yield func(simplerpc.BorrowedBytes, error) bool) {
			for i := range n {
				if !yield(chunkOf(i), nil) {
					return
				}
			}
		})
		if err != nil || got != n || !bytes.Equal(sum, want.Sum(nil)) {
			t.Fatalf("Digest with a BorrowedBytes stub = %d, %x, %v; want %d, %x", got, sum, err, n, want.Sum(nil))
		}
		var named struct {
			DigestNamed func(ctx context.Context, name string, chunks iter.Seq2[[]byte, error]) (int64, []byte, error)
		}
		if err := c.Bind("Lender", &named); err != nil {
			t.Fatal(err)
		}
		got, sum, err = named.DigestNamed(context.Background(), "x", func(yield func([]byte, error) bool) {
			for i := range n {
				if !yield(chunkOf(i), nil) {
					return
				}
			}
		})
		if err != nil || got != n || !bytes.Equal(sum, want.Sum(nil)) {
			t.Fatalf("DigestNamed = %d, %x, %v; want %d, %x", got, sum, err, n, want.Sum(nil))
		}
		// The session keeps the replies until the client acks them —
		// which an idle client does with its next call: the third
		// description's (some 4 KiB, kept at its own size however large
		// the pooled buffer it was built in: session.go's fitKept) and
		// the streams' (a few hundred bytes); a window frame or two may
		// be on their way out. The items of one stream hold over 2 MiB,
		// and three of them 64 KiB or more each, so an item left
		// counted shows.
		const replies = 32 << 10
		deadline := time.Now().Add(5 * time.Second)
		for settledMemory(ts) > before+replies && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if m := settledMemory(ts); m > before+replies {
			t.Fatalf("memory in use after the streams: %d bytes, %d before them", m, before)
		}
	})
}

// Borrowed items resume as others do: through resets made while they are
// sent, the method hashes every item once, in order.
func TestStreamBorrowedResumes(t *testing.T) {
	ts := startServer(t)
	if err := ts.srv.Register("Lender", Lender{}); err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.New(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	var stub struct {
		Digest func(ctx context.Context, name string, chunks iter.Seq2[[]byte, error]) (int64, []byte, error)
	}
	if err := dial(t, proxy.Addr()).Bind("Lender", &stub); err != nil {
		t.Fatal(err)
	}
	const n = 80
	want := sha256.New()
	for i := range n {
		want.Write(chunkOf(i))
	}
	got, sum, err := stub.Digest(context.Background(), "resumed", func(yield func([]byte, error) bool) {
		for i := range n {
			if i > 0 && i%17 == 0 {
				proxy.Reset()
			}
			if !yield(chunkOf(i), nil) {
				return
			}
		}
	})
	if err != nil || got != n || !bytes.Equal(sum, want.Sum(nil)) {
		t.Fatalf("Digest through resets = %d, %x, %v; want %d, %x", got, sum, err, n, want.Sum(nil))
	}
}

// A client may receive a server's []byte items as BorrowedBytes, by name
// or in a stub: they are bytes, received whole and in order.
func TestStreamBorrowedOnTheClient(t *testing.T) {
	ts := startServer(t)
	if err := ts.srv.Register("Lender", Lender{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	var stub struct {
		Chunks func(ctx context.Context, n int) iter.Seq2[simplerpc.BorrowedBytes, error]
	}
	if err := c.Bind("Lender", &stub); err != nil {
		t.Fatal(err)
	}
	const n = 30
	check := func(how string, items iter.Seq2[simplerpc.BorrowedBytes, error]) {
		i := 0
		for b, err := range items {
			if err != nil {
				t.Fatalf("%s: item %d: %v", how, i, err)
			}
			if !bytes.Equal(b, chunkOf(i)) {
				t.Fatalf("%s: item %d is %d bytes, not chunk %d", how, i, len(b), i)
			}
			i++
		}
		if i != n {
			t.Fatalf("%s: %d items, want %d", how, i, n)
		}
	}
	check("Stream", simplerpc.Stream[simplerpc.BorrowedBytes](context.Background(), c, "Lender.Chunks", n))
	check("stub", stub.Chunks(context.Background(), n))
}

// settledMemory returns the server's memory in use once the collector has
// reclaimed what was given back (the budget counts freed buffers until
// two collections have ended).
func settledMemory(ts *testServer) int64 {
	runtime.GC()
	runtime.GC()
	return ts.srv.Stats().MemoryInUse
}

// A borrowed item is valid only until the next: the server reads later
// items into the buffers of earlier ones, so a slice kept past its turn
// is overwritten — the hazard its doc warns of, and the proof that the
// buffers are reused.
func TestStreamBorrowedBuffersReused(t *testing.T) {
	ts := startServer(t)
	if err := ts.srv.Register("Lender", Lender{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	s, err := c.OpenStream(context.Background(), "Lender.Keep")
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	chunk := make([]byte, 64<<10)
	for i := range n {
		for j := range chunk {
			chunk[j] = byte(i)
		}
		if err := s.Send(chunk); err != nil {
			t.Fatal(err)
		}
	}
	var changed int
	if err := s.Finish(&changed); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d kept 64 KiB items were overwritten by later ones", changed, n)
	if changed == 0 {
		t.Fatalf("no kept item was overwritten: the server did not reuse the buffers it lent")
	}
}

// The description shows a borrowed item as the []byte it is on the wire,
// and a stub whose items are not bytes is refused.
func TestStreamBorrowedContract(t *testing.T) {
	ts := startServer(t)
	if err := ts.srv.Register("Lender", Lender{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	d, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := d.Method("Lender.Digest")
	if m == nil {
		t.Fatal("no Lender.Digest in the description")
	}
	if m.Stream == nil || m.Stream.Kind != "client" || m.Stream.Receives == nil || m.Stream.Receives.Go != reflect.TypeFor[[]byte]().String() || m.Stream.Receives.Schema.ContentEncoding != "base64" {
		t.Fatalf("Digest's stream is described as %+v, receiving %+v", m.Stream, m.Stream.Receives)
	}
	var wrong struct {
		Digest func(ctx context.Context, name string, chunks iter.Seq2[string, error]) (int64, []byte, error)
	}
	if err := c.Bind("Lender", &wrong); err == nil || !strings.Contains(err.Error(), "Digest") {
		t.Fatalf("Bind of a stub sending strings: %v, want an error naming Digest", err)
	}
}

// A gate holds up the writes of the connections it gates while it is
// shut.
type gate struct {
	mu   sync.Mutex
	open chan struct{} // closed while the gate is open
}

func newGate() *gate {
	open := make(chan struct{})
	close(open)
	return &gate{open: open}
}

// pass waits until the gate is open.
func (g *gate) pass() {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	<-open
}

// shut makes writes wait until the returned func opens the gate again.
func (g *gate) shut() (reopen func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.open = ch
	g.mu.Unlock()
	return func() { close(ch) }
}

// dial dials addr over TCP, its writes through the gate.
func (g *gate) dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return gatedConn{conn, g}, nil
}

// gatedConn is a connection whose writes wait while its gate is shut.
type gatedConn struct {
	net.Conn
	g *gate
}

func (c gatedConn) Write(b []byte) (int, error) {
	c.g.pass()
	return c.Conn.Write(b)
}

// A large item a client sends is queued for the connection's send loop,
// not written by the sender itself: Send returns while an earlier write
// is held up, so that the items the window has room for meanwhile share
// the loop's next write rather than take a system call each.
func TestStreamLargeItemsQueueBehindAWrite(t *testing.T) {
	ts := startServer(t)
	if err := ts.srv.Register("Lender", Lender{}); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	c := dial(t, ts.addr, simplerpc.WithDialer(g.dial))
	s, err := c.OpenStream(context.Background(), "Lender.Upload", "gated")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	if err := s.Send(chunk); err != nil { // the stream is open once this returns
		t.Fatal(err)
	}
	// The open stream's frames written meanwhile, the writer is idle: a
	// sender that wrote its item itself would now wait at the gate.
	time.Sleep(50 * time.Millisecond)
	reopen := g.shut()
	sent := make(chan error, 1)
	go func() {
		for range 2 {
			if err := s.Send(chunk); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	select {
	case err := <-sent:
		reopen()
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		reopen()
		<-sent
		t.Fatal("Send of a large item waited for the connection's write")
	}
	var msg string
	var total int64
	if err := s.Finish(&msg, &total); err != nil || total != 3*int64(len(chunk)) {
		t.Fatalf("Finish = %q, %d, %v; want 3 chunks", msg, total, err)
	}
}
