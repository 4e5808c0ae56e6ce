package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// etcdProc is an etcd started for the demo, on free loopback ports with
// its data in a temporary directory.
type etcdProc struct {
	endpoint string
	version  string
	dir      string
	cmd      *exec.Cmd
	out      bytes.Buffer
	exited   chan struct{}
}

func startEtcd(bin string) (*etcdProc, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("no etcd binary %q (Debian: apt-get install etcd-server; or pass -etcd PATH, or -endpoints of a running etcd): %w", bin, err)
	}
	version, _ := exec.Command(path, "--version").Output()
	dir, err := os.MkdirTemp("", "cluster-example-etcd-")
	if err != nil {
		return nil, err
	}
	ports := freePorts(2)
	client, peer := ports[0], ports[1]
	e := &etcdProc{endpoint: client, dir: dir, exited: make(chan struct{}),
		version: strings.TrimPrefix(strings.SplitN(string(version), "\n", 2)[0], "etcd Version: ")}
	e.cmd = exec.Command(path, "--name", "demo", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "demo=http://"+peer, "--logger", "zap", "--log-level", "error")
	e.cmd.Stdout, e.cmd.Stderr = &e.out, &e.out
	if err := e.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	go func() { _ = e.cmd.Wait(); close(e.exited) }()
	if err := e.waitReady(); err != nil {
		e.stop()
		return nil, fmt.Errorf("etcd not ready: %w\n%s", err, e.out.String())
	}
	return e, nil
}

func (e *etcdProc) waitReady() error {
	cli, err := newEtcdClient(e.endpoint)
	if err != nil {
		return err
	}
	defer cli.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Get(ctx, "/")
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-e.exited:
			return fmt.Errorf("etcd exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (e *etcdProc) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
	os.RemoveAll(e.dir)
}

// freePorts returns n distinct loopback "host:port" addresses that were
// free a moment ago. Each is held until all are chosen: one closed at once
// could be handed out again by the next pick.
func freePorts(n int) []string {
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs
}
