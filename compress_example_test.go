package simplerpc_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/simplerpc/simplerpc"
)

func ExampleWithCompression() {
	// Both sides turn compression on; either alone sends everything as
	// it is.
	srv := simplerpc.NewServer(simplerpc.WithCompression(simplerpc.DefaultCompressionMinSize))
	if err := srv.RegisterFunc("upper", strings.ToUpper); err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	defer func() {
		_ = srv.Shutdown(context.Background())
		<-done
	}()

	c, err := simplerpc.Dial(context.Background(), l.Addr().String(),
		simplerpc.WithCompression(simplerpc.DefaultCompressionMinSize))
	if err != nil {
		panic(err)
	}
	defer c.Close()

	// 64 KiB of text goes compressed both ways; the caller sees none of it.
	text := strings.Repeat("compressible text ", 64<<10/18)
	var out string
	if err := c.Call(context.Background(), "upper", []any{text}, &out); err != nil {
		panic(err)
	}
	fmt.Println(len(out), out[:17])
	// Output:
	// 65520 COMPRESSIBLE TEXT
}
