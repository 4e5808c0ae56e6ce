package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{Size: 1234, Kind: KindReply, Flags: FlagError, ID: 1<<63 + 5}
	b := AppendHeader(nil, h)
	if len(b) != HeaderSize {
		t.Fatalf("header is %d bytes", len(b))
	}
	got, err := ParseHeader(b, 4096)
	if err != nil || got != h {
		t.Fatalf("ParseHeader = %+v, %v; want %+v", got, err, h)
	}
	if _, err := ParseHeader(b, 1000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	b[4] = 0
	if _, err := ParseHeader(b, 4096); !errors.Is(err, ErrBadKind) {
		t.Errorf("kind 0: %v", err)
	}
	if _, err := ParseHeader(b[:5], 4096); !errors.Is(err, ErrShortHeader) {
		t.Errorf("short: %v", err)
	}
}

func TestCallRoundTrip(t *testing.T) {
	md := []string{"authorization", "Bearer x", "trace", ""}
	b, flags := AppendCallPrefix(nil, "Calc.Add", 1500*time.Millisecond, md)
	b = append(b, 0x82, 1, 2)
	c, err := ParseCall(b, flags)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Method) != "Calc.Add" || c.Timeout != 1500*time.Millisecond || len(c.Metadata) != 4 ||
		c.Metadata[1] != "Bearer x" || !bytes.Equal(c.Args, []byte{0x82, 1, 2}) {
		t.Fatalf("ParseCall = %+v", c)
	}
	b, flags = AppendCallPrefix(nil, "f", 0, nil)
	if c, err := ParseCall(b, flags); err != nil || c.Timeout != 0 || c.Metadata != nil || flags != 0 {
		t.Fatalf("no timeout: %+v, %v", c, err)
	}
	for _, bad := range [][]byte{nil, {5, 'a'}, {1, 'a'}, {1, 'a', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := ParseCall(bad, 0); !errors.Is(err, ErrMalformedCall) {
			t.Errorf("ParseCall(%x) = %v", bad, err)
		}
	}
}

// TestCallLimits checks that a call breaking a limit of a field is told
// apart from one that cannot be read: the first is refused alone, the
// second ends the connection.
func TestCallLimits(t *testing.T) {
	long := bytes.Repeat([]byte("m"), MaxMethodLen+1)
	tooLong, _ := AppendCallPrefix(nil, string(long), 0, nil)
	md := make([]string, 2*(MaxMetadata+1))
	tooMany, flags := AppendCallPrefix(nil, "f", 0, md)
	for _, tc := range []struct {
		name   string
		body   []byte
		flags  uint8
		field  string
		method string
	}{
		{"empty method", []byte{0, 0}, 0, "method name", ""},
		{"long method", tooLong, 0, "method name", ""},
		{"65 pairs", tooMany, flags, "metadata", "f"},
	} {
		c, err := ParseCall(tc.body, tc.flags)
		var le *LimitError
		if !errors.As(err, &le) || le.Field != tc.field || string(c.Method) != tc.method {
			t.Errorf("%s: ParseCall = %+v, %v; want a %s limit", tc.name, c, err, tc.field)
		}
	}
	ok, flags := AppendCallPrefix(nil, string(long[:MaxMethodLen]), 0, md[:2*MaxMetadata])
	if c, err := ParseCall(ok, flags); err != nil || len(c.Metadata) != 2*MaxMetadata {
		t.Errorf("at the limits: %+v, %v", c, err)
	}
}

// TestCallTimeoutBeyondDuration checks that timeouts a deadline cannot
// hold, up to 2^64−1 µs, mean no deadline rather than a malformed call.
func TestCallTimeoutBeyondDuration(t *testing.T) {
	for _, us := range []uint64{MaxTimeout + 1, 1 << 62, 1<<64 - 1} {
		body := binary.AppendUvarint([]byte{1, 'f'}, us)
		c, err := ParseCall(body, 0)
		if err != nil || c.Timeout != 0 {
			t.Errorf("timeout %d µs: %v, %v; want no deadline", us, c.Timeout, err)
		}
	}
	body := binary.AppendUvarint([]byte{1, 'f'}, MaxTimeout)
	if c, err := ParseCall(body, 0); err != nil || c.Timeout != time.Duration(MaxTimeout)*time.Microsecond {
		t.Errorf("timeout %d µs: %v, %v", MaxTimeout, c.Timeout, err)
	}
}

func TestCheckReserved(t *testing.T) {
	for _, h := range []Header{
		{Kind: KindCall, Flags: FlagMetadata, Size: 9},
		{Kind: KindReply, Flags: FlagError, Size: 9},
		{Kind: KindGoAway, Flags: FlagFinal, Size: 9},
		{Kind: KindAck, Size: AckBodySize},
		{Kind: KindPing, ID: 7},
	} {
		if err := CheckReserved(h); err != nil {
			t.Errorf("%+v: %v", h, err)
		}
	}
	for _, h := range []Header{
		{Kind: KindCall, Flags: FlagError},
		{Kind: KindCall, Flags: 1 << 7},
		{Kind: KindReply, Flags: FlagFinal},
		{Kind: KindCancel, Flags: FlagError},
		{Kind: KindAck, Flags: FlagMetadata},
		{Kind: KindCancel, Size: 1},
		{Kind: KindPing, Size: 8},
		{Kind: KindPong, Size: 1},
	} {
		if err := CheckReserved(h); !errors.Is(err, ErrReserved) {
			t.Errorf("%+v: %v", h, err)
		}
		if _, err := ParseHeader(AppendHeader(nil, h), DefaultMaxBody); !errors.Is(err, ErrReserved) {
			t.Errorf("ParseHeader(%+v): %v", h, err)
		}
	}
}

func TestHandshakeRoundTrip(t *testing.T) {
	b := AppendHello(nil, Hello{Version: Version, Codec: "cbor"})
	h, n, err := ParseHelloPrefix(b)
	if err != nil || h.Version != Version || n != 4 || string(b[HelloPrefixSize:]) != "cbor" {
		t.Fatalf("hello: %+v %d %v", h, n, err)
	}
	sent := Hello{Version: Version, Flags: HelloSession | HelloResume, Codec: "json", Session: [16]byte{1, 2, 3}}
	b = AppendHello(nil, sent)
	h, n, err = ParseHelloPrefix(b)
	if err != nil || n != 4+SessionIDSize || len(b) != HelloPrefixSize+n {
		t.Fatalf("hello with a session: %+v %d %v", h, n, err)
	}
	ParseHelloRest(&h, b[HelloPrefixSize:])
	if h != sent {
		t.Fatalf("hello with a session: got %+v, want %+v", h, sent)
	}
	w := Welcome{Version: Version, Status: StatusBadCodec, Flags: WelcomeResumed, MaxBody: 1 << 20}
	got, err := ParseWelcome(AppendWelcome(nil, w))
	if err != nil || got != w {
		t.Fatalf("welcome: %+v %v", got, err)
	}
	if v, err := ParseHelloVersion([]byte("SRPC\x02")); err != nil || v != 2 {
		t.Errorf("version alone: %d, %v", v, err)
	}
	if _, err := ParseHelloVersion([]byte("SRPC")); err == nil {
		t.Error("a hello without its version parsed")
	}
	if _, _, err := ParseHelloPrefix([]byte("HTTP/1.1")); !errors.Is(err, ErrBadMagic) {
		t.Errorf("bad magic: %v", err)
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(AppendHeader(nil, Header{Size: 10, Kind: KindCall, ID: 1}))
	f.Add(AppendHeader(nil, Header{Size: 1 << 31, Kind: KindGoAway, Flags: FlagFinal}))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b, DefaultMaxBody)
		if err != nil {
			return
		}
		if h.Size > DefaultMaxBody || !h.Kind.Valid() || CheckReserved(h) != nil {
			t.Fatalf("accepted %+v", h)
		}
		if !bytes.Equal(AppendHeader(nil, h), b[:HeaderSize]) {
			t.Fatal("header does not round-trip")
		}
	})
}

func FuzzParseCall(f *testing.F) {
	b, flags := AppendCallPrefix(nil, "Calc.Add", time.Second, []string{"k", "v"})
	f.Add(append(b, 0x82, 1, 2), flags)
	b, flags = AppendCallPrefix(nil, "greet", 0, nil)
	f.Add(b, flags)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, flags uint8) {
		c, err := ParseCall(body, flags)
		if err != nil {
			return
		}
		if len(c.Method) == 0 || len(c.Method) > MaxMethodLen || len(c.Metadata) > 2*MaxMetadata || c.Timeout < 0 {
			t.Fatalf("accepted %+v", c)
		}
		var md []string
		if flags&FlagMetadata != 0 {
			md = c.Metadata
		}
		again, f2 := AppendCallPrefix(nil, string(c.Method), c.Timeout, md)
		c2, err := ParseCall(append(again, c.Args...), f2)
		if err != nil || string(c2.Method) != string(c.Method) || !bytes.Equal(c2.Args, c.Args) {
			t.Fatalf("call does not round-trip: %+v vs %+v (%v)", c2, c, err)
		}
	})
}

func FuzzParseAckBody(f *testing.F) {
	f.Add(AppendAckBody(nil, 12345))
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, body []byte) {
		n, ok, err := ParseAckBody(body)
		switch {
		case err != nil:
			if len(body) == 0 || len(body) == AckBodySize {
				t.Fatalf("refused a %d-byte body: %v", len(body), err)
			}
		case ok:
			if !bytes.Equal(AppendAckBody(nil, n), body) {
				t.Fatalf("ack body %x does not round-trip (%d)", body, n)
			}
		case len(body) != 0:
			t.Fatalf("a %d-byte body parsed as empty", len(body))
		}
	})
}

func FuzzHandshake(f *testing.F) {
	f.Add(AppendHello(nil, Hello{Version: Version, Codec: "json"}))
	f.Add(AppendWelcome(nil, Welcome{Version: Version, MaxBody: 99}))
	f.Add([]byte("SRPC"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := ParseHelloVersion(b); err == nil && (len(b) < HelloVersionSize || v != b[4]) {
			t.Fatalf("version %d of % x", v, b)
		}
		if h, n, err := ParseHelloPrefix(b); err == nil {
			if n > 255+SessionIDSize || h.Version != b[4] {
				t.Fatalf("hello %+v %d", h, n)
			}
			if rest := b[HelloPrefixSize:]; len(rest) >= n {
				ParseHelloRest(&h, rest[:n])
				if !bytes.Equal(AppendHello(nil, h), b[:HelloPrefixSize+n]) {
					t.Fatal("hello does not round-trip")
				}
			}
		}
		if w, err := ParseWelcome(b); err == nil && !bytes.Equal(AppendWelcome(nil, w), b[:WelcomeSize]) {
			t.Fatal("welcome does not round-trip")
		}
	})
}

// TestPutHeader checks that a header written in place over reserved
// bytes reads back as written, with the size of the body behind it.
func TestPutHeader(t *testing.T) {
	frame := append(make([]byte, HeaderSize), "body"...)
	PutHeader(frame, KindReply, FlagError, 1<<40+7)
	h, err := ParseHeader(frame, 16)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Header{Size: 4, Kind: KindReply, Flags: FlagError, ID: 1<<40 + 7}); h != want {
		t.Fatalf("PutHeader wrote %+v, want %+v", h, want)
	}
}

// FuzzParseWindowBody checks that any window body parses or is refused
// without panicking, that counts never go back, and that a parsed body
// encodes back to itself.
func FuzzParseWindowBody(f *testing.F) {
	f.Add(AppendWindowBody(nil, Window{Items: 3, Bytes: 99}), uint64(1), uint64(10))
	f.Add([]byte{1, 2, 3}, uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, b []byte, items, bytes uint64) {
		prev := Window{Items: items, Bytes: bytes}
		w, err := ParseWindowBody(b, prev)
		if err != nil {
			if w != prev {
				t.Fatalf("a refused body changed the window to %+v", w)
			}
			return
		}
		if w.Items < prev.Items || w.Bytes < prev.Bytes {
			t.Fatalf("window went back: %+v after %+v", w, prev)
		}
		if got := AppendWindowBody(nil, w); string(got) != string(b) {
			t.Fatalf("round trip %x != %x", got, b)
		}
	})
}
