package reliability_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// httpCases are hostile JSON-RPC requests over HTTP, on the native port.
var httpCases = []hostileCase{
	{name: "HTTP: body of 2 MiB, over the 1 MiB limit", run: func(h *hostileBench) (string, time.Duration, error) {
		body := `{"jsonrpc":"2.0","id":1,"method":"Work.Sink","params":["` + strings.Repeat("x", 2<<20) + `"]}`
		return httpExpect(h.addr, httpRequest(body, false), http.StatusRequestEntityTooLarge, -32600)
	}},
	{name: "HTTP: chunked body of 2 MiB, over the limit", run: func(h *hostileBench) (string, time.Duration, error) {
		body := `{"jsonrpc":"2.0","id":1,"method":"Work.Sink","params":["` + strings.Repeat("x", 2<<20) + `"]}`
		return httpExpect(h.addr, httpRequest(body, true), http.StatusRequestEntityTooLarge, -32600)
	}},
	{name: "HTTP: Content-Length of 2 GiB announced", run: func(h *hostileBench) (string, time.Duration, error) {
		req := "POST / HTTP/1.1\r\nHost: reliability\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n{"
		return httpExpect(h.addr, []byte(req), http.StatusRequestEntityTooLarge, -32600)
	}},
	{name: "HTTP: params nested 100,000 deep", run: func(h *hostileBench) (string, time.Duration, error) {
		body := `{"jsonrpc":"2.0","id":1,"method":"Work.Sink","params":[` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `]}`
		return httpExpect(h.addr, httpRequest(body, false), http.StatusOK, -32700, -32600, -32602)
	}},
	{name: "HTTP: malformed JSON", run: func(h *hostileBench) (string, time.Duration, error) {
		return httpExpect(h.addr, httpRequest(`{"jsonrpc":"2.0","id":1,"method":`, false), http.StatusOK, -32700)
	}},
	{name: "HTTP: client that never reads its responses", limit: 15 * time.Second, run: httpNeverReads},
	{name: "HTTP: batch of 5,000 requests", run: func(h *hostileBench) (string, time.Duration, error) {
		reqs := make([]string, 5000)
		for i := range reqs {
			reqs[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"Work.Sink","params":[1]}`, i)
		}
		return httpExpect(h.addr, httpRequest("["+strings.Join(reqs, ",")+"]", false), http.StatusOK, -32600)
	}},
}

// httpRequest is a JSON-RPC POST carrying body, chunked or with a
// Content-Length.
func httpRequest(body string, chunked bool) []byte {
	var b strings.Builder
	b.WriteString("POST / HTTP/1.1\r\nHost: reliability\r\nContent-Type: application/json\r\nConnection: close\r\n")
	if !chunked {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		return []byte(b.String())
	}
	b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	for len(body) > 0 {
		n := min(len(body), 32<<10)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return []byte(b.String())
}

// httpExpect sends a raw HTTP request and expects the status and, for
// 200, a JSON-RPC error with one of the codes. A server that closes the
// connection instead passes too. The request is written while the answer
// is read, since the server may answer before it has read everything.
func httpExpect(addr string, req []byte, status int, rpcCodes ...int) (string, time.Duration, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return "dial failed", 0, fmt.Errorf("dial: %w", err)
	}
	defer nc.Close()
	start := time.Now()
	_ = nc.SetDeadline(start.Add(30 * time.Second))
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = nc.Write(req)
	}()
	defer func() { nc.Close(); <-written }()
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	took := time.Since(start)
	if err != nil {
		return "closed without an answer", took, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return fmt.Sprintf("status %d, body cut", resp.StatusCode), took, fmt.Errorf("reading the answer: %w", err)
	}
	outcome := fmt.Sprintf("status %d", resp.StatusCode)
	if resp.StatusCode != status {
		return outcome, took, fmt.Errorf("want status %d; body %.200s", status, body)
	}
	if len(rpcCodes) == 0 {
		return outcome, took, nil
	}
	var answer struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Error == nil {
		return outcome, took, fmt.Errorf("want a JSON-RPC error object; body %.200s", body)
	}
	outcome = fmt.Sprintf("status %d, JSON-RPC error %d (%.90s)", resp.StatusCode, answer.Error.Code, answer.Error.Message)
	for _, c := range rpcCodes {
		if answer.Error.Code == c {
			return outcome, took, nil
		}
	}
	return outcome, took, fmt.Errorf("want one of the codes %v", rpcCodes)
}

// httpNeverReads pipelines requests with large responses on one
// connection and never reads them.
func httpNeverReads(h *hostileBench) (string, time.Duration, error) {
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		return "dial failed", 0, fmt.Errorf("dial: %w", err)
	}
	defer nc.Close()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"Work.Blob","params":[%d]}`, 600<<10)
	req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: reliability\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	start := time.Now()
	_ = nc.SetWriteDeadline(start.Add(5 * time.Second))
	if _, err := nc.Write([]byte(strings.Repeat(req, 32))); err != nil {
		return "write failed", time.Since(start), fmt.Errorf("sending the requests: %w", err)
	}
	if waitWriteFails(nc, []byte(req), start.Add(15*time.Second)) {
		return fmt.Sprintf("closed after the %v write timeout", hostileWrite), time.Since(start), nil
	}
	return "still open", time.Since(start), errors.New("the server kept the connection of an HTTP client that never reads")
}
