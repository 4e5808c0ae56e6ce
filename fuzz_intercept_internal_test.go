package simplerpc

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// FuzzInterceptedServerConn sends arbitrary bytes, after a good
// handshake, to a server whose interceptor reads everything a call
// brings it — its metadata, sizes and context, which is canceled
// lazily (callctx.go): the server must close or keep the connection,
// never panic, and its connection goroutine must end when the client
// hangs up.
func FuzzInterceptedServerConn(f *testing.F) {
	call, flags := wire.AppendCallPrefix(nil, "F.Add", time.Second, []string{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "K", "v"})
	call = append(call, 0x82, 1, 2)
	seed := wire.AppendHeader(nil, wire.Header{Size: uint32(len(call)), Kind: wire.KindCall, Flags: flags, ID: 1})
	seed = append(seed, call...)
	f.Add(seed)
	f.Add(append(seed, wire.AppendHeader(nil, wire.Header{Kind: wire.KindCancel, ID: 1})...))
	ctxCall, cflags := wire.AppendCallPrefix(nil, "F.Sum", 0, nil)
	ctxCall = append(ctxCall, 0x82, 1, 2)
	f.Add(append(wire.AppendHeader(nil, wire.Header{Size: uint32(len(ctxCall)), Kind: wire.KindCall, Flags: cflags, ID: 2}), ctxCall...))
	open, oflags := wire.AppendCallPrefix(nil, "F.Echo", time.Second, nil)
	open = append(open, 0x80)
	stream := wire.AppendHeader(nil, wire.Header{Size: uint32(len(open)), Kind: wire.KindCall, Flags: oflags | wire.FlagStream, ID: 3})
	stream = append(stream, open...)
	stream = wire.AppendHeader(stream, wire.Header{Kind: wire.KindItem, Flags: wire.FlagEnd, ID: 3})
	f.Add(append([]byte{0xff}, stream...))
	look := func(next Invoker) Invoker {
		return func(ctx context.Context, info *CallInfo) error {
			_ = info.Metadata.Get("traceparent")
			_ = IncomingMetadata(ctx).Get("k")
			if info.RequestSize < 0 {
				panic("negative request size")
			}
			select {
			case <-ctx.Done():
			default:
			}
			err := next(ctx, info)
			_ = ctx.Err()
			if info.ResponseSize < 0 {
				panic("negative response size")
			}
			return err
		}
	}
	s := NewServer(WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithInterceptor(look))
	if err := s.Register("F", fuzzTarget{}); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Shutdown(context.Background()) }) // its call goroutines exit
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		s.connWG.Add(1)
		done := make(chan struct{})
		go func() {
			s.serveConn(server)
			close(done)
		}()
		go io.Copy(io.Discard, client) //nolint:errcheck // drains replies until the pipe closes
		_ = client.SetWriteDeadline(time.Now().Add(time.Second))
		// A first byte with its top bit set asks for streams.
		hello := wire.Hello{Version: wire.Version, Codec: "cbor"}
		if len(data) > 0 && data[0]&0x80 != 0 {
			hello.Flags, data = wire.HelloStreams, data[1:]
		}
		if _, err := client.Write(wire.AppendHello(nil, hello)); err == nil {
			_, _ = client.Write(data)
		}
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("connection goroutine did not end after the client hung up")
		}
	})
}
