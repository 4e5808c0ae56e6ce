package simplerpc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawHTTP sends reqs on one connection to addr and reads as many
// responses, their bodies included.
func rawHTTP(t *testing.T, addr string, reqs ...string) []*http.Response {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, strings.Join(reqs, "")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	var out []*http.Response
	for i := range reqs {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
	}
	return out
}

func bodyOf(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func postAdd(a, b, id int, extra string) string {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","method":"Calc.Add","params":[%d,%d],"id":%d}`, a, b, id)
	return fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s", extra, len(body), body)
}

// serveCalcHTTP serves Calc with the HTTP front's fast path on, whatever
// the test switch (SIMPLERPC_HTTP_FRONT) says, or off with netHTTPOnly.
func serveCalcHTTP(t *testing.T, netHTTPOnly bool) (*Server, string) {
	t.Helper()
	srv := NewServer(WithLogger(slog.New(slog.DiscardHandler)))
	srv.netHTTPOnly = netHTTPOnly
	if err := srv.Register("Calc", dispatchCalc{}); err != nil {
		t.Fatal(err)
	}
	return srv, serveInternal(t, srv)
}

func servedFast(srv *Server) int64 {
	if f := srv.runningFront(); f != nil {
		return f.served.Load()
	}
	return 0
}

func TestFastHTTPServesKeepAlive(t *testing.T) {
	srv, addr := serveCalcHTTP(t, false)
	resps := rawHTTP(t, addr, postAdd(1, 2, 1, ""), postAdd(3, 4, 2, ""), postAdd(5, 6, 3, ""))
	for i, r := range resps {
		want := fmt.Sprintf(`{"jsonrpc":"2.0","result":%d,"id":%d}`, 4*i+3, i+1)
		if got := strings.TrimSpace(bodyOf(r)); r.StatusCode != 200 || got != want {
			t.Errorf("response %d: %d %s, want %s", i, r.StatusCode, got, want)
		}
		if r.Header.Get("Content-Type") != "application/json" || r.ContentLength <= 0 || r.Header.Get("Date") == "" || r.Close {
			t.Errorf("response %d headers: %v (length %d, close %v)", i, r.Header, r.ContentLength, r.Close)
		}
	}
	if n := servedFast(srv); n != 3 {
		t.Errorf("%d requests on the fast path, want 3", n)
	}
}

// TestFastHTTPHandsOver checks that a request the fast path does not take
// goes, with the rest of its connection, to net/http, which answers it
// and those after it.
func TestFastHTTPHandsOver(t *testing.T) {
	chunkedBody := `{"jsonrpc":"2.0","method":"Calc.Add","params":[2,2],"id":9}`
	chunked := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunkedBody), chunkedBody)
	for _, tc := range []struct {
		name, req, want string
		status          int
	}{
		{"healthz", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", `"status"`, 200},
		{"chunked", chunked, `"result":4`, 200},
		{"HTTP/1.0", strings.Replace(postAdd(1, 1, 5, ""), "HTTP/1.1", "HTTP/1.0", 1), `"result":2`, 200},
		{"a long header", postAdd(1, 1, 6, "X-Long: "+strings.Repeat("a", fastBufSize)+"\r\n"), `"result":2`, 200},
		{"a wrong method", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "POST", 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, addr := serveCalcHTTP(t, false)
			reqs := []string{postAdd(1, 2, 1, ""), tc.req}
			if !strings.Contains(tc.req, "HTTP/1.0") {
				reqs = append(reqs, postAdd(3, 4, 2, ""))
			}
			resps := rawHTTP(t, addr, reqs...)
			if got := bodyOf(resps[1]); resps[1].StatusCode != tc.status || !strings.Contains(got, tc.want) {
				t.Errorf("handed over: %d %s", resps[1].StatusCode, got)
			}
			if len(resps) == 3 {
				if got := bodyOf(resps[2]); !strings.Contains(got, `"result":7`) {
					t.Errorf("after it: %s", got)
				}
			}
			if n := servedFast(srv); n != 1 {
				t.Errorf("%d requests on the fast path, want 1 (the first)", n)
			}
		})
	}
}

// TestFastHTTPSmuggling checks that a request whose length could be read
// two ways is not the fast path's: the connection is answered exactly as
// net/http alone answers it.
func TestFastHTTPSmuggling(t *testing.T) {
	hidden := postAdd(100, 100, 66, "")
	answer := func(t *testing.T, req string, netHTTPOnly bool) string {
		srv, addr := serveCalcHTTP(t, netHTTPOnly)
		defer srv.Close()
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(500 * time.Millisecond))
		_, _ = io.WriteString(nc, req)
		all, _ := io.ReadAll(nc) // to the close, or the deadline
		if n := servedFast(srv); n != 0 {
			t.Errorf("%q: %d on the fast path", req, n)
		}
		var lines []string
		for l := range strings.SplitSeq(string(all), "\r\n") {
			if !strings.HasPrefix(l, "Date: ") {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\r\n")
	}
	for i, req := range []string{
		fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s", len(hidden)+5, hidden),
		fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: %d\r\n\r\n%s", len(hidden), hidden),
		fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX: y\r\n\tContent-Length: %d\r\n\r\n%s", len(hidden), hidden),
		fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length : %d\r\n\r\n%s", len(hidden), hidden),
		fmt.Sprintf("POST / HTTP/1.1\nHost: x\nContent-Length: %d\n\n%s", len(hidden), hidden),
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			fast := answer(t, req, false)
			if plain := answer(t, req, true); fast != plain {
				t.Errorf("%q:\nanswered %q\nnet/http alone %q", req, fast, plain)
			}
		})
	}
}

func TestFastHTTPConnectionClose(t *testing.T) {
	_, addr := serveCalcHTTP(t, false)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(nc, postAdd(1, 2, 1, "Connection: close\r\n"))
	all, err := io.ReadAll(nc) // ends: the server closes
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(all))), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Close || !strings.Contains(bodyOf(resp), `"result":3`) {
		t.Errorf("response %v close=%v", resp.Header, resp.Close)
	}
}

func TestFastHTTPShutdownClosesIdle(t *testing.T) {
	srv, addr := serveCalcHTTP(t, false)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(nc, postAdd(1, 2, 1, ""))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := bodyOf(resp); !strings.Contains(got, `"result":3`) {
		t.Fatalf("response %s", got)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(t.Context()) }()
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Errorf("the idle connection read %q, %v; want EOF", rest, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestFastHTTPDirectSameAsNetHTTP checks that the requests the fast path
// serves directly (jsonrpchttp.ServeDirect), and those it serves through
// an http.Request, are answered as net/http's server answers them:
// the same status, headers (but Date) and body, metadata from the
// headers included.
func TestFastHTTPDirectSameAsNetHTTP(t *testing.T) {
	big := strings.Repeat("x", 2000) // a reply large enough to be compressed
	reqs := []string{
		postAdd(40, 2, 1, ""),
		postAdd(40, 2, 2, "Accept-Encoding: gzip\r\n"),
		postAdd(40, 2, 3, "Accept-Encoding: gzip\r\nAccept-Encoding: br\r\n"),
		postAdd(40, 2, 4, "Content-Encoding: identity\r\n"),
		postAdd(40, 2, 5, "X-Odd-Name: v\r\nx-odd-name: w\r\n"),
		postBody(`{"jsonrpc":"2.0","method":"hdr","params":["x-odd-name"],"id":6}`, "X-Odd-Name: v\r\nx-odd-name: w\r\n"),
		postBody(`{"jsonrpc":"2.0","method":"hdr","params":["accept-encoding"],"id":7}`, "Accept-Encoding: gzip;q=0\r\n"),
		postBody(`{"jsonrpc":"2.0","method":"echo","params":["`+big+`"],"id":8}`, "Accept-Encoding: gzip\r\n"),
		postBody(`{"jsonrpc":"2.0","method":"echo","params":["`+big+`"],"id":9}`, "Accept-Encoding: identity\r\n"),
		postBody(`{"jsonrpc":"2.0","method":"Calc.Nope","params":[],"id":10}`, ""),
		postBody(`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2]}`, ""),
		postBody(`{"jsonrpc":"2.0","method":`, ""),
		postBody(`[{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1},{"jsonrpc":"2.0","method":"hdr","params":["x-a"],"id":2}]`, "X-A: b\r\n"),
	}
	answers := func(netHTTPOnly bool) []*http.Response {
		srv, addr := serveCalcHTTP(t, netHTTPOnly)
		if err := srv.RegisterFunc("hdr", func(ctx context.Context, name string) string { return IncomingMetadata(ctx).Get(name) }); err != nil {
			t.Fatal(err)
		}
		if err := srv.RegisterFunc("echo", func(s string) string { return s }); err != nil {
			t.Fatal(err)
		}
		out := rawHTTP(t, addr, reqs...)
		if n := servedFast(srv); netHTTPOnly != (n == 0) {
			t.Fatalf("netHTTPOnly %v: %d requests served on the fast path", netHTTPOnly, n)
		}
		return out
	}
	fast, slow := answers(false), answers(true)
	for i := range reqs {
		f, s := fast[i], slow[i]
		f.Header.Del("Date")
		s.Header.Del("Date")
		if f.StatusCode != s.StatusCode || fmt.Sprint(f.Header) != fmt.Sprint(s.Header) {
			t.Errorf("request %d: fast path %d %v, net/http %d %v", i, f.StatusCode, f.Header, s.StatusCode, s.Header)
		}
		fb, sb := bodyOf(f), bodyOf(s)
		if fb != sb {
			t.Errorf("request %d: fast path body %q, net/http %q", i, fb, sb)
		}
		if want, ok := map[int]string{0: `"result":42`, 5: `"result":"v"`, 6: `"result":"gzip;q=0"`, 12: `"result":"b"`}[i]; ok && !strings.Contains(fb, want) {
			t.Errorf("request %d: body %q, want %s", i, fb, want)
		}
	}
}

func postBody(body, extra string) string {
	return fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s", extra, len(body), body)
}
