package simplerpc_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// BenchmarkCallConns measures throughput with many clients, each with a
// connection of its own and one caller: the shape of a fleet of services
// calling one server, where nothing is batched on a connection.
func BenchmarkCallConns(b *testing.B) {
	for _, clients := range []int{64, 512} {
		b.Run(fmt.Sprintf("N=%d", clients), func(b *testing.B) {
			ts := startServerB(b)
			cs := make([]*simplerpc.Client, clients)
			for i := range cs {
				cs[i] = dialB(b, ts)
			}
			var next atomic.Int64
			b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c := cs[int(next.Add(1)-1)%clients]
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
