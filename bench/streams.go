package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// Metric kinds of the streams workload.
const (
	kindItems    = "items"    // server-stream items received per second
	kindDownMBps = "down"     // server-stream 64 KiB chunk payload, MB per second
	kindUpMBps   = "up"       // client-stream 64 KiB chunk payload, MB per second
	kindUpOwned  = "upowned"  // the same into a method whose items are its own, where a system has both
	kindPingP50  = "pingp50"  // bidi ping-pong round trip p50, seconds
	kindUnaryP50 = "unaryp50" // unary Add p50 on the same connection, seconds
)

// streamsWorkload is the workload name of the stream metrics.
const streamsWorkload = "streams"

// streamsChildEnv, when set to "SYSTEM ADDR N", turns the process into the
// client side of the idle-streams measurement (runStreamsChild).
const streamsChildEnv = "SIMPLERPC_BENCH_STREAMS_CHILD"

// streamSystem is a system that also serves the stream shapes. Its
// streams server is its own: the unary methods and the stream methods
// are served together, so that the unary Add runs beside the streams.
type streamSystem interface {
	system
	// streams reports whether this variant of the system takes part.
	streams() bool
	serveStreams(ln net.Listener) (stop func() error, err error)
	dialStreams(ctx context.Context, addr string) (streamClient, error)
}

// streamClient is the stream surface of one connection. The timed
// methods run their shape for d and check what arrives cheaply (counts,
// sums, lengths).
type streamClient interface {
	// count receives the server's stream of consecutive int64s for d and
	// returns how many arrived.
	count(ctx context.Context, d time.Duration) (int64, error)
	// download receives the server's stream of 64 KiB chunks for d and
	// returns the payload bytes that arrived.
	download(ctx context.Context, d time.Duration) (int64, error)
	// upload sends 64 KiB chunks for d, ends the stream, and returns the
	// payload bytes the server counted and the time until it answered.
	upload(ctx context.Context, d time.Duration) (int64, time.Duration, error)
	// pingPong sends one int64 and receives it back, again and again for
	// d, on one bidi stream, and returns every round trip's duration.
	pingPong(ctx context.Context, d time.Duration) ([]time.Duration, error)
	close() error
}

// ownedUploader is a streamClient whose upload sends into a method that
// borrows its items (simplerpc.BorrowedBytes), and which can also send
// into one that receives each item in a slice of its own.
type ownedUploader interface {
	// uploadOwned is upload into the method whose items are its own.
	uploadOwned(ctx context.Context, d time.Duration) (int64, time.Duration, error)
}

// streamHolder is a streamClient that can open idle streams.
type streamHolder interface {
	// hold opens a stream that the server keeps open and idle, and
	// returns once its first item shows the method is running; release
	// ends it.
	hold(ctx context.Context) (release func(), err error)
}

// unaryAdder is a streamClient that can also make a unary Add call on its
// connection.
type unaryAdder interface {
	add(ctx context.Context, a, b int64) (int64, error)
}

// chunk is the payload of the chunk streams.
var chunk = bytesIn

// holdStreams is the number of idle streams opened on one connection.
func holdStreams(cfg config) int {
	if cfg.smoke {
		return 100
	}
	return 1000
}

func streamsScenario() scenario {
	return scenario{name: streamsWorkload, perSystem: streamsOnce, report: reportStreams}
}

// streamSystemOf returns s as a streamSystem if it takes part.
func streamSystemOf(s system) (streamSystem, bool) {
	ss, ok := s.(streamSystem)
	return ss, ok && ss.streams()
}

// streamsOnce measures every stream shape of s once, then the idle
// streams with a child process as the client. With -cpuprofile it writes
// a CPU profile of each shape's measured run, client and server together
// (they share this process), to streams-SYSTEM-SHAPE.pprof.
func streamsOnce(cfg config, s system, res *results) (err error) {
	ss, ok := streamSystemOf(s)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+6*(cfg.d+cfg.warm))
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	stop, err := ss.serveStreams(ln)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	c, err := ss.dialStreams(ctx, ln.Addr().String())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.close()) }()
	name := s.name()
	m := func(kind string) metric { return metric{streamsWorkload, kind, 0} }
	shape := ""
	timed := func(run func(d time.Duration) error) (err error) {
		if cfg.warm > 0 {
			if err := run(cfg.warm); err != nil {
				return err
			}
		}
		if cfg.profile != "" {
			stop, err := startCPUProfile(filepath.Join(cfg.profile, fmt.Sprintf("streams-%s-%s.pprof", name, shape)))
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, stop()) }()
		}
		return run(cfg.d)
	}
	if cfg.profile != "" {
		if err := os.MkdirAll(cfg.profile, 0o755); err != nil {
			return fmt.Errorf("profile dir: %w", err)
		}
	}
	var n int64
	shape = "items"
	if err := timed(func(d time.Duration) (err error) { n, err = c.count(ctx, d); return err }); err != nil {
		return fmt.Errorf("server stream of int64: %w", err)
	}
	res.add(name, m(kindItems), float64(n)/cfg.d.Seconds())
	shape = "down"
	if err := timed(func(d time.Duration) (err error) { n, err = c.download(ctx, d); return err }); err != nil {
		return fmt.Errorf("server stream of chunks: %w", err)
	}
	res.add(name, m(kindDownMBps), float64(n)/cfg.d.Seconds()/1e6)
	var took time.Duration
	shape = "up"
	if err := timed(func(d time.Duration) (err error) { n, took, err = c.upload(ctx, d); return err }); err != nil {
		return fmt.Errorf("client stream of chunks: %w", err)
	}
	res.add(name, m(kindUpMBps), float64(n)/took.Seconds()/1e6)
	if o, ok := c.(ownedUploader); ok {
		shape = "upowned"
		if err := timed(func(d time.Duration) (err error) { n, took, err = o.uploadOwned(ctx, d); return err }); err != nil {
			return fmt.Errorf("client stream of owned chunks: %w", err)
		}
		res.add(name, m(kindUpOwned), float64(n)/took.Seconds()/1e6)
	}
	var samples []time.Duration
	shape = "pingpong"
	if err := timed(func(d time.Duration) (err error) { samples, err = c.pingPong(ctx, d); return err }); err != nil {
		return fmt.Errorf("bidi ping-pong: %w", err)
	}
	res.add(name, m(kindPingP50), p50(samples).Seconds())
	if u, ok := c.(unaryAdder); ok {
		shape = "unary"
		if err := timed(func(d time.Duration) (err error) { samples, err = unaryAdds(ctx, u, d); return err }); err != nil {
			return fmt.Errorf("unary add: %w", err)
		}
		res.add(name, m(kindUnaryP50), p50(samples).Seconds())
	}
	if _, ok := c.(streamHolder); !ok {
		return nil
	}
	return idleStreamsOnce(ctx, ln.Addr().String(), s.name(), holdStreams(cfg), res)
}

// startCPUProfile starts a CPU profile written to path and returns the
// function that stops it.
func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}

// unaryAdds calls Add back to back for d and returns every call's
// duration.
func unaryAdds(ctx context.Context, u unaryAdder, d time.Duration) ([]time.Duration, error) {
	var samples []time.Duration
	for deadline := time.Now().Add(d); ; {
		t0 := time.Now()
		if t0.After(deadline) {
			return samples, nil
		}
		sum, err := u.add(ctx, 40, 2)
		if err != nil {
			return nil, err
		}
		if sum != 42 {
			return nil, fmt.Errorf("add(40, 2) = %d", sum)
		}
		samples = append(samples, time.Since(t0))
	}
}

// p50 returns the median of samples, 0 for none.
func p50(samples []time.Duration) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	samples = slices.Clone(samples)
	slices.Sort(samples)
	return samples[len(samples)/2]
}

// idleStreamsOnce has a child process connect to addr, then open n idle
// streams on that one connection, and records the server's growth in
// HeapInuse + StackInuse per stream between the two steps.
func idleStreamsOnce(ctx context.Context, addr, system string, n int, res *results) (err error) {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find executable: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d", streamsChildEnv, system, addr, n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("child stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("child stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start child: %w", err)
	}
	defer func() {
		stdin.Close()
		if werr := cmd.Wait(); werr != nil {
			err = errors.Join(err, fmt.Errorf("child: %w", werr))
		}
	}()
	r := bufio.NewReader(stdout)
	expect := func(want string) error {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("child: %w", err)
		}
		if line = strings.TrimSpace(line); line != want {
			return fmt.Errorf("child: %s", line)
		}
		return nil
	}
	if err := expect("connected"); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond) // let the server settle after the first stream
	before := settledMemStats()
	goroutines := runtime.NumGoroutine()
	if _, err := io.WriteString(stdin, "open\n"); err != nil {
		return fmt.Errorf("child stdin: %w", err)
	}
	if err := expect("ready"); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond) // let the server finish opening
	after := settledMemStats()
	per := func(b, a uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	res.add(system, metric{streamsWorkload, kindMem, n}, per(before.HeapInuse+before.StackInuse, after.HeapInuse+after.StackInuse))
	res.add(system, metric{streamsWorkload, kindHeap, n}, per(before.HeapInuse, after.HeapInuse))
	res.add(system, metric{streamsWorkload, kindStack, n}, per(before.StackInuse, after.StackInuse))
	res.add(system, metric{streamsWorkload, kindGoroutines, n}, float64(runtime.NumGoroutine()-goroutines)/float64(n))
	return nil
}

// runStreamsChild is the child side of idleStreamsOnce; spec is
// streamsChildEnv's value. It dials one connection and opens and releases
// one stream, prints "connected", waits for a line on its standard input,
// opens the n streams, prints "ready", and holds them until its standard
// input closes.
func runStreamsChild(spec string) error {
	var name, addr string
	var n int
	if _, err := fmt.Sscanf(spec, "%s %s %d", &name, &addr, &n); err != nil {
		return fmt.Errorf("bad %s %q: %w", streamsChildEnv, spec, err)
	}
	systems, err := selectSystems(name)
	if err != nil {
		return err
	}
	ss, ok := streamSystemOf(systems[0])
	if !ok {
		return fmt.Errorf("%s serves no streams", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := ss.dialStreams(ctx, addr)
	if err != nil {
		return err
	}
	defer c.close()
	h, ok := c.(streamHolder)
	if !ok {
		return fmt.Errorf("%s opens no idle streams", name)
	}
	release, err := h.hold(ctx)
	if err != nil {
		return err
	}
	release()
	fmt.Println("connected")
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return fmt.Errorf("wait for parent: %w", err)
	}
	releases := make([]func(), 0, n)
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	for range n {
		r, err := h.hold(ctx)
		if err != nil {
			return fmt.Errorf("open stream %d of %d: %w", len(releases)+1, n, err)
		}
		releases = append(releases, r)
	}
	fmt.Println("ready")
	if _, err := io.Copy(io.Discard, in); err != nil {
		return fmt.Errorf("wait for parent: %w", err)
	}
	return nil
}

// reportStreams writes the streams section.
func reportStreams(b *strings.Builder, cfg config, res *results) {
	var rows []string
	for _, s := range allSystems() {
		if _, ok := streamSystemOf(s); ok && slices.Contains(res.systems, s.name()) {
			rows = append(rows, s.name())
		}
	}
	n := holdStreams(cfg)
	m := func(kind string, n int) metric { return metric{streamsWorkload, kind, n} }
	fmt.Fprintf(b, "\n## Streams\n\n")
	fmt.Fprintf(b, "Each shape runs on one stream of one connection per system: the same connection throughout for simplerpc and gRPC, "+
		"a connection per shape for the floor and drpc (a drpc connection carries one stream at a time, so drpc has no idle-streams figure; "+
		"rpcx v1.9.1 streams only by handing over a raw connection, with no messages, so it takes no part). *items/s*: a server stream of int64 items, received for the measured time. "+
		"*down* / *up MB/s*: a server stream, and a client stream, of 64 KiB []byte chunks (payload bytes; the client stream's time runs until the server's answer); "+
		"simplerpc's *up* method borrows its chunks (simplerpc.BorrowedBytes, each valid until the next, as the floor's server reads every frame into one buffer), "+
		"and *up owned MB/s* is the same stream into a method that receives each chunk in a []byte of its own, in the same run. "+
		"*ping-pong p50*: one bidi stream, send one int64 and receive it back, repeated; *unary Add p50*: Add calls on the same connection, in the same run "+
		"(the floor's ping-pong is a request/response frame pair, and it has no separate unary call). "+
		"*KiB/stream*: the server's growth in HeapInuse + StackInuse (after two GCs) per stream when a child process opens N=%d streams on one connection "+
		"that the server keeps open and idle, split into heap and stack, and its goroutines per stream.\n\n", n)
	cols := []column{
		medianCol(res, "items/s", 0, m(kindItems, 0), 1),
		medianCol(res, "down MB/s", 0, m(kindDownMBps, 0), 1),
		medianCol(res, "up MB/s", 0, m(kindUpMBps, 0), 1),
		medianCol(res, "up owned MB/s", 0, m(kindUpOwned, 0), 1),
		medianCol(res, "ping-pong p50 µs", 1, m(kindPingP50, 0), 1e6),
		medianCol(res, "unary Add p50 µs", 1, m(kindUnaryP50, 0), 1e6),
		{head: "ping-pong ÷ unary", prec: 2, value: func(s string) (float64, bool) {
			p, ok := res.median(s, m(kindPingP50, 0))
			u, uok := res.median(s, m(kindUnaryP50, 0))
			return p / u, ok && uok && u > 0
		}},
		medianCol(res, fmt.Sprintf("KiB/stream N=%d", n), 2, m(kindMem, n), 1.0/1024),
		medianCol(res, "heap KiB", 2, m(kindHeap, n), 1.0/1024),
		medianCol(res, "stack KiB", 2, m(kindStack, n), 1.0/1024),
		medianCol(res, "goroutines", 1, m(kindGoroutines, n), 1),
	}
	writeRowTable(b, rows, cols)
	fmt.Fprintf(b, "\nRatios (*value ÷ %s* / *value ÷ %s* / *value ÷ grpc*):\n\n", refFloor, refSimpleRPC)
	writeRowRatios(b, rows, cols, refFloor, refSimpleRPC, "grpc")
}
