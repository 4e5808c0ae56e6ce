package simplerpc_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/faultproxy"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// Feed is a service of streaming methods for the stream tests.
type Feed struct {
	produced atomic.Int64 // items the last Count has yielded
	stopped  chan error   // Count's ctx error once its loop ends
}

// Count yields 0..n-1; with n < 0 it yields until its ctx ends.
func (f *Feed) Count(ctx context.Context, n int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		defer func() {
			select {
			case f.stopped <- ctx.Err():
			default:
			}
		}()
		for i := 0; n < 0 || i < n; i++ {
			if ctx.Err() != nil {
				return
			}
			f.produced.Store(int64(i + 1))
			if !yield(i, nil) {
				return
			}
		}
	}
}

// Chunks yields n chunks of size bytes, chunk i filled with byte i.
func (f *Feed) Chunks(n, size int) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for i := 0; i < n; i++ {
			f.produced.Store(int64(i + 1))
			if !yield(bytes.Repeat([]byte{byte(i)}, size)) {
				return
			}
		}
	}
}

// Failing yields good items, then fails with a registered error.
func (f *Feed) Failing(good int) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := 0; i < good; i++ {
			if !yield(fmt.Sprint("item ", i), nil) {
				return
			}
		}
		yield("", &RangeError{Arg: "good", Value: good})
	}
}

// Open fails before its stream starts when name is empty.
func (f *Feed) Open(name string) (iter.Seq2[string, error], error) {
	if name == "" {
		return nil, errors.New("no name")
	}
	return func(yield func(string, error) bool) { yield("opened "+name, nil) }, nil
}

// Upload counts the chunks and bytes it receives.
func (f *Feed) Upload(ctx context.Context, name string, chunks iter.Seq2[[]byte, error]) (string, int64, error) {
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

// Talk answers every message with it upper-cased.
func (f *Feed) Talk(in iter.Seq2[string, error]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for m, err := range in {
			if err != nil {
				yield("", err)
				return
			}
			if !yield(strings.ToUpper(m), nil) {
				return
			}
		}
	}
}

// waitStopped fails t, saying why, unless the last stream of f stops
// within 5 seconds.
func (f *Feed) waitStopped(t *testing.T, why string) {
	t.Helper()
	select {
	case <-f.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal(why)
	}
}

// feedStub is the client's view of Feed.
type feedStub struct {
	Count   func(ctx context.Context, n int) iter.Seq2[int, error]
	Chunks  func(ctx context.Context, n, size int) iter.Seq[[]byte]
	Failing func(ctx context.Context, good int) iter.Seq2[string, error]
	Open    func(ctx context.Context, name string) (iter.Seq2[string, error], error)
	Upload  func(ctx context.Context, name string, chunks iter.Seq2[[]byte, error]) (string, int64, error)
	Talk    func(ctx context.Context, in iter.Seq2[string, error]) iter.Seq2[string, error]
}

// startFeed serves a Feed and returns it with a client bound to it.
func startFeed(t *testing.T, opts ...simplerpc.ServerOption) (*Feed, *testServer, *simplerpc.Client, *feedStub) {
	t.Helper()
	ts := startServer(t, opts...)
	f := &Feed{stopped: make(chan error, 1)}
	if err := ts.srv.Register("Feed", f); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	var stub feedStub
	if err := c.Bind("Feed", &stub); err != nil {
		t.Fatal(err)
	}
	return f, ts, c, &stub
}

func TestStreamServerItems(t *testing.T) {
	for _, name := range codecs {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t)
			if err := ts.srv.Register("Feed", &Feed{stopped: make(chan error, 1)}); err != nil {
				t.Fatal(err)
			}
			var stub feedStub
			if err := dial(t, ts.addr, simplerpc.WithCodec(name)).Bind("Feed", &stub); err != nil {
				t.Fatal(err)
			}
			want := 0
			for v, err := range stub.Count(context.Background(), 5000) {
				if err != nil {
					t.Fatal(err)
				}
				if v != want {
					t.Fatalf("item %d is %d", want, v)
				}
				want++
			}
			if want != 5000 {
				t.Fatalf("got %d items, want 5000", want)
			}
		})
	}
}

func TestStreamBreakCancelsServer(t *testing.T) {
	f, _, _, stub := startFeed(t)
	got := 0
	for _, err := range stub.Count(context.Background(), -1) {
		if err != nil {
			t.Fatal(err)
		}
		if got++; got == 10 {
			break
		}
	}
	select {
	case err := <-f.stopped:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("server's iterator stopped with ctx error %v, want canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server's iterator was still pulled after the client broke out")
	}
}

func TestStreamDeadlineBoundsStream(t *testing.T) {
	f, _, _, stub := startFeed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var last error
	for _, err := range stub.Count(ctx, -1) {
		if err != nil {
			last = err
		}
		time.Sleep(time.Millisecond)
	}
	if c := codeOf(t, last); c != simplerpc.CodeDeadlineExceeded {
		t.Fatalf("stream ended with %v (%s), want deadline_exceeded", last, c)
	}
	f.waitStopped(t, "the server's stream outlived the caller's deadline")
}

func TestStreamErrorMidStream(t *testing.T) {
	_, _, _, stub := startFeed(t)
	var items []string
	var last error
	for v, err := range stub.Failing(context.Background(), 3) {
		if err != nil {
			last = err
			continue
		}
		items = append(items, v)
	}
	if len(items) != 3 {
		t.Fatalf("got %d items before the error, want 3: %q", len(items), items)
	}
	var re *RangeError
	if !errors.As(last, &re) || re.Value != 3 || codeOf(t, last) != simplerpc.CodeApplication {
		t.Fatalf("stream error %v, want the server's *RangeError as an application error", last)
	}
}

func TestStreamErrorBeforeStart(t *testing.T) {
	_, _, _, stub := startFeed(t)
	seq, err := stub.Open(context.Background(), "")
	if err == nil || seq != nil || !strings.Contains(err.Error(), "no name") {
		t.Fatalf("Open(\"\") = %v, %v; want the method's error before any item", seq != nil, err)
	}
	seq, err = stub.Open(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 1 || got[0] != "opened x" {
		t.Fatalf("items %q", got)
	}
	for _, err := range seq {
		if err == nil {
			t.Fatal("a stream's iterator ranged twice yielded an item")
		}
	}
}

func TestStreamClientUpload(t *testing.T) {
	_, _, _, stub := startFeed(t)
	chunks := func(yield func([]byte, error) bool) {
		for i := 0; i < 100; i++ {
			if !yield(bytes.Repeat([]byte{'x'}, 10000), nil) {
				return
			}
		}
	}
	msg, total, err := stub.Upload(context.Background(), "big", chunks)
	if err != nil || msg != "big: 100 chunks" || total != 1_000_000 {
		t.Fatalf("Upload = %q, %d, %v", msg, total, err)
	}
	// An error of the caller's iterator ends the call with it.
	boom := errors.New("disk failed")
	failing := func(yield func([]byte, error) bool) {
		if yield([]byte("a"), nil) {
			yield(nil, boom)
		}
	}
	if _, _, err := stub.Upload(context.Background(), "x", failing); !errors.Is(err, boom) {
		t.Fatalf("Upload with a failing iterator: %v, want %v", err, boom)
	}
}

func TestStreamBidi(t *testing.T) {
	_, _, _, stub := startFeed(t)
	in := func(yield func(string, error) bool) {
		for _, m := range []string{"a", "bc", "def"} {
			if !yield(m, nil) {
				return
			}
		}
	}
	var got []string
	for v, err := range stub.Talk(context.Background(), in) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if strings.Join(got, ",") != "A,BC,DEF" {
		t.Fatalf("Talk = %q", got)
	}
}

// A consumer that stops reading holds the producer to the window, and
// the connection keeps serving other calls meanwhile.
func TestStreamFlowControl(t *testing.T) {
	f, _, c, stub := startFeed(t)
	const size = 4 << 10
	next, stop := iter.Pull(stub.Chunks(context.Background(), 100_000, size))
	defer stop()
	for i := 0; i < 10; i++ {
		if _, ok := next(); !ok {
			t.Fatal("stream ended early")
		}
	}
	// The producer runs ahead by at most what the windows hold: the
	// server's (256 KiB in flight) and the client's queue (as much), plus
	// an item each way.
	bound := int64(10 + 2*(256<<10)/size + 4)
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if p := f.produced.Load(); p > bound {
			t.Fatalf("the producer ran %d items ahead of a stopped consumer, bound %d", p, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var sum int
	callCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Call(callCtx, "Calc.Add", []any{2, 3}, &sum); err != nil || sum != 5 {
		t.Fatalf("a call beside a stalled stream: %d, %v", sum, err)
	}
	if _, ok := next(); !ok {
		t.Fatal("stream ended after the stall")
	}
}

// Streams carry more than one message may: 4 MiB each way through a
// server whose message limit is 64 KiB.
func TestStreamLargeData(t *testing.T) {
	_, _, _, stub := startFeed(t, simplerpc.WithMaxMessageSize(64<<10))
	var n int
	for chunk := range stub.Chunks(context.Background(), 128, 32<<10) {
		if len(chunk) != 32<<10 || chunk[0] != byte(n) {
			t.Fatalf("chunk %d: %d bytes starting %d", n, len(chunk), chunk[0])
		}
		n++
	}
	if n != 128 {
		t.Fatalf("got %d chunks, want 128", n)
	}
	chunks := func(yield func([]byte, error) bool) {
		for i := 0; i < 128; i++ {
			if !yield(make([]byte, 32<<10), nil) {
				return
			}
		}
	}
	if _, total, err := stub.Upload(context.Background(), "big", chunks); err != nil || total != 4<<20 {
		t.Fatalf("Upload = %d, %v", total, err)
	}
}

func TestStreamByName(t *testing.T) {
	_, _, c, _ := startFeed(t)
	var got []int
	for v, err := range simplerpc.Stream[int](context.Background(), c, "Feed.Count", 3) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if fmt.Sprint(got) != "[0 1 2]" {
		t.Fatalf("Stream = %v", got)
	}
	s, err := c.OpenStream(context.Background(), "Feed.Upload", "named")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := s.Send([]byte("abc")); err != nil {
			t.Fatal(err)
		}
	}
	var msg string
	var total int64
	if err := s.Finish(&msg, &total); err != nil || msg != "named: 3 chunks" || total != 9 {
		t.Fatalf("Finish = %q, %d, %v", msg, total, err)
	}
	s, err = c.OpenStream(context.Background(), "Feed.Talk")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Send("hi"); err != nil {
		t.Fatal(err)
	}
	var echo string
	if err := s.Recv(&echo); err != nil || echo != "HI" {
		t.Fatalf("Recv = %q, %v", echo, err)
	}
	_ = s.CloseSend()
	if err := s.Recv(&echo); err != io.EOF {
		t.Fatalf("Recv after CloseSend = %v, want io.EOF", err)
	}
}

func TestStreamShapeMismatch(t *testing.T) {
	_, ts, c, _ := startFeed(t)
	err := c.Call(context.Background(), "Feed.Count", []any{3})
	if codeOf(t, err) != simplerpc.CodeInvalidArgument || !strings.Contains(err.Error(), "streams") {
		t.Fatalf("a plain call of a stream method: %v", err)
	}
	s, err := c.OpenStream(context.Background(), "Calc.Add", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.Recv(&v); codeOf(t, err) != simplerpc.CodeInvalidArgument || !strings.Contains(err.Error(), "does not stream") {
		t.Fatalf("a stream of a plain method: %v", err)
	}
	s.Close()
	hc := httpClient(t)
	r := rpc(t, hc, "http://"+ts.addr, call("Feed.Count", "[3]", 1))
	wantError(t, "JSON-RPC call of a stream method", r, -32602, "native protocol")
}

func TestStreamContractCheck(t *testing.T) {
	_, _, c, _ := startFeed(t)
	var wrong struct {
		Count  func(ctx context.Context, n int) iter.Seq2[string, error] // items are ints
		Upload func(ctx context.Context, name string) (string, int64, error)
	}
	err := c.Bind("Feed", &wrong)
	if err == nil || !strings.Contains(err.Error(), "stream items received") || !strings.Contains(err.Error(), "declare its iterators") {
		t.Fatalf("Bind of mismatched stream stubs: %v", err)
	}
	d, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, m := range d.Service("Feed").Methods {
		if m.Stream != nil {
			kinds[m.Name] = m.Stream.Kind
		}
	}
	if kinds["Feed.Count"] != "server" || kinds["Feed.Upload"] != "client" || kinds["Feed.Talk"] != "bidi" {
		t.Fatalf("described stream kinds %v", kinds)
	}
}

// feedThroughProxy serves a Feed behind a fault proxy and binds a stub
// through it.
func feedThroughProxy(t *testing.T, opts ...any) (*Feed, *faultproxy.Proxy, *feedStub) {
	t.Helper()
	var sopts []simplerpc.ServerOption
	var copts []simplerpc.ClientOption
	for _, o := range opts { // an Option goes to both sides
		if so, ok := o.(simplerpc.ServerOption); ok {
			sopts = append(sopts, so)
		}
		if co, ok := o.(simplerpc.ClientOption); ok {
			copts = append(copts, co)
		}
	}
	ts := startServer(t, sopts...)
	f := &Feed{stopped: make(chan error, 1)}
	if err := ts.srv.Register("Feed", f); err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.New(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	var stub feedStub
	if err := dial(t, proxy.Addr(), copts...).Bind("Feed", &stub); err != nil {
		t.Fatal(err)
	}
	return f, proxy, &stub
}

// Without sessions a stream ends with its connection.
func TestStreamEndsWithItsConnection(t *testing.T) {
	f, proxy, stub := feedThroughProxy(t, simplerpc.WithResumableSessions(false))
	var last error
	n := 0
	for _, err := range stub.Count(context.Background(), -1) {
		if err != nil {
			last = err
			break
		}
		if n++; n == 100 {
			proxy.Reset()
		}
	}
	if c := codeOf(t, last); c != simplerpc.CodeConnectionLost {
		t.Fatalf("stream through a broken connection ended with %v (%s), want connection_lost", last, c)
	}
	f.waitStopped(t, "the server's stream outlived its connection")
}

// With sessions a stream goes on over the connection that resumes the
// session: every item arrives once, in order, through repeated resets,
// and the method runs once.
func TestStreamResumesAcrossReconnects(t *testing.T) {
	f, proxy, stub := feedThroughProxy(t)
	const total = 20000
	want := 0
	for v, err := range stub.Count(context.Background(), total) {
		if err != nil {
			t.Fatalf("after %d items: %v", want, err)
		}
		if v != want {
			t.Fatalf("item %d is %d: lost or repeated items", want, v)
		}
		if want++; want%2500 == 0 {
			resetOnceConnected(t, proxy, want)
		}
	}
	if want != total {
		t.Fatalf("got %d items, want %d", want, total)
	}
	if p := f.produced.Load(); p != total {
		t.Fatalf("the method produced %d items, want %d (run once)", p, total)
	}
}

// resetOnceConnected resets the proxy's connections once the client has
// one again: the items already in the client's window outrun its redial
// after the previous reset.
func resetOnceConnected(t *testing.T, proxy *faultproxy.Proxy, items int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for proxy.Conns() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after %d items: the client did not reconnect within 5s", items)
		}
		time.Sleep(100 * time.Microsecond)
	}
	if proxy.Reset() == 0 {
		t.Fatalf("after %d items: no connection to reset", items)
	}
}

// Shutdown lets a stream finish, and cancels one still running when its
// context ends.
func TestStreamShutdown(t *testing.T) {
	f, ts, _, stub := startFeed(t)
	next, stop := iter.Pull2(stub.Count(context.Background(), -1))
	defer stop()
	if _, err, ok := next(); !ok || err != nil {
		t.Fatalf("first item: %v, %v", ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.srv.Shutdown(ctx) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a stream running", err)
	default:
	}
	var last error
	for {
		_, err, ok := next()
		if !ok {
			break
		}
		if err != nil {
			last = err
		}
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want its context's deadline", err)
	}
	if c := codeOf(t, last); c != simplerpc.CodeUnavailable || !strings.Contains(last.Error(), "shut down") {
		t.Fatalf("a stream cut by Shutdown ended with %v (%s), want unavailable", last, c)
	}
	f.waitStopped(t, "the server's stream outlived Close")
}

// An error of the caller's input iterator ends a bidi stream with it, in
// a stub and by name.
func TestStreamBidiInputError(t *testing.T) {
	_, _, c, stub := startFeed(t)
	boom := errors.New("input failed")
	in := func(yield func(string, error) bool) {
		if yield("a", nil) {
			time.Sleep(20 * time.Millisecond)
			yield("", boom)
		}
	}
	for range 20 {
		var last error
		for _, err := range stub.Talk(context.Background(), in) {
			last = err
		}
		if !errors.Is(last, boom) {
			t.Fatalf("stub: stream ended with %v, want %v", last, boom)
		}
		last = nil
		for _, err := range simplerpc.StreamWith[string](context.Background(), c, "Feed.Talk", iter.Seq2[string, error](in)) {
			last = err
		}
		if !errors.Is(last, boom) {
			t.Fatalf("StreamWith: stream ended with %v, want %v", last, boom)
		}
	}
}

// A client stream resumes too: the server receives every chunk once
// through resets made while the chunks are sent.
func TestStreamResumesClientStream(t *testing.T) {
	_, proxy, stub := feedThroughProxy(t)
	const n, size = 3000, 1000
	chunks := func(yield func([]byte, error) bool) {
		for i := 0; i < n; i++ {
			if i > 0 && i%600 == 0 {
				proxy.Reset()
			}
			if !yield(bytes.Repeat([]byte{byte(i)}, size), nil) {
				return
			}
		}
	}
	msg, total, err := stub.Upload(context.Background(), "resumed", chunks)
	if err != nil || msg != fmt.Sprintf("resumed: %d chunks", n) || total != n*size {
		t.Fatalf("Upload through resets = %q, %d, %v; want %d chunks, %d bytes", msg, total, err, n, n*size)
	}
}

// A bidi stream resumes both ways at once, and through a silent link
// that the keepalive finds dead.
func TestStreamResumesBidi(t *testing.T) {
	_, proxy, stub := feedThroughProxy(t, simplerpc.WithKeepalive(50*time.Millisecond, 100*time.Millisecond))
	const n = 4000
	in := func(yield func(string, error) bool) {
		for i := 0; i < n; i++ {
			if !yield(fmt.Sprintf("m%d", i), nil) {
				return
			}
		}
	}
	got := 0
	for v, err := range stub.Talk(context.Background(), in) {
		if err != nil {
			t.Fatalf("after %d answers: %v", got, err)
		}
		if want := fmt.Sprintf("M%d", got); v != want {
			t.Fatalf("answer %d is %q, want %q: lost or repeated items", got, v, want)
		}
		got++
		switch got {
		case 1000, 3000:
			proxy.Reset()
		case 2000:
			proxy.Silence()
		}
	}
	if got != n {
		t.Fatalf("got %d answers, want %d", got, n)
	}
}

// Interceptors see streams: a server interceptor runs around the whole
// stream, with its metadata, and can refuse it; a client interceptor adds
// metadata to the stream's call.
func TestStreamInterceptors(t *testing.T) {
	var seen atomic.Int64
	auth := func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			if !info.Stream {
				return next(ctx, info)
			}
			if info.Metadata.Get("authorization") != "Bearer ok" {
				return &simplerpc.Error{Code: simplerpc.CodeUnauthenticated, Message: "no token"}
			}
			err := next(ctx, info)
			seen.Add(1) // after the whole stream
			return err
		}
	}
	ts := startServer(t, simplerpc.WithInterceptor(auth))
	if err := ts.srv.Register("Feed", &Feed{stopped: make(chan error, 1)}); err != nil {
		t.Fatal(err)
	}
	var bare feedStub
	if err := dial(t, ts.addr).Bind("Feed", &bare); err != nil {
		t.Fatal(err)
	}
	var last error
	for _, err := range bare.Count(context.Background(), 3) {
		last = err
	}
	if codeOf(t, last) != simplerpc.CodeUnauthenticated {
		t.Fatalf("a stream without a token: %v", last)
	}
	token := func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			info.Metadata.Set("authorization", "Bearer ok")
			return next(ctx, info)
		}
	}
	var stub feedStub
	if err := dial(t, ts.addr, simplerpc.WithInterceptor(token)).Bind("Feed", &stub); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range stub.Count(context.Background(), 100) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 100 || seen.Load() != 1 {
		t.Fatalf("with a token: %d items, the interceptor saw %d streams end", n, seen.Load())
	}
}

// A server of the version before streams (its welcome grants none) still
// serves calls to a client that asks for them, and the client fails a
// stream before sending anything, with CodeNotFound.
func TestStreamOlderServer(t *testing.T) {
	l := listen(t)
	defer l.Close()
	served := make(chan error, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		head, err := br.Peek(wire.HelloPrefixSize)
		if err != nil {
			served <- err
			return
		}
		h, n, err := wire.ParseHelloPrefix(head)
		if err != nil {
			served <- err
			return
		}
		if h.Flags&wire.HelloStreams == 0 {
			served <- errors.New("the hello did not ask for streams")
			return
		}
		if _, err := br.Discard(wire.HelloPrefixSize + n); err != nil {
			served <- err
			return
		}
		if _, err := nc.Write(wire.AppendWelcome(nil, wire.Welcome{Version: wire.Version, MaxBody: 1 << 20})); err != nil {
			served <- err
			return
		}
		hb := make([]byte, wire.HeaderSize)
		if _, err := io.ReadFull(br, hb); err != nil {
			served <- err
			return
		}
		hdr, err := wire.ParseHeader(hb, 1<<20)
		if err != nil || hdr.Kind != wire.KindCall || hdr.Flags&wire.FlagStream != 0 {
			served <- fmt.Errorf("first frame %+v, %v; want a plain call", hdr, err)
			return
		}
		if _, err := br.Discard(int(hdr.Size)); err != nil {
			served <- err
			return
		}
		reply := []byte{0x81, 0x05} // CBOR [5]
		frame := append(wire.AppendHeader(nil, wire.Header{Size: uint32(len(reply)), Kind: wire.KindReply, ID: hdr.ID}), reply...)
		_, err = nc.Write(frame)
		served <- err
		_, _ = io.Copy(io.Discard, br) // until the client hangs up
	}()
	c := dial(t, l.Addr().String(), simplerpc.WithResumableSessions(false))
	var sum int
	if err := c.Call(context.Background(), "Calc.Add", []any{2, 3}, &sum); err != nil || sum != 5 {
		t.Fatalf("a call to an older server: %d, %v", sum, err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	_, err := c.OpenStream(context.Background(), "Feed.Count", 3)
	if codeOf(t, err) != simplerpc.CodeNotFound || !strings.Contains(err.Error(), "takes no streams") {
		t.Fatalf("a stream to an older server: %v", err)
	}
}

// Streams resume through links that drop or stall their bytes, each way,
// until the keepalive finds the connection dead: every item arrives once,
// in order, and the method runs once.
func TestStreamResumesThroughDropsAndStalls(t *testing.T) {
	keep := simplerpc.WithKeepalive(40*time.Millisecond, 120*time.Millisecond)
	for _, tc := range []struct {
		name  string
		fault func(p *faultproxy.Proxy)
		heal  func(p *faultproxy.Proxy)
	}{
		{"drop downstream", func(p *faultproxy.Proxy) { p.SetDrop(faultproxy.Downstream, true) }, func(p *faultproxy.Proxy) { p.SetDrop(faultproxy.Downstream, false) }},
		{"drop upstream", func(p *faultproxy.Proxy) { p.SetDrop(faultproxy.Upstream, true) }, func(p *faultproxy.Proxy) { p.SetDrop(faultproxy.Upstream, false) }},
		{"stall both", func(p *faultproxy.Proxy) { p.Stall(faultproxy.Both) }, func(p *faultproxy.Proxy) { p.Resume(faultproxy.Both) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, keep)
			f := &Feed{stopped: make(chan error, 1)}
			if err := ts.srv.Register("Feed", f); err != nil {
				t.Fatal(err)
			}
			proxy, err := faultproxy.New(ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			var dials atomic.Int64
			counted := simplerpc.WithDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				dials.Add(1)
				var d net.Dialer
				return d.DialContext(ctx, "tcp", addr)
			})
			patient := simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 40, InitialBackoff: 2 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
			var stub feedStub
			if err := dial(t, proxy.Addr(), keep, patient, counted).Bind("Feed", &stub); err != nil {
				t.Fatal(err)
			}
			// Bidi: the fault hits items both ways at once.
			const n = 3000
			in := func(yield func(string, error) bool) {
				for i := 0; i < n; i++ {
					if !yield(fmt.Sprint(i), nil) {
						return
					}
				}
			}
			got := 0
			for v, err := range stub.Talk(context.Background(), in) {
				if err != nil {
					t.Fatalf("after %d items: %v", got, err)
				}
				if v != fmt.Sprint(got) {
					t.Fatalf("item %d is %q: lost or repeated items", got, v)
				}
				if got++; got == 1000 {
					tc.fault(proxy)
					time.Sleep(400 * time.Millisecond) // the keepalive gives up on the connection
					tc.heal(proxy)
				}
			}
			if got != n {
				t.Fatalf("got %d items, want %d", got, n)
			}
			if dials.Load() < 2 {
				t.Fatalf("%d connections: the fault broke none", dials.Load())
			}
			t.Logf("%s: %d items sent each way, %d received, 0 lost, 0 repeated, over %d connections", tc.name, n, got, dials.Load())
		})
	}
}

// badStreams has methods whose iterators are where a stream cannot be.
type badStreams struct{}

func (badStreams) Middle(in iter.Seq[int], n int) int             { return n }
func (badStreams) TwoResults() (iter.Seq[int], int)               { return nil, 0 }
func (badStreams) Chan(c chan int) int                            { return 0 }
func (badStreams) Items(n int) iter.Seq2[func(), error]           { return nil }
func (badStreams) Good(n int) iter.Seq2[int, error]               { return nil }
func (badStreams) Take(ctx context.Context, in iter.Seq[int]) int { return 0 }

// Register exposes iterators only where a stream can be, and says why
// for the others, naming the method.
func TestStreamRegisterRules(t *testing.T) {
	var logs syncBuffer
	srv := simplerpc.NewServer(simplerpcLogger(&logs))
	if err := srv.Register("Bad", badStreams{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`method=Bad.Middle reason="parameter 1 (iter.Seq[int]): func values cannot be encoded"`,
		`method=Bad.TwoResults reason="result 1 (iter.Seq[int]) is a stream: it may be followed only by an error result"`,
		`method=Bad.Chan reason="parameter 1 (chan int): chan values cannot be encoded"`,
		`method=Bad.Items reason="result 1 (iter.Seq2[func(),error]): items of func(): func values cannot be encoded"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %q in the log:\n%s", want, logs.String())
		}
	}
	for _, good := range []string{"Bad.Good", "Bad.Take"} {
		if strings.Contains(logs.String(), "method="+good+" ") {
			t.Errorf("%s was left out:\n%s", good, logs.String())
		}
	}
}

// Points streams structs: items of a type the server ranges over by
// reflection.
func (f *Feed) Points(n int) iter.Seq[Point] {
	return func(yield func(Point) bool) {
		for i := range n {
			if !yield(Point{X: i, Y: -i, Label: fmt.Sprint("p", i)}) {
				return
			}
		}
	}
}

func TestStreamStructItems(t *testing.T) {
	_, _, c, _ := startFeed(t)
	i := 0
	for p, err := range simplerpc.Stream[Point](context.Background(), c, "Feed.Points", 500) {
		if err != nil || p.X != i || p.Y != -i || p.Label != fmt.Sprint("p", i) {
			t.Fatalf("item %d: %+v, %v", i, p, err)
		}
		i++
	}
	if i != 500 {
		t.Fatalf("%d items, want 500", i)
	}
}
