package reliability_test

import (
	"log/slog"
	"strings"
	"sync"
)

// logRing keeps the last lines a logger wrote, to show when a test fails.
type logRing struct {
	mu    sync.Mutex
	lines []string
	next  int
}

func newLogRing(n int) *logRing { return &logRing{lines: make([]string, n)} }

// logger returns a logger, at debug level, writing to the ring.
func (r *logRing) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (r *logRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.lines[r.next%len(r.lines)] = strings.TrimRight(string(p), "\n")
	r.next++
	r.mu.Unlock()
	return len(p), nil
}

// String returns the lines kept, oldest first.
func (r *logRing) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for i := max(r.next-len(r.lines), 0); i < r.next; i++ {
		b.WriteString(r.lines[i%len(r.lines)])
		b.WriteByte('\n')
	}
	return b.String()
}
