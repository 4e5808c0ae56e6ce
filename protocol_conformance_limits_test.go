package simplerpc_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// callWithArgs sends a call whose argument list is the raw encoding args.
func (w *wireConn) callWithArgs(id uint64, method string, args []byte) {
	w.t.Helper()
	body, flags := wire.AppendCallPrefix(nil, method, 0, nil)
	w.frame(wire.KindCall, flags, id, append(body, args...))
}

// cborArrayHead is the head of a CBOR array of n elements.
func cborArrayHead(n int) []byte {
	if n < 24 {
		return []byte{0x80 | byte(n)}
	}
	return binary.BigEndian.AppendUint32([]byte{0x9a}, uint32(n))
}

// TestProtocol_8_DecoderLimits: an argument list over a decoder limit of
// the table — nesting, elements of a container, data items in all, a
// tag — is refused alone with invalid_argument; at the limit it is
// decoded and the call runs.
func TestProtocol_8_DecoderLimits(t *testing.T) {
	cs := startConf(t)
	nested := func(levels int) []byte { // [[[…[]…]]]: the list is level 1
		return append(bytes.Repeat([]byte{0x81}, levels-1), 0x80)
	}
	zeros := func(n int) []byte { return append(cborArrayHead(n), make([]byte, n)...) }
	jsonNested := func(levels int) []byte {
		return []byte(strings.Repeat("[", levels) + strings.Repeat("]", levels))
	}
	for _, tc := range []struct {
		name, codec, method string
		args                []byte
		ok                  bool
	}{
		{"64 levels", "cbor", "Conf.Take", nested(64), true},
		{"65 levels", "cbor", "Conf.Take", nested(65), false},
		{"64 levels", "json", "Conf.Take", jsonNested(64), true},
		{"65 levels", "json", "Conf.Take", jsonNested(65), false},
		{"2^20 elements", "cbor", "Calc.Sum", zeros(1 << 20), true},
		{"2^20+1 elements", "cbor", "Calc.Sum", zeros(1<<20 + 1), false},
		{"2^20 items in all", "cbor", "Conf.Take", append([]byte{0x81}, zeros(1<<20-1)...), true},
		{"2^20+1 items in all", "cbor", "Conf.Take", append([]byte{0x81}, zeros(1<<20)...), false},
		{"tag 1", "cbor", "Conf.Take", []byte{0x81, 0xc1, 0x00}, true},
		{"tag 32", "cbor", "Conf.Take", []byte{0x81, 0xd8, 0x20, 0x60}, false},
	} {
		w := openWire(t, cs.addr, tc.codec)
		w.callWithArgs(1, tc.method, tc.args)
		f := w.reply()
		if tc.ok {
			if f.Flags&wire.FlagError != 0 {
				t.Errorf("%s %s: refused: %+v", tc.codec, tc.name, w.errorObject(f))
			}
		} else if e := w.errorObject(f); e.Code != simplerpc.CodeInvalidArgument {
			t.Errorf("%s %s: %+v, want invalid_argument", tc.codec, tc.name, e)
		}
		w.expectAdd(2)
	}
}

// TestProtocol_8_ReplyOverLimit: a reply the server cannot send within its
// maximum message size becomes resource_exhausted.
func TestProtocol_8_ReplyOverLimit(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxMessageSize(1<<16))
	w := openWire(t, ts.addr, "cbor")
	w.call(1, "Calc.Zeros", 1<<16)
	w.expectCode(1, simplerpc.CodeResourceExhausted)
	w.expectAdd(2)
}

// TestProtocol_8_ConcurrentCallLimit: past the server's limit of calls
// running at once, a call is refused with unavailable, not run.
func TestProtocol_8_ConcurrentCallLimit(t *testing.T) {
	cs := startConf(t, simplerpc.WithMaxConcurrentCalls(1))
	w := openWire(t, cs.addr, "cbor")
	w.call(1, "Conf.Wait", "busy")
	cs.waitStarted(t, "busy")
	other := openWire(t, cs.addr, "cbor")
	other.call(1, "Conf.Count")
	if e := other.expectCode(1, simplerpc.CodeUnavailable); !strings.Contains(e.Message, "not run") {
		t.Errorf("over the limit: %+v", e)
	}
	cs.open()
	var tag string
	w.results(w.reply(), &tag)
	if runs := cs.conf.runs.Load(); runs != 1 {
		t.Fatalf("%d runs: the refused call ran", runs)
	}
}
