package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
)

// The http workload's second client, the lean one: each caller has its
// own keep-alive connection over which it writes one prebuilt request
// after another and reads each response (the status line, the headers,
// and exactly Content-Length bytes of body), as wrk and h2load do. It
// costs a small part of what Go's http.Client costs a call, so that on a
// machine whose client and server share the cores the server's own cost
// shows; the http.Client table stays beside it, as what a Go caller sees.

// leanWorkload is the workload name the lean client's figures are
// recorded under.
const leanWorkload = "http-lean"

// leanMaxHead bounds a response head the lean client reads.
const leanMaxHead = 8 << 10

// leanMaxBody bounds a response body the lean client reads.
const leanMaxBody = 64 << 10

// leanClient is the lean client of one server: a connection per caller,
// dialled on first use.
type leanClient struct {
	addr   string
	method string

	mu    sync.Mutex // guards conns
	conns map[int]*leanConn
}

func newLeanClient(addr, method string) *leanClient {
	return &leanClient{addr: addr, method: method, conns: map[int]*leanConn{}}
}

// leanConn is one caller's connection and its prebuilt request.
type leanConn struct {
	nc   net.Conn
	br   *bufio.Reader
	req  []byte // the whole request, head and body
	want []byte // what the response body must hold: the id and the sum
	body []byte
}

// add makes caller i's call of Add(40, 2) on its connection and checks
// the answer.
func (c *leanClient) add(ctx context.Context, i int) error {
	lc, err := c.conn(ctx, i)
	if err != nil {
		return err
	}
	if err := lc.call(); err != nil {
		c.drop(i)
		return fmt.Errorf("lean call: %w", err)
	}
	return nil
}

// conn returns caller i's connection, dialling it if there is none.
func (c *leanClient) conn(ctx context.Context, i int) (*leanConn, error) {
	c.mu.Lock()
	lc := c.conns[i]
	c.mu.Unlock()
	if lc != nil {
		return lc, nil
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("lean dial: %w", err)
	}
	if t, ok := ctx.Deadline(); ok {
		// A server that stops answering fails the run rather than hang it.
		_ = nc.SetDeadline(t)
	}
	// Each caller's id is its index, so that the request is built once
	// and every answer is checked for its own id.
	// (1000 on: four digits each, none a prefix of another's).
	id := 1000 + i
	body := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":[40,2]}`, id, c.method)
	req := fmt.Appendf(nil, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", c.addr, len(body))
	lc = &leanConn{
		nc: nc, br: bufio.NewReaderSize(nc, 4<<10),
		req:  append(req, body...),
		want: fmt.Appendf(nil, `"id":%d`, id),
	}
	c.mu.Lock()
	c.conns[i] = lc
	c.mu.Unlock()
	return lc, nil
}

// drop closes caller i's connection, after a failed call.
func (c *leanClient) drop(i int) {
	c.mu.Lock()
	lc := c.conns[i]
	delete(c.conns, i)
	c.mu.Unlock()
	if lc != nil {
		lc.nc.Close()
	}
}

// close closes every connection.
func (c *leanClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, lc := range c.conns {
		lc.nc.Close()
		delete(c.conns, i)
	}
}

var (
	leanResult    = []byte(`"result":42`)
	leanStatusOK  = []byte("HTTP/1.1 200 ")
	leanLengthKey = []byte("content-length:")
	leanConnKey   = []byte("connection:")
)

// call writes the request and reads and checks its response: status
// 200, a Content-Length, no Connection: close, and a body that holds the
// caller's id and the result 42.
func (lc *leanConn) call() error {
	if _, err := lc.nc.Write(lc.req); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	status, err := lc.br.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("status line: %w", err)
	}
	if !bytes.HasPrefix(status, leanStatusOK) {
		return fmt.Errorf("status line %q", status)
	}
	n, read := -1, len(status)
	for {
		line, err := lc.br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("head: %w", err)
		}
		if read += len(line); read > leanMaxHead {
			return errors.New("head too large")
		}
		if len(line) <= 2 { // "\r\n" ends the head
			break
		}
		switch {
		case hasFoldPrefix(line, leanLengthKey):
			v, err := strconv.Atoi(string(bytes.TrimSpace(line[len(leanLengthKey):])))
			if err != nil || v < 0 || v > leanMaxBody {
				return fmt.Errorf("Content-Length %q", line)
			}
			n = v
		case hasFoldPrefix(line, leanConnKey):
			if bytes.Contains(bytes.ToLower(line), []byte("close")) {
				return fmt.Errorf("the server closes the connection: %q", line)
			}
		}
	}
	if n < 0 {
		return errors.New("a response without Content-Length")
	}
	if cap(lc.body) < n {
		lc.body = make([]byte, n)
	}
	lc.body = lc.body[:n]
	if _, err := io.ReadFull(lc.br, lc.body); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if !hasMember(lc.body, leanResult) || !hasMember(lc.body, lc.want) {
		return fmt.Errorf("reply %q, want %s and %s", lc.body, leanResult, lc.want)
	}
	return nil
}

// hasFoldPrefix reports whether line begins with prefix, ignoring case.
func hasFoldPrefix(line, prefix []byte) bool {
	return len(line) >= len(prefix) && bytes.EqualFold(line[:len(prefix)], prefix)
}

// hasMember reports whether body holds m, a member and its number, not
// followed by another digit.
func hasMember(body, m []byte) bool {
	i := bytes.Index(body, m)
	if i < 0 {
		return false
	}
	rest := body[i+len(m):]
	return len(rest) > 0 && (rest[0] < '0' || rest[0] > '9')
}
