package simplerpc_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// Crasher's method panics before it returns its stream.
type Crasher struct{}

// Crash panics.
func (Crasher) Crash(context.Context) iter.Seq2[int, error] { panic("crash before the stream") }

// TestStreamMethodPanicBeforeItsStream checks that a server stream's
// method that panics, which runs on a goroutine of its own, fails the
// stream with CodeInternal and the panic's message and type, the stack
// sent being the method's own, and that the server goes on serving.
func TestStreamMethodPanicBeforeItsStream(t *testing.T) {
	ts := startServer(t, simplerpc.WithStackTraces(true))
	if err := ts.srv.Register("Crasher", Crasher{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	for range 2 {
		var err error
		for _, err = range simplerpc.Stream[int](context.Background(), c, "Crasher.Crash") {
		}
		var e *simplerpc.Error
		if !errors.As(err, &e) || e.Code != simplerpc.CodeInternal {
			t.Fatalf("stream error %v, want CodeInternal", err)
		}
		if e.Message != "crash before the stream" || e.RemoteType != "string" {
			t.Fatalf("message %q, type %q", e.Message, e.RemoteType)
		}
		if !strings.Contains(e.Stack, "Crasher.Crash") {
			t.Fatalf("the stack sent is not the method's:\n%s", e.Stack)
		}
	}
}
