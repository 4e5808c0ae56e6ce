package simplerpc

import "sync/atomic"

// ServerStats is a snapshot of a Server's state, for metrics: what is
// worth watching in a server under load. Counters (the Refused fields)
// only grow over the server's life; the others are current values.
type ServerStats struct {
	// Connections is the number of native connections open now.
	// JSON-RPC over HTTP is not counted.
	Connections int
	// Sessions is the number of sessions the server keeps, attached to a
	// connection or detached and waiting for their client to resume them.
	Sessions int
	// DetachedSessions is, of Sessions, those without a connection.
	DetachedSessions int
	// CallsRunning is the number of calls admitted and not yet ended,
	// native and JSON-RPC.
	CallsRunning int64
	// MemoryInUse is the part of the memory budget held now, in bytes:
	// by calls running and replies not yet sent (WithMemoryBudget).
	MemoryInUse int64
	// MemoryBudget is the memory budget, in bytes.
	MemoryBudget int64
	// RefusedBusy counts calls refused, not run, because the server ran
	// as many calls as WithMaxConcurrentCalls allows.
	RefusedBusy int64
	// RefusedMemory counts calls and JSON-RPC requests refused, not run,
	// because the memory budget was spent.
	RefusedMemory int64
	// RefusedShutdown counts calls refused, not run, because the server
	// was shutting down.
	RefusedShutdown int64
}

// Stats returns a snapshot of the server's state. It is cheap enough to
// call on every metrics scrape: it takes the server's lock briefly to
// count connections and sessions; everything else is an atomic load.
func (s *Server) Stats() ServerStats {
	st := ServerStats{
		CallsRunning:    s.dispatch.running(),
		MemoryInUse:     s.budget.inUse(),
		MemoryBudget:    s.budget.limit,
		RefusedBusy:     s.refused.busy.Load(),
		RefusedMemory:   s.refused.memory.Load(),
		RefusedShutdown: s.refused.shutdown.Load(),
	}
	s.mu.Lock()
	st.Connections = len(s.conns)
	st.Sessions = len(s.sessions)
	st.DetachedSessions = s.detached.n
	s.mu.Unlock()
	return st
}

// refusals counts the calls a server refused under its limits, by
// reason (ServerStats). Each field is incremented where the refusal is
// made.
type refusals struct {
	busy     atomic.Int64 // at the limit of concurrent calls (dispatch_admit.go)
	memory   atomic.Int64 // memory budget spent (budget.go, internal/jsonrpchttp)
	shutdown atomic.Int64 // shutting down (dispatch_admit.go)
}
