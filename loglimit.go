package simplerpc

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logEvery is the period over which a logLimiter lets logBurst records of
// one kind through.
const (
	logEvery = time.Second
	logBurst = 5
)

// logLimiter keeps what peers can make a server log bounded: per kind of
// record (a message), at most logBurst records a period; the rest are
// counted, and the next record of that kind let through says how many
// were suppressed. A peer can therefore not flood the log, and the log
// still says what happened.
//
// Locks: mu guards kinds and every logKind in it, and is a leaf: the
// record is written after it is released.
type logLimiter struct {
	mu    sync.Mutex
	kinds map[string]*logKind
}

type logKind struct {
	start      time.Time // of the current period
	n          int       // records let through in it
	suppressed int       // records dropped since the last one let through
}

// log writes the record to l unless its kind (msg) went over its share;
// args are slog attributes.
func (ll *logLimiter) log(l *slog.Logger, level slog.Level, msg string, args ...any) {
	if !l.Enabled(context.Background(), level) {
		return
	}
	now := time.Now()
	ll.mu.Lock()
	if ll.kinds == nil {
		ll.kinds = make(map[string]*logKind)
	}
	k := ll.kinds[msg]
	if k == nil {
		k = &logKind{start: now}
		ll.kinds[msg] = k
	}
	if now.Sub(k.start) >= logEvery {
		k.start, k.n = now, 0
	}
	if k.n >= logBurst {
		k.suppressed++
		ll.mu.Unlock()
		return
	}
	k.n++
	suppressed := k.suppressed
	k.suppressed = 0
	ll.mu.Unlock()
	if suppressed > 0 {
		args = append(args, slog.Int("suppressed", suppressed))
	}
	l.Log(context.Background(), level, msg, args...)
}
