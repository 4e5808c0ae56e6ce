package simplerpc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// BenchmarkCall measures one Add round trip over loopback TCP; allocs/op
// counts client and server together (both run in this process).
func BenchmarkCall(b *testing.B) {
	for _, name := range codecs {
		b.Run(name, func(b *testing.B) {
			ts := startServerB(b)
			c := dialB(b, ts, simplerpc.WithCodec(name))
			ctx := context.Background()
			var sum int64
			args := []any{int64(1), int64(2)}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Call(ctx, "Calc.Add", args, &sum); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCallParallel measures throughput with many callers sharing one
// client: 64 and 1024 of them.
func BenchmarkCallParallel(b *testing.B) {
	for _, callers := range []int{64, 1024} {
		b.Run(fmt.Sprintf("C=%d", callers), func(b *testing.B) {
			ts := startServerB(b)
			c := dialB(b, ts)
			b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var sum int64
				args := []any{int64(1), int64(2)}
				for pb.Next() {
					if err := c.Call(context.Background(), "Calc.Add", args, &sum); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func startServerB(b *testing.B) string {
	return startServerWithB(b, "Calc", &Calc{})
}

// serveB serves srv on a loopback listener until the benchmark ends, and
// returns its address.
func serveB(b *testing.B, srv *simplerpc.Server) string {
	l := listen(b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	b.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		<-done
	})
	return l.Addr().String()
}

// startServerWithB serves obj as service for a benchmark and returns its
// address.
func startServerWithB(b *testing.B, service string, obj any) string {
	srv := simplerpc.NewServer(simplerpc.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err := srv.Register(service, obj); err != nil {
		b.Fatal(err)
	}
	return serveB(b, srv)
}

func dialB(b *testing.B, addr string, opts ...simplerpc.ClientOption) *simplerpc.Client {
	c, err := simplerpc.Dial(context.Background(), addr, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}
