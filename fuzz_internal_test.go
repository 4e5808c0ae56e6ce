package simplerpc

import (
	"bytes"
	"context"
	"io"
	"iter"
	"log/slog"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

type fuzzPoint struct {
	X, Y  int
	Label string `json:"label"`
}

// fuzzTarget has the parameter shapes argument decoding must handle.
type fuzzTarget struct{}

func (fuzzTarget) Add(a, b int) int                             { return a + b }
func (fuzzTarget) Sum(ctx context.Context, n ...int64) int64    { return 0 }
func (fuzzTarget) Point(p fuzzPoint) string                     { return p.Label }
func (fuzzTarget) PtrPoint(p *fuzzPoint) string                 { return "" }
func (fuzzTarget) Mixed(b []byte, m map[string]any, s []string) {}

// Echo streams back what it receives, a bidirectional stream.
func (fuzzTarget) Echo(in iter.Seq2[int, error]) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for v, err := range in {
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// FuzzDecodeArgs feeds arbitrary argument arrays to every method shape on
// both codecs: decoding may fail, never panic, and what it builds always
// has the method's parameter types.
func FuzzDecodeArgs(f *testing.F) {
	var methods []*method
	v := reflect.ValueOf(fuzzTarget{})
	for i := 0; i < v.NumMethod(); i++ {
		m, err := newMethod(v.Type().Method(i).Name, v.Type().Method(i).Func, v)
		if err != nil {
			f.Fatal(err)
		}
		methods = append(methods, m)
	}
	for _, c := range []codec.Codec{codec.CBOR, codec.JSON} {
		for _, args := range [][]any{{1, 2}, {1, 2, 3}, {map[string]any{"X": 1, "label": "l"}}, {[]byte("x"), map[string]any{"k": []any{1}}, []string{"a"}}, {"x"}} {
			var buf bytes.Buffer
			_ = c.AppendArray(&buf, args)
			f.Add(c.Name() == "json", buf.Bytes())
		}
	}
	f.Add(false, []byte{0x9f, 0xff})
	f.Add(true, []byte(`[{"X":{"Y":[]}}]`))
	f.Fuzz(func(t *testing.T, useJSON bool, data []byte) {
		c := codec.CBOR
		if useJSON {
			c = codec.JSON
		}
		for _, m := range methods {
			args, e := m.decodeArgs(c, data)
			if e != nil {
				if e.Code != CodeInvalidArgument {
					t.Fatalf("%s: code %v", m.name, e.Code)
				}
				continue
			}
			if len(args) != m.lead+len(m.params) {
				t.Fatalf("%s: %d values for %d leading values and %d params", m.name, len(args), m.lead, len(m.params))
			}
			for i, a := range args[m.lead:] {
				if a.Type() != m.params[i] {
					t.Fatalf("%s: arg %d is %s, want %s", m.name, i, a.Type(), m.params[i])
				}
			}
		}
	})
}

// FuzzServerConn sends arbitrary bytes to a server after a good
// handshake: the server must close or keep the connection, never panic,
// and its connection goroutine must end when the client hangs up.
func FuzzServerConn(f *testing.F) {
	call, flags := wire.AppendCallPrefix(nil, "F.Add", time.Second, []string{"k", "v"})
	call = append(call, 0x82, 1, 2)
	seed := wire.AppendHeader(nil, wire.Header{Size: uint32(len(call)), Kind: wire.KindCall, Flags: flags, ID: 1})
	f.Add(append(seed, call...))
	f.Add(wire.AppendHeader(nil, wire.Header{Kind: wire.KindPing, ID: 7}))
	f.Add(wire.AppendHeader(nil, wire.Header{Kind: wire.KindCancel, ID: 1}))
	f.Add([]byte{0, 0, 0, 1, 1, 0})
	// A stream (the server asked for them): call, items, a window, the end.
	open, oflags := wire.AppendCallPrefix(nil, "F.Echo", time.Second, nil)
	open = append(open, 0x80)
	stream := wire.AppendHeader(nil, wire.Header{Size: uint32(len(open)), Kind: wire.KindCall, Flags: oflags | wire.FlagStream, ID: 3})
	stream = append(stream, open...)
	stream = append(wire.AppendHeader(stream, wire.Header{Size: 1, Kind: wire.KindItem, ID: 3}), 0x05)
	stream = wire.AppendWindowBody(wire.AppendHeader(stream, wire.Header{Size: wire.WindowBodySize, Kind: wire.KindWindow, ID: 3}), wire.Window{Items: 1, Bytes: 33})
	stream = wire.AppendHeader(stream, wire.Header{Kind: wire.KindItem, Flags: wire.FlagEnd, ID: 3})
	f.Add(append([]byte{0xff}, stream...))
	// Callbacks (the second bit asks for them): a call passing funcs in
	// slots 0 and 1, a reply to its first invocation, one to an
	// invocation never sent, and an error reply.
	cbCall, cflags := wire.AppendCallPrefix(nil, "C.Two", time.Second, nil)
	cbCall = append(cbCall, 0x82, 0x00, 0x01)
	cbs := wire.AppendHeader(nil, wire.Header{Size: uint32(len(cbCall)), Kind: wire.KindCall, Flags: cflags, ID: 5})
	cbs = append(cbs, cbCall...)
	reply := append(wire.AppendInvocation(nil, 1), 0x80)
	cbs = append(wire.AppendHeader(cbs, wire.Header{Size: uint32(len(reply)), Kind: wire.KindCallbackReply, ID: 5}), reply...)
	stray := append(wire.AppendInvocation(nil, 99), 0x80)
	cbs = append(wire.AppendHeader(cbs, wire.Header{Size: uint32(len(stray)), Kind: wire.KindCallbackReply, ID: 5}), stray...)
	failed := append(wire.AppendInvocation(nil, 2), 0x86, 0x01, 0x60, 0x60, 0x60, 0x60, 0x60)
	cbs = append(wire.AppendHeader(cbs, wire.Header{Size: uint32(len(failed)), Kind: wire.KindCallbackReply, Flags: wire.FlagError, ID: 5}), failed...)
	f.Add(append([]byte{0x40}, cbs...))
	s := NewServer(WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err := s.Register("F", fuzzTarget{}); err != nil {
		f.Fatal(err)
	}
	if err := s.Register("C", cbFuzzTarget{}); err != nil {
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
		// A first byte with its top bit set asks for streams; one with
		// the next bit set, for callbacks.
		hello := wire.Hello{Version: wire.Version, Codec: "cbor"}
		if len(data) > 0 && data[0]&0xc0 != 0 {
			if data[0]&0x80 != 0 {
				hello.Flags |= wire.HelloStreams
			}
			if data[0]&0x40 != 0 {
				hello.Flags |= wire.HelloCallbacks
			}
			data = data[1:]
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
