package simplerpc

import (
	"context"
	"reflect"
	"time"
)

// workerIdle is how long a call goroutine waits for the next call before
// it exits.
const workerIdle = 5 * time.Second

// task is one accepted call, ready to run.
type task struct {
	sc     *serverConn
	id     uint64
	m      *method
	ctx    context.Context
	cancel context.CancelFunc
	args   []reflect.Value
}

// start runs t in a goroutine of its own: an idle one left by an earlier
// call if there is one, a new one otherwise. Reusing goroutines spares
// creating one per call and growing its stack again for the reflective
// call; still, no two calls ever share a goroutine at the same time.
func (s *Server) start(t task) {
	select {
	case s.work <- t:
	default:
		s.workers.Add(1)
		go s.worker(t)
	}
}

// worker runs calls until it has been idle for workerIdle or the server
// closes.
func (s *Server) worker(t task) {
	defer s.workers.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		t.sc.run(t.id, t.m, t.ctx, t.cancel, t.args)
		t = task{}
		idle.Reset(workerIdle)
		select {
		case t = <-s.work:
		case <-idle.C:
			return
		case <-s.quit:
			return
		}
	}
}
