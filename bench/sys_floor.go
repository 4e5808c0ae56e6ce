package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// floorSystem is the floor every RPC stack is compared against: frames of
// [4-byte length][4-byte call id][payload] over one TCP connection, echoed
// unchanged by the server. With coalesce set, each side queues frames and a
// send loop writes everything queued with one writev; without it ("naive")
// every frame is its own write (see frameWriter).
type floorSystem struct {
	coalesce bool
}

func (s floorSystem) name() string {
	if s.coalesce {
		return "floor"
	}
	return "floor-naive"
}

func (s floorSystem) serve(ln net.Listener) (func() error, error) {
	return serveConns(ln, s.echoConn), nil
}

// echoConn sends every frame read from conn straight back until conn fails.
func (s floorSystem) echoConn(conn net.Conn) {
	w := newFrameWriter(conn, s.coalesce)
	defer w.close()
	r := bufio.NewReaderSize(conn, 16<<10)
	var body, scratch []byte
	for {
		id, n, err := readFrameHeader(r)
		if err != nil {
			return
		}
		// send copies small payloads but queues large ones by reference,
		// so a large payload needs a buffer of its own.
		switch {
		case n > inlineMax:
			body = make([]byte, n)
		case scratch == nil:
			scratch = make([]byte, inlineMax)
			fallthrough
		default:
			body = scratch[:n]
		}
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if err := w.send(id, nil, body); err != nil {
			return
		}
	}
}

func (s floorSystem) dial(ctx context.Context, addr string) (client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("floor dial: %w", err)
	}
	c := &floorClient{
		conn:    conn,
		w:       newFrameWriter(conn, s.coalesce),
		pending: map[uint32]chan []byte{},
		readErr: make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

// floorClient matches echoed frames to waiting callers by call id.
type floorClient struct {
	conn net.Conn
	w    *frameWriter

	mu      sync.Mutex
	nextID  uint32
	pending map[uint32]chan []byte
	err     error
	readErr chan struct{} // closed when readLoop stops; err is then set
}

func (c *floorClient) readLoop() {
	r := bufio.NewReaderSize(c.conn, 16<<10)
	var err error
	for {
		var id uint32
		var n int
		id, n, err = readFrameHeader(r)
		if err != nil {
			break
		}
		body := make([]byte, n)
		if _, err = io.ReadFull(r, body); err != nil {
			break
		}
		c.mu.Lock()
		ch := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if ch != nil {
			ch <- body
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("floor read: %w", err)
	c.mu.Unlock()
	close(c.readErr)
}

// call sends one frame of head and body (see frameWriter.send) and returns
// the echoed payload.
func (c *floorClient) call(ctx context.Context, head []byte, body ...[]byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.w.send(id, head, body...); err != nil {
		return nil, err
	}
	select {
	case body := <-ch:
		return body, nil
	case <-c.readErr:
		c.mu.Lock()
		defer c.mu.Unlock()
		return nil, c.err
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("floor call: %w", ctx.Err())
	}
}

// add sends both operands; the echoed operands are summed here, since the
// floor server only echoes.
func (c *floorClient) add(ctx context.Context, a, b int64) (int64, error) {
	var req [16]byte
	binary.LittleEndian.PutUint64(req[:8], uint64(a))
	binary.LittleEndian.PutUint64(req[8:], uint64(b))
	body, err := c.call(ctx, req[:])
	if err != nil {
		return 0, err
	}
	if len(body) != 16 {
		return 0, fmt.Errorf("floor add: %d-byte reply", len(body))
	}
	return int64(binary.LittleEndian.Uint64(body[:8])) + int64(binary.LittleEndian.Uint64(body[8:])), nil
}

// echo encodes p as [4-byte name length][name][data].
func (c *floorClient) echo(ctx context.Context, p *Payload) (*Payload, error) {
	var buf [64]byte
	head := binary.LittleEndian.AppendUint32(buf[:0], uint32(len(p.Name)))
	head = append(head, p.Name...)
	body, err := c.call(ctx, head, p.Data)
	if err != nil {
		return nil, err
	}
	if len(body) < 4 {
		return nil, errors.New("floor echo: short reply")
	}
	n := int(binary.LittleEndian.Uint32(body))
	if len(body) < 4+n {
		return nil, errors.New("floor echo: short reply")
	}
	return &Payload{Name: string(body[4 : 4+n]), Data: body[4+n:]}, nil
}

func (c *floorClient) echoBytes(ctx context.Context, b []byte) ([]byte, error) {
	return c.call(ctx, nil, b)
}

func (c *floorClient) close() error {
	c.w.close()
	err := c.conn.Close()
	<-c.readErr
	return err
}

// readFrameHeader reads a frame's length and id and returns the id and the
// payload length.
func readFrameHeader(r *bufio.Reader) (id uint32, n int, err error) {
	hdr, err := r.Peek(8)
	if err != nil {
		return 0, 0, err
	}
	size := binary.LittleEndian.Uint32(hdr[:4])
	id = binary.LittleEndian.Uint32(hdr[4:])
	if size < 4 || size > 16<<20 {
		return 0, 0, fmt.Errorf("bad frame length %d", size)
	}
	_, err = r.Discard(8)
	return id, int(size) - 4, err
}
