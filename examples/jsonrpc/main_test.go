package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShutdownFinishesCallsInFlight: when the program is told to stop
// (ctx ends) during a call, run returns only once that call has been
// answered.
func TestShutdownFinishesCallsInFlight(t *testing.T) {
	srv, err := newServer()
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	if err := srv.RegisterFunc("slow", func() string { close(started); <-release; return "done" }); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, srv, "127.0.0.1:0", func(a string) { addrs <- a }) }()
	addr := <-addrs

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	answer := make(chan string, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Post("http://"+addr, "application/json",
			strings.NewReader(`{"jsonrpc":"2.0","method":"slow","id":1}`))
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- string(b)
	}()
	<-started
	stop() // as on SIGTERM
	select {
	case err := <-ran:
		t.Fatalf("run returned (%v) while a call was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if got, want := <-answer, `{"jsonrpc":"2.0","result":"done","id":1}`; got != want {
		t.Errorf("the call in flight got %s, want %s", got, want)
	}
	if err := <-ran; err != nil {
		t.Errorf("run: %v", err)
	}
}
