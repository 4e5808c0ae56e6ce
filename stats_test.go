package simplerpc_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Stats counts what the server holds: connections, sessions, calls
// running, and the calls it refused at its limits, by reason.
func TestServerStats(t *testing.T) {
	const budget = 16 << 20 // the least there is
	ts := startServer(t, simplerpc.WithMaxConcurrentCalls(1), simplerpc.WithMemoryBudget(budget), simplerpc.WithMaxMessageSize(2*budget))
	ts.calc.started = make(chan struct{}, 1)
	if st := ts.srv.Stats(); st.Connections != 0 || st.Sessions != 0 || st.CallsRunning != 0 || st.MemoryBudget != budget ||
		st.RefusedBusy != 0 || st.RefusedMemory != 0 || st.RefusedShutdown != 0 {
		t.Fatalf("a new server: %+v", st)
	}

	c := dial(t, ts.addr, simplerpc.WithResumableSessions(true), simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 1}))
	if err := c.Call(context.Background(), "Calc.Add", []any{1, 2}); err != nil {
		t.Fatal(err)
	}
	// A call is released just after its reply is written: the client may
	// have the reply first.
	waitStats(t, ts.srv, "one client with a session, idle", func(st simplerpc.ServerStats) bool {
		return st.Connections == 1 && st.Sessions == 1 && st.DetachedSessions == 0 && st.CallsRunning == 0
	})

	// One call running, at the limit: the next is refused, counted busy.
	blocked := make(chan error, 1)
	go func() { blocked <- c.Call(context.Background(), "Calc.Block", nil) }()
	<-ts.calc.started
	if st := ts.srv.Stats(); st.CallsRunning != 1 || st.MemoryInUse <= 0 {
		t.Errorf("a call running: %+v", st)
	}
	err := c.Call(context.Background(), "Calc.Add", []any{1, 2})
	if codeOf(t, err) != simplerpc.CodeUnavailable {
		t.Fatalf("a call over the limit: %v", err)
	}
	if st := ts.srv.Stats(); st.RefusedBusy != 1 || st.RefusedMemory != 0 || st.RefusedShutdown != 0 {
		t.Errorf("after one call refused at the limit: %+v", st)
	}
	close(ts.calc.release)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}

	// A JSON-RPC body the budget cannot hold is refused, counted memory.
	body := append([]byte(`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1}`), bytes.Repeat([]byte{' '}, budget+budget/8)...)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("http://"+ts.addr+"/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("a body over the budget was taken: status %d", resp.StatusCode)
	}
	if st := ts.srv.Stats(); st.RefusedMemory != 1 || st.RefusedBusy != 1 {
		t.Errorf("after one body refused for memory: %+v", st)
	}

	// The client gone, its session waits detached for it.
	c.Close()
	waitStats(t, ts.srv, "after the client closed", func(st simplerpc.ServerStats) bool {
		return st.Connections == 0 && st.Sessions == 1 && st.DetachedSessions == 1 && st.CallsRunning == 0
	})
}

// waitStats waits up to 5 seconds for srv's Stats to satisfy ok.
func waitStats(t *testing.T, srv *simplerpc.Server, what string, ok func(simplerpc.ServerStats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for st := srv.Stats(); !ok(st); st = srv.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %+v", what, st)
		}
		time.Sleep(time.Millisecond)
	}
}
