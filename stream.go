package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"maps"
	"sync"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// A ClientStream is a call of a streaming method in progress: a method
// whose results are an iterator (the server streams), whose last
// parameter is one (the client streams), or both. Client.OpenStream opens
// it; Bind's stubs and Stream use it underneath.
//
// Send sends the items of the client's half and CloseSend ends it; Recv
// receives the server's items until io.EOF; Finish waits for the
// method's results. Close cancels the stream if it has not finished.
// Recv may run in one goroutine while Send runs in another; each of them
// is not to be called from two goroutines at once.
//
// The stream's context bounds it whole: when it ends, the stream is
// canceled on the server. The items each way are flow-controlled
// (PROTOCOL.md §12): Send waits while the server has not consumed the
// window, so a slow consumer holds up only its own stream.
type ClientStream struct {
	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool // undoes the AfterFunc that cancels on ctx
	ep     *endpoint
	cs     *clientStream
	pc     *pendingCall
	method string

	overCh chan struct{} // closed once the stream is over

	mu       sync.Mutex // guards the fields below
	over     bool       // the reply arrived, or the call failed; overCh is closed
	closed   bool       // the caller's half was ended
	finished bool       // Close ran
}

// OpenStream opens a stream call of method with args, the parameters
// before the stream (a streaming method's last parameter is its stream
// of items). Metadata and interceptors apply as to Call: the interceptors
// run around the opening. It retries, under the retry policy, only while
// the call has not been sent.
//
// A server that does not stream (an older version) fails it with
// CodeNotFound.
func (c *Client) OpenStream(ctx context.Context, method string, args ...any) (*ClientStream, error) {
	var s *ClientStream
	md := OutgoingMetadata(ctx)
	open := func(ctx context.Context, info *CallInfo) error {
		var err error
		s, err = c.openStream(ctx, info.Method, info.Args, info.Metadata.pairs())
		return err
	}
	var err error
	if len(c.cfg.interceptors) == 0 {
		err = open(ctx, &CallInfo{Method: method, Metadata: md, Args: args, Stream: true})
	} else {
		info := &CallInfo{Method: method, Metadata: maps.Clone(md), Peer: c.target, Args: args, Stream: true}
		if info.Metadata == nil {
			info.Metadata = make(Metadata)
		}
		err = chain(c.cfg.interceptors, open)(ctx, info)
	}
	if err != nil {
		if c.cfg.debug {
			c.debugLog(err)
		}
		return nil, err
	}
	return s, nil
}

// openStream opens the stream under the retry policy.
func (c *Client) openStream(ctx context.Context, method string, args []any, md []string) (*ClientStream, error) {
	var s *ClientStream
	err := c.attempt(ctx, method, func(ep *endpoint, cc *clientConn) error {
		var err error
		s, err = ep.open(ctx, cc, method, args, md)
		return err
	})
	return s, err
}

// open sends the call that opens a stream on cc.
func (ep *endpoint) open(ctx context.Context, cc *clientConn, method string, args []any, md []string) (*ClientStream, error) {
	if !cc.streams {
		return nil, errorf(CodeNotFound, method, "the server takes no streams (it speaks an older version of the protocol); call not sent")
	}
	if len(md) > 2*wire.MaxMetadata {
		return nil, errorf(CodeInvalidArgument, method, "%d metadata pairs; at most %d may travel with a call", len(md)/2, wire.MaxMetadata)
	}
	buf := getBuffer()
	frame, _, err := cc.appendCall(buf, method, timeoutOf(ctx), md, args)
	if err != nil {
		putBuffer(buf)
		return nil, err
	}
	frame[5] |= wire.FlagStream
	cs := &clientStream{method: method, codec: cc.codec, maxBody: cc.maxBody, resumable: !ep.calls.noSessions,
		recvConn: cc, sendConn: cc, got: make(chan struct{}, 1), gotItem: make(chan struct{}, 1)}
	pc := pendingPool.Get().(*pendingCall)
	pc.method, pc.frame, pc.err, pc.stream = method, buf, nil, cs
	pc.results = pc.small[:0]
	id, _, ok := ep.calls.register(cc.lane, pc)
	if !ok {
		pc.release()
		putBuffer(buf)
		return nil, errorf(CodeUnavailable, method, "connection closing; call not sent")
	}
	ep.calls.leave() // a stream is not a caller waiting on the connection
	cs.id = id
	s := &ClientStream{ep: ep, cs: cs, pc: pc, method: method, overCh: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.stop = context.AfterFunc(s.ctx, s.abort)
	if err := cc.send(ctx, frame, false); err != nil && ep.calls.unsend(id, cc.lane) {
		s.stop()
		s.cancel()
		pc.release()
		if ctx.Err() != nil {
			return nil, contextError(method, ctx.Err())
		}
		return nil, withCause(&Error{Code: CodeUnavailable, Method: method, Message: "connection failed before the call was sent: " + err.Error()}, err)
	}
	return s, nil
}

// abort cancels the stream on the server, if it is still running, when
// its context ends.
func (s *ClientStream) abort() {
	if sentOn, mine := s.ep.calls.remove(s.cs.id); mine {
		if sentOn != nil {
			sentOn.cancel(s.cs.id)
		}
		s.pc.err = contextError(s.method, context.Cause(s.ctx))
		s.pc.done <- struct{}{}
	}
}

// wait waits for something to happen on the stream: an item, a window,
// or its end. It reports false once the stream is over. The goroutine
// that takes the pending call's completion tells every other waiter.
func (s *ClientStream) wait() bool { return s.waitOn(s.cs.got) }

// waitItem waits for an item (after a take that found none), or the end.
func (s *ClientStream) waitItem() bool { return s.waitOn(s.cs.gotItem) }

func (s *ClientStream) waitOn(got chan struct{}) bool {
	select {
	case <-s.overCh:
		return false
	default:
	}
	select {
	case <-got:
		return true
	case <-s.pc.done:
		s.mu.Lock()
		s.over = true
		close(s.overCh)
		s.mu.Unlock()
		return false
	case <-s.overCh:
		return false
	}
}

// isOver reports whether the reply arrived or the call failed.
func (s *ClientStream) isOver() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.over
}

// Send sends v as the next item of the client's half of the stream,
// first waiting while the server's window is full. It fails once the
// stream is over — the server returned, or the stream was canceled —
// with the stream's error, or io.EOF if it ended without one.
func (s *ClientStream) Send(v any) error {
	buf := getBuffer()
	buf.Write(noHeader[:])
	if err := s.cs.codec.Append(buf, v); err != nil {
		putBuffer(buf)
		return errorf(CodeInvalidArgument, s.method, "cannot encode the stream item: %v", err)
	}
	if n := buf.Len() - wire.HeaderSize; n > s.cs.maxBody {
		putBuffer(buf)
		return errorf(CodeResourceExhausted, s.method, "stream item of %d bytes exceeds the server's %d-byte limit", n, s.cs.maxBody)
	}
	wire.PutHeader(buf.Bytes(), wire.KindItem, 0, s.cs.id)
	return s.send(buf.Bytes(), buf)
}

// send sends an item frame once the window has room and the stream is on
// a connection, or fails once the stream is over. own, if not nil, is
// the pooled buffer frame is the whole of: send puts it back in its
// pool, unless the stream keeps it for a resume (sendFrame).
func (s *ClientStream) send(frame []byte, own *bytes.Buffer) error {
	handed := false
	defer func() {
		if own != nil && !handed {
			putBuffer(own)
		}
	}()
	for {
		if s.isOver() {
			return s.endErr()
		}
		if !s.cs.room() {
			if !s.wait() {
				return s.endErr()
			}
			continue
		}
		var sent bool
		var err error
		sent, handed, err = s.cs.sendFrame(s.ctx, frame, own)
		switch {
		case err != nil && s.ctx.Err() != nil:
			return contextError(s.method, s.ctx.Err())
		case err != nil:
			return errorf(CodeConnectionLost, s.method, "sending a stream item: %v", err)
		case sent:
			return nil
		}
	}
}

// CloseSend ends the client's half of the stream: the method's iterator
// of items ends. It does nothing the second time.
func (s *ClientStream) CloseSend() error {
	s.mu.Lock()
	done := s.closed || s.over
	s.closed = true
	s.mu.Unlock()
	if done {
		return nil
	}
	frame := wire.AppendHeader(make([]byte, 0, wire.HeaderSize), wire.Header{Kind: wire.KindItem, Flags: wire.FlagEnd, ID: s.cs.id})
	if err := s.send(frame, nil); err != nil && err != io.EOF {
		return err
	}
	return nil
}

// Recv receives the next item the server sent into v, a pointer, waiting
// for one. At the end of the stream it returns io.EOF, or the error the
// stream ended with.
//
// A []byte item received into a *[]byte that is not nil takes the
// slice's capacity when it fits, as append does, so that chunk after
// chunk received into one slice costs no allocation: a caller that keeps
// an item's bytes past the next Recv receives into a nil slice (as Items
// does) or copies them.
func (s *ClientStream) Recv(v any) error {
	for {
		if err := s.ctx.Err(); err != nil {
			return contextError(s.method, err)
		}
		if body, ok := s.cs.take(); ok {
			if b, ok := v.(*[]byte); ok && codec.DecodeBytesInto(s.cs.codec, body, b) {
				return nil
			}
			if codec.DecodeIntInto(s.cs.codec, body, v) {
				return nil
			}
			if err := s.cs.codec.Unmarshal(body, v); err != nil {
				return errorf(CodeInvalidArgument, s.method, "stream item does not decode into %T: %v", v, err)
			}
			return nil
		}
		if !s.waitItem() {
			if s.cs.pending() {
				continue // items are queued before the reply is delivered
			}
			return s.endErr()
		}
	}
}

// opened waits until the server says that the stream is open, or it is
// over; it returns the stream's error if it is over with one.
func (s *ClientStream) opened() error {
	for !s.cs.isOpen() {
		if !s.wait() {
			if err := s.endErr(); err != io.EOF {
				return err
			}
			return nil
		}
	}
	return nil
}

// endErr is what the stream ended with: its error, or io.EOF.
func (s *ClientStream) endErr() error {
	if s.pc.err != nil {
		return s.pc.err
	}
	return io.EOF
}

// Finish ends the client's half if it is open, waits for the end of the
// stream, and decodes the method's results (those after the stream) into
// results, pointers. Items the server sent that were not received are
// dropped. It returns the stream's error, if it ended with one. Send must
// not run during or after it, nor Recv during it.
func (s *ClientStream) Finish(results ...any) error {
	_ = s.CloseSend()
	for {
		for {
			if _, ok := s.cs.take(); !ok {
				break
			}
		}
		if !s.waitItem() {
			break
		}
	}
	defer s.Close()
	if s.pc.err != nil {
		return s.pc.err
	}
	if len(results) == 0 {
		return nil
	}
	return decodeResults(s.cs.codec, s.pc.reply, false, s.method, results)
}

// Close cancels the stream if it is not over, and releases it. It is
// safe to call more than once, and after Finish.
func (s *ClientStream) Close() {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return
	}
	s.finished = true
	s.mu.Unlock()
	s.cancel() // runs abort unless the stream is over
	s.wait()
	s.stop()
}

// Opened waits until the server says that the stream is open — its
// method has started and, for one that returns its stream, has returned
// it — or the stream is over. It returns the error the stream ended with
// before it opened (the method's own, say), or nil.
func (s *ClientStream) Opened() error { return s.opened() }

// Stream calls method, a method that streams its results, with args, and
// returns its items as an iterator of values of type T. The call is made
// when the loop starts; breaking out of it cancels the stream on the
// server. The iterator yields the stream's error, if it ends with one, as
// its last pair.
//
//	for line, err := range simplerpc.Stream[string](ctx, c, "Logs.Tail", "app.log") {
//		if err != nil {
//			return err
//		}
//		fmt.Println(line)
//	}
func Stream[T any](ctx context.Context, c *Client, method string, args ...any) iter.Seq2[T, error] {
	return StreamWith[T, struct{}](ctx, c, method, nil, args...)
}

// StreamWith calls method, a bidirectional streaming method, with args:
// the items of in (nil for none) are sent in a goroutine of the call,
// which ends when in does, while the returned iterator yields the
// method's items of type Out. An error in yields cancels the stream and
// is the iterator's last error.
func StreamWith[Out, In any](ctx context.Context, c *Client, method string, in iter.Seq2[In, error], args ...any) iter.Seq2[Out, error] {
	return func(yield func(Out, error) bool) {
		s, err := c.OpenStream(ctx, method, args...)
		if err != nil {
			var zero Out
			yield(zero, err)
			return
		}
		defer s.Close()
		failed := make(chan error, 1)
		if in == nil {
			_ = s.CloseSend()
		} else {
			go func() { // ends when in does
				if err := sendItems(s, in); err != nil {
					failed <- err
					s.Close()
				}
			}()
		}
		for v, err := range Items[Out](s) {
			if err != nil {
				select {
				case ferr := <-failed:
					if ferr != nil {
						err = ferr
					}
				default:
				}
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// sendItems sends the items of in, then ends the client's half; the
// stream ending first stops it. It returns an error in yields, for the
// caller to cancel the stream with.
func sendItems[T any](s *ClientStream, in iter.Seq2[T, error]) error {
	for v, err := range in {
		if err != nil {
			return err
		}
		if s.Send(v) != nil {
			return nil
		}
	}
	return s.CloseSend()
}

// Items returns the items the server sends on s as an iterator of values
// of type T, which can be ranged over once. It ends at the end of the
// stream, yielding the stream's error, if it ends with one, as its last
// pair. It does not close s.
func Items[T any](s *ClientStream) iter.Seq2[T, error] {
	used := false
	return func(yield func(T, error) bool) {
		if used {
			var zero T
			yield(zero, errStreamUsed)
			return
		}
		used = true
		// One v for the whole stream, zeroed before each item: a v of each
		// item's own would escape to the heap (Recv takes an any), an
		// allocation per item.
		var v, zero T
		for {
			v = zero
			err := s.Recv(&v)
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(v, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// errStreamUsed is the error of a stream iterator ranged over twice.
var errStreamUsed = errors.New("simplerpc: a stream's iterator can be ranged over once")
