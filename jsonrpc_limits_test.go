package simplerpc_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// callAlongside calls Calc.Add every 5 ms until stop is called, which
// returns the number of calls made; every call must succeed.
func callAlongside(t *testing.T, url string) (stop func() int) {
	hc := httpClient(t)
	done := make(chan struct{})
	var n int
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			n++
			resp, err := hc.Post(url, "application/json", strings.NewReader(call("Calc.Add", fmt.Sprintf("[%d,1]", i), i)))
			if err != nil {
				t.Errorf("well-behaved call %d: %v", i, err)
				continue
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf(`{"jsonrpc":"2.0","result":%d,"id":%d}`, i+1, i); resp.StatusCode != http.StatusOK || string(out) != want {
				t.Errorf("well-behaved call %d: status %d: %s", i, resp.StatusCode, out)
			}
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return n
	}
}

// wantTooLarge checks a 413 answer to a body over limit.
func wantTooLarge(t *testing.T, what string, status int, out []byte, limit int) {
	t.Helper()
	var r rpcResponse
	if err := json.Unmarshal(out, &r); status != http.StatusRequestEntityTooLarge || err != nil {
		t.Errorf("%s: status %d, body %.200s", what, status, out)
		return
	}
	wantError(t, what, r, -32600, fmt.Sprintf("exceeds the %d-byte limit", limit))
}

// TestJSONRPCOversizedBodyIsAnswered: a client that sends a body over
// the limit reads the 413, whether it reads while it sends (Go's
// client) or only after sending everything (a raw client, as Python's
// http.client and curl do), with a Content-Length or chunked; the
// connection is then closed cleanly, and a caller beside it is served.
func TestJSONRPCOversizedBodyIsAnswered(t *testing.T) {
	const limit = 1 << 20
	ts := startServer(t, simplerpc.WithMaxMessageSize(limit))
	url := "http://" + ts.addr + "/"
	stop := callAlongside(t, url)
	defer stop()
	body := bytes.Repeat([]byte("x"), limit+1<<20)
	hc := httpClient(t)

	for _, chunked := range []bool{false, true} {
		what := fmt.Sprintf("Go client, chunked %t", chunked)
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if chunked {
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = -1
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantTooLarge(t, what, resp.StatusCode, out, limit)
		if !resp.Close {
			t.Errorf("%s: the connection is kept after a 413", what)
		}
	}

	for _, chunked := range []bool{false, true} {
		what := fmt.Sprintf("raw client, chunked %t", chunked)
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		// Small buffers, as across a network: loopback's would take in
		// most of the body without the server reading it.
		_ = nc.(*net.TCPConn).SetWriteBuffer(64 << 10)
		// The whole request is written before anything is read.
		w := bufio.NewWriter(nc)
		if chunked {
			fmt.Fprintf(w, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
			for rest := body; len(rest) > 0; {
				n := min(len(rest), 64<<10)
				fmt.Fprintf(w, "%x\r\n%s\r\n", n, rest[:n])
				rest = rest[n:]
			}
			fmt.Fprintf(w, "0\r\n\r\n")
		} else {
			fmt.Fprintf(w, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
		if err := w.Flush(); err != nil {
			t.Errorf("%s: writing the request: %v", what, err)
		}
		br := bufio.NewReader(nc)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Errorf("%s: reading the answer: %v", what, err)
			nc.Close()
			continue
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantTooLarge(t, what, resp.StatusCode, out, limit)
		if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("%s: after the answer, read %d bytes, %v; want the connection closed", what, n, err)
		}
		nc.Close()
	}

	// A client that waits for "100 Continue" gets the 413 instead, at
	// once, and sends no body.
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(nc, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("Expect: 100-continue: %v", err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantTooLarge(t, "Expect: 100-continue", resp.StatusCode, out, limit)
}

// TestJSONRPCEndlessBodyIsCut: a body that never ends is discarded for a
// bounded time only.
func TestJSONRPCEndlessBodyIsCut(t *testing.T) {
	const limit = 64 << 10
	ts := startServer(t, simplerpc.WithMaxMessageSize(limit))
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	_ = nc.SetDeadline(start.Add(10 * time.Second))
	fmt.Fprintf(nc, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunk := fmt.Appendf(nil, "%x\r\n%s\r\n", 32<<10, bytes.Repeat([]byte("x"), 32<<10))
	for {
		if _, err := nc.Write(chunk); err != nil {
			break // the server stopped reading and closed
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the server read an endless body for %v", d)
	}
}
