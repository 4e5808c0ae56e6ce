package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// refHTTPIdeal names the http workload's diagnostic row: not a JSON-RPC
// server but the least any server could do for this client, an upper
// bound on what a server can reach in this harness.
const refHTTPIdeal = "ideal (diagnostic)"

// idealMaxHead bounds the request head the ideal server reads.
const idealMaxHead = 8 << 10

// serveIdealHTTP serves ln with the ideal server: on each connection it
// reads requests one after another, finds each one's end by its
// Content-Length, takes the id and the two operands out of the body
// without parsing the rest, and writes a canned response with the right
// id and sum, or a canned error for a method other than Bench.Add. It
// checks nothing else and serves nothing else; it is the fastest a server
// can answer this workload's client, not a server.
//
// It owns one goroutine that accepts and one per connection; stop closes
// the listener and every connection and waits for them all.
func serveIdealHTTP(ln net.Listener, _ *atomic.Int64) (func() error, error) {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex // guards conns and closed
		conns  = map[net.Conn]struct{}{}
		closed bool
	)
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				nc.Close()
				return
			}
			conns[nc] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				_ = idealConn(nc)
				mu.Lock()
				delete(conns, nc)
				mu.Unlock()
				nc.Close()
			})
		}
	})
	return func() error {
		err := ln.Close()
		mu.Lock()
		closed = true
		for nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
		if err != nil {
			return fmt.Errorf("ideal close: %w", err)
		}
		return nil
	}, nil
}

// idealConn answers the requests of one connection until it fails or
// closes.
func idealConn(nc net.Conn) error {
	br := bufio.NewReaderSize(nc, 4<<10)
	body := make([]byte, 0, 256)
	out := make([]byte, 0, 256)
	for {
		n, err := idealHead(br)
		if err != nil {
			return err
		}
		if n > cap(body) {
			return errors.New("ideal: body too large")
		}
		body = body[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			return fmt.Errorf("ideal: body: %w", err)
		}
		id, sum, ok := idealAdd(body)
		switch {
		case !ok:
			return fmt.Errorf("ideal: cannot read request %q", body)
		case !bytes.Contains(body, []byte(`"method":"Bench.Add"`)):
			out = idealNotFound(out[:0], id)
		default:
			out = idealResponse(out[:0], id, sum)
		}
		if _, err := nc.Write(out); err != nil {
			return fmt.Errorf("ideal: write: %w", err)
		}
	}
}

var contentLength = []byte("content-length:")

// idealHead reads a request's head, up to and with its blank line, and
// returns its Content-Length.
func idealHead(br *bufio.Reader) (int, error) {
	n, read := -1, 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		read += len(line)
		if read > idealMaxHead {
			return 0, errors.New("ideal: head too large")
		}
		if len(line) <= 2 { // "\r\n" ends the head
			if n < 0 {
				return 0, errors.New("ideal: no Content-Length")
			}
			return n, nil
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			v, err := strconv.Atoi(string(bytes.TrimSpace(line[len(contentLength):])))
			if err != nil || v < 0 {
				return 0, fmt.Errorf("ideal: Content-Length %q", line)
			}
			n = v
		}
	}
}

// idealAdd finds the id and the two operands of the workload's request
// body, {"jsonrpc":"2.0","id":N,"method":M,"params":[A,B]}, by looking
// for the members' names only.
func idealAdd(body []byte) (id []byte, sum int64, ok bool) {
	_, rest, ok := bytes.Cut(body, []byte(`"id":`))
	if !ok {
		return nil, 0, false
	}
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return nil, 0, false
	}
	id = rest[:end]
	_, rest, ok = bytes.Cut(rest, []byte(`"params":[`))
	if !ok {
		return nil, 0, false
	}
	as, rest, ok := bytes.Cut(rest, []byte(","))
	if !ok {
		return nil, 0, false
	}
	bs, _, ok := bytes.Cut(rest, []byte("]"))
	if !ok {
		return nil, 0, false
	}
	a, ok1 := idealInt(as)
	b, ok2 := idealInt(bs)
	return id, a + b, ok1 && ok2
}

// idealInt parses a JSON integer of at most 18 digits.
func idealInt(s []byte) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// idealNotFound appends the HTTP response of the call id of a method
// other than Bench.Add to dst: a JSON-RPC error.
func idealNotFound(dst, id []byte) []byte {
	n := len(`{"jsonrpc":"2.0","id":,"error":{"code":-32601,"message":"method not found"}}`+"\n") + len(id)
	dst = append(dst, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, "\r\n\r\n"...)
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = append(dst, id...)
	return append(dst, `,"error":{"code":-32601,"message":"method not found"}}`+"\n"...)
}

// idealResponse appends the HTTP response of the call id, whose result
// is sum, to dst: the status line, Content-Type, Content-Length and the
// JSON-RPC response object, as net/http's floor sends less its Date.
func idealResponse(dst, id []byte, sum int64) []byte {
	var digits [20]byte
	n := len(`{"jsonrpc":"2.0","id":,"result":}`+"\n") + len(id) + len(strconv.AppendInt(digits[:0], sum, 10))
	dst = append(dst, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, "\r\n\r\n"...)
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"result":`...)
	dst = strconv.AppendInt(dst, sum, 10)
	return append(dst, "}\n"...)
}
