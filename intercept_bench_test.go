package simplerpc_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// BenchmarkCallIntercepted measures what having interceptors costs a
// call, both sides together: Add from 64 callers sharing one client, with
// no interceptor ("off"), with one on each side that returns the Invoker
// it wraps ("pass"), and with one on each side that calls it from a
// function of its own ("wrap"), the shape of any real interceptor.
func BenchmarkCallIntercepted(b *testing.B) {
	pass := func(next simplerpc.Invoker) simplerpc.Invoker { return next }
	wrap := func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error { return next(ctx, info) }
	}
	for _, m := range []struct {
		name string
		ic   simplerpc.Interceptor
	}{{"off", nil}, {"pass", pass}, {"wrap", wrap}} {
		b.Run(m.name, func(b *testing.B) {
			sopts := []simplerpc.ServerOption{simplerpc.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
			var copts []simplerpc.ClientOption
			if m.ic != nil {
				sopts = append(sopts, simplerpc.WithInterceptor(m.ic))
				copts = append(copts, simplerpc.WithInterceptor(m.ic))
			}
			srv := simplerpc.NewServer(sopts...)
			if err := srv.Register("Calc", &Calc{}); err != nil {
				b.Fatal(err)
			}
			addr := serveB(b, srv)
			c := dialB(b, addr, copts...)
			b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var sum int64
				args := []any{int64(1), int64(2)}
				for pb.Next() {
					if err := c.Call(context.Background(), "Calc.Add", args, &sum); err != nil || sum != 3 {
						b.Errorf("Calc.Add: %d, %v", sum, err)
						return
					}
				}
			})
		})
	}
}
