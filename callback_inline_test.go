package simplerpc_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// A lone invocation runs in the client connection's reader. A callback
// that calls the same client — a plain call, and a call with callbacks
// of its own — needs that reader to read its replies: the reading is
// taken over, and nothing deadlocks.
func TestCallbackCallsItsOwnClient(t *testing.T) {
	for _, name := range codecs {
		t.Run(name, func(t *testing.T) {
			ts, _ := startJobs(t)
			c := dial(t, ts.addr, simplerpc.WithCodec(name))
			jobs := bindJobs(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			onReader := 0
			total, err := jobs.Visit(ctx, []string{"a", "bb", "ccc"}, func(ctx context.Context, s string) (int, error) {
				if runsOnClientReader() {
					onReader++
				}
				var sum int
				if err := c.Call(ctx, "Calc.Add", []any{len(s), 100}, &sum); err != nil {
					return 0, err
				}
				// A call with callbacks of its own, from inside a callback.
				var steps int
				n, err := jobs.Run(ctx, len(s), func(done, total int) { steps++ })
				if err != nil || n != 10*len(s) || steps != len(s) {
					t.Errorf("nested Run(%d) = %d, %v after %d step(s); want %d, nil after %d", len(s), n, err, steps, 10*len(s), len(s))
				}
				return sum, nil
			})
			if err != nil || total != 306 {
				t.Fatalf("Visit = %d, %v; want 306", total, err)
			}
			if onReader == 0 {
				t.Errorf("no lone invocation ran in the client's reader")
			}
		})
	}
}

// A lone invocation that blocks does not hold up the connection: other
// callers' replies keep coming while it waits.
func TestCallbackBlockingInvocationYieldsTheReader(t *testing.T) {
	ts, _ := startJobs(t)
	c := dial(t, ts.addr)
	jobs := bindJobs(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	entered, release := make(chan bool, 1), make(chan struct{})
	waited := make(chan error, 1)
	go func() {
		waited <- jobs.Wait(ctx, 0, func(ctx context.Context) error {
			entered <- runsOnClientReader()
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	if !<-entered {
		t.Errorf("the lone invocation did not run in the client's reader")
	}
	for i := range 20 {
		var sum int
		if err := c.Call(ctx, "Calc.Add", []any{i, 1}, &sum); err != nil || sum != i+1 {
			t.Fatalf("Add(%d, 1) while a callback blocks = %d, %v", i, sum, err)
		}
	}
	close(release)
	if err := <-waited; err != nil {
		t.Fatalf("Wait = %v", err)
	}
	// The connection's reading went on in another goroutine: the next
	// lone invocations run there, as before.
	var got []int
	if _, err := jobs.Run(ctx, 3, func(done, total int) { got = append(got, done) }); err != nil || len(got) != 3 {
		t.Fatalf("Run after the takeover: %v, progress %v", err, got)
	}
}

// runsOnClientReader reports whether the calling goroutine is a client
// connection's reader.
func runsOnClientReader() bool {
	buf := make([]byte, 64<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "(*clientConn).readFrames")
}
