//go:build knownbugs

package reliability_test

import (
	"context"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

// TestKnownBugs sends hostile inputs that the server does not withstand
// yet. Each case fails today; they are kept out of the default run (build
// tag knownbugs) so that the rest stays green:
//
//	go test -race -tags knownbugs -run TestKnownBug -v ./reliability
//
// Once a bug is fixed, move its case to nativeCases or httpCases.
func TestKnownBugs(t *testing.T) {
	base := takeBaseline()
	runHostile(t, base.heap, knownBugCases)
	base.check(t, "known bugs", 8<<20)
}

// TestKnownBugKeepaliveKillsSlowTransfer makes one call whose 512 KiB
// reply crosses a 128 KiB/s link: about four seconds, well within the
// call's 15 s deadline. Keepalive counts only complete frames as signs of
// life, so the client, hearing nothing while the reply trickles in, pings
// the server; the pong waits behind the rest of the reply, the client
// declares the healthy connection dead and closes it, and the resumed
// session sends the reply again from the start, to the same end.
func TestKnownBugKeepaliveKillsSlowTransfer(t *testing.T) {
	srv := startServer(t, fastKeepalive)
	proxy, err := faultproxy.New(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c := dial(t, proxy.Addr(), fastKeepalive)
	proxy.SetRate(faultproxy.Downstream, slowLinkRate)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	var got []byte
	err = c.Call(ctx, "Work.Blob", []any{slowLinkReply}, &got)
	if err != nil || len(got) != slowLinkReply {
		t.Errorf("a %d KiB reply at %d KiB/s: %d bytes after %v, %v", slowLinkReply>>10, slowLinkRate>>10, len(got), time.Since(start), err)
	}
	c.Close()
	proxy.Close()
}
