package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
)

// fuzzConn is a connection that reads a fixed input and keeps what is
// written to it, up to a limit past which writes fail as on a closed
// connection.
type fuzzConn struct {
	net.Conn // nil: only Read and Write are used
	r        io.Reader
	out      bytes.Buffer
}

// fuzzOutMax is what a fuzzConn takes before its writes fail.
const fuzzOutMax = 1 << 20

func (c *fuzzConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *fuzzConn) Write(p []byte) (int, error) {
	if c.out.Len() >= fuzzOutMax {
		return 0, errors.New("closed")
	}
	return c.out.Write(p)
}

// floorStart returns the frame that starts floor shape op with count n.
func floorStart(op uint32, n int64, rest ...[]byte) []byte {
	var arg [8]byte
	binary.LittleEndian.PutUint64(arg[:], uint64(n))
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	_ = writeFrame(w, op, arg[:])
	for _, p := range rest {
		_ = writeFrame(w, 0, p)
	}
	_ = w.Flush()
	return b.Bytes()
}

// FuzzFloorStreamConn feeds arbitrary bytes to the floor's stream server
// and checks that it returns, when its input ends or its writes fail, and
// that everything it wrote is whole frames.
func FuzzFloorStreamConn(f *testing.F) {
	f.Add(floorStart(floorCount, 3))
	f.Add(floorStart(floorCount, endless))
	f.Add(floorStart(floorChunks, 2))
	f.Add(floorStart(floorSink, 0, []byte("abc"), nil))
	f.Add(floorStart(floorPing, 0, []byte("12345678"), []byte("x")))
	f.Add(floorStart(floorPing, 0, make([]byte, 65)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &fuzzConn{r: bytes.NewReader(in)}
		floorStreamConn(c)
		out := c.out.Bytes()
		if len(out) > fuzzOutMax+floorBuf+len(chunk) {
			t.Fatalf("wrote %d bytes past its failing writes", len(out))
		}
		r := bufio.NewReader(bytes.NewReader(out))
		for c.out.Len() < fuzzOutMax { // a full buffer may end mid-frame
			_, n, err := readFrameHeader(r)
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("bad frame in the output: %v", err)
			}
			if _, err := r.Discard(n); err != nil {
				t.Fatalf("short frame in the output: %v", err)
			}
		}
	})
}

// TestFloorStreamShapes checks the floor stream server's answers to
// whole inputs: counts, chunks, the sink's total and the echo.
func TestFloorStreamShapes(t *testing.T) {
	frames := func(out []byte) [][]byte {
		var fs [][]byte
		r := bufio.NewReader(bytes.NewReader(out))
		for {
			_, n, err := readFrameHeader(r)
			if err == io.EOF {
				return fs
			}
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				t.Fatal(err)
			}
			fs = append(fs, b)
		}
	}
	run := func(in []byte) [][]byte {
		c := &fuzzConn{r: bytes.NewReader(in)}
		floorStreamConn(c)
		return frames(c.out.Bytes())
	}
	if fs := run(floorStart(floorCount, 3)); len(fs) != 3 || binary.LittleEndian.Uint64(fs[2]) != 2 {
		t.Errorf("count 3: %d frames %v", len(fs), fs)
	}
	if fs := run(floorStart(floorChunks, 2)); len(fs) != 2 || !bytes.Equal(fs[1], chunk) {
		t.Errorf("chunks 2: %d frames", len(fs))
	}
	if fs := run(floorStart(floorSink, 0, []byte("abc"), []byte("de"), nil)); len(fs) != 1 || binary.LittleEndian.Uint64(fs[0]) != 5 {
		t.Errorf("sink: %v", fs)
	}
	if fs := run(floorStart(floorPing, 0, []byte("12345678"), []byte("x"))); len(fs) != 2 || string(fs[0]) != "12345678" || string(fs[1]) != "x" {
		t.Errorf("ping: %q", fs)
	}
	if fs := run(floorStart(floorPing, 0, make([]byte, 65))); len(fs) != 0 {
		t.Errorf("ping of a 65-byte frame: %d frames, want none (the connection is dropped)", len(fs))
	}
}
