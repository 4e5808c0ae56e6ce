package simplerpc_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// TestProtocol_3_CallAndResults: a call names a method or a bare
// function; its reply holds the results, without the final error, in an
// array (empty for none).
func TestProtocol_3_CallAndResults(t *testing.T) {
	ts := startServer(t)
	for _, name := range codecs {
		t.Run(name, func(t *testing.T) {
			w := openWire(t, ts.addr, name)
			w.call(1, "Calc.Add", 40, 2)
			var n int
			w.results(w.reply(), &n)
			w.call(2, "greet", "ada")
			var s string
			w.results(w.reply(), &s)
			w.call(3, "Calc.DivMod", 7, 2)
			var q, r int
			w.results(w.reply(), &q, &r)
			w.call(4, "Calc.Nothing")
			w.results(w.reply())
			w.call(5, "Calc.Sum", 1, 2, 3) // variadic: each element its own
			var sum int
			w.results(w.reply(), &sum)
			if n != 42 || s != "hello, ada" || q != 3 || r != 1 || sum != 6 {
				t.Fatalf("results: %d %q %d %d %d", n, s, q, r, sum)
			}
			w.call(6, "Calc.Add", 1)
			w.expectCode(6, simplerpc.CodeInvalidArgument)
		})
	}
}

// TestProtocol_3_MethodNameLimits: a method name of 1–1024 bytes is
// looked up; an empty one or a longer one is refused alone with
// invalid_argument, and the connection goes on.
func TestProtocol_3_MethodNameLimits(t *testing.T) {
	ts := startServer(t)
	w := openWire(t, ts.addr, "cbor")
	w.call(1, "Calc."+strings.Repeat("x", wire.MaxMethodLen-5))
	w.expectCode(1, simplerpc.CodeNotFound)
	w.call(2, "Calc."+strings.Repeat("x", wire.MaxMethodLen-4))
	e := w.expectCode(2, simplerpc.CodeInvalidArgument)
	if !strings.Contains(e.Message, "1025 bytes") || !strings.Contains(e.Message, "call not run") {
		t.Errorf("message for a 1025-byte name: %q", e.Message)
	}
	w.frame(wire.KindCall, 0, 3, []byte{0, 0, 0x80})
	w.expectCode(3, simplerpc.CodeInvalidArgument)
	w.expectAdd(4)
}

// TestProtocol_3_MetadataLimit: up to 64 metadata pairs are accepted;
// more are refused alone with invalid_argument.
func TestProtocol_3_MetadataLimit(t *testing.T) {
	ts := startServer(t)
	w := openWire(t, ts.addr, "json")
	md := func(pairs int) []string {
		var kv []string
		for i := range pairs {
			kv = append(kv, fmt.Sprintf("k%d", i), "v")
		}
		return kv
	}
	body, flags := w.callBody("Calc.Add", 0, md(wire.MaxMetadata), 1, 2)
	w.frame(wire.KindCall, flags, 1, body)
	var n int
	w.results(w.reply(), &n)
	body, flags = w.callBody("Calc.Add", 0, md(wire.MaxMetadata+1), 1, 2)
	w.frame(wire.KindCall, flags, 2, body)
	if e := w.expectCode(2, simplerpc.CodeInvalidArgument); e.Method != "Calc.Add" || !strings.Contains(e.Message, "65 pairs") {
		t.Errorf("65 pairs: %+v", e)
	}
	w.expectAdd(3)
}

// TestProtocol_3_Timeout: a call runs with a deadline of its timeout; 0,
// and any value past the longest deadline (up to 2^64−1), mean none.
func TestProtocol_3_Timeout(t *testing.T) {
	cs := startConf(t)
	w := openWire(t, cs.addr, "cbor")
	for i, tc := range []struct {
		us       uint64
		deadline bool
	}{
		{0, false},
		{1_000_000, true},
		{wire.MaxTimeout, true},
		{wire.MaxTimeout + 1, false},
		{1 << 62, false},
		{1<<64 - 1, false},
	} {
		const m = "Conf.HasDeadline"
		body := append([]byte{byte(len(m))}, m...)
		body = binary.AppendUvarint(body, tc.us)
		body = append(body, 0x80) // no arguments
		w.frame(wire.KindCall, 0, uint64(i+1), body)
		var has bool
		w.results(w.reply(), &has)
		if has != tc.deadline {
			t.Errorf("timeout %d µs: deadline %v, want %v", tc.us, has, tc.deadline)
		}
	}
	body, flags := w.callBody("Calc.Sleep", 20*time.Millisecond, nil, int64(time.Minute))
	w.frame(wire.KindCall, flags, 10, body)
	w.expectCode(10, simplerpc.CodeDeadlineExceeded)
}

// TestProtocol_3_UnreadableBodyCloses: a uvarint over 64 bits, or a length
// past the body, cannot be read: a violation.
func TestProtocol_3_UnreadableBodyCloses(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		body  []byte
		flags uint8
	}{
		{append([]byte{1, 'f'}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 0}, // timeout of 11 bytes
		{[]byte{9, 'f'}, 0}, // name past the body
		{[]byte{1, 'f'}, 0}, // no timeout
		{[]byte{1, 'f', 0, 1, 5, 'k'}, wire.FlagMetadata}, // metadata key past the body
	} {
		w := openWire(t, ts.addr, "cbor")
		w.frame(wire.KindCall, tc.flags, 1, tc.body)
		w.expectClosed()
	}
}
