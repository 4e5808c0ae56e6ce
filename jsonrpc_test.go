package simplerpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// rpcResponse is a decoded JSON-RPC response object.
type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	Result  json.RawMessage `json:"result"`
	Error   *rpcErrorObject `json:"error"`
	ID      json.RawMessage `json:"id"`
}

type rpcErrorObject struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data"`
}

// httpClient returns an HTTP client whose idle connections are closed
// when the test ends.
func httpClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// post sends body by POST and returns the status and the response body.
func post(t *testing.T, hc *http.Client, url, body string) (int, []byte) {
	t.Helper()
	resp, err := hc.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", body, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, out
}

// rpc sends one request and decodes its response.
func rpc(t *testing.T, hc *http.Client, url, body string) rpcResponse {
	t.Helper()
	status, out := post(t, hc, url, body)
	if status != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", body, status, out)
	}
	var r rpcResponse
	if err := json.Unmarshal(out, &r); err != nil || r.JSONRPC != "2.0" {
		t.Fatalf("POST %s: response %s: %v", body, out, err)
	}
	return r
}

// wantResult checks that r is a success carrying want (compact JSON).
func wantResult(t *testing.T, what string, r rpcResponse, want string) {
	t.Helper()
	if r.Error != nil {
		t.Errorf("%s: error %+v", what, r.Error)
		return
	}
	var b bytes.Buffer
	if err := json.Compact(&b, r.Result); err != nil || b.String() != want {
		t.Errorf("%s: result %s, want %s", what, r.Result, want)
	}
}

// wantError checks that r is an error with the code, whose message holds
// msg.
func wantError(t *testing.T, what string, r rpcResponse, code int, msg string) *rpcErrorObject {
	t.Helper()
	if r.Error == nil {
		t.Fatalf("%s: result %s, want error %d", what, r.Result, code)
	}
	if r.Error.Code != code || !strings.Contains(r.Error.Message, msg) {
		t.Errorf("%s: error %d %q, want %d containing %q", what, r.Error.Code, r.Error.Message, code, msg)
	}
	if r.Result != nil {
		t.Errorf("%s: error response has a result too: %s", what, r.Result)
	}
	return r.Error
}

func call(method, params string, id any) string {
	idJSON, _ := json.Marshal(id)
	if params == "" {
		return fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"id":%s}`, method, idJSON)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"params":%s,"id":%s}`, method, params, idJSON)
}

func TestJSONRPCCalls(t *testing.T) {
	ts := startServer(t)
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	for _, tc := range []struct {
		what, method, params, want string
	}{
		{"positional", "Calc.Add", `[1, 2]`, `3`},
		{"variadic", "Calc.Sum", `[1, 2, 3, 4]`, `10`},
		{"variadic, no params", "Calc.Sum", ``, `0`},
		{"several results", "Calc.DivMod", `[7, 2]`, `[3,1]`},
		{"no results", "Calc.Nothing", `[]`, `null`},
		{"function", "greet", `["ada"]`, `"hello, ada"`},
		{"struct by name", "Calc.Describe", `{"x": 3, "y": 4, "Label": "q"}`, `"q(3,4)"`},
		{"struct by position", "Calc.Describe", `[1, 2, "p"]`, `"p(1,2)"`},
		{"struct as one object", "Calc.Describe", `[{"x": 5, "Label": "r"}]`, `"r(5,0)"`},
		{"bytes as base64", "Calc.Echo", `["AAH/"]`, `"AAH/"`},
		{"null params", "Calc.Sum", `null`, `0`},
	} {
		r := rpc(t, hc, url, call(tc.method, tc.params, 7))
		wantResult(t, tc.what, r, tc.want)
		if string(r.ID) != "7" {
			t.Errorf("%s: id %s, want 7", tc.what, r.ID)
		}
	}
	for _, id := range []string{`"abc"`, `null`, `-12.5`, `123456789012345678901234567890`} {
		r := rpc(t, hc, url, `{"jsonrpc":"2.0","method":"Calc.Add","params":[1,1],"id":`+id+`}`)
		if string(r.ID) != id {
			t.Errorf("id %s came back as %s", id, r.ID)
		}
		wantResult(t, "id "+id, r, "2")
	}
}

func TestJSONRPCErrors(t *testing.T) {
	ts := startServer(t, simplerpc.WithStackTraces(true))
	hc, url := httpClient(t), "http://"+ts.addr+"/"

	e := wantError(t, "no method", rpc(t, hc, url, call("Calc.Nope", `[]`, 1)), -32601, "service Calc has no method Nope")
	if e.Data["code"] != "not_found" || e.Data["method"] != "Calc.Nope" {
		t.Errorf("not found data: %v", e.Data)
	}
	wantError(t, "no function", rpc(t, hc, url, call("nope", `[]`, 1)), -32601, "no function nope")

	wantError(t, "arity", rpc(t, hc, url, call("Calc.Add", `[1]`, 1)), -32602, "takes 2 arguments")
	e = wantError(t, "type", rpc(t, hc, url, call("Calc.Add", `["x", 1]`, 1)), -32602, "argument 1")
	if e.Data["code"] != "invalid_argument" {
		t.Errorf("invalid params data: %v", e.Data)
	}
	wantError(t, "named params to positional method", rpc(t, hc, url, call("Calc.Add", `{"a": 1, "b": 2}`, 1)),
		-32602, `Calc.Add takes 2 arguments (int, int) by position: pass "params" as an array`)
	wantError(t, "unknown field", rpc(t, hc, url, call("Calc.Describe", `[1, 2, "p", 4]`, 1)), -32602, "at most 3")

	e = wantError(t, "sentinel", rpc(t, hc, url, call("Calc.Div", `[1, 0]`, 1)), -32000, "division by zero")
	if e.Data["code"] != "application" || e.Data["type"] != "*errors.errorString" || e.Data["name"] != "calc.div_by_zero" ||
		e.Data["method"] != "Calc.Div" || !strings.Contains(fmt.Sprint(e.Data["stack"]), "error chain") {
		t.Errorf("application error data: %v", e.Data)
	}
	e = wantError(t, "typed", rpc(t, hc, url, call("Calc.DivMod", `[1, 0]`, 1)), -32000, "b=0 out of range")
	if e.Data["name"] != "calc.range" || fmt.Sprint(e.Data["detail"]) != "map[Arg:b Value:0]" {
		t.Errorf("registered error type data: %v", e.Data)
	}
	e = wantError(t, "panic", rpc(t, hc, url, call("Calc.Crash", `["boom"]`, 1)), -32603, "boom")
	if e.Data["code"] != "internal" || e.Data["type"] != "string" || !strings.Contains(fmt.Sprint(e.Data["stack"]), "Crash") {
		t.Errorf("panic data: %v", e.Data)
	}

	// Without WithStackTraces, no stack travels.
	quiet := startServer(t)
	e = wantError(t, "panic, no stacks", rpc(t, hc, "http://"+quiet.addr, call("Calc.Crash", `["boom"]`, 1)), -32603, "boom")
	if _, ok := e.Data["stack"]; ok {
		t.Errorf("stack sent without WithStackTraces: %v", e.Data)
	}
	if _, ok := e.Data["name"]; ok {
		t.Errorf("empty name sent: %v", e.Data)
	}
}

// coded fails with the Code its argument names.
type coded struct{}

func (coded) Fail(code string) error {
	c, _ := simplerpc.ParseCode(code)
	return &simplerpc.Error{Code: c, Message: "failed with " + code}
}

func TestJSONRPCCodeMapping(t *testing.T) {
	ts := startServer(t)
	if err := ts.srv.Register("Coded", coded{}); err != nil {
		t.Fatal(err)
	}
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	for code, want := range map[simplerpc.Code]int{
		simplerpc.CodeApplication:       -32000,
		simplerpc.CodeNotFound:          -32601,
		simplerpc.CodeInvalidArgument:   -32602,
		simplerpc.CodeInternal:          -32603,
		simplerpc.CodeUnavailable:       -32001,
		simplerpc.CodeResourceExhausted: -32002,
		simplerpc.CodeCanceled:          -32003,
		simplerpc.CodeDeadlineExceeded:  -32004,
		simplerpc.CodeUnauthenticated:   -32005,
		simplerpc.CodePermissionDenied:  -32006,
		simplerpc.CodeConnectionLost:    -32007,
	} {
		if got := simplerpc.JSONRPCCode(code); got != want {
			t.Errorf("JSONRPCCode(%s) = %d, want %d", code, got, want)
		}
		e := wantError(t, code.String(), rpc(t, hc, url, call("Coded.Fail", fmt.Sprintf("[%q]", code), 1)), want, "failed with "+code.String())
		if e.Data["code"] != code.String() {
			t.Errorf("%s: data %v", code, e.Data)
		}
	}
}

func TestJSONRPCInvalidRequests(t *testing.T) {
	ts := startServer(t)
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	for _, tc := range []struct {
		body string
		code int
		id   string
		msg  string
	}{
		{`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1`, -32700, "null", "parse error"},
		{``, -32700, "null", "parse error"},
		{`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1} x`, -32700, "null", "parse error"},
		{`1`, -32600, "null", "request object or a batch"},
		{`"x"`, -32600, "null", "request object or a batch"},
		{`[]`, -32600, "null", "empty batch"},
		{`{"method":"Calc.Add","params":[1,2],"id":1}`, -32600, "1", `"jsonrpc" must be "2.0"`},
		{`{"jsonrpc":"1.0","method":"Calc.Add","id":"a"}`, -32600, `"a"`, `"jsonrpc" must be "2.0"`},
		{`{"jsonrpc":2.0,"method":"Calc.Add","id":1}`, -32600, "1", `"jsonrpc" must be "2.0"`},
		{`{"jsonrpc":"2.0","id":1}`, -32600, "1", `"method" must be a string`},
		{`{"jsonrpc":"2.0","method":1,"id":1}`, -32600, "1", `"method" must be a string`},
		{`{"jsonrpc":"2.0","method":"Calc.Add","params":"1,2","id":1}`, -32600, "1", `"params" must be an array`},
		{`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":{}}`, -32600, "null", `"id" must be`},
		{`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":[1]}`, -32600, "null", `"id" must be`},
		{`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2]}x`, -32700, "null", "parse error"},
		// An invalid request without an id is answered all the same.
		{`{"jsonrpc":"2.0","method":7}`, -32600, "null", `"method" must be a string`},
	} {
		r := rpc(t, hc, url, tc.body)
		wantError(t, tc.body, r, tc.code, tc.msg)
		if string(r.ID) != tc.id {
			t.Errorf("%s: id %s, want %s", tc.body, r.ID, tc.id)
		}
		if r.Error != nil && r.Error.Data != nil {
			t.Errorf("%s: a protocol error has data: %v", tc.body, r.Error.Data)
		}
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	r := rpc(t, hc, url, call("Calc.Sum", deep, 1))
	wantError(t, "deep params", r, -32600, "nested deeper")
	if string(r.ID) != "1" {
		t.Errorf("deep params: id %s, want 1", r.ID)
	}
	// A batch whose one element is no request: that element is answered.
	status, out := post(t, hc, url, deep)
	var rs []rpcResponse
	if err := json.Unmarshal(out, &rs); status != http.StatusOK || err != nil || len(rs) != 1 {
		t.Fatalf("deep batch: status %d: %s", status, out)
	}
	wantError(t, "deep batch", rs[0], -32600, "must be a JSON object")
}

func TestJSONRPCBatch(t *testing.T) {
	ts := startServer(t)
	var hits atomic.Int64
	if err := ts.srv.RegisterFunc("hit", func() { hits.Add(1) }); err != nil {
		t.Fatal(err)
	}
	hc, url := httpClient(t), "http://"+ts.addr+"/"

	// The specification's example, adapted: calls, notifications and
	// invalid entries mixed.
	status, out := post(t, hc, url, `[
		{"jsonrpc": "2.0", "method": "Calc.Add", "params": [1, 2], "id": "1"},
		{"jsonrpc": "2.0", "method": "hit", "params": []},
		{"jsonrpc": "2.0", "method": "Calc.Sum", "params": [7, 5], "id": "2"},
		{"foo": "boo"},
		{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
		{"jsonrpc": "2.0", "method": "greet", "params": ["x"], "id": "9"},
		1
	]`)
	if status != http.StatusOK {
		t.Fatalf("batch: status %d: %s", status, out)
	}
	var rs []rpcResponse
	if err := json.Unmarshal(out, &rs); err != nil {
		t.Fatalf("batch response %s: %v", out, err)
	}
	byID := map[string]rpcResponse{}
	var nullIDs int
	for _, r := range rs {
		if string(r.ID) == "null" {
			nullIDs++
			wantError(t, "invalid entry", r, -32600, "invalid request")
			continue
		}
		byID[string(r.ID)] = r
	}
	if len(rs) != 6 || nullIDs != 2 {
		t.Fatalf("batch: %d responses, %d with id null: %s", len(rs), nullIDs, out)
	}
	wantResult(t, "batch add", byID[`"1"`], "3")
	wantResult(t, "batch sum", byID[`"2"`], "12")
	wantError(t, "batch not found", byID[`"5"`], -32601, "no service foo")
	wantResult(t, "batch greet", byID[`"9"`], `"hello, x"`)
	if hits.Load() != 1 {
		t.Errorf("notification in a batch ran %d times", hits.Load())
	}

	// Notifications only: they run, and nothing comes back.
	status, out = post(t, hc, url, `[{"jsonrpc":"2.0","method":"hit"},{"jsonrpc":"2.0","method":"hit","params":[]},{"jsonrpc":"2.0","method":"nope"}]`)
	if status != http.StatusNoContent || len(out) != 0 {
		t.Errorf("notification batch: status %d, body %q", status, out)
	}
	if hits.Load() != 3 {
		t.Errorf("notifications ran %d times, want 3", hits.Load())
	}
	status, out = post(t, hc, url, `{"jsonrpc":"2.0","method":"hit"}`)
	if status != http.StatusNoContent || len(out) != 0 || hits.Load() != 4 {
		t.Errorf("single notification: status %d, body %q, %d runs", status, out, hits.Load())
	}
	// A failing notification is not answered either.
	status, out = post(t, hc, url, `{"jsonrpc":"2.0","method":"Calc.Crash","params":["quiet"]}`)
	if status != http.StatusNoContent || len(out) != 0 {
		t.Errorf("failing notification: status %d, body %q", status, out)
	}

	// The batch size limit.
	var b strings.Builder
	b.WriteString("[")
	for i := range 1001 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(call("Calc.Add", "[1,1]", i))
	}
	b.WriteString("]")
	wantError(t, "batch of 1001", rpc(t, hc, url, b.String()), -32600, "exceeds the limit of 1000")
	full := strings.Replace(b.String(), ","+call("Calc.Add", "[1,1]", 1000), "", 1)
	status, out = post(t, hc, url, full)
	if err := json.Unmarshal(out, &rs); status != http.StatusOK || err != nil || len(rs) != 1000 {
		t.Errorf("batch of 1000: status %d, %d responses, %v", status, len(rs), err)
	}
}

func TestJSONRPCHTTPRules(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxMessageSize(1024))
	hc, url := httpClient(t), "http://"+ts.addr+"/"

	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}

	big := call("greet", fmt.Sprintf("[%q]", strings.Repeat("x", 2000)), 1)
	status, out := post(t, hc, url, big)
	var r rpcResponse
	if err := json.Unmarshal(out, &r); status != http.StatusRequestEntityTooLarge || err != nil {
		t.Fatalf("oversized body: status %d, body %s", status, out)
	}
	wantError(t, "oversized body", r, -32600, "exceeds the 1024-byte limit")

	// A body of unknown length (chunked) is cut at the limit too.
	req, _ := http.NewRequest(http.MethodPost, url, io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized body: status %d", resp.StatusCode)
	}

	// A reply over the limit is refused like a native one.
	if err := ts.srv.RegisterFunc("repeat", strings.Repeat); err != nil {
		t.Fatal(err)
	}
	e := wantError(t, "oversized reply", rpc(t, hc, url, call("repeat", `["x", 2000]`, 1)), -32002, "exceeds the 1024-byte limit")
	if e.Data["code"] != "resource_exhausted" {
		t.Errorf("oversized reply: %v", e.Data)
	}
	// So are the responses of a batch, together.
	entry := call("repeat", `["x", 400]`, 1)
	var rs []rpcResponse
	status, out = post(t, hc, url, "["+entry+","+entry+","+entry+"]")
	if err := json.Unmarshal(out, &rs); status != http.StatusOK || err != nil || len(rs) != 3 {
		t.Fatalf("batch over the limit: status %d, %s", status, out)
	}
	var ok, refused int
	for _, r := range rs {
		switch {
		case r.Error == nil:
			ok++
		case r.Error.Code == -32002 && strings.Contains(r.Error.Message, "responses of the batch exceed"):
			refused++
		default:
			t.Errorf("batch over the limit: %+v", r.Error)
		}
	}
	// Room is kept for the refusals: the whole response fits the limit.
	if ok != 1 || refused != 2 || len(out) > 1024 {
		t.Errorf("batch over the limit: %d results, %d refused, %d bytes: %s", ok, refused, len(out), out)
	}

	// Any content type is accepted: curl -d sends a form's.
	resp, err = hc.Post(url, "application/x-www-form-urlencoded", strings.NewReader(call("Calc.Add", "[2,2]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	out, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"result":4`) {
		t.Errorf("form content type: %d %s", resp.StatusCode, out)
	}
}

func TestJSONRPCSamePortAsNative(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr)
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	for i := range 3 {
		var n int
		if err := c.Call(context.Background(), "Calc.Add", []any{i, 1}, &n); err != nil || n != i+1 {
			t.Fatalf("native call: %d, %v", n, err)
		}
		wantResult(t, "http call", rpc(t, hc, url, call("Calc.Add", fmt.Sprintf("[%d,1]", i), i)), fmt.Sprint(i+1))
	}
	// The HTTP handler mounted on a server of one's own works the same.
	hs := httptest.NewServer(ts.srv)
	defer hs.Close()
	wantResult(t, "httptest", rpc(t, hc, hs.URL, call("Calc.Add", "[20,22]", 1)), "42")
}
