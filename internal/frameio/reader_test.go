package frameio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"testing/iotest"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// chunkReader returns the stream in reads of the sizes it cycles through.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(r.sizes) > 0 {
		n = min(n, r.sizes[r.i%len(r.sizes)])
		r.i++
	}
	n = copy(p, r.data[:min(n, len(r.data))])
	r.data = r.data[n:]
	return n, nil
}

// readerSizes are body sizes around every boundary the Reader has.
var readerSizes = []int{0, 1, 13, 100, smallSize - wire.HeaderSize, smallSize - wire.HeaderSize + 1, smallSize, 4000,
	bigSize - 1, bigSize, bigSize + 1, 70000, maxPooledBody + 1, 3}

func stream(sizes []int) ([]byte, [][]byte) {
	var s []byte
	var bodies [][]byte
	for i, n := range sizes {
		body := bytes.Repeat([]byte{byte(i + 1)}, n)
		if n > 0 {
			body[n-1] = 0xee // a wrong offset shows
		}
		s = append(s, frame(uint64(i), string(body))...)
		bodies = append(bodies, body)
	}
	return s, bodies
}

// expectStream reads frames with ids 0, 1, … and the given bodies from r,
// then the end of the stream.
func expectStream(t *testing.T, r *Reader, bodies [][]byte) {
	t.Helper()
	for i, want := range bodies {
		h, body, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if h.ID != uint64(i) || !bytes.Equal(body, want) {
			t.Fatalf("frame %d: id %d, %d bytes; want %d bytes", i, h.ID, len(body), len(want))
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
}

func TestReaderFramesInAnyChunks(t *testing.T) {
	s, bodies := stream(readerSizes)
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(s) },
		"one-byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(s)) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(s)) },
		"data-err": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(s)) },
		"odd":      func() io.Reader { return &chunkReader{data: s, sizes: []int{7, 600, 3, 20000, 511, 512}} },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			r := NewReader(mk(), nil, 2<<20)
			expectStream(t, r, bodies)
		})
	}
}

func TestReaderPrefix(t *testing.T) {
	s, bodies := stream([]int{10, 2000, 5})
	for _, cut := range []int{0, 5, wire.HeaderSize + 10, 600, len(s)} {
		r := NewReader(bytes.NewReader(s[cut:]), s[:cut], 1<<20)
		for i, want := range bodies {
			if _, body, err := r.Next(); err != nil || !bytes.Equal(body, want) {
				t.Fatalf("prefix of %d, frame %d: %d bytes, %v", cut, i, len(body), err)
			}
		}
	}
	big, bodies := stream([]int{bigSize + 100, 3})
	r := NewReader(bytes.NewReader(nil), big, 1<<20)
	for i, want := range bodies {
		if _, body, err := r.Next(); err != nil || !bytes.Equal(body, want) {
			t.Fatalf("large prefix, frame %d: %d bytes, %v", i, len(body), err)
		}
	}
}

// TestReaderGivesBuffersBack checks that a Reader holds no large buffer
// once it has consumed everything it read, so an idle connection keeps
// only the small array.
func TestReaderGivesBuffersBack(t *testing.T) {
	s, _ := stream([]int{10, 2000, 100000, 10})
	r := NewReader(bytes.NewReader(s), nil, 1<<20)
	for range 3 {
		if _, _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if r.big == nil && r.body == nil {
		t.Fatal("a burst of large frames was read without a borrowed buffer")
	}
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	r.Release()
	if r.big != nil || r.body != nil || len(r.buf) != smallSize {
		t.Errorf("drained reader still holds big %v, body %v, buffer of %d", r.big != nil, r.body != nil, len(r.buf))
	}
	// A lone small frame never borrows.
	r = NewReader(bytes.NewReader(frame(1, "hi")), nil, 1<<20)
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if r.big != nil {
		t.Error("a lone small frame borrowed a large buffer")
	}
}

func TestReaderErrors(t *testing.T) {
	s, _ := stream([]int{100})
	for _, cut := range []int{1, wire.HeaderSize - 1, wire.HeaderSize, wire.HeaderSize + 50} {
		r := NewReader(bytes.NewReader(s[:cut]), nil, 1000)
		if _, _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("stream cut at %d: %v, want ErrUnexpectedEOF", cut, err)
		}
	}
	big, _ := stream([]int{bigSize + 10})
	r := NewReader(bytes.NewReader(big[:bigSize]), nil, 1<<20)
	if _, _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("large frame cut short: %v, want ErrUnexpectedEOF", err)
	}
	r = NewReader(iotest.ErrReader(nil), nil, 1000) // (0, nil) forever
	if _, _, err := r.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("reader making no progress: %v, want ErrNoProgress", err)
	}
}

// FuzzReader feeds the Reader an arbitrary stream in arbitrary chunks and
// checks it against parsing the whole stream at once.
func FuzzReader(f *testing.F) {
	s, _ := stream([]int{0, 5, 600, 20000})
	f.Add(s, []byte{3, 200, 1})
	f.Add(s[:len(s)-3], []byte{0})
	large, _ := stream([]int{bigSize + 1, 3, 40000, 0, 65000, bigSize - 20, bigSize + 20})
	f.Add(large, []byte{170, 1, 255})
	f.Add(large[:len(large)-100], []byte{})
	f.Add(frame(1, "x"), []byte{})
	f.Add([]byte("SRPC garbage that is no frame"), []byte{2})
	f.Fuzz(func(t *testing.T, data, chunks []byte) {
		const maxBody = 64 << 10
		sizes := make([]int, len(chunks))
		for i, c := range chunks {
			sizes[i] = int(c)*97 + 1
		}
		r := NewReader(&chunkReader{data: data, sizes: sizes}, nil, maxBody)
		rest := data
		var owned, wantOwned [][]byte // bodies Own handed over, and what they held
		for i := 0; ; i++ {
			for j, b := range owned {
				if !bytes.Equal(b, wantOwned[j]) {
					t.Fatalf("a body handed over by Own changed as frame %d was read", i)
				}
			}
			h, body, err := r.Next()
			want, n, wantErr := parseOne(rest, maxBody)
			if wantErr != nil {
				if err == nil {
					t.Fatalf("Reader read a frame (%+v) where the whole stream has %v", h, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Reader: %v; the whole stream has a frame %+v", err, want)
			}
			if h != want || !bytes.Equal(body, rest[wire.HeaderSize:n]) {
				t.Fatalf("Reader read %+v (%d bytes), want %+v (%d)", h, len(body), want, n-wire.HeaderSize)
			}
			if i%2 == 0 && r.Own(body) {
				owned, wantOwned = append(owned, body), append(wantOwned, bytes.Clone(body))
			}
			rest = rest[n:]
		}
	})
}

// parseOne parses the frame at the start of b, returning its header and
// its length with the header.
func parseOne(b []byte, maxBody int) (wire.Header, int, error) {
	if len(b) < wire.HeaderSize {
		return wire.Header{}, 0, io.ErrUnexpectedEOF
	}
	h, err := wire.ParseHeader(b[:wire.HeaderSize], maxBody)
	if err != nil {
		return h, 0, err
	}
	n := wire.HeaderSize + int(h.Size)
	if len(b) < n {
		return h, 0, io.ErrUnexpectedEOF
	}
	return h, n, nil
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// TestReaderRaw reads frames of every size, written in uneven pieces with
// pauses between them, through a TCP connection's descriptor.
func TestReaderRaw(t *testing.T) {
	s, bodies := stream(readerSizes)
	a, b := tcpPair(t)
	go func() {
		for i, rest := 0, s; len(rest) > 0; i++ {
			n := min(len(rest), []int{5, 700, 9, 30000, 512}[i%5])
			if _, err := a.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
			if i%3 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		a.CloseWrite()
	}()
	stamps := 0
	// A prefix (bytes a handshake read ahead) moves to the raw buffer.
	r := NewReader(b, frame(99, "before"), 2<<20)
	if !r.UseRaw(b, func() { stamps++ }) {
		t.Fatal("a TCP connection refused raw reads")
	}
	if h, body, err := r.Next(); err != nil || h.ID != 99 || string(body) != "before" {
		t.Fatalf("prefix frame: %+v %q %v", h, body, err)
	}
	expectStream(t, r, bodies)
	r.Release()
	if r.big != nil || r.buf != nil {
		t.Error("a drained raw reader still holds a buffer")
	}
	if stamps == 0 {
		t.Error("raw reads were never stamped")
	}
}

// TestReaderRawClosed checks that closing the connection ends a raw
// Next that is waiting.
func TestReaderRawClosed(t *testing.T) {
	_, b := tcpPair(t)
	r := NewReader(b, nil, 1000)
	r.UseRaw(b, nil)
	time.AfterFunc(20*time.Millisecond, func() { b.Close() })
	if _, _, err := r.Next(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Next on a closed connection: %v, want net.ErrClosed", err)
	}
}

// countingReader counts the reads of its io.Reader that return bytes.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.reads++
	}
	return n, err
}

// TestReaderRawLargeOneReadEach reads a run of frames larger than the
// read buffer, all of them waiting in the socket, through a TCP
// connection's descriptor: each takes one read — the rest of its body
// together with the start of the next frame — rather than one for its
// start and one more for the rest of its body.
func TestReaderRawLargeOneReadEach(t *testing.T) {
	const n = 16
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = bigSize + 4000 + i
	}
	s, bodies := stream(sizes)
	a, b := tcpPair(t)
	if err := b.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	if err := a.SetWriteBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(s); err != nil {
		t.Fatal(err)
	}
	a.CloseWrite()
	time.Sleep(20 * time.Millisecond) // the bytes reach b's socket
	cr := &countingReader{r: b}
	stamps := 0
	r := NewReader(cr, nil, 1<<20)
	if !r.UseRaw(b, func() { stamps++ }) {
		t.Fatal("a TCP connection refused raw reads")
	}
	expectStream(t, r, bodies)
	if reads := cr.reads + stamps; reads > n+2 {
		t.Errorf("%d frames of %d KiB took %d reads, want at most %d", n, sizes[0]>>10, reads, n+2)
	}
}
