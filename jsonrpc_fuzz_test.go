package simplerpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// FuzzJSONRPC feeds arbitrary bodies to the JSON-RPC handler: it must
// never panic, and must answer with 204 and no body, or with 200 or 413
// and well-formed JSON-RPC responses.
func FuzzJSONRPC(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1}`,
		`{"jsonrpc":"2.0","method":"Calc.Describe","params":{"x":1,"y":2,"Label":"p"},"id":"a"}`,
		`{"jsonrpc":"2.0","method":"Calc.Sum","params":[1,2,3]}`,
		`{"jsonrpc":"2.0","method":"Calc.DivMod","params":[1,0],"id":null}`,
		`{"jsonrpc":"2.0","method":"Calc.Crash","params":["x"],"id":-1.5e3}`,
		`{"jsonrpc":"2.0","method":"greet","params":{"name":"x"},"id":[]}`,
		`[{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1},{"jsonrpc":"2.0","method":"Calc.Nothing"},1,{}]`,
		`[{"jsonrpc":"2.0","method":"Calc.Nothing"}]`,
		`[]`, `{}`, `[[]]`, `null`, `"\ud800"`, ``, `{"jsonrpc":"2.0","method":"\xff","id":"\xfe"}`,
		`{"jsonrpc":"2.0","method":"Calc.Echo","params":["AAE="],"id":1e999}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`,
	} {
		f.Add([]byte(seed))
	}
	srv := simplerpc.NewServer(simplerpc.WithStackTraces(true), simplerpc.WithMaxMessageSize(64<<10),
		simplerpc.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	calc := &Calc{release: make(chan struct{})}
	close(calc.release) // Block returns at once
	if err := srv.Register("Calc", calc); err != nil {
		f.Fatal(err)
	}
	if err := srv.RegisterFunc("greet", func(name string) string { return "hello, " + name }); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// Calc.Sleep may be asked to sleep for long: the request's
		// context ends it.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body)))
		out := w.Body.Bytes()
		switch w.Code {
		case http.StatusNoContent:
			if len(out) != 0 {
				t.Fatalf("204 with a body: %q", out)
			}
			return
		case http.StatusOK, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q for %q", out, body)
		}
		var objs []json.RawMessage
		if bytes.HasPrefix(out, []byte("[")) {
			if err := json.Unmarshal(out, &objs); err != nil || len(objs) == 0 {
				t.Fatalf("batch response %q: %v", out, err)
			}
		} else {
			objs = []json.RawMessage{out}
		}
		for _, o := range objs {
			checkResponseObject(t, o)
		}
	})
}

// checkResponseObject checks that o is a JSON-RPC 2.0 response object.
func checkResponseObject(t *testing.T, o json.RawMessage) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(o, &m); err != nil {
		t.Fatalf("response %s is not an object: %v", o, err)
	}
	if string(m["jsonrpc"]) != `"2.0"` {
		t.Fatalf("response %s: jsonrpc member", o)
	}
	id, ok := m["id"]
	if !ok || len(id) == 0 || !(id[0] == '"' || id[0] == 'n' || id[0] == '-' || id[0] >= '0' && id[0] <= '9') {
		t.Fatalf("response %s: bad id", o)
	}
	_, hasResult := m["result"]
	rawErr, hasError := m["error"]
	if hasResult == hasError || len(m) != 3 {
		t.Fatalf("response %s: want exactly one of result and error", o)
	}
	if hasError {
		var e struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(rawErr, &e); err != nil || e.Code == nil || e.Message == nil {
			t.Fatalf("response %s: malformed error object: %v", o, err)
		}
	}
}
