package simplerpc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// BenchmarkEchoCompression echoes JSON-like text of 1 KiB, 64 KiB and 1 MiB as a
// []byte over loopback, with compression off and with zstd at both ends
// (WithCompression(DefaultCompressionMinSize)). On loopback compression
// only costs: "off" is the figure that must not move, "zstd" what turning
// it on costs where it does not pay.
func BenchmarkEchoCompression(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		for _, mode := range []struct {
			name string
			min  int
		}{{"off", 0}, {"zstd", simplerpc.DefaultCompressionMinSize}} {
			b.Run(fmt.Sprintf("%dKiB/%s", size>>10, mode.name), func(b *testing.B) {
				srv := simplerpc.NewServer(simplerpc.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
					simplerpc.WithCompression(mode.min))
				if err := srv.Register("Calc", &Calc{}); err != nil {
					b.Fatal(err)
				}
				addr := serveB(b, srv)
				c := dialB(b, addr, simplerpc.WithCompression(mode.min))
				payload := textPayload(size)
				args := []any{payload}
				var out []byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.Call(context.Background(), "Calc.Echo", args, &out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
