package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// idleOnce re-executes this binary as its client process.
	if spec := os.Getenv(idleChildEnv); spec != "" {
		if err := runIdleChild(spec); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec := os.Getenv(connsChildEnv); spec != "" {
		if err := runConnsChild(spec); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec := os.Getenv(streamsChildEnv); spec != "" {
		if err := runStreamsChild(spec); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestSystems checks that every system returns correct results, alone and
// with several callers at once.
func TestSystems(t *testing.T) {
	for _, s := range allSystems() {
		t.Run(s.name(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			stop, err := s.serve(ln)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := stop(); err != nil {
					t.Error(err)
				}
			}()
			c, err := s.dial(ctx, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := c.close(); err != nil {
					t.Error(err)
				}
			}()

			if sum, err := c.add(ctx, 2, 3); err != nil || sum != 5 {
				t.Errorf("add(2, 3) = %d, %v; want 5", sum, err)
			}
			if sum, err := c.add(ctx, -7, 1<<40); err != nil || sum != 1<<40-7 {
				t.Errorf("add(-7, 1<<40) = %d, %v", sum, err)
			}
			p, err := c.echo(ctx, structIn)
			if err != nil || p.Name != structIn.Name || !bytes.Equal(p.Data, structIn.Data) {
				t.Errorf("echo: got %d bytes, name %q, err %v", len(p.Data), p.Name, err)
			}
			b, err := c.echoBytes(ctx, bytesIn)
			if err != nil || !bytes.Equal(b, bytesIn) {
				t.Errorf("echoBytes: got %d bytes, err %v; want the %d sent", len(b), err, len(bytesIn))
			}
			for _, w := range workloads() {
				if err := concurrently(ctx, c, w, 8, 5); err != nil {
					t.Errorf("%s: %v", w.name, err)
				}
			}
		})
	}
}

// concurrently makes n calls of w from each of g goroutines at once and
// returns the first error.
func concurrently(ctx context.Context, c client, w workload, g, n int) error {
	errs := make(chan error, g)
	for range g {
		go func() {
			for range n {
				if err := w.call(ctx, c); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range g {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// TestIdle runs the idle-connection measurement, child process included,
// on a few connections.
func TestIdle(t *testing.T) {
	s := floorSystem{coalesce: true}
	res := newResults([]string{s.name()})
	if err := idleOnce(s, 10, res); err != nil {
		t.Fatal(err)
	}
	if _, ok := res.median(s.name(), metric{idleWorkload, kindGoroutines, 10}); !ok {
		t.Error("no goroutine count recorded")
	}
}

// TestReport checks that the report and the chart render the recorded
// values and that the chart is well-formed XML.
func TestReport(t *testing.T) {
	cfg := config{d: time.Second, reps: 2, conc: []int{1, 8}, idleN: []int{100}, work: workloads()}
	res := newResults([]string{refFloor, refSimpleRPC, "grpc"})
	for i, s := range res.systems {
		for _, v := range []float64{1000, 3000} {
			res.add(s, metric{"add", kindTput, 1}, v*float64(i+1))
			res.add(s, metric{"add", kindTput, 8}, 2*v*float64(i+1))
		}
	}
	md := report(cfg, res, time.Minute)
	for _, want := range []string{"| grpc | – | – | 6,000 | 12,000 |", "| grpc | – / – | – / – | 3.00 / 1.50 | 3.00 / 1.50 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	d := xml.NewDecoder(strings.NewReader(chart(res, cfg.conc)))
	lines := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err != io.EOF {
				t.Fatalf("chart is not well-formed: %v", err)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != len(res.systems) {
		t.Errorf("chart has %d lines, want %d", lines, len(res.systems))
	}
}

// TestSelectWorkloads checks the -workloads flag.
func TestSelectWorkloads(t *testing.T) {
	cfg, err := parseFlags([]string{"-workloads", "bytes,idle"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.work) != 1 || cfg.work[0].name != "bytes" || len(cfg.idleN) == 0 {
		t.Errorf("-workloads bytes,idle gave %v and idle %v", workloadNames(cfg.work), cfg.idleN)
	}
	cfg, err = parseFlags([]string{"-workloads", "add"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.work) != 1 || cfg.work[0].name != "add" || len(cfg.idleN) != 0 {
		t.Errorf("-workloads add gave %v and idle %v", workloadNames(cfg.work), cfg.idleN)
	}
	if _, err := parseFlags([]string{"-workloads", "nope"}); err == nil {
		t.Error("-workloads nope was accepted")
	}
}
