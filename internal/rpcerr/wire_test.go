package rpcerr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/jsonrpc"
)

var errTestSentinel = errors.New("test sentinel")

type testDetail struct{ N int }

func (e *testDetail) Error() string { return fmt.Sprintf("detail %d", e.N) }

func init() {
	RegisterError("rpcerr.test.sentinel", errTestSentinel, WithJSONRPCCode(1001))
	RegisterErrorType("rpcerr.test.detail", &testDetail{})
}

// TestBodyRoundTrip sends method errors through the native error reply's
// body in both codecs: the code, the texts and a registered sentinel or
// error value come back, and errors.Is and errors.As find them.
func TestBodyRoundTrip(t *testing.T) {
	for _, c := range []codec.Codec{codec.CBOR, codec.JSON} {
		for _, tc := range []struct {
			name string
			err  error
			code Code
		}{
			{"plain", errors.New("boom"), CodeApplication},
			{"sentinel", fmt.Errorf("wrapped: %w", errTestSentinel), CodeApplication},
			{"type", fmt.Errorf("wrapped: %w", &testDetail{N: 7}), CodeApplication},
			{"coded", Errorf(CodePermissionDenied, "", "no"), CodePermissionDenied},
			{"deadline", fmt.Errorf("late: %w", context.DeadlineExceeded), CodeDeadlineExceeded},
		} {
			e, detail := Remote("S.M", tc.err, true)
			var buf bytes.Buffer
			if err := AppendBody(&buf, c, e, detail); err != nil {
				t.Fatalf("%s/%s: %v", c.Name(), tc.name, err)
			}
			got := DecodeBody(c, buf.Bytes(), "S.M")
			msg := tc.err.Error()
			if re, ok := tc.err.(*Error); ok {
				msg = re.Message // a coded error keeps its own message
			}
			if got.Code != tc.code || got.Message != msg || got.Method != "S.M" || got.Stack == "" {
				t.Errorf("%s/%s: decoded %+v", c.Name(), tc.name, got)
			}
			switch tc.name {
			case "sentinel":
				if !errors.Is(got, errTestSentinel) || got.Name != "rpcerr.test.sentinel" {
					t.Errorf("%s/%s: errors.Is fails on %+v", c.Name(), tc.name, got)
				}
			case "type":
				if d, ok := errors.AsType[*testDetail](got); !ok || d.N != 7 {
					t.Errorf("%s/%s: errors.As found %v, %v", c.Name(), tc.name, d, ok)
				}
			case "deadline":
				if !errors.Is(got, context.DeadlineExceeded) {
					t.Errorf("%s/%s: not context.DeadlineExceeded", c.Name(), tc.name)
				}
			}
		}
	}
}

// TestJSONRPCError checks the JSON-RPC code an error is sent with: the
// code it was registered with, else the mapping of its Code.
func TestJSONRPCError(t *testing.T) {
	e, detail := Remote("S.M", fmt.Errorf("x: %w", errTestSentinel), false)
	if got := JSONRPCError(e, detail); got.Code != 1001 || got.Data.Code != "application" || got.Data.Name != "rpcerr.test.sentinel" {
		t.Errorf("registered with 1001: %+v %+v", got, got.Data)
	}
	e, _ = Remote("S.M", errors.New("plain"), false)
	if got := JSONRPCError(e, nil); got.Code != jsonrpc.CodeApplicationError {
		t.Errorf("plain error: code %d", got.Code)
	}
	if got := JSONRPCError(Errorf(CodeNotFound, "S.M", "no"), nil); got.Code != jsonrpc.CodeMethodNotFound {
		t.Errorf("not found: code %d", got.Code)
	}
}

// TestCodes checks that every code has a name that parses back to it.
func TestCodes(t *testing.T) {
	for c := CodeApplication; c <= CodePermissionDenied; c++ {
		if !Known(c) {
			t.Errorf("%d is not known", c)
		}
		if p, ok := ParseCode(c.String()); !ok || p != c {
			t.Errorf("ParseCode(%q) = %v, %v", c.String(), p, ok)
		}
	}
	if Known(0) || Known(CodePermissionDenied+1) {
		t.Error("a value that is no code is known")
	}
	if s := Code(200).String(); s != "code(200)" {
		t.Errorf("Code(200) = %q", s)
	}
}

// FuzzErrorReply decodes arbitrary error replies.
func FuzzErrorReply(f *testing.F) {
	for _, c := range []codec.Codec{codec.CBOR, codec.JSON} {
		var buf bytes.Buffer
		_ = AppendBody(&buf, c, &Error{Code: CodeApplication, Message: "m", Method: "S.M", Name: "x"}, nil)
		f.Add(c.Name() == "json", buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, useJSON bool, data []byte) {
		c := codec.CBOR
		if useJSON {
			c = codec.JSON
		}
		e := DecodeBody(c, data, "S.M")
		if e == nil || !Known(e.Code) {
			t.Fatalf("decoded %+v", e)
		}
	})
}
