package simplerpc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/simplerpc/simplerpc"
)

// manyMethods is a service of 12 methods.
type manyMethods struct{}

func (manyMethods) M01() {}
func (manyMethods) M02() {}
func (manyMethods) M03() {}
func (manyMethods) M04() {}
func (manyMethods) M05() {}
func (manyMethods) M06() {}
func (manyMethods) M07() {}
func (manyMethods) M08() {}
func (manyMethods) M09() {}
func (manyMethods) M10() {}
func (manyMethods) M11() {}
func (manyMethods) M12() {}

// TestNotFoundFromPeerInputIsValidUTF8: a method name that is not UTF-8,
// or is very long, comes back in a not-found error that is valid UTF-8
// (the reply decodes with a strict CBOR decoder, the client's) and short.
func TestNotFoundFromPeerInputIsValidUTF8(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		ctx := context.Background()
		for _, name := range []string{"Calc.N\xffpe", "\xfe\xff.x", "n\xc3", "Calc." + strings.Repeat("é", 500), strings.Repeat("x", 1000)} {
			err := c.Call(ctx, name, nil)
			var e *simplerpc.Error
			if !errors.As(err, &e) || e.Code != simplerpc.CodeNotFound {
				t.Errorf("%.40q: %v, want not_found", name, err)
				continue
			}
			if !utf8.ValidString(e.Message) || !utf8.ValidString(e.Method) {
				t.Errorf("%.40q: message %q, method %q not UTF-8", name, e.Message, e.Method)
			}
			if len(e.Message) > 400 || len(e.Method) > 300 {
				t.Errorf("%.40q: message of %d bytes, method of %d", name, len(e.Message), len(e.Method))
			}
		}
		err := c.Call(ctx, "Calc.N\xffpe", nil)
		if !strings.Contains(err.Error(), "has no method N\uFFFDpe") {
			t.Errorf("invalid byte not replaced: %v", err)
		}
	})
}

// TestNotFoundListsMethodsOnlyWithIntrospection: a not-found error names
// a few of the service's methods and how many more, and only when the
// server says what it serves.
func TestNotFoundListsMethodsOnlyWithIntrospection(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("introspection ", on), func(t *testing.T) {
			ts := startServer(t, simplerpc.WithIntrospection(on))
			if err := ts.srv.Register("Many", manyMethods{}); err != nil {
				t.Fatal(err)
			}
			c := dial(t, ts.addr)
			hc, url := httpClient(t), "http://"+ts.addr+"/"
			native := c.Call(context.Background(), "Many.Nope", nil).(*simplerpc.Error).Message
			jsonrpc := rpc(t, hc, url, call("Many.Nope", "[]", 1)).Error.Message
			want := "service Many has no method Nope"
			if on {
				want += " (it has: M01, M02, M03, M04, M05 and 7 more; simplerpc.describe lists them all)"
			}
			for proto, msg := range map[string]string{"native": native, "JSON-RPC": jsonrpc} {
				if msg != want {
					t.Errorf("%s: %q, want %q", proto, msg, want)
				}
			}
		})
	}
}

// TestJSONRPCNotFoundLongMethod: a method name of a megabyte is not
// echoed whole.
func TestJSONRPCNotFoundLongMethod(t *testing.T) {
	ts := startServer(t)
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	name := "Calc." + strings.Repeat("x", 1<<20)
	status, out := post(t, hc, url, call(name, "[]", 1))
	if status != 200 || len(out) > 1000 || !strings.Contains(string(out), "-32601") {
		t.Errorf("status %d, %d bytes: %.300s", status, len(out), out)
	}
}
