package reliability_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// knownBugCases are hostile inputs the server does not withstand yet:
// TestKnownBugs (build tag knownbugs) runs them, and the report lists
// them.
var knownBugCases = []hostileCase{
	// Every call of a connection runs in its own goroutine, up to 4096,
	// and one whose reply cannot be queued (the queue is over its 1 MiB
	// high-water mark because the client does not read) waits holding
	// its encoded reply until the write timeout closes the connection.
	// So a few kilobytes of calls pin up to 4096 × the message limit:
	// here 300 calls of 31 bytes pin about 300 MiB; with the defaults
	// (16 MiB, 30 s) one connection can pin 64 GiB for 30 seconds.
	{name: "client that never reads 300 replies of 1 MiB", limit: 10 * time.Second,
		run: func(h *hostileBench) (string, time.Duration, error) {
			return neverReadsN(h, 300, hostileMaxMessage-64)
		}},
	// The HTTP server on the native port has no write timeout:
	// WithWriteTimeout applies to native connections only, so an HTTP
	// client that stops reading keeps its connection, and the handler
	// goroutine blocked writing to it, for ever.
	{name: "HTTP: client that never reads its responses", limit: 5 * time.Second, run: httpNeverReads},
	// Nor has it a read timeout past the headers: a request whose body
	// never completes is held for ever.
	{name: "HTTP: body that never completes", limit: 15 * time.Second, run: httpBodyNeverCompletes},
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
		return "closed", time.Since(start), nil
	}
	return "still open", time.Since(start), errors.New("the server kept the connection of an HTTP client that never reads")
}

// httpBodyNeverCompletes announces a 1000-byte body, sends 10 bytes and
// waits.
func httpBodyNeverCompletes(h *hostileBench) (string, time.Duration, error) {
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		return "dial failed", 0, fmt.Errorf("dial: %w", err)
	}
	defer nc.Close()
	start := time.Now()
	req := "POST / HTTP/1.1\r\nHost: reliability\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\""
	if _, err := nc.Write([]byte(req)); err != nil {
		return "write failed", 0, fmt.Errorf("sending the request: %w", err)
	}
	how, at, err := awaitClose(nc, 20*time.Second)
	return how, at.Sub(start), err
}
