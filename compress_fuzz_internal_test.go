package simplerpc

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// FuzzServerConnCompressed is FuzzServerConn on a connection that
// negotiated compression: whatever compressed frames a client sends, the
// server closes or keeps the connection, never panics, and ends the
// connection's goroutine when the client hangs up.
func FuzzServerConnCompressed(f *testing.F) {
	call, flags := wire.AppendCallPrefix(nil, "F.Echo", time.Second, nil)
	call = append(call, 0x81, 0x78, 0x40) // an array of one 64-byte text string
	call = append(call, bytes.Repeat([]byte("ab"), 32)...)
	frame := wire.AppendHeader(nil, wire.Header{Size: uint32(len(call)), Kind: wire.KindCall, Flags: flags, ID: 1})
	frame = append(frame, call...)
	z, _ := wire.AppendCompressedFrame(nil, frame)
	f.Add(z)
	bomb := wire.AppendCompressed(nil, make([]byte, 2<<20))
	f.Add(append(wire.AppendHeader(nil, wire.Header{Size: uint32(len(bomb)), Kind: wire.KindCall, Flags: flags | wire.FlagCompressed, ID: 2}), bomb...))
	f.Add(append(wire.AppendHeader(nil, wire.Header{Size: 4, Kind: wire.KindItem, Flags: wire.FlagCompressed, ID: 1}), 0x28, 0xb5, 0x2f, 0xfd))
	s := NewServer(WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithCompression(1), WithMaxMessageSize(1<<20))
	if err := s.Register("F", fuzzTarget{}); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Shutdown(context.Background()) })
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
		hello := wire.Hello{Version: wire.Version, Codec: "cbor", Flags: wire.HelloCompress | wire.HelloStreams}
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
