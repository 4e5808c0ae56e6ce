package simplerpc_test

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkEchoLarge measures a 16 MiB []byte echo (just under the
// default message limit) over loopback TCP; B/op counts what client and
// server allocate for it together, in copies of the value.
func BenchmarkEchoLarge(b *testing.B) {
	addr := startServerB(b)
	c := dialB(b, addr)
	data := bytes.Repeat([]byte("0123456789abcdef"), (16<<20-1024)/16)
	var out []byte
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(context.Background(), "Calc.Echo", []any{data}, &out); err != nil {
			b.Fatal(err)
		}
	}
}
