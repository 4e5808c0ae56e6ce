package simplerpc

import (
	"reflect"
	"runtime/debug"
)

// callApart calls a method that returns a stream's iterator on a
// goroutine of its own, which ends when the method returns, and returns
// its results. The goroutine that then ranges over the iterator — parked
// in it for as long as the stream is idle — so never holds the stack that
// the reflective call grew: an idle server stream keeps a 4 KiB stack
// rather than an 8 KiB one. A panic of the method comes back as a
// *methodPanic carrying the method's own stack, for invoke to report.
func (m *method) callApart(args []reflect.Value) []reflect.Value {
	type result struct {
		out []reflect.Value
		p   *methodPanic
	}
	done := make(chan result, 1)
	go func() { // ends when the method returns
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.p = &methodPanic{value: p, stack: string(debug.Stack())}
			}
			done <- r
		}()
		if m.variadic {
			r.out = m.fn.CallSlice(args)
		} else {
			r.out = m.fn.Call(args)
		}
	}()
	r := <-done
	if r.p != nil {
		panic(r.p)
	}
	return r.out
}

// methodPanic is a panic of a method called apart (callApart): its value
// and the stack where it happened.
type methodPanic struct {
	value any
	stack string
}
