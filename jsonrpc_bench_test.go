package simplerpc_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// BenchmarkJSONRPC measures JSON-RPC calls over HTTP on Serve's port: a
// lone Add, and a batch of 10 Adds; allocs/op counts client and server
// together.
func BenchmarkJSONRPC(b *testing.B) {
	benchJSONRPC(b, startServerB(b), true)
}

// BenchmarkJSONRPCFloor is BenchmarkJSONRPC's lone call against the
// minimal handler floorJSONRPC on a default http.Server: the same
// client and network, so that the two are compared, and profiled, in
// one run.
func BenchmarkJSONRPCFloor(b *testing.B) {
	l := listen(b)
	hs := &http.Server{Handler: http.HandlerFunc(floorJSONRPC)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(l)
	}()
	b.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	benchJSONRPC(b, l.Addr().String(), false)
}

// benchJSONRPC posts a lone Add, and if batch a batch of 10 Adds, to
// addr from parallel callers sharing one http.Client.
func benchJSONRPC(b *testing.B, addr string, batch bool) {
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
		if bc.name != "call" && !batch {
			continue
		}
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

// BenchmarkJSONRPCHandler measures the server's handler alone on a lone
// Add, without the network or net/http's connection handling: simplerpc's
// ServeHTTP beside a minimal handler that decodes the request with
// encoding/json and writes the response by hand (as the bench module's
// net/http floor does). allocs/op are the handler's.
func BenchmarkJSONRPCHandler(b *testing.B) {
	srv := simplerpc.NewServer()
	if err := srv.Register("Calc", &Calc{}); err != nil {
		b.Fatal(err)
	}
	body := []byte(call("Calc.Add", "[40,2]", 7))
	for _, h := range []struct {
		name string
		h    http.Handler
	}{
		{"simplerpc", srv},
		{"floor", http.HandlerFunc(floorJSONRPC)},
	} {
		b.Run(h.name, func(b *testing.B) {
			w := &discardWriter{header: http.Header{}}
			rd := bytes.NewReader(body)
			r := httptest.NewRequest(http.MethodPost, "/", rd)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("User-Agent", "Go-http-client/1.1")
			r.Header.Set("Accept-Encoding", "gzip")
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				r.Body = io.NopCloser(rd)
				clear(w.header)
				w.out.Reset()
				h.h.ServeHTTP(w, r)
				if !bytes.Contains(w.out.Bytes(), []byte(`"result":42`)) {
					b.Fatalf("response %q", w.out.Bytes())
				}
			}
		})
	}
}

// floorJSONRPC answers a JSON-RPC Add with encoding/json and a response
// written by hand.
func floorJSONRPC(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params [2]int64        `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method != "Calc.Add" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	out := make([]byte, 0, 64)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, req.ID...)
	out = append(out, `,"result":`...)
	out = strconv.AppendInt(out, req.Params[0]+req.Params[1], 10)
	out = append(out, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// discardWriter is a ResponseWriter that keeps the response's body for a
// check, reusing its memory. It takes deadlines, as net/http's does.
type discardWriter struct {
	header http.Header
	out    bytes.Buffer
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return w.out.Write(p) }

func (w *discardWriter) SetReadDeadline(time.Time) error  { return nil }
func (w *discardWriter) SetWriteDeadline(time.Time) error { return nil }
