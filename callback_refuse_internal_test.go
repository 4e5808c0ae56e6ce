package simplerpc

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// nullSink is a call table with no calls: every callback frame names a
// call that is not running here.
type nullSink struct{}

func (nullSink) complete(*lane, uint64, int) (*pendingCall, settle) { return nil, settle{} }
func (nullSink) stream(uint64) *clientStream                        { return nil }
func (nullSink) callbacks(uint64) *clientCallbacks                  { return nil }
func (nullSink) stop(*lane) bool                                    { return true }
func (nullSink) end(*lane, error, bool)                             {}

// A server that floods a client with invocations it refuses, and reads
// nothing, does not make the client queue refusals without bound: the
// client ends the connection once maxRefusalBacklog of them wait.
func TestCallbackRefusalFloodEndsTheConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	flooded := make(chan int64, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			flooded <- 0
			return
		}
		defer nc.Close()
		_ = nc.(*net.TCPConn).SetReadBuffer(64 << 10) // it never reads: keep what the kernel takes in small
		welcome := wire.Welcome{Version: wire.Version, Status: wire.StatusOK, Flags: wire.WelcomeCallbacks, MaxBody: 1 << 20}
		if _, err := nc.Write(wire.AppendWelcome(nil, welcome)); err != nil {
			flooded <- 0
			return
		}
		// Invocations of call 999, which the client does not have, in
		// batches, until the client hangs up: at most 64 MiB of them,
		// which would make some 300 MiB of refusals.
		var batch []byte
		inv := uint64(0)
		sent := int64(0)
		_ = nc.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for sent < 64<<20 {
			batch = batch[:0]
			for len(batch) < 64<<10 {
				inv++
				body := append(wire.AppendCallbackPrefix(nil, 0, inv, 0, 0), 0x80) // no arguments
				batch = wire.AppendHeader(batch, wire.Header{Kind: wire.KindCallback, ID: 999, Size: uint32(len(body))})
				batch = append(batch, body...)
			}
			n, err := nc.Write(batch)
			sent += int64(n)
			if err != nil {
				break
			}
		}
		flooded <- sent
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.(*net.TCPConn).SetWriteBuffer(64 << 10)
	owner := make(chan struct{}, 1)
	cs := connSettings{writeTimeout: 30 * time.Second, maxMessageSize: 1 << 20, callbackLimit: DefaultClientCallbacks}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, _, err := newClientConn(ctx, nc, wire.Hello{Version: wire.Version, Flags: wire.HelloCallbacks, Codec: "cbor"}, cs, nullSink{}, owner)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-cc.done:
	case <-time.After(30 * time.Second):
		cc.close(nil)
		<-cc.done
		t.Fatalf("the client still reads the flood after 30s, holding %d bytes of refusals unsent", cc.w.Held()+int64(len(cc.cb.refused.buf)))
	}
	cc.mu.Lock()
	reason := cc.err
	cc.mu.Unlock()
	if !errors.Is(reason, errProtocol) || !strings.Contains(reason.Error(), "refusals") {
		t.Errorf("connection ended with %v; want a protocol error about the refusals waiting", reason)
	}
	if sent := <-flooded; sent >= 64<<20 {
		t.Errorf("the client read all %d bytes of the flood", sent)
	}
}

// oneCallSink is a call table with one call, 999, whose funcs are cb.
type oneCallSink struct {
	nullSink
	cb *clientCallbacks
}

func (s oneCallSink) callbacks(id uint64) *clientCallbacks {
	if id == 999 {
		return s.cb
	}
	return nil
}

// A server that asks again and again, on one connection, for the reply
// to an invocation the client has answered gets it once: the client
// does not queue a copy of the reply per asking.
func TestCallbackRepeatedInvocationAnsweredOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const repeats = 1000
	sent := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			sent <- err
			return
		}
		defer nc.Close()
		_ = nc.(*net.TCPConn).SetReadBuffer(64 << 10) // it never reads
		welcome := wire.Welcome{Version: wire.Version, Status: wire.StatusOK, Flags: wire.WelcomeCallbacks, MaxBody: 1 << 20}
		body := append(wire.AppendCallbackPrefix(nil, 0, 1, 0, 0), 0x80) // invocation 1, no arguments
		frame := append(wire.AppendHeader(nil, wire.Header{Kind: wire.KindCallback, ID: 999, Size: uint32(len(body))}), body...)
		if _, err := nc.Write(append(wire.AppendWelcome(nil, welcome), frame...)); err != nil {
			sent <- err
			return
		}
		time.Sleep(50 * time.Millisecond) // the client runs it and answers
		_ = nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		var again []byte
		for range repeats {
			again = append(again, frame...)
		}
		_, err = nc.Write(again)
		sent <- err
		<-stop
	}()
	defer close(stop)
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.(*net.TCPConn).SetWriteBuffer(64 << 10)
	const replySize = 64 << 10
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var runs atomic.Int32
	cb, _, err := newClientCallbacks(ctx, "Big", []any{func() []byte { runs.Add(1); return make([]byte, replySize) }})
	if err != nil {
		t.Fatal(err)
	}
	cb.resumable = true // replies are kept to send again
	defer cb.finish()
	cs := connSettings{writeTimeout: 30 * time.Second, maxMessageSize: 1 << 20, callbackLimit: DefaultClientCallbacks}
	cc, _, err := newClientConn(ctx, nc, wire.Hello{Version: wire.Version, Flags: wire.HelloCallbacks, Codec: "cbor"}, cs, oneCallSink{cb: cb}, make(chan struct{}, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cc.close(nil)
		<-cc.done
	}()
	if err := <-sent; err != nil {
		t.Fatalf("sending the invocation %d times: %v", repeats, err)
	}
	time.Sleep(300 * time.Millisecond) // the client reads them all
	if n := runs.Load(); n != 1 {
		t.Errorf("the invocation ran %d times; want once", n)
	}
	if held := cc.w.Held(); held > 4*replySize {
		t.Errorf("the client holds %d bytes unsent after %d askings for a reply of %d bytes; want at most a few copies", held, repeats, replySize)
	}
}
