package reliability_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"time"
)

// The slow link of TestKnownBugKeepaliveKillsSlowTransfer.
const (
	slowLinkReply = 512 << 10
	slowLinkRate  = 128 << 10
)

// knownBugs names every known bug for the report: the hostile inputs of
// knownBugCases, and the test of its own.
func knownBugs() []string {
	names := []string{fmt.Sprintf("slow link: one %d KiB reply at %d KiB/s, keepalive 100+200 ms: the keepalive closes the healthy connection mid-reply, again after every resume, until the deadline (TestKnownBugKeepaliveKillsSlowTransfer)", slowLinkReply>>10, slowLinkRate>>10)}
	for _, k := range knownBugCases {
		names = append(names, k.name+": answered \"200 OK\" with an empty body once the I/O timeout passes (TestKnownBugs)")
	}
	return names
}

// knownBugCases are hostile inputs the server does not withstand yet:
// TestKnownBugs (build tag knownbugs) runs them, and the report lists
// them.
var knownBugCases = []hostileCase{
	// ServeHTTP bounds the arrival of a request's body by the I/O
	// timeout, but when that read fails it returns without writing
	// anything, and net/http then sends "200 OK" with an empty body: to
	// the client, a call that succeeded without an answer. It should get
	// an error status (408) or a closed connection.
	{name: "HTTP: body that never completes", run: httpBodyNeverCompletes},
}

// httpBodyNeverCompletes announces a 1000-byte body, sends 10 bytes and
// waits: the server must answer with an error status or close.
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
	var got bytes.Buffer
	how, at, err := awaitCloseInto(nc, &got, 20*time.Second)
	if status, _, ok := strings.Cut(got.String(), "\r\n"); ok {
		how = status + ", then " + how
		if strings.HasPrefix(status, "HTTP/1.1 2") {
			return how, at.Sub(start), fmt.Errorf("a request whose body never came was answered %q", got.String())
		}
	}
	return how, at.Sub(start), err
}
