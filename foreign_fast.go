package simplerpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/http1"
	"github.com/simplerpc/simplerpc/internal/jsonrpchttp"
)

// The HTTP front's fast path: a connection's requests that are POST with
// a Content-Length and nothing unusual (package http1 says exactly which)
// are read by one goroutine per connection, served by ServeHTTP, as any
// other, and answered with one write, without net/http's server. At the
// first request that is not, the connection, with the bytes already
// read, goes to the HTTP front's http.Server for the rest of its life,
// at the request's start.
//
// A connection's goroutines: its reader (serveFast, on the goroutine
// Serve gave the connection) reads and parses the requests. A request
// that is one call of a method known to be quick (QuickDirect: its
// sampled run time is under quickCall, as the native scheduler judges)
// it runs itself and answers (runInline), sparing the hand-off to
// another goroutine and back, which costs more than such a call; should
// the call block after all, the server's sweep starts a goroutine that
// reads the connection meanwhile (watchInline), and Close cancels the
// call and does not wait for it (abortInline). Any other request it
// hands to its worker (work), started at the first, which runs it and
// writes the response. While a request runs there, the reader goes on
// reading, so that a client that goes away cancels its call's context;
// bytes of a next request wait until the response is written. The
// reader closes the worker's channel as it returns, and the worker exits
// once its request is done: the reader waits for that, but not after
// Close.
//
// States of a connection (fastConn.active, under mu): idle, between
// requests with nothing read; active, from a request's first byte to its
// response. Shutdown closes an idle connection and marks every other
// closing, to be closed once its response is written.

// netHTTPOnly turns the fast path off for the servers made while it is
// set (Server.netHTTPOnly): every HTTP connection goes to net/http. A
// test's switch (export_test.go).
var netHTTPOnly bool

// fastBufSize is a fast connection's read buffer: a request's head and
// body must fit in it, or the request goes to net/http.
const fastBufSize = 8 << 10

// fastKeepOut is the largest response buffer a connection keeps between
// requests, as much as net/http's server keeps (its bufio.Writer).
const fastKeepOut = 4 << 10

// fastHeadRoom is the room a response buffer keeps before its body for
// the response's head, so that head and body go out in one write without
// being copied into another buffer; a longer head is.
const fastHeadRoom = 256

// fastConn is one connection on the fast path.
type fastConn struct {
	s      *Server
	f      *httpFront
	nc     net.Conn
	remote string
	tls    bool
	leave  func() // gives back the connection's count in the server's connWG, once

	// The reader's.
	buf        []byte // buf[start:end] read and not yet consumed
	start, end int
	head       http1.Head
	reqs       chan *fastReq // to the worker; nil until started
	done       chan struct{} // a token from the worker per request answered
	rdl        lazyDeadline
	rapply     func(time.Time) error

	// The worker's, and the handler's it runs.
	wdl    lazyDeadline
	wapply func(time.Time) error

	// The worker's.
	out     []byte      // a response buffer: fastHeadRoom bytes, then the body
	hdr     http.Header // the response headers, cleared for each response
	date    []byte
	dateSec int64

	mu      sync.Mutex
	active  bool          // a request is being read or answered
	closing bool          // close at the next boundary (Shutdown)
	inline  *fastReq      // the request the reader runs itself (runInline), or nil
	watcher chan struct{} // closed when the goroutine watching inline ends (watchInline); nil if none

	// The sweep's (sweepOne), beside the reader's runInline.
	inlineCalls atomic.Uint64 // calls begun by runInline
	listed      atomic.Bool   // in the server's sweep
	sweepSeen   atomic.Uint64 // inlineCalls at the sweep's last look

	// The watching goroutine's, read by the reader once it has ended.
	watchN    int
	watchErr  error
	watchStop atomic.Bool // the reader ends the watch: its read's timeout is no failure
}

// serveFast serves nc, whose first bytes br holds, on the fast path. It
// returns the bytes read that begin a request the fast path does not
// serve, with handOver true, or handOver false when the connection is
// done with.
func (s *Server) serveFast(f *httpFront, nc net.Conn, br *bufio.Reader, leave func()) (rest []byte, handOver bool) {
	c := &fastConn{s: s, f: f, nc: nc, remote: nc.RemoteAddr().String(), buf: make([]byte, fastBufSize), done: make(chan struct{}, 1), leave: leave}
	_, c.tls = nc.(interface{ ConnectionState() tls.ConnectionState })
	c.rapply, c.wapply = nc.SetReadDeadline, nc.SetWriteDeadline
	c.rdl.horizon = frontHeaderTimeout + frontHeaderTimeout/8
	c.end, _ = br.Read(c.buf[:min(br.Buffered(), len(c.buf))])
	if !f.addFast(c) {
		return nil, false
	}
	defer f.dropFast(c)
	defer func() {
		if c.reqs != nil {
			close(c.reqs)
		}
	}()
	return c.serve()
}

func (c *fastConn) serve() ([]byte, bool) {
	for {
		if !c.boundary() {
			return nil, false
		}
		q, ok := c.readRequest()
		switch {
		case !ok:
			return nil, false
		case q == nil:
			// net/http's server starts with no deadline set.
			_ = c.nc.SetDeadline(time.Time{})
			return c.buf[c.start:c.end], true
		}
		if q.r == nil && c.s.rpc.QuickDirect(q.body.b, &q.parsed) {
			if !c.runInline(q) {
				return nil, false
			}
			continue
		}
		if c.reqs == nil {
			c.reqs = make(chan *fastReq)
			go c.work()
		}
		_ = c.rdl.update(time.Time{}, c.rapply) // none while q runs
		c.reqs <- q
		if !c.whileRunning(q) {
			return nil, false
		}
	}
}

// boundary is the reader between requests: it reports false if the
// connection is to close.
func (c *fastConn) boundary() bool {
	if c.start == c.end {
		c.start, c.end = 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active = c.start < c.end
	return !c.closing
}

// readRequest reads the next request: nil and true if it is one for
// net/http, false if the connection ended or timed out.
func (c *fastConn) readRequest() (*fastReq, bool) {
	if c.start == c.end {
		_ = c.rdl.after(frontIdleTimeout, c.rapply)
		if !c.fill() {
			return nil, false
		}
		c.mu.Lock()
		c.active = true
		closing := c.closing
		c.mu.Unlock()
		if closing {
			return nil, false
		}
	}
	_ = c.rdl.after(frontHeaderTimeout, c.rapply)
	for {
		switch http1.Parse(c.buf[c.start:c.end], &c.head) {
		case http1.Other:
			return nil, true
		case http1.Fast:
			n := int64(c.head.Len) + c.head.ContentLength
			if n > int64(len(c.buf)) {
				return nil, true
			}
			if int64(c.end-c.start) < n {
				// The body is to come: within the I/O timeout if set,
				// as net/http's handler bounds it.
				var t time.Time
				if d := c.s.cfg.writeTimeout; d > 0 {
					t = time.Now().Add(d)
				}
				_ = c.rdl.update(t, c.rapply)
			}
			for int64(c.end-c.start) < n {
				if !c.fill() {
					return nil, false
				}
			}
			q := c.newRequest()
			c.start += int(n)
			return q, true
		}
		if c.end-c.start == len(c.buf) {
			return nil, true // a head longer than the buffer
		}
		if !c.fill() {
			return nil, false
		}
	}
}

// fill reads more of the connection into buf, moving what is unread to
// its start if there is no room after it.
func (c *fastConn) fill() bool {
	if c.end == len(c.buf) {
		c.end = copy(c.buf, c.buf[c.start:c.end])
		c.start = 0
	}
	n, err := c.read()
	c.end += n
	return n > 0 || err == nil
}

// read reads into the free end of buf; a read that times out on a
// deadline kept but no longer wanted goes on (lazyDeadline).
func (c *fastConn) read() (int, error) { return readLazy(c.nc, c.buf[c.end:], &c.rdl, c.rapply) }

// write writes p; a write that times out on a deadline kept but no
// longer wanted goes on (lazyDeadline).
func (c *fastConn) write(p []byte) (int, error) { return writeLazy(c.nc, p, &c.wdl, c.wapply) }

// whileRunning reads on while q runs, unless the next request has begun
// already (pipelined), and waits for q's end: it reports false if the
// connection ended meanwhile (q's context is canceled).
func (c *fastConn) whileRunning(q *fastReq) bool {
	ok := true
	if c.start == c.end && c.end < len(c.buf) {
		// Into the free end only: q's body is before it.
		n, err := c.read()
		c.end += n
		if n == 0 && err != nil {
			q.cancel()
			ok = false
		}
	}
	select {
	case <-c.done:
	case <-c.f.hard:
		q.cancel()
		return false // Close: the worker ends with its canceled call
	}
	return ok && !q.w.closeAfter
}

// runInline runs q, one call of a method known to be quick, in the
// reader itself, as the native server runs such calls: it spares the
// hand-off to the worker and back, which costs more than the call. The
// connection is not read meanwhile, unless the call blocks (below);
// Close cancels the call's context (abortInline). It reports false if
// the connection is done with.
//
// A call that blocks after all is found by the server's sweep (sweep.go),
// which then starts a goroutine that reads the connection meanwhile, as
// the reader does while the worker runs a call (watchInline): a client
// that goes away cancels the call's context within one to two
// sweepEvery of its run's start, or of its leaving.
func (c *fastConn) runInline(q *fastReq) bool {
	q.quick = true
	// Into the free end only, as whileRunning reads: q's body is before it.
	q.watchable = c.start == c.end && c.end < len(c.buf)
	calls := c.inlineCalls.Add(1)
	c.mu.Lock()
	c.inline = q
	c.mu.Unlock()
	select {
	case <-c.f.hard:
		// Close came before c.inline was set: abortInline did not see q.
		q.cancel()
		return false
	default:
	}
	if !c.listed.Load() {
		c.s.sweep.list(c, &c.listed, &c.sweepSeen, calls)
	}
	c.run(q)
	c.mu.Lock()
	c.inline = nil
	w := c.watcher
	c.watcher = nil
	c.mu.Unlock()
	if w != nil && !c.stopWatching(w) {
		return false
	}
	select {
	case <-c.f.hard:
		return false
	default:
	}
	return !q.w.closeAfter
}

// sweepOne is the sweep's look at the connection (swept): a call the
// reader runs itself, the same since the previous look, has run for at
// least sweepEvery, and gets a goroutine that watches the connection
// while it runs (watchInline), unless bytes after it wait in buf
// already. It reports whether the connection stays listed: while its
// reader runs a call not watched yet. The race with a call that begins
// meanwhile is settled as serverConn.sweepOne settles it.
func (c *fastConn) sweepOne() bool {
	c.mu.Lock()
	q := c.inline
	// Loaded after c.inline, which runInline publishes after counting its
	// call: a count seen at the last look as well is q's own.
	calls := c.inlineCalls.Load()
	seen := c.sweepSeen.Swap(calls)
	if q != nil && calls == seen {
		if q.watchable && c.watcher == nil {
			c.watcher = make(chan struct{})
			// No deadline while q runs: set before the reader can see
			// the watch, so that its stop (a deadline in the past)
			// comes after this whenever the watch begins.
			_ = c.rdl.update(time.Time{}, c.rapply)
			go c.watchInline(q, c.watcher)
		}
		c.mu.Unlock()
		c.listed.Store(false) // the reader lists it again with a later call
		return false
	}
	c.mu.Unlock()
	if q != nil {
		return true
	}
	c.listed.Store(false)
	return c.inlineCalls.Load() != calls && c.listed.CompareAndSwap(false, true)
}

// watchInline reads the connection while the reader runs q itself, once,
// into the free end of buf, which the reader does not touch until done
// is closed: a client that goes away, or a connection that fails,
// cancels q's context. The reader stops it when q returns
// (stopWatching).
func (c *fastConn) watchInline(q *fastReq, done chan struct{}) {
	defer close(done)
	c.watchN, c.watchErr = c.read()
	if c.watchN == 0 && c.watchErr != nil && !c.watchStop.Load() {
		q.cancel()
	}
}

// stopWatching ends the watch of the call the reader has just run,
// keeping what it read: it reports false if the connection has ended.
func (c *fastConn) stopWatching(done chan struct{}) bool {
	c.watchStop.Store(true)
	_ = c.rdl.update(time.Unix(1, 0), c.rapply) // in the past: interrupts the read
	<-done
	c.watchStop.Store(false)
	n, err := c.watchN, c.watchErr
	c.watchN, c.watchErr = 0, nil
	c.end += n
	return n > 0 || err == nil || timedOut(err)
}

// abortInline is Close's: it cancels the call the reader runs itself,
// if any, and gives back the connection's count in the server's connWG
// for it, so that Close does not wait for a call that ignores its
// context, as it waits for no other call; the reader returns once the
// call does.
func (c *fastConn) abortInline() {
	c.mu.Lock()
	q := c.inline
	c.mu.Unlock()
	if q != nil {
		q.cancel()
		c.leave()
	}
}

// work runs the requests the reader hands over, one at a time.
func (c *fastConn) work() {
	for q := range c.reqs {
		c.run(q)
		c.done <- struct{}{}
	}
}

// run serves q and writes its response; a panic in the handler closes
// the connection, as net/http's server does.
func (c *fastConn) run(q *fastReq) {
	defer q.cancel()
	defer func() {
		if p := recover(); p != nil {
			c.s.cfg.logger.Error("simplerpc: panic serving HTTP", slog.String("remote", c.remote), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			q.w.closeAfter = true
			c.nc.Close()
		}
	}()
	if q.r != nil {
		c.s.ServeHTTP(&q.w, q.r)
	} else {
		// QuickDirect has seen its body: parsed once, for the worker too
		// (the reader reads only after the body while it runs).
		c.s.rpc.ServeDirect(&q.w, q, &q.parsed)
	}
	c.f.served.Add(1)
	if err := q.w.finish(); err != nil {
		q.w.closeAfter = true
	}
	c.mu.Lock()
	c.active = false
	closing := c.closing
	c.mu.Unlock()
	if q.w.closeAfter || closing {
		q.w.closeAfter = true
		c.nc.Close()
		return
	}
	if !q.quick {
		// The reader waits in a read with no deadline (whileRunning); a
		// reader that ran q itself sets its own as it reads on.
		_ = c.rdl.after(frontIdleTimeout, c.rapply)
	}
}

// stop is Shutdown's: an idle connection is closed, any other at its
// next boundary.
func (c *fastConn) stop() {
	c.mu.Lock()
	c.closing = true
	idle := !c.active
	c.mu.Unlock()
	if idle {
		c.nc.Close()
	}
}

// fastReq is one request on the fast path, with its response writer. A
// plain request (Server.directHTTP) is served as a jsonrpchttp.Direct,
// which it is, without an http.Request: its header is made only if the
// handler asks for it. Any other gets its http.Request (r) at once.
type fastReq struct {
	r         *http.Request // nil for a direct request
	head      string        // the request's head
	body      fastBody
	ctx       context.Context
	cancel    context.CancelFunc
	remote    string
	tls       *tls.ConnectionState // of a request that is not direct, on TLS
	ae        [1]string            // the Accept-Encoding value of a direct request
	nae       int                  // 0 or 1: whether it has one
	w         fastWriter
	parsed    jsonrpchttp.Parsed // a direct request's body, parsed by QuickDirect
	quick     bool               // run by the reader itself (runInline)
	watchable bool               // the connection may be read while it runs (watchInline)

	once sync.Once   // guards hdr, of a direct request
	hdr  http.Header // its header, made on first use
}

// directHTTP reports whether the fast path may serve a request with
// head h as a jsonrpchttp.Direct: no CORS policy (ServeHTTP would apply
// it), no Content-Encoding field (the body is as sent) and no more than
// one Accept-Encoding field (the one value Direct is asked for).
func (s *Server) directHTTP(h *http1.Head) bool {
	if s.cfg.cors != nil {
		return false
	}
	ae := 0
	for _, f := range h.Fields[:h.NFields] {
		switch f.Canon {
		case "Content-Encoding":
			return false
		case "Accept-Encoding":
			ae++
		}
	}
	return ae <= 1
}

// newRequest makes the request c.head describes, whose body follows it
// in buf.
func (c *fastConn) newRequest() *fastReq {
	h := &c.head
	b := c.buf[c.start:]
	q := &fastReq{head: string(b[:h.Len]), remote: c.remote}
	q.body.b = b[h.Len : int64(h.Len)+h.ContentLength]
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.w = fastWriter{c: c, reqClose: h.Close}
	if !c.s.directHTTP(h) {
		if c.tls {
			cs := c.nc.(interface{ ConnectionState() tls.ConnectionState }).ConnectionState()
			q.tls = &cs
		}
		q.r = q.request(h)
		return q
	}
	for _, f := range h.Fields[:h.NFields] {
		if f.Canon == "Accept-Encoding" {
			q.ae[0], q.nae = q.head[f.Value.Off:f.Value.Off+f.Value.Len], 1
		}
	}
	return q
}

// request makes the http.Request of q, whose head h describes.
func (q *fastReq) request(h *http1.Head) *http.Request {
	text := q.head
	sub := func(s http1.Span) string { return text[s.Off : s.Off+s.Len] }
	u := &url.URL{Path: sub(h.Path), RawQuery: sub(h.Query), ForceQuery: h.HasQuery && h.Query.Len == 0}
	tmpl := http.Request{
		Method: http.MethodPost, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: q.header(h), Body: &q.body, ContentLength: h.ContentLength, Host: sub(h.Host),
		RemoteAddr: q.remote, RequestURI: sub(h.Target), Close: h.Close, TLS: q.tls,
	}
	return tmpl.WithContext(q.ctx)
}

// header makes the header of q, whose head h describes.
func (q *fastReq) header(h *http1.Head) http.Header {
	text := q.head
	hdr := make(http.Header, h.NFields)
	vals := make([]string, h.NFields)
	for i, f := range h.Fields[:h.NFields] {
		k := f.Canon
		if k == "" {
			k = string(http1.Canonical(nil, []byte(text[f.Name.Off:f.Name.Off+f.Name.Len])))
		}
		vals[i] = text[f.Value.Off : f.Value.Off+f.Value.Len]
		if v, ok := hdr[k]; ok {
			hdr[k] = append(v, vals[i])
		} else {
			hdr[k] = vals[i : i+1 : i+1]
		}
	}
	return hdr
}

// The jsonrpchttp.Direct of a direct request.

func (q *fastReq) Context() context.Context { return q.ctx }
func (q *fastReq) RemoteAddr() string       { return q.remote }
func (q *fastReq) Body() []byte             { return q.body.b }

func (q *fastReq) AcceptEncoding() []string {
	if q.nae == 0 {
		return nil
	}
	return q.ae[:1]
}

// Header parses the head again, which the reader has parsed already,
// but into c.head, which the next request's parse reuses.
func (q *fastReq) Header() http.Header {
	q.once.Do(func() {
		var h http1.Head
		http1.Parse([]byte(q.head), &h)
		q.hdr = q.header(&h)
	})
	return q.hdr
}

// fastBody is a request's body, read already.
type fastBody struct{ b []byte }

func (r *fastBody) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func (r *fastBody) Close() error { return nil }

// fastWriter is the http.ResponseWriter of a fast request: the response
// is kept until the handler returns, then written at once with its
// length; a Flush (rc.Flush) sends what there is, and the rest as it
// comes, delimited by the connection's close.
type fastWriter struct {
	c          *fastConn
	header     http.Header
	status     int
	buf        []byte // fastHeadRoom bytes of room, then the body; nil: no body yet
	reqClose   bool
	streaming  bool // the head was sent by a Flush
	closeAfter bool // close the connection after the response
	err        error
}

// Header returns the response headers: the connection's map, kept from
// one response to the next (a handler does not use it once it returns).
func (w *fastWriter) Header() http.Header {
	if w.header == nil {
		if w.c.hdr == nil {
			w.c.hdr = make(http.Header, 4)
		}
		clear(w.c.hdr)
		w.header = w.c.hdr
	}
	return w.header
}

// body is what the body holds so far.
func (w *fastWriter) body() []byte {
	if w.buf == nil {
		return nil
	}
	return w.buf[fastHeadRoom:]
}

func (w *fastWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

func (w *fastWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.err != nil {
		return 0, w.err
	}
	if w.streaming {
		n, err := w.c.write(p)
		w.err = err
		return n, err
	}
	if w.buf == nil {
		if cap(w.c.out) < fastHeadRoom {
			w.c.out = make([]byte, 0, 2*fastHeadRoom)
		}
		w.buf = w.c.out[:fastHeadRoom]
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// FlushError sends the head and what the body holds; the rest of the
// body follows as written, and the connection closes after it.
func (w *fastWriter) FlushError() error {
	w.WriteHeader(http.StatusOK)
	if w.streaming || w.err != nil {
		return w.err
	}
	w.streaming, w.closeAfter = true, true
	w.err = w.send(false)
	return w.err
}

// SetReadDeadline does nothing: the body is read already, within the
// I/O timeout (WithWriteTimeout) if one is set.
func (w *fastWriter) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is the handler's, through http.ResponseController.

// It is set lazily (lazyDeadline), as the front's connections' are.
func (w *fastWriter) SetWriteDeadline(t time.Time) error { return w.c.wdl.update(t, w.c.wapply) }

// EnableFullDuplex: the body is read already.
func (w *fastWriter) EnableFullDuplex() error { return nil }

// finish writes the response, unless a Flush began it.
func (w *fastWriter) finish() error {
	w.WriteHeader(http.StatusOK)
	if w.streaming {
		return w.err
	}
	err := w.send(true)
	if w.buf != nil && cap(w.buf) <= fastKeepOut {
		w.c.out = w.buf[:0]
	}
	return err
}

// send writes the status line, the headers and the body so far, with
// the body's length if sized.
func (w *fastWriter) send(sized bool) error {
	c := w.c
	hdr := w.header
	if hdr.Get("Connection") == "close" || w.reqClose {
		w.closeAfter = true
	}
	body := w.body()
	noBody := w.status == http.StatusNoContent || w.status == http.StatusNotModified
	var buf [fastHeadRoom]byte
	out := append(buf[:0], "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(w.status), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(w.status)...)
	out = append(out, "\r\n"...)
	for k, vs := range hdr {
		switch k {
		case "Content-Length", "Connection", "Transfer-Encoding":
			continue
		}
		if !validHeaderName(k) {
			continue
		}
		for _, v := range vs {
			out = appendHeader(out, k, v)
		}
	}
	if _, ok := hdr["Date"]; !ok {
		out = append(out, "Date: "...)
		out = append(out, c.httpDate()...)
		out = append(out, "\r\n"...)
	}
	if _, ok := hdr["Content-Type"]; !ok && len(body) > 0 && !noBody {
		out = appendHeader(out, "Content-Type", http.DetectContentType(body))
	}
	if sized && !noBody {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, int64(len(body)), 10)
		out = append(out, "\r\n"...)
	}
	if w.closeAfter {
		out = append(out, "Connection: close\r\n"...)
	}
	out = append(out, "\r\n"...)
	if noBody {
		body = nil
	}
	var msg []byte
	if w.buf != nil && len(out) <= fastHeadRoom {
		// The head goes in the room before the body.
		at := fastHeadRoom - len(out)
		copy(w.buf[at:], out)
		msg = w.buf[at : fastHeadRoom+len(body)]
	} else {
		msg = append(append(make([]byte, 0, len(out)+len(body)), out...), body...)
	}
	_, err := c.write(msg)
	if err != nil {
		return fmt.Errorf("simplerpc: writing an HTTP response: %w", err)
	}
	return nil
}

// appendHeader appends the field k: v, a line break in v made a space.
func appendHeader(out []byte, k, v string) []byte {
	out = append(out, k...)
	out = append(out, ": "...)
	for i := range len(v) {
		b := v[i]
		if b == '\r' || b == '\n' {
			b = ' '
		}
		out = append(out, b)
	}
	return append(out, "\r\n"...)
}

// validHeaderName reports whether k is a token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := range len(k) {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == ':' || c == '(' || c == ')' || c == ',' || c == '"' || c == '/' || c == ';' || c == '<' || c == '=' || c == '>' || c == '?' || c == '@' || c == '[' || c == '\\' || c == ']' || c == '{' || c == '}' {
			return false
		}
	}
	return true
}

// httpDate is the Date header's value now, made once a second.
func (c *fastConn) httpDate() []byte {
	now := time.Now()
	if sec := now.Unix(); sec != c.dateSec || c.date == nil {
		c.dateSec = sec
		c.date = now.UTC().AppendFormat(c.date[:0], http.TimeFormat)
	}
	return c.date
}
