package simplerpc

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogLimiterBoundsWhatPeersCanLog checks that a flood of records of
// one kind yields a few lines a period, that the next line let through
// says how many were suppressed, and that other kinds are not held back.
func TestLogLimiterBoundsWhatPeersCanLog(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	var ll logLimiter
	for range 1000 {
		ll.log(l, slog.LevelWarn, "simplerpc: flood")
	}
	ll.log(l, slog.LevelWarn, "simplerpc: other")
	lines := strings.Count(buf.String(), "\n")
	if lines != logBurst+1 {
		t.Fatalf("1000 records of one kind and one of another gave %d lines, want %d:\n%s", lines, logBurst+1, buf.String())
	}
	ll.mu.Lock()
	ll.kinds["simplerpc: flood"].start = time.Now().Add(-logEvery) // the period is over
	ll.mu.Unlock()
	buf.Reset()
	ll.log(l, slog.LevelWarn, "simplerpc: flood")
	if want := "suppressed=995"; !strings.Contains(buf.String(), want) {
		t.Fatalf("first line of the next period: %q, want it to say %s", buf.String(), want)
	}
	// A level the logger does not enable is neither written nor counted.
	buf.Reset()
	ll.log(l, slog.LevelDebug, "simplerpc: quiet")
	if buf.Len() != 0 || ll.kinds["simplerpc: quiet"] != nil {
		t.Fatalf("a disabled level was handled: %q", buf.String())
	}
}
