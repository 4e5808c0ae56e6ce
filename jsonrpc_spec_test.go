package simplerpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// batch posts a batch and returns its responses by id.
func batch(t *testing.T, hc *http.Client, url, body string) map[string]rpcResponse {
	t.Helper()
	status, out := post(t, hc, url, body)
	var rs []rpcResponse
	if err := json.Unmarshal(out, &rs); status != http.StatusOK || err != nil {
		t.Fatalf("batch: status %d, %v: %.300s", status, err, out)
	}
	byID := make(map[string]rpcResponse, len(rs))
	for _, r := range rs {
		if _, dup := byID[string(r.ID)]; dup {
			t.Errorf("batch: two responses with id %s: %.300s", r.ID, out)
		}
		byID[string(r.ID)] = r
	}
	return byID
}

// TestJSONRPCDeepElementAnsweredAlone: JSON-RPC 2.0 section 6, "The
// Server should respond with an Array containing the corresponding
// Response objects", one per request: a batch element nested deeper than
// the decoders take gets its own error, and the others their results.
// Section 5: "If there was an error in detecting the id in the Request
// object (e.g. Parse error/Invalid Request), it MUST be Null" — and
// otherwise it is the request's id.
func TestJSONRPCDeepElementAnsweredAlone(t *testing.T) {
	ts := startServer(t)
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70)
	deepObj := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	byID := batch(t, hc, url, "["+strings.Join([]string{
		call("Calc.Add", "[1,2]", 1),
		call("Calc.Sum", deep, 2),
		`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":3,"extra":` + deepObj + `}`,
		call("Calc.Add", "[3,4]", 4),
		deep,
	}, ",")+"]")
	if len(byID) != 5 {
		t.Fatalf("%d responses, want 5: %v", len(byID), byID)
	}
	wantResult(t, "valid element before", byID["1"], "3")
	wantError(t, "deep params", byID["2"], -32600, "nested deeper than 64 levels")
	wantError(t, "deep extra member", byID["3"], -32600, "nested deeper than 64 levels")
	wantResult(t, "valid element after", byID["4"], "7")
	wantError(t, "deep non-object", byID["null"], -32600, "must be a JSON object")

	// A lone request whose id is readable gets it back.
	for _, id := range []string{`7`, `"seven"`, `-1.5e3`} {
		r := rpc(t, hc, url, `{"jsonrpc":"2.0","method":"Calc.Sum","params":`+deep+`,"id":`+id+`}`)
		wantError(t, "lone deep request", r, -32600, "nested deeper")
		if string(r.ID) != id {
			t.Errorf("lone deep request: id %s, want %s", r.ID, id)
		}
	}
	// The id before the members that fail, or after them.
	r := rpc(t, hc, url, `{"id":"first","jsonrpc":"2.0","method":"Calc.Sum","params":`+deep+`}`)
	if string(r.ID) != `"first"` {
		t.Errorf("id first: %s", r.ID)
	}
}

// TestJSONRPCIDEchoedExactly: section 4, the id "MUST contain a String,
// Number, or NULL value", and section 5, the response's id "MUST be the
// same as the value of the id member in the Request Object". A string
// comes back byte for byte, escapes and lone surrogates included; a
// string holding bytes that are not UTF-8 comes back with them replaced,
// so that the response is valid UTF-8.
func TestJSONRPCIDEchoedExactly(t *testing.T) {
	ts := startServer(t)
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	for _, id := range []string{
		`"\ud800"`, `"\udc00x\ud83d"`, `"\u00e9t\u00E9"`, `"été"`, `"a\/b"`, `"\"q\""`, `""`,
		`1`, `-0`, `1.50`, `1e3`, `12345678901234567890123`, `null`,
	} {
		status, out := post(t, hc, url, `{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":`+id+`}`)
		if want := `{"jsonrpc":"2.0","result":3,"id":` + id + `}`; status != http.StatusOK || string(out) != want {
			t.Errorf("id %s: status %d, %s, want %s", id, status, out, want)
		}
		byID := batch(t, hc, url, `[{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":`+id+`}]`)
		if _, ok := byID[id]; !ok {
			t.Errorf("id %s in a batch: %v", id, byID)
		}
	}
	status, out := post(t, hc, url, "{\"jsonrpc\":\"2.0\",\"method\":\"Calc.Add\",\"params\":[1,2],\"id\":\"a\xffb\"}")
	if want := "{\"jsonrpc\":\"2.0\",\"result\":3,\"id\":\"a\ufffdb\"}"; status != http.StatusOK || string(out) != want {
		t.Errorf("id with a byte not UTF-8: %s, want %s", out, want)
	}
}

// reservedCoder asks for a code the specification reserves.
type reservedCoder struct{ code int }

func (e reservedCoder) Error() string    { return fmt.Sprintf("wants %d", e.code) }
func (e reservedCoder) JSONRPCCode() int { return e.code }

// TestJSONRPCErrorOwnCode: section 5.1, "The remainder of the space is
// available for application defined errors": an error may choose its
// code there, by registration or by a method of its own, and keeps its
// data member; codes of the reserved range other than -32602 and -32603
// are refused at registration and ignored from an error's method.
func TestJSONRPCErrorOwnCode(t *testing.T) {
	ts := startServer(t)
	if err := ts.srv.RegisterFunc("fail", func(kind string, code int) error {
		switch kind {
		case "sentinel":
			return fmt.Errorf("wrapped: %w", errOutOfStock)
		case "coder":
			return &quotaError{Left: code}
		}
		return reservedCoder{code}
	}); err != nil {
		t.Fatal(err)
	}
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	for _, tc := range []struct {
		params string
		code   int
	}{
		{`["sentinel", 0]`, 1001},
		{`["coder", 3]`, 429},
		{`["reserved", -32602]`, -32602},
		{`["reserved", -32603]`, -32603},
		{`["reserved", -32601]`, -32000},
		{`["reserved", -32768]`, -32000},
		{`["reserved", -32769]`, -32769},
		{`["reserved", -31999]`, -31999},
		{`["reserved", 0]`, -32000},
	} {
		e := wantError(t, tc.params, rpc(t, hc, url, call("fail", tc.params, 1)), tc.code, "")
		if e.Data["code"] != "application" || e.Data["method"] != "fail" {
			t.Errorf("%s: data %v", tc.params, e.Data)
		}
	}
	// Native clients see the Code and the name, as ever.
	err := dial(t, ts.addr).Call(context.Background(), "fail", []any{"sentinel", 0})
	var e *simplerpc.Error
	if !errors.As(err, &e) || e.Code != simplerpc.CodeApplication || e.Name != "shop.out_of_stock" || !errors.Is(err, errOutOfStock) {
		t.Errorf("native: %#v", err)
	}
	for _, code := range []int{-32000, -32600, -32700, -32768, -32099} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "reserves -32768 to -32000") {
					t.Errorf("WithJSONRPCCode(%d): %v, want a panic", code, p)
				}
			}()
			simplerpc.WithJSONRPCCode(code)
		}()
	}
}

// TestJSONRPCDuplicateMember checks that a request naming one of its
// members twice is invalid, as a duplicate key is anywhere, and is
// answered with its id; a duplicate key inside params makes the params
// invalid.
func TestJSONRPCDuplicateMember(t *testing.T) {
	ts := startServer(t)
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	r := rpc(t, hc, url, `{"jsonrpc":"2.0","method":"Calc.Add","method":"Calc.Sum","params":[1,2],"id":7}`)
	wantError(t, "method twice", r, -32600, `the member "method" appears twice`)
	if string(r.ID) != "7" {
		t.Errorf("method twice: id %s, want 7", r.ID)
	}
	wantError(t, "a key twice in params", rpc(t, hc, url, `{"jsonrpc":"2.0","method":"Calc.Sum","params":[{"a":1,"a":2}],"id":8}`), -32602, "duplicate")
}
