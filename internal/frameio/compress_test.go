package frameio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// kindFrame returns a frame of kind k with body.
func kindFrame(k wire.Kind, id uint64, body []byte) []byte {
	return append(wire.AppendHeader(nil, wire.Header{Size: uint32(len(body)), Kind: k, ID: id}), body...)
}

func noise(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{9})
	_, _ = r.Read(b)
	return b
}

// TestCompressedWriterToReader writes frames of every kind and size one
// at a time, solo and in one batch, through a compressing Writer, and
// reads them back through a decompressing Reader: every body comes back
// as it was, and the compressible ones travel smaller.
func TestCompressedWriterToReader(t *testing.T) {
	text := []byte(strings.Repeat(`{"id":1,"name":"someone"},`, 4000))
	type sent struct {
		kind wire.Kind
		body []byte
	}
	frames := []sent{
		{wire.KindCall, text[:100]},       // under the threshold
		{wire.KindCall, text[:5000]},      // compressed
		{wire.KindReply, text},            // compressed, larger than the reader's buffer
		{wire.KindReply, noise(20000)},    // does not shrink: plain
		{wire.KindItem, text[:3000]},      // compressed
		{wire.KindGoAway, text[:4000]},    // a kind never compressed
		{wire.KindItem, nil},              // empty
		{wire.KindReply, text[100:20100]}, // compressed
	}
	var all []byte
	for i, f := range frames {
		all = append(all, kindFrame(f.kind, uint64(i), f.body)...)
	}
	a, b := tcpPair(t)
	var wired atomic.Int64
	counted := &countConn{Conn: a, n: &wired}
	w := NewWriter(counted, time.Second, 0, nil)
	w.Compress(1024)
	var acct countBudget
	r := NewReader(b, nil, 1<<20)
	r.Decompress(&acct)
	r.UseRaw(b, func() {})

	read := func() {
		for i, f := range frames {
			h, body, err := r.Next()
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if h.Kind != f.kind || h.ID != uint64(i) || !bytes.Equal(body, f.body) || int(h.Size) != len(f.body) || h.Flags != 0 {
				t.Fatalf("frame %d: %+v with %d bytes, want a %s of %d", i, h, len(body), f.kind, len(f.body))
			}
		}
		r.Release()
		if n := acct.Load(); n != 0 {
			t.Errorf("%d bytes of decoded bodies still counted after Release", n)
		}
	}
	ctx := context.Background()
	for i, f := range frames {
		if err := w.WriteSolo(ctx, kindFrame(f.kind, uint64(i), f.body)); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if n := wired.Load(); n > int64(len(all))/2 {
		t.Errorf("%d bytes of frames went as %d", len(all), n)
	}
	if err := w.Write(ctx, all); err != nil { // the way a session sends frames again
		t.Fatal(err)
	}
	read()
	before := wired.Load()
	src := &batchSource{} // the way a stream's batched items leave
	src.add(all)
	w.Schedule(src)
	read()
	if n := wired.Load() - before; n > int64(len(all))/2 {
		t.Errorf("%d bytes of frames taken from a source went as %d", len(all), n)
	}
	w.Close()
	<-w.Done()
}

// countConn counts the bytes written to it.
type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func TestCompressedReaderRefuses(t *testing.T) {
	const limit = 64 << 10
	big := wire.AppendCompressed(nil, make([]byte, limit+1))
	for _, tc := range []struct {
		name  string
		frame []byte
		want  error
	}{
		{"past the limit", compressedFrame(wire.KindCall, big), wire.ErrTooLarge},
		{"garbage", compressedFrame(wire.KindReply, []byte("not zstd")), wire.ErrCompressed},
		{"empty", compressedFrame(wire.KindItem, nil), wire.ErrCompressed},
		{"on a ping", compressedFrame(wire.KindPing, nil), wire.ErrReserved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tc.frame), nil, limit)
			r.Decompress(nil)
			if _, _, err := r.Next(); !errors.Is(err, tc.want) {
				t.Fatalf("Next: %v, want %v", err, tc.want)
			}
		})
	}
	// Without Decompress the flag is reserved on every kind.
	r := NewReader(bytes.NewReader(compressedFrame(wire.KindCall, wire.AppendCompressed(nil, []byte("hello hello hello")))), nil, limit)
	if _, _, err := r.Next(); !errors.Is(err, wire.ErrReserved) {
		t.Fatalf("a compressed frame without Decompress: %v", err)
	}
}

// compressedFrame returns a frame of kind k with FlagCompressed and body.
func compressedFrame(k wire.Kind, body []byte) []byte {
	h := wire.Header{Size: uint32(len(body)), Kind: k, Flags: wire.FlagCompressed, ID: 1}
	return append(wire.AppendHeader(nil, h), body...)
}

// FuzzReaderCompressed feeds a decompressing Reader an arbitrary stream:
// it never returns a body past its limit, and every body it returns for
// a frame sent plain is that frame's.
func FuzzReaderCompressed(f *testing.F) {
	text := []byte(strings.Repeat("all work and no play ", 200))
	z, _ := wire.AppendCompressedFrame(nil, kindFrame(wire.KindReply, 1, text))
	f.Add(append(z, kindFrame(wire.KindCall, 2, []byte("plain"))...), []byte{3, 7})
	f.Add(compressedFrame(wire.KindCall, wire.AppendCompressed(nil, make([]byte, 1<<20))), []byte{0})
	f.Add(compressedFrame(wire.KindItem, []byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05}), []byte{1})
	f.Fuzz(func(t *testing.T, data, chunks []byte) {
		const maxBody = 64 << 10
		sizes := make([]int, len(chunks))
		for i, c := range chunks {
			sizes[i] = int(c)*97 + 1
		}
		var acct countBudget
		r := NewReader(&chunkReader{data: data, sizes: sizes}, nil, maxBody)
		r.Decompress(&acct)
		rest := data
		for {
			h, body, err := r.Next()
			if err != nil {
				break
			}
			if len(body) > maxBody || int(h.Size) != len(body) || h.Flags&wire.FlagCompressed != 0 {
				t.Fatalf("frame %+v with a %d-byte body", h, len(body))
			}
			if len(rest) < wire.HeaderSize {
				t.Fatal("a frame past the end of the stream")
			}
			n := wire.HeaderSize + int(binary.BigEndian.Uint32(rest))
			if rest[5]&wire.FlagCompressed == 0 && !bytes.Equal(body, rest[wire.HeaderSize:n]) {
				t.Fatal("a plain frame's body changed")
			}
			rest = rest[n:]
		}
		r.Release()
		if acct.Load() != 0 {
			t.Fatalf("%d bytes still counted", acct.Load())
		}
	})
}

// countBudget is a Budget that counts what is taken and always has room.
type countBudget struct{ atomic.Int64 }

func (c *countBudget) Take(n int64) error { c.Add(n); return nil }
func (c *countBudget) Give(n int64)       { c.Add(-n) }

// refusingBudget is a Budget with no room: Take fails.
type refusingBudget struct{ asked atomic.Int64 }

var errNoRoom = errors.New("no room")

func (b *refusingBudget) Take(n int64) error { b.asked.Add(n); return errNoRoom }
func (b *refusingBudget) Give(n int64)       { panic("Give without a Take") }

// TestCompressedBudgetBeforeDecoding checks that the buffer of a decoded
// body is asked of the budget, at its pooled size, before anything is
// decoded, that a refusal refuses the frame, and that a body larger than
// MaxPooledBody is never handed out again once released.
func TestCompressedBudgetBeforeDecoding(t *testing.T) {
	var b refusingBudget
	r := NewReader(bytes.NewReader(compressedFrame(wire.KindCall, wire.AppendCompressed(nil, make([]byte, 5000)))), nil, 1<<20)
	r.Decompress(&b)
	if _, _, err := r.Next(); !errors.Is(err, errNoRoom) {
		t.Fatalf("Next with no room in the budget: %v, want %v", err, errNoRoom)
	}
	if got := b.asked.Load(); got != 8192 {
		t.Errorf("asked the budget for %d bytes, want 8192 (the pooled buffer of a 5000-byte body)", got)
	}

	const n = MaxPooledBody + 1
	var frames []byte
	for range 2 {
		frames = append(frames, compressedFrame(wire.KindCall, wire.AppendCompressed(nil, make([]byte, n)))...)
	}
	var acct countBudget
	r = NewReader(bytes.NewReader(frames), nil, 2*n)
	r.Decompress(&acct)
	_, first, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if acct.Load() != n {
		t.Errorf("%d bytes counted for a decoded body of %d", acct.Load(), n)
	}
	_, second, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if &first[0] == &second[0] {
		t.Error("a body larger than MaxPooledBody was decoded into the buffer of the one before: a caller may keep it")
	}
	r.Release()
	if acct.Load() != 0 {
		t.Errorf("%d bytes still counted after Release", acct.Load())
	}
}
