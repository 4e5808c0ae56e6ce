package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
)

// A call's context is canceled without making a context of its own
// until someone asks for Done; it still says why, and carries the
// caller's metadata.
func TestCallCtxLazy(t *testing.T) {
	md := Metadata{"k": "v"}
	c := newCallCtx(context.Background(), 0, md)
	if err := c.Err(); err != nil {
		t.Fatalf("Err of a live call = %v", err)
	}
	if got := IncomingMetadata(c).Get("k"); got != "v" {
		t.Errorf("incoming metadata k = %q, want v", got)
	}
	if _, ok := c.Deadline(); ok {
		t.Error("a call without a timeout has a deadline")
	}
	c.cancel()
	if c.live.Load() != nil {
		t.Error("cancel made a context nobody asked for")
	}
	if err := c.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after cancel = %v, want Canceled", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done after cancel is not closed")
	}
	if err := context.Cause(c); !errors.Is(err, context.Canceled) {
		t.Errorf("Cause after cancel = %v, want Canceled", err)
	}
}

// context.Cause sees the cancel even when nothing asked for Done first.
func TestCallCtxCauseWithoutDone(t *testing.T) {
	c := newCallCtx(context.Background(), 0, nil)
	if err := context.Cause(c); err != nil {
		t.Fatalf("Cause of a live call = %v", err)
	}
	c.cancel()
	if err := context.Cause(c); !errors.Is(err, context.Canceled) {
		t.Errorf("Cause after cancel = %v, want Canceled", err)
	}
}

// Done asked for before the cancel closes with it; a context derived
// from the call's follows it, and so does the end of the parent.
func TestCallCtxDoneAndChildren(t *testing.T) {
	c := newCallCtx(context.Background(), 0, nil)
	done := c.Done()
	child, stop := context.WithCancel(c)
	defer stop()
	select {
	case <-done:
		t.Fatal("Done closed before the cancel")
	default:
	}
	c.cancel()
	<-done
	<-child.Done()
	if !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("child Err = %v", child.Err())
	}

	parent, cancelParent := context.WithCancel(context.Background())
	p := newCallCtx(parent, 0, nil)
	cancelParent()
	if err := p.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after the parent ended = %v, want Canceled", err)
	}
	<-p.Done()

	parent, cancelParent = context.WithCancel(context.Background())
	q := newCallCtx(parent, 0, nil)
	qdone := q.Done()
	cancelParent()
	<-qdone
}

// The caller's timeout ends the call: Err says so at the deadline
// whether or not anyone asked for Done, and Done closes then.
func TestCallCtxDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lazy := newCallCtx(context.Background(), 10*time.Millisecond, nil)
		watched := newCallCtx(context.Background(), 10*time.Millisecond, nil)
		done := watched.Done()
		if dl, ok := lazy.Deadline(); !ok || dl != time.Now().Add(10*time.Millisecond) {
			t.Errorf("Deadline = %v, %v", dl, ok)
		}
		if lazy.Err() != nil || watched.Err() != nil {
			t.Fatal("a call ended before its deadline")
		}
		<-done
		if !errors.Is(watched.Err(), context.DeadlineExceeded) {
			t.Errorf("Err at the deadline = %v", watched.Err())
		}
		if !errors.Is(lazy.Err(), context.DeadlineExceeded) {
			t.Errorf("Err at the deadline, Done never asked for = %v", lazy.Err())
		}
		<-lazy.Done()
		lazy.cancel()
		watched.cancel()
		if !errors.Is(lazy.Err(), context.DeadlineExceeded) {
			t.Errorf("cancel after the deadline changed Err to %v", lazy.Err())
		}
	})
	// A parent's earlier deadline is the call's.
	parent, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pd, _ := parent.Deadline()
	if dl, _ := newCallCtx(parent, time.Hour, nil).Deadline(); !dl.Equal(pd) {
		t.Errorf("Deadline = %v, want the parent's %v", dl, pd)
	}
}

// A call whose context comes from that of a call already running (a
// JSON-RPC request a method makes in process with its own context) runs
// with a serverCall of its own, leaving the running call's alone.
func TestInterceptNestedCall(t *testing.T) {
	var methods []string
	seen := func(next Invoker) Invoker {
		return func(ctx context.Context, info *CallInfo) error {
			methods = append(methods, info.Method)
			return next(ctx, info)
		}
	}
	d := newTestDispatcher(dispatchConfig{interceptors: []Interceptor{seen}})
	if err := d.register("Calc", dispatchCalc{}); err != nil {
		t.Fatal(err)
	}
	outer := newCallCtx(context.Background(), 0, nil)
	outer.call.info.RequestSize = 7
	add, neg := d.lookupName("Calc.Add"), d.lookupName("Calc.Neg")
	// The outer call is running: its serverCall is claimed.
	outer.call.m = add
	args, e := neg.decodeArgs(codec.JSON, []byte("[4]"))
	if e != nil {
		t.Fatal(e)
	}
	var buf bytes.Buffer
	if e, _ := d.execute(outer, neg, args, codec.JSON, &buf, "peer"); e != nil {
		t.Fatal(e)
	}
	if got := strings.TrimSpace(buf.String()); got != "[-4]" {
		t.Errorf("nested call's result %s, want [-4]", got)
	}
	if outer.call.m != add || outer.call.info.RequestSize != 7 || outer.call.info.Method != "" {
		t.Errorf("the nested call changed the running call's serverCall: %+v", outer.call.info)
	}
	if len(methods) != 1 || methods[0] != "Calc.Neg" {
		t.Errorf("interceptors saw %q", methods)
	}
}

// A cancel table holds a call context as itself: a cancel frame for its
// id cancels it, and so does forgetting it when the call ends; a plain
// cancel function is called by a cancel frame and left to its owner
// when forgotten.
func TestCancelSetCallContext(t *testing.T) {
	cs := newCancelSet()
	ended := newCallCtx(context.Background(), 0, nil)
	done := ended.Done()
	cs.addCall(1, ended)
	if ended.Err() != nil {
		t.Fatal("a call context ended when its table took it")
	}
	cs.remove(1)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Done of a call context its table forgot did not close")
	}
	if !errors.Is(ended.Err(), context.Canceled) {
		t.Errorf("Err of a call context its table forgot = %v, want Canceled", ended.Err())
	}

	framed := newCallCtx(context.Background(), 0, nil)
	cs.addCall(2, framed)
	cs.cancel(2)
	if !errors.Is(framed.Err(), context.Canceled) {
		t.Errorf("Err of a call context canceled by id = %v, want Canceled", framed.Err())
	}
	cs.remove(2)
	cs.cancel(2) // forgotten: nothing to cancel

	called := 0
	cs.add(3, func() { called++ })
	cs.cancel(3)
	cs.remove(3)
	if called != 1 {
		t.Errorf("a plain cancel function was called %d times by a cancel and a remove, want 1", called)
	}
	if !cs.claim(4) || cs.claim(4) {
		t.Error("claim took an id twice")
	}
	cs.cancel(4) // claimed, no cancel yet
	cs.remove(4)
	if len(cs.m) != 0 {
		t.Errorf("the table keeps %d entries after every call ended", len(cs.m))
	}
}
