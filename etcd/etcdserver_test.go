package etcd_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdBinaryEnv names the etcd binary when it is not "etcd" on PATH.
const etcdBinaryEnv = "SIMPLERPC_ETCD"

// etcdServer is a real etcd process serving on 127.0.0.1, with its data
// in a test's temporary directory.
type etcdServer struct {
	endpoint string
	cmd      *exec.Cmd
	out      *lockedBuffer
	exited   chan struct{}
}

// startEtcd starts a single-member etcd on free loopback ports and stops
// it when the test ends. A missing binary fails the test: the tests need
// a real etcd (apt-get install -y etcd-server).
func startEtcd(t testing.TB) *etcdServer {
	t.Helper()
	bin := os.Getenv(etcdBinaryEnv)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("etcd"); err != nil {
			t.Fatalf("these tests need a real etcd binary and none was found on PATH: "+
				"install it (Debian/Ubuntu: apt-get install -y etcd-server) or set %s=/path/to/etcd", etcdBinaryEnv)
		}
	}
	var last error
	for range 3 { // a free port can be taken between choosing and binding it
		e, err := tryEtcd(t, bin)
		if err == nil {
			return e
		}
		last = err
	}
	t.Fatal(last)
	return nil
}

func tryEtcd(t testing.TB, bin string) (*etcdServer, error) {
	ports := freePorts(t, 2)
	client, peer := ports[0], ports[1]
	clientURL, peerURL := "http://"+client, "http://"+peer
	dir := t.TempDir()
	e := &etcdServer{endpoint: client, out: new(lockedBuffer), exited: make(chan struct{})}
	e.cmd = exec.Command(bin,
		"--name", "test",
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "test="+peerURL,
		"--logger", "zap", "--log-level", "warn")
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = e.cmd.Wait(); close(e.exited) }()
	if err := e.waitReady(); err != nil {
		e.stop()
		return nil, fmt.Errorf("etcd did not become ready: %w\n%s", err, e.out.String())
	}
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("etcd output:\n%s", e.out.String())
		}
	})
	return e, nil
}

// waitReady waits until etcd answers a read, or exits, or 20s pass.
func (e *etcdServer) waitReady() error {
	cli := e.newClient()
	defer cli.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Get(ctx, "/ready")
		cancel()
		switch {
		case err == nil:
			return nil
		case time.Now().After(deadline):
			return err
		}
		select {
		case <-e.exited:
			return fmt.Errorf("etcd exited: %v", e.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// newClient returns a client of e that must be closed.
func (e *etcdServer) newClient() *clientv3.Client {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{e.endpoint},
		DialTimeout: 5 * time.Second,
		Logger:      quietZap(),
	})
	if err != nil {
		panic(err) // New only fails for a malformed configuration
	}
	return cli
}

// client returns a client of e closed when the test ends.
func (e *etcdServer) client(t testing.TB) *clientv3.Client {
	cli := e.newClient()
	t.Cleanup(func() { cli.Close() })
	return cli
}

// stop ends the process: SIGTERM, then SIGKILL after 10s.
func (e *etcdServer) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
}

// freePorts returns n distinct loopback "host:port" addresses that were
// free a moment ago. Each is held until all are chosen: one closed at once
// could be handed out again by the next pick.
func freePorts(t testing.TB, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.b.String())
}
