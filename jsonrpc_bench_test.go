package simplerpc_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkJSONRPC measures JSON-RPC calls over HTTP on Serve's port: a
// lone Add, and a batch of 10 Adds; allocs/op counts client and server
// together.
func BenchmarkJSONRPC(b *testing.B) {
	addr := startServerB(b)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	url := "http://" + addr + "/"
	parts := make([]string, 10)
	for i := range parts {
		parts[i] = call("Calc.Add", "[1,2]", i)
	}
	for _, bc := range []struct{ name, body string }{
		{"call", call("Calc.Add", "[1,2]", 1)},
		{"batch=10", "[" + strings.Join(parts, ",") + "]"},
	} {
		body := []byte(bc.body)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					out, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"result":3`)) {
						b.Errorf("status %d: %s", resp.StatusCode, out)
						return
					}
				}
			})
		})
	}
}
