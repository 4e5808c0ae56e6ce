package reliability_test

import (
	"context"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

// TestSlowTransferSurvivesKeepalive makes one call whose 512 KiB reply
// crosses a 128 KiB/s link: about four seconds, well within the call's
// 15 s deadline, with keepalive at 100+200 ms. Bytes still arriving count
// as life, so keepalive must not declare the healthy connection dead in
// the middle of the reply (it did once, when only whole frames counted).
func TestSlowTransferSurvivesKeepalive(t *testing.T) {
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
