package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The floor's stream shapes run one per TCP connection, in floor frames
// ([4-byte length][4-byte id][payload]). The client's first frame names
// the shape in its id and carries a count as its 8-byte payload; after it
// the frames are one-way, written through a buffer that is flushed when
// full or when there is nothing more to read (coalesced), with no
// per-item acknowledgement.
const (
	floorCount  = 1 // the server sends count frames of an 8-byte int64
	floorChunks = 2 // the server sends count frames of the 64 KiB chunk
	floorSink   = 3 // the client sends frames until an empty one; the server answers the byte total
	floorPing   = 4 // the server sends back every frame it receives
)

// floorBuf is the size of the floor streams' read and write buffers.
const floorBuf = 256 << 10

func (s floorSystem) streams() bool { return s.coalesce }

func (floorSystem) serveStreams(ln net.Listener) (func() error, error) {
	return serveConns(ln, floorStreamConn), nil
}

// floorStreamConn serves one stream shape on conn.
func floorStreamConn(conn net.Conn) {
	r := bufio.NewReaderSize(conn, floorBuf)
	w := bufio.NewWriterSize(conn, floorBuf)
	op, n, err := readFrameHeader(r)
	if err != nil || n != 8 {
		return
	}
	var arg [8]byte
	if _, err := io.ReadFull(r, arg[:]); err != nil {
		return
	}
	count := int64(binary.LittleEndian.Uint64(arg[:]))
	switch op {
	case floorCount:
		var item [8]byte
		for i := range count {
			binary.LittleEndian.PutUint64(item[:], uint64(i))
			if writeFrame(w, 0, item[:]) != nil {
				return
			}
		}
	case floorChunks:
		for range count {
			if writeFrame(w, 0, chunk) != nil {
				return
			}
		}
	case floorSink:
		var total int64
		for {
			_, n, err := readFrameHeader(r)
			if err != nil {
				return
			}
			if n == 0 {
				break
			}
			if _, err := r.Discard(n); err != nil {
				return
			}
			total += int64(n)
		}
		binary.LittleEndian.PutUint64(arg[:], uint64(total))
		if writeFrame(w, 0, arg[:]) != nil {
			return
		}
	case floorPing:
		body := make([]byte, 0, 64)
		for {
			id, n, err := readFrameHeader(r)
			if err != nil || n > cap(body) {
				return
			}
			body = body[:n]
			if _, err := io.ReadFull(r, body); err != nil {
				return
			}
			if writeFrame(w, id, body) != nil {
				return
			}
			if r.Buffered() == 0 && w.Flush() != nil {
				return
			}
		}
	}
	_ = w.Flush()
}

// writeFrame writes one floor frame into w.
func writeFrame(w *bufio.Writer, id uint32, payload []byte) error {
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[:4], uint32(4+len(payload)))
	binary.LittleEndian.PutUint32(hdr[4:], id)
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

func (s floorSystem) dialStreams(_ context.Context, addr string) (streamClient, error) {
	return floorStreams{addr: addr}, nil
}

// floorStreams dials a connection for every stream it runs.
type floorStreams struct{ addr string }

// floorStream is one floor stream's connection.
type floorStream struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// open dials a connection and sends the frame that starts shape op with
// count n. The connection is closed when ctx ends.
func (c floorStreams) open(ctx context.Context, op uint32, n int64) (*floorStream, func(), error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("floor dial: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	done := func() {
		stop()
		conn.Close()
	}
	st := &floorStream{conn: conn, r: bufio.NewReaderSize(conn, floorBuf), w: bufio.NewWriterSize(conn, floorBuf)}
	var arg [8]byte
	binary.LittleEndian.PutUint64(arg[:], uint64(n))
	if err := writeFrame(st.w, op, arg[:]); err != nil {
		done()
		return nil, nil, fmt.Errorf("floor write: %w", err)
	}
	if err := st.w.Flush(); err != nil {
		done()
		return nil, nil, fmt.Errorf("floor write: %w", err)
	}
	return st, done, nil
}

func (c floorStreams) count(ctx context.Context, d time.Duration) (int64, error) {
	st, done, err := c.open(ctx, floorCount, endless)
	if err != nil {
		return 0, err
	}
	defer done()
	var n int64
	for deadline := time.Now().Add(d); time.Now().Before(deadline); n++ {
		_, size, err := readFrameHeader(st.r)
		if err != nil {
			return n, fmt.Errorf("item %d: %w", n, err)
		}
		b, err := st.r.Peek(size)
		if err != nil || size != 8 {
			return n, fmt.Errorf("item %d: %d bytes: %w", n, size, err)
		}
		if v := int64(binary.LittleEndian.Uint64(b)); v != n {
			return n, fmt.Errorf("item %d is %d", n, v)
		}
		if _, err := st.r.Discard(size); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (c floorStreams) download(ctx context.Context, d time.Duration) (int64, error) {
	st, done, err := c.open(ctx, floorChunks, endless)
	if err != nil {
		return 0, err
	}
	defer done()
	buf := make([]byte, len(chunk))
	var n int64
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		_, size, err := readFrameHeader(st.r)
		if err != nil {
			return n, err
		}
		if size != len(buf) {
			return n, fmt.Errorf("received a %d-byte chunk", size)
		}
		if _, err := io.ReadFull(st.r, buf); err != nil {
			return n, err
		}
		if err := checkChunk(buf); err != nil {
			return n, err
		}
		n += int64(size)
	}
	return n, nil
}

func (c floorStreams) upload(ctx context.Context, d time.Duration) (int64, time.Duration, error) {
	start := time.Now()
	st, done, err := c.open(ctx, floorSink, 0)
	if err != nil {
		return 0, 0, err
	}
	defer done()
	var sent int64
	for deadline := start.Add(d); time.Now().Before(deadline); sent += int64(len(chunk)) {
		if err := writeFrame(st.w, 0, chunk); err != nil {
			return 0, 0, err
		}
	}
	if err := writeFrame(st.w, 0, nil); err != nil {
		return 0, 0, err
	}
	if err := st.w.Flush(); err != nil {
		return 0, 0, err
	}
	_, size, err := readFrameHeader(st.r)
	if err != nil || size != 8 {
		return 0, 0, errors.Join(fmt.Errorf("floor sink: %d-byte answer", size), err)
	}
	var ans [8]byte
	if _, err := io.ReadFull(st.r, ans[:]); err != nil {
		return 0, 0, err
	}
	if total := int64(binary.LittleEndian.Uint64(ans[:])); total != sent {
		return 0, 0, fmt.Errorf("server counted %d bytes of %d", total, sent)
	}
	return sent, time.Since(start), nil
}

func (c floorStreams) pingPong(ctx context.Context, d time.Duration) ([]time.Duration, error) {
	st, done, err := c.open(ctx, floorPing, 0)
	if err != nil {
		return nil, err
	}
	defer done()
	var samples []time.Duration
	var item [8]byte
	for i, deadline := uint64(0), time.Now().Add(d); ; i++ {
		t0 := time.Now()
		if t0.After(deadline) {
			break
		}
		binary.LittleEndian.PutUint64(item[:], i)
		if err := writeFrame(st.w, 0, item[:]); err != nil {
			return nil, err
		}
		if err := st.w.Flush(); err != nil {
			return nil, err
		}
		_, size, err := readFrameHeader(st.r)
		if err != nil {
			return nil, err
		}
		if size != 8 {
			return nil, fmt.Errorf("floor echo: %d-byte answer", size)
		}
		if _, err := io.ReadFull(st.r, item[:]); err != nil {
			return nil, err
		}
		if v := binary.LittleEndian.Uint64(item[:]); v != i {
			return nil, fmt.Errorf("sent %d, received %d", i, v)
		}
		samples = append(samples, time.Since(t0))
	}
	return samples, nil
}

func (floorStreams) close() error { return nil }
