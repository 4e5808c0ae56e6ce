package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestStreamSystems checks that every stream shape of every system that
// serves streams runs and passes its own checks, and that the systems
// that take part are the floor, simplerpc-cbor, grpc and drpc.
func TestStreamSystems(t *testing.T) {
	var names []string
	for _, s := range allSystems() {
		ss, ok := streamSystemOf(s)
		if !ok {
			continue
		}
		names = append(names, s.name())
		t.Run(s.name(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			stop, err := ss.serveStreams(ln)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := stop(); err != nil {
					t.Error(err)
				}
			}()
			c, err := ss.dialStreams(ctx, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := c.close(); err != nil {
					t.Error(err)
				}
			}()
			const d = 50 * time.Millisecond
			if n, err := c.count(ctx, d); err != nil || n == 0 {
				t.Errorf("count: %d items, %v", n, err)
			}
			if n, err := c.download(ctx, d); err != nil || n == 0 || n%int64(len(chunk)) != 0 {
				t.Errorf("download: %d bytes, %v", n, err)
			}
			if n, took, err := c.upload(ctx, d); err != nil || n == 0 || n%int64(len(chunk)) != 0 || took < d {
				t.Errorf("upload: %d bytes in %v, %v", n, took, err)
			}
			if samples, err := c.pingPong(ctx, d); err != nil || len(samples) == 0 {
				t.Errorf("ping-pong: %d round trips, %v", len(samples), err)
			}
			if u, ok := c.(unaryAdder); ok {
				if samples, err := unaryAdds(ctx, u, d); err != nil || len(samples) == 0 {
					t.Errorf("unary: %d calls, %v", len(samples), err)
				}
			}
			if h, ok := c.(streamHolder); ok {
				var releases []func()
				for range 10 {
					r, err := h.hold(ctx)
					if err != nil {
						t.Fatalf("hold: %v", err)
					}
					releases = append(releases, r)
				}
				for _, r := range releases {
					r()
				}
			}
		})
	}
	if got := strings.Join(names, ","); got != "floor,simplerpc-cbor,grpc,drpc" {
		t.Errorf("systems with streams: %s", got)
	}
}

// TestStreamsScenario runs the streams workload briefly on the systems
// that serve streams, idle streams in a child process included, and
// checks that the report has every figure.
func TestStreamsScenario(t *testing.T) {
	cfg, err := parseFlags([]string{"-smoke", "-workloads", "streams", "-systems", "floor,simplerpc-cbor,grpc,drpc"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.d = 50 * time.Millisecond
	res := newResults(systemNames(cfg.systems))
	for _, s := range cfg.systems {
		runScenariosFor(cfg, 0, s, res)
	}
	if len(res.failures) > 0 {
		t.Fatalf("failures: %v", res.failures)
	}
	var b strings.Builder
	reportStreams(&b, cfg, res)
	md := b.String()
	for _, row := range []string{"| floor |", "| simplerpc-cbor |", "| grpc |", "| drpc |"} {
		line := md[strings.Index(md, row):]
		line = line[:strings.Index(line, "\n")]
		// Only simplerpc has an up owned figure (its up method borrows
		// its items, the other one owns them): one cell empty for the
		// others; the floor has no unary call and no idle streams
		// either: 7 in all; drpc has no idle streams: 5.
		want := map[string]int{"| floor |": 7, "| drpc |": 5, "| grpc |": 1}[row]
		if got := strings.Count(line, "–"); got != want {
			t.Errorf("%s has %d empty cells, want %d:\n%s", row, got, want, line)
		}
	}
}
