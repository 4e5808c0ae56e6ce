package wire

import (
	"bytes"
	"testing"
	"time"
)

func TestCallbackRoundTrip(t *testing.T) {
	b := AppendCallbackPrefix(nil, 2, 7, 5, 1500*time.Millisecond)
	c, err := ParseCallback(append(b, 0x82, 1, 2))
	if err != nil || c.Slot != 2 || c.Invocation != 7 || c.Acked != 5 || c.Timeout != 1500*time.Millisecond || !bytes.Equal(c.Args, []byte{0x82, 1, 2}) {
		t.Fatalf("ParseCallback = %+v, %v", c, err)
	}
	if c, err := ParseCallback(AppendCallbackPrefix(nil, 0, 1, 0, time.Nanosecond)); err != nil || c.Timeout != time.Microsecond {
		t.Fatalf("a timeout under a microsecond: %+v, %v; want 1µs", c, err)
	}
	if _, err := ParseCallback(AppendCallbackPrefix(nil, 0, 0, 0, 0)); err == nil {
		t.Fatal("invocation 0 accepted")
	}
	if _, err := ParseCallback(AppendCallbackPrefix(nil, 0, 3, 3, 0)); err == nil {
		t.Fatal("an invocation at or below the settled ones accepted")
	}
	inv, rest, err := ParseInvocation(append(AppendInvocation(nil, 300), 0x80))
	if err != nil || inv != 300 || !bytes.Equal(rest, []byte{0x80}) {
		t.Fatalf("ParseInvocation = %d, %x, %v", inv, rest, err)
	}
	for _, body := range [][]byte{nil, {0}, {0x80}} {
		if _, _, err := ParseInvocation(body); err == nil {
			t.Fatalf("ParseInvocation(%x) accepted", body)
		}
	}
	h := Header{Kind: KindCallbackCancel, Size: 11}
	if CheckReserved(h) == nil {
		t.Fatal("an 11-byte callback cancel accepted")
	}
	if h.Size = 1; CheckReserved(h) != nil {
		t.Fatal("a 1-byte callback cancel refused")
	}
	if h := (Header{Kind: KindCallbackReply, Flags: FlagError}); CheckReserved(h) != nil {
		t.Fatal("a callback reply flagged error refused")
	}
	if h := (Header{Kind: KindCallback, Flags: FlagError}); CheckReserved(h) == nil {
		t.Fatal("a callback flagged error accepted")
	}
}

func FuzzParseCallback(f *testing.F) {
	f.Add(append(AppendCallbackPrefix(nil, 1, 2, 1, time.Second), 0x81, 1))
	f.Add(AppendCallbackPrefix(nil, 0, 1, 0, 0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseCallback(body)
		if err != nil {
			return
		}
		if c.Invocation == 0 || c.Acked >= c.Invocation || c.Timeout < 0 || len(c.Args) > len(body) {
			t.Fatalf("accepted %+v", c)
		}
		again, err := ParseCallback(append(AppendCallbackPrefix(nil, c.Slot, c.Invocation, c.Acked, c.Timeout), c.Args...))
		if err != nil || again.Slot != c.Slot || again.Invocation != c.Invocation || again.Acked != c.Acked || again.Timeout != c.Timeout || !bytes.Equal(again.Args, c.Args) {
			t.Fatalf("callback does not round-trip: %+v vs %+v (%v)", again, c, err)
		}
	})
}

func FuzzParseInvocation(f *testing.F) {
	f.Add(append(AppendInvocation(nil, 5), 0x80))
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, rest, err := ParseInvocation(body)
		if err != nil {
			return
		}
		if inv == 0 || len(rest) >= len(body) || !bytes.HasSuffix(body, rest) {
			t.Fatalf("accepted %x as invocation %d, rest %x", body, inv, rest)
		}
	})
}
