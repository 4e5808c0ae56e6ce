package reliability_test

import (
	"context"
	"strings"
	"sync"
	"time"
)

// ledger counts the server-side executions of each call, by the unique
// token every call carries as its first argument.
type ledger struct {
	mu    sync.Mutex
	execs map[string]int
}

func newLedger() *ledger { return &ledger{execs: make(map[string]int)} }

func (l *ledger) record(token string) {
	l.mu.Lock()
	l.execs[token]++
	l.mu.Unlock()
}

// take returns the executions of the tokens with the given prefix and
// forgets them.
func (l *ledger) take(prefix string) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int)
	for tok, n := range l.execs {
		if strings.HasPrefix(tok, prefix) {
			out[tok] = n
			delete(l.execs, tok)
		}
	}
	return out
}

// Work is the service the tests call.
type Work struct{ ledger *ledger }

// Do records one execution of the call token, holds it for holdMs
// milliseconds or until its context ends, and returns "done:"+token.
func (w *Work) Do(ctx context.Context, token string, holdMs int) (string, error) {
	w.ledger.record(token)
	if holdMs > 0 {
		t := time.NewTimer(time.Duration(holdMs) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return "done:" + token, nil
}

// Sink accepts any value: hostile input aims at its decoder.
func (w *Work) Sink(v any) int {
	if v == nil {
		return 0
	}
	return 1
}

// Blob returns n bytes: a client that never reads its replies asks for
// large ones.
func (w *Work) Blob(n int) []byte { return make([]byte, min(max(n, 0), 1<<20)) }

// wantResult is what Do returns for token.
func wantResult(token string) string { return "done:" + token }
