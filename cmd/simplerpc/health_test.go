package main

import (
	"strings"
	"sync"
	"testing"
)

func TestHealth(t *testing.T) {
	ds, err := startDemoServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := sync.OnceFunc(ds.stop)
	t.Cleanup(stop)
	check := func(wantCode int, wantOut string, args ...string) {
		t.Helper()
		r := cli(t, append([]string{"health"}, args...)...)
		if r.code != wantCode || strings.TrimSpace(r.stdout) != wantOut {
			t.Errorf("health %v: exit %d, stdout %q, stderr %q; want %d %q", args, r.code, r.stdout, r.stderr, wantCode, wantOut)
		}
	}
	check(0, "SERVING", ds.addr)
	check(0, "SERVING", ds.addr, "Calc")
	check(1, "SERVICE_UNKNOWN", ds.addr, "Nope")
	check(0, `{"service":"Calc","status":"SERVING"}`, "-json", ds.addr, "Calc")
	ds.srv.SetServing("Calc", false)
	check(1, "NOT_SERVING", ds.addr, "Calc")
	check(0, "SERVING", ds.addr)
	ds.srv.SetServing("", false)
	check(1, "NOT_SERVING", ds.addr)

	// Nothing listening: exit 1 with the reason.
	l := ds.addr
	stop()
	r := cli(t, "health", "-timeout", "2s", l)
	if r.code != 1 || r.stderr == "" {
		t.Errorf("health of a stopped server: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := cli(t, "health"); r.code != 2 {
		t.Errorf("health without ADDR: exit %d", r.code)
	}
	if r := cli(t, "health", "-cert", "x.pem", l); r.code != 2 || !strings.Contains(r.stderr, "-cert and -key go together") {
		t.Errorf("health -cert without -key: exit %d, stderr %q", r.code, r.stderr)
	}
}
