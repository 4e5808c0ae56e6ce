package simplerpc_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// request sends an HTTP request to ts with the given headers and returns
// the response, its body read.
func request(t *testing.T, ts *testServer, method, path, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+ts.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

const addCall = `{"jsonrpc":"2.0","id":1,"method":"Calc.Add","params":[1,2]}`

func preflight(origin string) map[string]string {
	return map[string]string{
		"Origin":                         origin,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "content-type, authorization, x-tenant",
	}
}

func TestCORSOffByDefault(t *testing.T) {
	ts := startServer(t)
	resp, _ := request(t, ts, http.MethodOptions, "/", "", preflight("http://app.example"))
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("preflight without WithCORS: %d, want 405", resp.StatusCode)
	}
	resp, body := request(t, ts, http.MethodPost, "/", addCall, map[string]string{"Origin": "http://app.example"})
	if resp.StatusCode != 200 || !strings.Contains(body, `"result":3`) {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("CORS header %s sent without WithCORS", k)
		}
	}
}

func TestCORSNamedOrigin(t *testing.T) {
	ts := startServer(t, simplerpc.WithCORS("http://App.Example:8080/"))
	const origin = "http://app.example:8080"
	resp, _ := request(t, ts, http.MethodOptions, "/", "", preflight(origin))
	want := map[string]string{
		"Access-Control-Allow-Origin":      origin,
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "POST, GET, HEAD",
		"Access-Control-Allow-Headers":     "content-type, authorization, x-tenant",
		"Access-Control-Max-Age":           "600",
	}
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("preflight: %d, want 204", resp.StatusCode)
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	resp, body := request(t, ts, http.MethodPost, "/", addCall, map[string]string{"Origin": origin, "Content-Type": "application/json"})
	if resp.StatusCode != 200 || !strings.Contains(body, `"result":3`) {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("POST Access-Control-Allow-Origin = %q", got)
	}
	if got := resp.Header.Values("Vary"); !contains(strings.Join(got, ","), "Origin") {
		t.Errorf("POST Vary = %q, want Origin in it", got)
	}
	resp, _ = request(t, ts, http.MethodGet, "/healthz", "", map[string]string{"Origin": origin})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("GET /healthz: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	// Another origin gets nothing that lets its page read the answer.
	resp, _ = request(t, ts, http.MethodOptions, "/", "", preflight("http://evil.example"))
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of another origin: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, _ = request(t, ts, http.MethodPost, "/", addCall, map[string]string{"Origin": "http://evil.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("POST from another origin got CORS headers: %v", resp.Header)
	}
	// A preflight for a method the endpoint does not take is refused.
	pf := preflight(origin)
	pf["Access-Control-Request-Method"] = "DELETE"
	if resp, _ = request(t, ts, http.MethodOptions, "/", "", pf); resp.StatusCode != http.StatusForbidden {
		t.Errorf("preflight for DELETE: %d, want 403", resp.StatusCode)
	}
}

func TestCORSAnyOrigin(t *testing.T) {
	ts := startServer(t, simplerpc.WithCORS("*"))
	resp, _ := request(t, ts, http.MethodOptions, "/", "", preflight("http://any.example"))
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("\"*\" allows credentials: %q", got)
	}
	resp, _ = request(t, ts, http.MethodPost, "/", addCall, map[string]string{"Origin": "http://any.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("POST: Access-Control-Allow-Origin %q, credentials %q", resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Access-Control-Allow-Credentials"))
	}
	// An OPTIONS request that is no preflight is JSON-RPC's: 405.
	if resp, _ = request(t, ts, http.MethodOptions, "/", "", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("plain OPTIONS: %d, want 405", resp.StatusCode)
	}
}

// FuzzHTTPRouting sends requests of any method, path, query and CORS
// headers to ServeHTTP: health checks answer JSON with 200, 503 or 404,
// and the CORS headers go only to the allowed origin.
func FuzzHTTPRouting(f *testing.F) {
	const allowed = "http://app.example:8080"
	f.Add("GET", "/healthz", "service=Calc", "", "", "")
	f.Add("HEAD", "/healthz", "", allowed, "", "")
	f.Add("OPTIONS", "/", "", allowed, "POST", "content-type, authorization")
	f.Add("OPTIONS", "/healthz", "", "HTTP://APP.EXAMPLE:8080", "GET", "")
	f.Add("OPTIONS", "/", "", "null", "POST", "")
	f.Add("POST", "/healthz", "", allowed, "", "")
	f.Add("PUT", "/", "service=%zz", "http://evil.example", "DELETE", "x")
	srv := simplerpc.NewServer(simplerpc.WithCORS(allowed), simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	if err := srv.Register("Calc", &Calc{}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, query, origin, reqMethod, reqHeaders string) {
		req, err := http.NewRequest(method, "http://127.0.0.1/", strings.NewReader(addCall))
		if err != nil {
			return // not a request an HTTP server would parse
		}
		req.URL.Path, req.URL.RawQuery = path, query
		for k, v := range map[string]string{"Origin": origin, "Access-Control-Request-Method": reqMethod, "Access-Control-Request-Headers": reqHeaders} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		hdr := w.Result().Header
		if got := hdr.Get("Access-Control-Allow-Origin"); got != "" && (got != origin || !strings.EqualFold(origin, allowed)) {
			t.Fatalf("Access-Control-Allow-Origin %q for origin %q", got, origin)
		}
		if hdr.Get("Access-Control-Allow-Credentials") != "" && hdr.Get("Access-Control-Allow-Origin") == "" {
			t.Fatal("credentials allowed without an allowed origin")
		}
		if path == "/healthz" && (method == "GET" || method == "HEAD") && hdr.Get("Access-Control-Allow-Methods") == "" {
			switch w.Code {
			case 200, 503, 404:
			default:
				t.Fatalf("GET /healthz?%s: status %d", query, w.Code)
			}
			if method == "GET" && !json.Valid(w.Body.Bytes()) {
				t.Fatalf("GET /healthz?%s: body %q", query, w.Body.Bytes())
			}
		}
	})
}
