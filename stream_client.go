package simplerpc

import (
	"context"
	"fmt"
	"sync"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// A clientStream is the client's half of one stream on one connection:
// the items the server sent that the caller has not received yet, and
// the credit the server's window frames give the items the caller sends.
//
// The connection's reader feeds it (item, window) and completes its
// pending call with the reply; the caller drains it (next) and sends
// through it (send). It never outlives its connection: when that breaks,
// the stream fails with CodeConnectionLost (callTable.moveLocked).
type clientStream struct {
	cc     *clientConn
	id     uint64
	method string
	got    chan struct{} // signaled, without blocking, when an item or a window arrives

	mu       sync.Mutex // guards the fields below; a leaf
	queue    [][]byte   // item bodies received and not consumed, oldest first
	queued   int64      // bytes of them
	open     bool       // the server said the stream is open
	consumed wire.Window
	reported uint64      // consumed.Bytes in the last window frame sent
	sent     uint64      // bytes of item bodies sent
	peer     wire.Window // the server's last window frame
}

// item takes in an item frame of the server's.
func (cs *clientStream) item(h wire.Header, body []byte) error {
	if h.Flags&wire.FlagEnd != 0 {
		return fmt.Errorf("%w: the server ended a stream's half with an item; it ends a stream with its reply", errProtocol)
	}
	cs.mu.Lock()
	if cs.queued >= wire.StreamWindow {
		cs.mu.Unlock()
		return fmt.Errorf("%w: call %d's stream sent past its window of %d bytes", errProtocol, h.ID, wire.StreamWindow)
	}
	cs.queue = append(cs.queue, append([]byte(nil), body...))
	cs.queued += int64(wire.ItemCost(len(body)))
	cs.mu.Unlock()
	cs.signal()
	return nil
}

// window takes in a window frame of the server's.
func (cs *clientStream) window(h wire.Header, body []byte) error {
	cs.mu.Lock()
	w, err := wire.ParseWindowBody(body, cs.peer)
	cs.peer, cs.open = w, true
	cs.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	cs.signal()
	return nil
}

func (cs *clientStream) signal() {
	select {
	case cs.got <- struct{}{}:
	default:
	}
}

// take returns the next item body received, if there is one, reporting
// what is consumed to the server as the window requires.
func (cs *clientStream) take() ([]byte, bool) {
	cs.mu.Lock()
	if len(cs.queue) == 0 {
		cs.mu.Unlock()
		return nil, false
	}
	body := cs.queue[0]
	cs.queue[0] = nil
	cs.queue = cs.queue[1:]
	cost := wire.ItemCost(len(body))
	cs.queued -= int64(cost)
	cs.consumed.Items++
	cs.consumed.Bytes += cost
	w, report := cs.consumed, cs.consumed.Bytes-cs.reported >= wire.StreamWindow/4
	if report {
		cs.reported = w.Bytes
	}
	cs.mu.Unlock()
	if report {
		cs.cc.writeWindow(cs.id, w)
	}
	return body, true
}

// isOpen reports whether the server said the stream is open.
func (cs *clientStream) isOpen() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.open
}

// room reports whether the window lets the caller send an item now.
func (cs *clientStream) room() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.sent-cs.peer.Bytes < wire.StreamWindow
}

// sendFrame writes an item frame, counting its cost against the window.
func (cs *clientStream) sendFrame(ctx context.Context, frame []byte) error {
	cs.mu.Lock()
	cs.sent += wire.ItemCost(len(frame) - wire.HeaderSize)
	cs.mu.Unlock()
	return cs.cc.w.Write(ctx, frame)
}

// writeWindow writes a window frame for the stream id.
func (cc *clientConn) writeWindow(id uint64, w wire.Window) {
	frame := make([]byte, 0, wire.HeaderSize+wire.WindowBodySize)
	frame = wire.AppendHeader(frame, wire.Header{Kind: wire.KindWindow, ID: id, Size: wire.WindowBodySize})
	_ = cc.w.WriteControl(wire.AppendWindowBody(frame, w))
}

// streamFrame routes an item or window frame to its stream; a frame for a
// stream that has ended is dropped.
func (cc *clientConn) streamFrame(h wire.Header, body []byte) error {
	if !cc.streams {
		return fmt.Errorf("%w: server sent a %s frame on a connection without streams", errProtocol, h.Kind)
	}
	cs := cc.sink.stream(h.ID)
	if cs == nil {
		return nil
	}
	if h.Kind == wire.KindItem {
		return cs.item(h, body)
	}
	return cs.window(h, body)
}
