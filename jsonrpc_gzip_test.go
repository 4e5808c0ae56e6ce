package simplerpc_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// rawHTTPClient returns an HTTP client that neither asks for nor
// decompresses gzip by itself, closed when the test ends.
func rawHTTPClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func gzipped(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// send posts body with the headers (name, value pairs); chunked sends it
// without a Content-Length. It returns the response, its body read.
func send(t *testing.T, hc *http.Client, url string, body []byte, chunked bool, headers ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

// TestJSONRPCGzipRequest: a gzip-compressed body (Content-Encoding: gzip,
// RFC 9110 section 8.4) is decompressed and answered, alone or as a
// batch, with or without a Content-Length.
func TestJSONRPCGzipRequest(t *testing.T) {
	ts := startServer(t)
	hc, url := rawHTTPClient(t), "http://"+ts.addr+"/"
	for _, chunked := range []bool{false, true} {
		for _, enc := range []string{"gzip", "x-gzip", "GZIP", "identity, gzip"} {
			resp, out := send(t, hc, url, gzipped(t, []byte(call("Calc.Add", "[1,2]", 1))), chunked, "Content-Encoding", enc)
			if resp.StatusCode != http.StatusOK || string(out) != `{"jsonrpc":"2.0","result":3,"id":1}` {
				t.Errorf("%s, chunked %v: status %d: %s", enc, chunked, resp.StatusCode, out)
			}
		}
		resp, out := send(t, hc, url, gzipped(t, []byte("["+call("Calc.Add", "[1,2]", 1)+","+call("Calc.Add", "[3,4]", 2)+"]")), chunked, "Content-Encoding", "gzip")
		var rs []rpcResponse
		if err := json.Unmarshal(out, &rs); resp.StatusCode != http.StatusOK || err != nil || len(rs) != 2 {
			t.Errorf("gzip batch: status %d: %s", resp.StatusCode, out)
		}
	}
	// Identity, or no coding, as ever.
	if resp, out := send(t, hc, url, []byte(call("Calc.Add", "[1,2]", 1)), false, "Content-Encoding", "identity"); resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"result":3`) {
		t.Errorf("identity: status %d: %s", resp.StatusCode, out)
	}
}

// TestJSONRPCGzipRequestRefused: a body that does not decompress gets a
// parse error (-32700, status 400); a coding the server does not take
// gets 415 (RFC 9110 section 15.5.16) with Accept-Encoding saying what it
// takes, and a JSON-RPC error that says so.
func TestJSONRPCGzipRequestRefused(t *testing.T) {
	ts := startServer(t)
	hc, url := rawHTTPClient(t), "http://"+ts.addr+"/"
	good := gzipped(t, []byte(call("Calc.Add", "[1,2]", 1)))
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-5] ^= 0xff // the checksum
	for what, body := range map[string][]byte{
		"not gzip":  []byte(call("Calc.Add", "[1,2]", 1)),
		"truncated": good[:len(good)-6],
		"checksum":  corrupt,
		"trailing":  append(bytes.Clone(good), "garbage"...),
	} {
		resp, out := send(t, hc, url, body, false, "Content-Encoding", "gzip")
		var r rpcResponse
		if err := json.Unmarshal(out, &r); resp.StatusCode != http.StatusBadRequest || err != nil {
			t.Errorf("%s: status %d: %s", what, resp.StatusCode, out)
			continue
		}
		wantError(t, what, r, -32700, "parse error: the gzip-compressed body does not decompress")
	}
	for _, enc := range []string{"br", "deflate", "gzip, br", "gzip, gzip", "zstd"} {
		resp, out := send(t, hc, url, good, false, "Content-Encoding", enc)
		var r rpcResponse
		if err := json.Unmarshal(out, &r); resp.StatusCode != http.StatusUnsupportedMediaType || err != nil || resp.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("%s: status %d, Accept-Encoding %q: %s", enc, resp.StatusCode, resp.Header.Get("Accept-Encoding"), out)
			continue
		}
		wantError(t, enc, r, -32600, "is not supported; send the body as is or gzip-compressed")
	}
	// The server goes on serving.
	if resp, out := send(t, hc, url, good, false, "Content-Encoding", "gzip"); resp.StatusCode != http.StatusOK {
		t.Errorf("after: status %d: %s", resp.StatusCode, out)
	}
}

// TestJSONRPCGzipBomb: the size limit applies to the body decompressed:
// a small body that decompresses past it gets 413 and a clear error, as
// soon as the limit is passed.
func TestJSONRPCGzipBomb(t *testing.T) {
	const limit = 1 << 20
	var logs syncBuffer
	ts := startServer(t, simplerpc.WithMaxMessageSize(limit), simplerpcLogger(&logs))
	hc, url := rawHTTPClient(t), "http://"+ts.addr+"/"
	// 64 MiB of params, 64 KiB compressed: past the limit 64 times. A
	// gzip stream may be several members one after the other: one is
	// compressed, and repeated.
	chunk := gzipped(t, []byte(strings.Repeat("0,", 1<<19)))
	bomb := gzipped(t, []byte(`{"jsonrpc":"2.0","method":"Calc.Sum","params":[`))
	for range 1 << 6 {
		bomb = append(bomb, chunk...)
	}
	bomb = append(bomb, gzipped(t, []byte(`0],"id":1}`))...)
	for _, chunked := range []bool{false, true} {
		start := time.Now()
		resp, out := send(t, hc, url, bomb, chunked, "Content-Encoding", "gzip")
		var r rpcResponse
		if err := json.Unmarshal(out, &r); resp.StatusCode != http.StatusRequestEntityTooLarge || err != nil {
			t.Fatalf("chunked %v: status %d: %s", chunked, resp.StatusCode, out)
		}
		wantError(t, "bomb", r, -32600, "invalid request: the body decompresses past the 1048576-byte limit")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("chunked %v: answered after %v", chunked, d)
		}
	}
	// Just within the limit decompressed, it is served.
	small := `{"jsonrpc":"2.0","method":"Calc.Sum","params":[` + strings.Repeat("1,", limit/2-100) + `1],"id":2}`
	resp, out := send(t, hc, url, gzipped(t, []byte(small)), true, "Content-Encoding", "gzip")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"result":`) {
		t.Errorf("within the limit: status %d: %.200s", resp.StatusCode, out)
	}
	if !strings.Contains(logs.String(), "body over the size limit") || !strings.Contains(logs.String(), "gzip=true") {
		t.Errorf("refusal not logged:\n%s", logs.String())
	}
}

// TestJSONRPCGzipResponse: a client that accepts gzip (RFC 9110 section
// 12.5.3) gets responses of 1 KiB and more compressed, with Vary:
// Accept-Encoding; smaller ones, and clients that do not accept gzip,
// get them as they are.
func TestJSONRPCGzipResponse(t *testing.T) {
	ts := startServer(t)
	hc, url := rawHTTPClient(t), "http://"+ts.addr+"/"
	large := call("Calc.Zeros", "[3000]", 1) // a 4000-character base64 result
	for _, tc := range []struct {
		body, accept string
		gzip         bool
	}{
		{large, "gzip", true},
		{large, "deflate, gzip;q=0.5", true},
		{large, "x-gzip", true},
		{large, "*", true},
		{large, "br;q=1, *;q=0.1", true},
		{large, "", false},
		{large, "identity", false},
		{large, "gzip;q=0", false},
		{large, "gzip;q=0, *", false},
		{large, "br", false},
		{call("Calc.Add", "[1,2]", 1), "gzip", false},
		{"[" + strings.Repeat(call("Calc.Add", "[1,2]", 1)+",", 40) + call("Calc.Add", "[1,2]", 1) + "]", "gzip", true},
	} {
		var headers []string
		if tc.accept != "" {
			headers = []string{"Accept-Encoding", tc.accept}
		}
		resp, out := send(t, hc, url, []byte(tc.body), false, headers...)
		what := tc.accept + " " + tc.body[:min(len(tc.body), 60)]
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Vary") != "Accept-Encoding" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: status %d, headers %v", what, resp.StatusCode, resp.Header)
			continue
		}
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("%s: compressed %v, want %v", what, got, tc.gzip)
			continue
		}
		if tc.gzip {
			zr, err := gzip.NewReader(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if out, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		if !json.Valid(out) || !strings.Contains(string(out), `"result":`) {
			t.Errorf("%s: %.200s", what, out)
		}
	}
}
