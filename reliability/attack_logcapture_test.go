package reliability_test

import (
	"log/slog"
	"regexp"
	"strings"
	"sync"
)

// logCapture counts the lines a server logs, at the info level and above,
// and keeps the first maxKept of them.
type logCapture struct {
	mu    sync.Mutex
	n     int
	lines []string
}

const maxKept = 20000

func newLogCapture() *logCapture { return &logCapture{} }

func (lc *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(lc, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Write takes one record: the text handler writes each with one call.
func (lc *logCapture) Write(p []byte) (int, error) {
	lc.mu.Lock()
	lc.n++
	if len(lc.lines) < maxKept {
		lc.lines = append(lc.lines, strings.TrimRight(string(p[:min(len(p), 400)]), "\n"))
	}
	lc.mu.Unlock()
	return len(p), nil
}

// count returns how many lines were logged so far.
func (lc *logCapture) count() int {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.n
}

// since returns the kept lines from the mark'th on.
func (lc *logCapture) since(mark int) []string {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if mark >= len(lc.lines) {
		return nil
	}
	return append([]string(nil), lc.lines[mark:]...)
}

// head returns the first n kept lines.
func (lc *logCapture) head(n int) string {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return strings.Join(lc.lines[:min(n, len(lc.lines))], "\n")
}

// matching counts the kept lines from mark on that match re.
func (lc *logCapture) matching(mark int, re *regexp.Regexp) int {
	n := 0
	for _, l := range lc.since(mark) {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}
