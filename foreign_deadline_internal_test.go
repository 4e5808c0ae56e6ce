package simplerpc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the deadlines set on it.
type countingConn struct {
	net.Conn
	reads, writes atomic.Int32
}

func (c *countingConn) SetReadDeadline(t time.Time) error {
	c.reads.Add(1)
	return c.Conn.SetReadDeadline(t)
}

func (c *countingConn) SetWriteDeadline(t time.Time) error {
	c.writes.Add(1)
	return c.Conn.SetWriteDeadline(t)
}

func pipeFront(t *testing.T) (*frontConn, *countingConn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	cc := &countingConn{Conn: a}
	return newFrontConn(cc, bufio.NewReader(bytes.NewReader(nil))), cc, b
}

// TestFrontConnDeadlinesCoalesce checks that the deadlines net/http sets
// around each keep-alive request reach the connection seldom.
func TestFrontConnDeadlinesCoalesce(t *testing.T) {
	fc, cc, _ := pipeFront(t)
	const requests = 100
	for range requests {
		now := time.Now()
		_ = fc.SetReadDeadline(now.Add(10 * time.Second)) // header timeout
		_ = fc.SetReadDeadline(time.Time{})               // whole request: none
		_ = fc.SetReadDeadline(now.Add(30 * time.Second)) // the handler's
		_ = fc.SetWriteDeadline(now.Add(30 * time.Second))
		_ = fc.SetReadDeadline(time.Time{}) // background read
		_ = fc.SetWriteDeadline(time.Time{})
	}
	if r, w := cc.reads.Load(), cc.writes.Load(); r > 2 || w > 2 {
		t.Fatalf("%d requests set the read deadline %d times and the write deadline %d times", requests, r, w)
	}
}

// TestFrontConnDeadlineKept checks that a deadline the connection kept
// after net/http asked for none, or for a later one, does not fail a
// read, and that the one asked for last still does, neither early nor
// much late.
func TestFrontConnDeadlineKept(t *testing.T) {
	fc, _, peer := pipeFront(t)
	_ = fc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_ = fc.SetReadDeadline(time.Time{}) // kept on the connection
	go func() {
		time.Sleep(100 * time.Millisecond) // well past the kept deadline
		_, _ = peer.Write([]byte("x"))
	}()
	buf := make([]byte, 1)
	if n, err := fc.Read(buf); n != 1 || err != nil {
		t.Fatalf("read after the deadline was lifted: %d, %v", n, err)
	}

	start := time.Now()
	_ = fc.SetReadDeadline(start.Add(20 * time.Millisecond))
	_ = fc.SetReadDeadline(start.Add(80 * time.Millisecond)) // the kept one fires first
	_, err := fc.Read(buf)
	took := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) || took < 80*time.Millisecond {
		t.Fatalf("read with an 80ms deadline: %v after %v", err, took)
	}
}

// TestFrontConnKeepAliveDeadlines checks that, of the read deadlines
// net/http sets around each keep-alive request, only the past one that
// aborts its background read and one more reach the connection: the idle
// timeout, within the horizon, covers the next request's header timeout.
func TestFrontConnKeepAliveDeadlines(t *testing.T) {
	fc, cc, _ := pipeFront(t)
	const requests = 100
	for range requests {
		now := time.Now()
		_ = fc.SetReadDeadline(now.Add(frontIdleTimeout)) // idle, until the next request
		_ = fc.SetReadDeadline(time.Time{})
		_ = fc.SetReadDeadline(now.Add(frontHeaderTimeout))
		_ = fc.SetReadDeadline(time.Time{})
		_ = fc.SetReadDeadline(now.Add(DefaultWriteTimeout)) // the handler's
		_ = fc.SetReadDeadline(time.Time{})                  // background read
		_ = fc.SetReadDeadline(time.Unix(1, 0))              // its abort
		_ = fc.SetReadDeadline(time.Time{})
	}
	if r := cc.reads.Load(); r > 2*requests {
		t.Fatalf("%d requests set the read deadline %d times", requests, r)
	}
}

// TestFrontConnDeadlineHorizon checks that a deadline past the horizon
// fails a read neither at the horizon nor much after it is due.
func TestFrontConnDeadlineHorizon(t *testing.T) {
	fc, cc, _ := pipeFront(t)
	fc.rdl.horizon = 20 * time.Millisecond
	start := time.Now()
	_ = fc.SetReadDeadline(start.Add(100 * time.Millisecond))
	_, err := fc.Read(make([]byte, 1))
	took := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) || took < 100*time.Millisecond || took > 2*time.Second {
		t.Fatalf("read with a 100ms deadline, 20ms horizon: %v after %v", err, took)
	}
	if r := cc.reads.Load(); r < 3 {
		t.Errorf("the read deadline was set %d times: not re-armed at the horizon", r)
	}
}

// TestFrontConnDeadlineLifted checks that a read goes on after net/http
// lifts the past deadline that aborted its background read, which the
// connection keeps: as a keep-alive connection's next request is read.
func TestFrontConnDeadlineLifted(t *testing.T) {
	fc, cc, peer := pipeFront(t)
	_ = fc.SetReadDeadline(time.Unix(1, 0)) // the abort
	_ = fc.SetReadDeadline(time.Time{})
	go func() { _, _ = peer.Write([]byte("GET")) }()
	buf := make([]byte, 3)
	if n, err := io.ReadFull(fc, buf); n != 3 || err != nil {
		t.Fatalf("read after the past deadline was lifted: %d, %v", n, err)
	}
	if r := cc.reads.Load(); r != 2 {
		t.Errorf("the read deadline was set %d times, want 2 (the past, then none as the read failed)", r)
	}
}

// TestFrontConnDeadlinePast checks that a deadline in the past interrupts
// a read under way at once, as net/http's abort of its background read
// needs, and that a write deadline the connection kept does not fail a
// write.
func TestFrontConnDeadlinePast(t *testing.T) {
	fc, _, peer := pipeFront(t)
	_ = fc.SetReadDeadline(time.Now().Add(time.Hour))
	done := make(chan error, 1)
	go func() {
		_, err := fc.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	_ = fc.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("interrupted read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline in the past did not interrupt the read")
	}

	_ = fc.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	_ = fc.SetWriteDeadline(time.Time{}) // kept
	go func() {
		time.Sleep(100 * time.Millisecond)
		_, _ = peer.Read(make([]byte, 8))
	}()
	if n, err := fc.Write([]byte("response")); n != 8 || err != nil {
		t.Fatalf("write after its deadline was lifted: %d, %v", n, err)
	}
}
