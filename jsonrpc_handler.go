package simplerpc

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// rpcHandler answers JSON-RPC 2.0 calls over HTTP for a Server
// (ServeHTTP). Its calls go through the server's dispatcher, as native
// calls do. It holds no pointer to the Server: what it takes of it
// besides the dispatcher is lent here, by name, once, at NewServer —
//
//   - budget and evict: the memory budget bodies, calls and responses
//     are charged to, and the eviction of the session detached the
//     longest when it is spent (Server.evictOldest);
//   - stopping: the go-away flag of calls over HTTP, which Shutdown and
//     Close set;
//   - logs and logger: the rate limit of what peers can make the server
//     log, and the log;
//   - parsing: the gate large bodies are parsed through, a few at a time;
//
// and the limits it applies (maxMessageSize, writeTimeout). It starts no
// goroutines of its own but a batch's calls, which end before the
// request is answered (answerBatch).
type rpcHandler struct {
	dispatch *dispatcher

	budget   *memBudget
	evict    func(why string) bool
	stopping *atomic.Bool
	logs     *logLimiter
	logger   *slog.Logger
	parsing  *cpuGate

	// maxMessageSize bounds a body, decompressed, and the responses to it.
	maxMessageSize int
	// writeTimeout bounds the body's arrival and the response's
	// departure; 0 means no bound.
	writeTimeout time.Duration
}

// newRPCHandler returns the JSON-RPC handler of s, which lends it its
// dispatcher and what rpcHandler lists; NewServer calls it once they are
// set.
func (s *Server) newRPCHandler() *rpcHandler {
	return &rpcHandler{
		dispatch:       s.dispatch,
		budget:         &s.budget,
		evict:          s.evictOldest,
		stopping:       &s.stopping,
		logs:           &s.logs,
		logger:         s.cfg.logger,
		parsing:        s.parsing,
		maxMessageSize: s.cfg.maxMessageSize,
		writeTimeout:   s.cfg.writeTimeout,
	}
}
