package simplerpc_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// badResults returns values that some codec cannot encode.
type badResults struct{}

func (badResults) NaN() float64          { return math.NaN() }
func (badResults) Inf() (float64, error) { return math.Inf(-1), nil }
func (badResults) Chan() any             { return make(chan int) }
func (badResults) Marshal() panicMarshal { return panicMarshal{} }
func (badResults) Fine() string          { return "fine" }

// panicMarshal panics when encoded as JSON.
type panicMarshal struct{}

func (panicMarshal) MarshalJSON() ([]byte, error) { panic("MarshalJSON broke") }

// TestResultNotEncoded: results a codec cannot encode give a CodeInternal
// error that says so and why, logged as such rather than as a panic, on
// both protocols; the connection goes on serving.
func TestResultNotEncoded(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, simplerpcLogger(&logs))
	if err := ts.srv.Register("Bad", badResults{}); err != nil {
		t.Fatal(err)
	}
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	for method, why := range map[string]string{
		"Bad.NaN":     "unsupported value: NaN",
		"Bad.Inf":     "unsupported value: -Inf",
		"Bad.Chan":    "unsupported type: chan int",
		"Bad.Marshal": "MarshalJSON broke",
	} {
		e := wantError(t, method, rpc(t, hc, url, call(method, "[]", 1)), -32603, "the result could not be encoded: ")
		if !strings.Contains(e.Message, why) || e.Data["code"] != "internal" || e.Data["method"] != method {
			t.Errorf("%s: %q, data %v; want the reason %q", method, e.Message, e.Data, why)
		}
	}
	for _, codec := range []string{"cbor", "json"} {
		c := dial(t, ts.addr, simplerpc.WithCodec(codec))
		methods := []string{"Bad.Chan"}
		if codec == "json" {
			methods = append(methods, "Bad.NaN", "Bad.Marshal")
		}
		for _, method := range methods {
			err := c.Call(context.Background(), method, nil)
			var e *simplerpc.Error
			if !errors.As(err, &e) || e.Code != simplerpc.CodeInternal || !strings.HasPrefix(e.Message, "the result could not be encoded: ") {
				t.Errorf("%s over %s: %v, want internal: the result could not be encoded", method, codec, err)
			}
		}
		var s string
		if err := c.Call(context.Background(), "Bad.Fine", nil, &s); err != nil || s != "fine" {
			t.Errorf("after them, over %s: %q, %v", codec, s, err)
		}
	}
	out := logs.String()
	if strings.Contains(out, "panicked") {
		t.Errorf("logged as a panic:\n%s", out)
	}
	if n := strings.Count(out, `msg="simplerpc: method result could not be encoded"`); n != 8 {
		t.Errorf("%d log lines for results not encoded, want 8:\n%s", n, out)
	}
	if !strings.Contains(out, `method=Bad.NaN codec=json error="the result could not be encoded: json: unsupported value: NaN"`) {
		t.Errorf("log does not say what and why:\n%s", out)
	}
}

// TestPanicLoggedWithStack: a panic is logged with its stack, even when
// the server does not send stacks to clients.
func TestPanicLoggedWithStack(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, simplerpcLogger(&logs))
	err := dial(t, ts.addr).Call(context.Background(), "Calc.Crash", []any{"boom"})
	var e *simplerpc.Error
	if !errors.As(err, &e) || e.Code != simplerpc.CodeInternal || e.Stack != "" {
		t.Fatalf("%#v, want internal without a stack", err)
	}
	if out := logs.String(); !strings.Contains(out, "method panicked") || !strings.Contains(out, "Crash") || strings.Contains(out, `stack=""`) {
		t.Errorf("panic log:\n%s", out)
	}
}
