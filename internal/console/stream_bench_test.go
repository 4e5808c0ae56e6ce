package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/console"
)

// Bulk streams as many items as asked: for benchmarks only.
type Bulk struct{}

// Lines yields n short lines.
func (Bulk) Lines(ctx context.Context, n int) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := range n {
			if !yield(fmt.Sprint("line ", i), nil) {
				return
			}
		}
	}
}

// BenchmarkStreamRelay streams b.N short items from a server through the
// console (NDJSON over HTTP, read line by line) and, as the peer in the
// same run, straight from a Client (ClientStream.Recv): the ratio of the
// two is what the console's relay costs.
func BenchmarkStreamRelay(b *testing.B) {
	srv := simplerpc.NewServer(simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	if err := srv.Register("Bulk", Bulk{}); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := simplerpc.Dial(ctx, l.Addr().String(), simplerpc.WithCodec("json"))
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(console.New(c, console.Options{Logger: slog.New(slog.DiscardHandler)}))
	defer func() {
		hs.Close()
		c.Close()
		srv.Close()
		<-done
	}()

	b.Run("console", func(b *testing.B) {
		resp, err := http.Post(hs.URL+"/api/stream", "application/json", strings.NewReader(fmt.Sprintf(`{"method":"Bulk.Lines","params":[%d],"timeoutMs":600000}`, b.N)))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		n := 0
		for sc.Scan() {
			var l struct{ End bool }
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				b.Fatal(err)
			}
			if l.End {
				break
			}
			n++
		}
		if n != b.N+1 { // the items and the opening line
			b.Fatalf("%d lines for %d items", n, b.N)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
	})
	b.Run("client", func(b *testing.B) {
		s, err := c.OpenStream(ctx, "Bulk.Lines", b.N)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		n := 0
		var item json.RawMessage
		for {
			if err := s.Recv(&item); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != b.N {
			b.Fatalf("%d items for %d", n, b.N)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
	})
}
