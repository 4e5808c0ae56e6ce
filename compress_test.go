package simplerpc_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// countingConn counts the bytes a client writes and reads.
type countingConn struct {
	net.Conn
	wrote, read *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.wrote.Add(int64(n))
	return n, err
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

// countingDialer returns a dialer whose connections count into wrote and
// read.
func countingDialer(wrote, read *atomic.Int64) simplerpc.ClientOption {
	return simplerpc.WithDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: nc, wrote: wrote, read: read}, nil
	})
}

// textPayload returns n bytes of JSON-like text, which compresses well.
func textPayload(n int) []byte {
	r := rand.New(rand.NewPCG(7, 8))
	var b []byte
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, `{"id":%d,"name":"user-%d","active":%t,"score":%.3f},`, i, r.IntN(1e5), r.IntN(2) == 0, r.Float64())
	}
	return b[:n]
}

// randomPayload returns n random bytes, which do not compress.
func randomPayload(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{3})
	_, _ = r.Read(b)
	return b
}

// echo calls Calc.Echo with b and checks the reply is b.
func echo(t *testing.T, c *simplerpc.Client, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []byte
	if err := c.Call(ctx, "Calc.Echo", []any{b}, &out); err != nil {
		t.Fatalf("echo of %d bytes: %v", len(b), err)
	}
	if !bytes.Equal(out, b) {
		t.Fatalf("echo of %d bytes returned %d other bytes", len(b), len(out))
	}
}

func TestCompression_ShrinksWhatCompresses(t *testing.T) {
	for _, name := range codecs {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, simplerpc.WithCompression(simplerpc.DefaultCompressionMinSize))
			var wrote, read atomic.Int64
			c := dial(t, ts.addr, simplerpc.WithCodec(name), countingDialer(&wrote, &read),
				simplerpc.WithCompression(simplerpc.DefaultCompressionMinSize))

			text := textPayload(1 << 20)
			w0, r0 := wrote.Load(), read.Load()
			echo(t, c, text)
			// JSON escapes the bytes as base64, CBOR carries them as
			// they are: either way zstd makes them several times smaller.
			if w, r := wrote.Load()-w0, read.Load()-r0; w > int64(len(text))/3 || r > int64(len(text))/3 {
				t.Errorf("1 MiB of text: the client wrote %d bytes and read %d, want each under a third of it", w, r)
			}

			random := randomPayload(256 << 10)
			w0, r0 = wrote.Load(), read.Load()
			echo(t, c, random)
			if w, r := wrote.Load()-w0, read.Load()-r0; w < int64(len(random)) || r < int64(len(random)) {
				t.Errorf("256 KiB of random bytes: wrote %d, read %d: random data went compressed", w, r)
			}

			var sum int
			if err := c.Call(context.Background(), "Calc.Add", []any{2, 3}, &sum); err != nil || sum != 5 {
				t.Fatalf("Add = %d, %v", sum, err)
			}
		})
	}
}

func TestCompression_NeedsBothSides(t *testing.T) {
	for _, tc := range []struct {
		name           string
		server, client int
	}{
		{"server only", 1024, 0},
		{"client only", 0, 1024},
		{"neither", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, simplerpc.WithCompression(tc.server))
			var wrote, read atomic.Int64
			c := dial(t, ts.addr, countingDialer(&wrote, &read), simplerpc.WithCompression(tc.client))
			text := textPayload(256 << 10)
			echo(t, c, text)
			if w, r := wrote.Load(), read.Load(); w < int64(len(text)) || r < int64(len(text)) {
				t.Errorf("wrote %d, read %d bytes for a %d-byte echo: compressed without both sides asking", w, r, len(text))
			}
		})
	}
}

func TestCompression_BelowThresholdSentPlain(t *testing.T) {
	ts := startServer(t, simplerpc.WithCompression(64<<10))
	var wrote, read atomic.Int64
	c := dial(t, ts.addr, countingDialer(&wrote, &read), simplerpc.WithCompression(64<<10))
	text := textPayload(32 << 10)
	echo(t, c, text)
	if w := wrote.Load(); w < int64(len(text)) {
		t.Errorf("wrote %d bytes for a %d-byte call under the 64 KiB threshold", w, len(text))
	}
}

// compressedCall returns a compressed call body of Calc.Echo with b.
func compressedCall(t *testing.T, w *wireConn, b []byte) ([]byte, uint8) {
	t.Helper()
	body, flags := w.callBody("Calc.Echo", 0, nil, b)
	return wire.AppendCompressed(nil, body), flags | wire.FlagCompressed
}

// openCompressed opens a hand-spoken CBOR connection that negotiates
// compression.
func openCompressed(t *testing.T, addr string) *wireConn {
	t.Helper()
	w := dialWire(t, addr)
	wel := w.hello(wire.Hello{Version: wire.Version, Codec: "cbor", Flags: wire.HelloCompress})
	if wel.Status != wire.StatusOK || wel.Flags&wire.WelcomeCompress == 0 {
		t.Fatalf("welcome status %d flags %#x: compression not granted", wel.Status, wel.Flags)
	}
	w.codec = codecByName(t, "cbor")
	return w
}

func TestProtocol_Compression_HandSpoken(t *testing.T) {
	ts := startServer(t, simplerpc.WithCompression(1))
	w := openCompressed(t, ts.addr)
	text := textPayload(64 << 10)
	body, flags := compressedCall(t, w, text)
	w.frame(wire.KindCall, flags, 1, body)
	hb := make([]byte, wire.HeaderSize)
	if _, err := io.ReadFull(w.nc, hb); err != nil {
		t.Fatal(err)
	}
	h, compressed, err := wire.ParseHeaderCompressed(hb, wire.DefaultMaxBody)
	if err != nil || h.Kind != wire.KindReply || h.ID != 1 {
		t.Fatalf("header %+v, %v: want the reply to call 1", h, err)
	}
	if !compressed {
		t.Fatal("a 64 KiB text reply came back uncompressed")
	}
	f := rawFrame{Header: h, body: make([]byte, h.Size)}
	if _, err := io.ReadFull(w.nc, f.body); err != nil {
		t.Fatal(err)
	}
	n, err := wire.DecompressedSize(f.body, wire.DefaultMaxBody)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := wire.Decompress(make([]byte, n), f.body, n)
	if err != nil {
		t.Fatal(err)
	}
	f.body = plain
	var out []byte
	w.results(f, &out)
	if !bytes.Equal(out, text) {
		t.Fatal("echo through compressed frames differs")
	}
	w.expectAdd(2) // small frames stay plain
}

// bombBody returns the body of a call of Calc.Echo with n zero bytes,
// the stuff of decompression bombs.
func bombBody(t *testing.T, w *wireConn, n int) []byte {
	t.Helper()
	body, _ := w.callBody("Calc.Echo", 0, nil, make([]byte, n))
	return body
}

func TestProtocol_Compression_BombRefused(t *testing.T) {
	const limit = 1 << 20
	logs := &syncBuffer{}
	ts := startServer(t, simplerpc.WithCompression(1), simplerpc.WithMaxMessageSize(limit), simplerpcLogger(logs))
	good := dial(t, ts.addr, simplerpc.WithCompression(1))
	text := textPayload(256 << 10)
	echo(t, good, text)

	streaming := func(b []byte) []byte {
		// A streaming encoder's frame does not declare its size.
		var out bytes.Buffer
		e, err := zstd.NewWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = e.Write(b)
		_ = e.Close()
		return out.Bytes()
	}
	for _, tc := range []struct {
		name   string
		body   func(w *wireConn) []byte
		reason string
	}{
		// 4 MiB of zeros compress to a few hundred bytes, far under
		// the limit on the wire, and declare four times the limit.
		{"declares past the limit", func(w *wireConn) []byte {
			return wire.AppendCompressed(nil, bombBody(t, w, 4<<20))
		}, "bytes decompressed > 1048576 bytes"},
		{"declares no size", func(w *wireConn) []byte {
			return streaming(bombBody(t, w, 2<<20))
		}, "does not declare its content size"},
		{"decodes past what it declares", func(w *wireConn) []byte {
			small := wire.AppendCompressed(nil, bombBody(t, w, 100))
			return append(small, wire.AppendCompressed(nil, make([]byte, 2<<20))...)
		}, "bad compressed body"},
		{"is not zstd", func(w *wireConn) []byte {
			return []byte("this is not a zstd frame at all")
		}, "bad compressed body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body(&wireConn{t: t, codec: codecByName(t, "cbor")})
			w := openCompressed(t, ts.addr)
			if len(body) >= limit {
				t.Fatalf("the bomb is %d bytes on the wire, not under the limit", len(body))
			}
			_, flags := w.callBody("Calc.Echo", 0, nil, []byte{})
			w.frame(wire.KindCall, flags|wire.FlagCompressed, 1, body)
			w.expectClosed()
			waitLog(t, logs, tc.reason)
			if !strings.Contains(logs.String(), "protocol violation") {
				t.Errorf("log does not call it a protocol violation:\n%s", logs.String())
			}
			echo(t, good, text) // the well-behaved client is served on
		})
	}
}

// waitLog waits until the log holds want.
func waitLog(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", want, logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestProtocol_Compression_FlagWithoutNegotiation(t *testing.T) {
	ts := startServer(t, simplerpc.WithCompression(1))
	t.Run("not asked", func(t *testing.T) {
		w := openWire(t, ts.addr, "cbor")
		body, flags := compressedCall(t, w, textPayload(4096))
		w.frame(wire.KindCall, flags, 1, body)
		w.expectClosed()
	})
	t.Run("not granted", func(t *testing.T) {
		off := startServer(t)
		w := dialWire(t, off.addr)
		if wel := w.hello(wire.Hello{Version: wire.Version, Codec: "cbor", Flags: wire.HelloCompress}); wel.Flags&wire.WelcomeCompress != 0 {
			t.Fatal("a server without compression granted it")
		}
		w.codec = codecByName(t, "cbor")
		body, flags := compressedCall(t, w, textPayload(4096))
		w.frame(wire.KindCall, flags, 1, body)
		w.expectClosed()
	})
	t.Run("on a ping", func(t *testing.T) {
		w := openCompressed(t, ts.addr)
		w.frame(wire.KindPing, wire.FlagCompressed, 1, nil)
		w.expectClosed()
	})
}

// TestCompression_ClientRefusesBomb: a server that answers with a reply
// that decompresses past the client's limit fails the call and the
// connection, not the client.
func TestCompression_ClientRefusesBomb(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		w := &wireConn{t: t, nc: nc, codec: codecByName(t, "cbor")}
		hb := make([]byte, wire.HelloPrefixSize)
		if _, err := nc.Read(hb); err != nil {
			served <- err
			return
		}
		h, n, err := wire.ParseHelloPrefix(hb)
		if err != nil || h.Flags&wire.HelloCompress == 0 {
			served <- fmt.Errorf("hello %+v (%v) does not ask for compression", h, err)
			return
		}
		rest := make([]byte, n)
		if _, err := nc.Read(rest); err != nil {
			served <- err
			return
		}
		_, _ = nc.Write(wire.AppendWelcome(nil, wire.Welcome{Version: wire.Version, Flags: wire.WelcomeCompress, MaxBody: wire.DefaultMaxBody}))
		f, err := w.tryNext()
		if err != nil {
			served <- err
			return
		}
		var buf bytes.Buffer
		_ = w.codec.AppendArray(&buf, []any{make([]byte, 8<<20)})
		bomb := wire.AppendCompressed(nil, buf.Bytes())
		w.frame(wire.KindReply, wire.FlagCompressed, f.ID, bomb)
		served <- nil
		_, _ = nc.Read(make([]byte, 1)) // until the client hangs up
	}()
	c := dial(t, ln.Addr().String(), simplerpc.WithCompression(1), simplerpc.WithMaxMessageSize(1<<20),
		simplerpc.WithResumableSessions(false), simplerpc.WithRetry(simplerpc.RetryPolicy{}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []byte
	err := c.Call(ctx, "Calc.Echo", []any{[]byte("x")}, &out)
	if err == nil {
		t.Fatal("a reply that decompresses past the limit was taken")
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestCompression_SmallBodies(t *testing.T) {
	ts := startServer(t, simplerpc.WithCompression(1))
	c := dial(t, ts.addr, simplerpc.WithCompression(1))
	for _, n := range []int{0, 1, 100, 255, 256, 1000, 1025, 70000} {
		echo(t, c, textPayload(n))
		echo(t, c, randomPayload(n))
	}
}

func TestCompression_StreamItems(t *testing.T) {
	ts := startServer(t, simplerpc.WithCompression(1024))
	if err := ts.srv.Register("Words", Words{}); err != nil {
		t.Fatal(err)
	}
	var wrote, read atomic.Int64
	c := dial(t, ts.addr, countingDialer(&wrote, &read), simplerpc.WithCompression(1024))
	var words []string
	total := 0
	for i := range 16 {
		w := string(textPayload(8<<10 + i))
		words = append(words, w)
		total += len(w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Items from the server.
	var got []string
	for w, err := range simplerpc.Stream[string](ctx, c, "Words.Split", strings.Join(words, " ")) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, w)
	}
	if strings.Join(got, " ") != strings.Join(words, " ") {
		t.Fatalf("Split returned %d words, not the %d sent", len(got), len(words))
	}
	if r := read.Load(); r > int64(total)/2 {
		t.Errorf("the client read %d bytes for %d bytes of items", r, total)
	}

	// Items to the server.
	w0 := wrote.Load()
	s, err := c.OpenStream(ctx, "Words.Count")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range words {
		if err := s.Send(w); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := s.Finish(&n); err != nil || n != total {
		t.Fatalf("Count = %d, %v; want %d", n, err, total)
	}
	if w := wrote.Load() - w0; w > int64(total)/2 {
		t.Errorf("the client wrote %d bytes for %d bytes of items", w, total)
	}
}

// TestCompression_SessionResendsKeptReply: a reply kept for a session is
// sent again, compressed, on the connection that resumes the session.
func TestCompression_SessionResendsKeptReply(t *testing.T) {
	ts := startServer(t, simplerpc.WithCompression(1024))
	var runs atomic.Int64
	text := string(textPayload(64 << 10))
	release := make(chan struct{})
	if err := ts.srv.RegisterFunc("big", func() string { runs.Add(1); <-release; return text }); err != nil {
		t.Fatal(err)
	}
	d := &faultyDialer{}
	c := dial(t, ts.addr, simplerpc.WithDialer(d.dial), simplerpc.WithCompression(1024))
	first := d.last()
	var got string
	done := make(chan error, 1)
	go func() { done <- c.Call(context.Background(), "big", nil, &got) }()
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	first.silent.Store(true) // the reply is lost with the connection
	close(release)
	time.Sleep(20 * time.Millisecond)
	first.Close() // ends a read that the silence holds, too
	if err := <-done; err != nil || got != text {
		t.Fatalf("call whose reply was lost: %d bytes, %v", len(got), err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the call ran %d times", n)
	}
	if d.count() < 2 {
		t.Fatal("the client never redialed")
	}
}
