package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
)

type dispatchCalc struct{}

func (dispatchCalc) Add(a, b int) int { return a + b }
func (dispatchCalc) Neg(a int) int    { return -a }

func newTestDispatcher(cfg dispatchConfig) *dispatcher {
	cfg.logger = slog.New(slog.DiscardHandler)
	if cfg.maxReply == 0 {
		cfg.maxReply = DefaultMaxMessageSize
	}
	return newDispatcher(cfg)
}

// The table answers lookups by wire bytes and by name, says what a
// service has when a method is not found, and hands out a copy of the
// services that its holder cannot change.
func TestDispatcherTable(t *testing.T) {
	d := newTestDispatcher(dispatchConfig{listMethods: true})
	if err := d.register("Calc", dispatchCalc{}); err != nil {
		t.Fatal(err)
	}
	if err := d.registerFunc("double", func(x int) int { return 2 * x }); err != nil {
		t.Fatal(err)
	}
	if err := d.register("Calc", dispatchCalc{}); err == nil {
		t.Error("a second Calc was registered")
	}
	if m := d.lookup([]byte("Calc.Add")); m == nil || m.name != "Calc.Add" {
		t.Errorf("lookup(Calc.Add) = %v", m)
	}
	if m := d.lookupName("double"); m == nil || m.name != "double" {
		t.Errorf("lookupName(double) = %v", m)
	}
	if m := d.lookupName("Calc.Sub"); m != nil {
		t.Errorf("lookupName(Calc.Sub) = %v, want nil", m)
	}
	if e := d.notFound("Calc.Sub"); e.Code != CodeNotFound || !strings.Contains(e.Message, "it has: Add, Neg") {
		t.Errorf("notFound(Calc.Sub) = %v", e)
	}
	quiet := newTestDispatcher(dispatchConfig{})
	if err := quiet.register("Calc", dispatchCalc{}); err != nil {
		t.Fatal(err)
	}
	if e := quiet.notFound("Calc.Sub"); strings.Contains(e.Message, "Add") {
		t.Errorf("notFound without listMethods names the methods: %v", e)
	}
	methods, services := d.table()
	if len(methods) != 3 || len(services) != 1 || len(services["Calc"]) != 2 {
		t.Fatalf("table() = %v, %v", methods, services)
	}
	delete(services, "Calc")
	if _, again := d.table(); len(again) != 1 {
		t.Error("deleting from the services table() returned changed the dispatcher's")
	}
}

// Admission counts the calls it lets in, refuses calls told to go away
// without evicting anything, and at the limit evicts a session and takes
// the call once that has freed a slot.
func TestDispatcherAdmit(t *testing.T) {
	var evicted []string
	var d *dispatcher
	d = newTestDispatcher(dispatchConfig{maxConcurrent: 1, evict: func(why string) bool {
		evicted = append(evicted, why)
		if len(evicted) == 1 {
			d.release() // the evicted session's call ends
			return true
		}
		return false
	}})
	if err := d.register("Calc", dispatchCalc{}); err != nil {
		t.Fatal(err)
	}
	m := d.lookupName("Calc.Add")
	var away atomic.Bool
	if e := d.admit(m, &away, nil); e != nil {
		t.Fatal(e)
	}
	if e := d.admit(m, &away, nil); e != nil {
		t.Fatalf("admit after an eviction freed a slot: %v", e)
	}
	if len(evicted) != 1 || d.running() != 1 {
		t.Fatalf("evicted %q, running %d; want one eviction and one call", evicted, d.running())
	}
	if e := d.admit(m, &away, nil); e == nil || e.Code != CodeUnavailable {
		t.Fatalf("admit at the limit with nothing to evict = %v, want unavailable", e)
	}
	// Waiting for a slot, the call looked again and again for a session
	// to evict.
	n := len(evicted)
	if n < 3 {
		t.Fatalf("evicted %q waiting for a slot; want an eviction now and then", evicted)
	}
	d.release()
	away.Store(true)
	if e := d.admit(m, &away, nil); e == nil || e.Code != CodeUnavailable || !strings.Contains(e.Message, "shutting down") {
		t.Fatalf("admit after go-away = %v", e)
	}
	if len(evicted) != n || d.running() != 0 {
		t.Fatalf("evicted %d times, running %d; want no eviction for a go-away and no call", len(evicted)-n, d.running())
	}
}

// execute runs a call through the interceptors, in order, and an
// interceptor's error is the call's.
func TestDispatcherExecute(t *testing.T) {
	var order []string
	trace := func(name string, fail bool) Interceptor {
		return func(next Invoker) Invoker {
			return func(ctx context.Context, info *CallInfo) error {
				order = append(order, name+":"+info.Method)
				if fail {
					return newError(CodeUnauthenticated, info.Method, errors.New("no"))
				}
				return next(ctx, info)
			}
		}
	}
	d := newTestDispatcher(dispatchConfig{interceptors: []Interceptor{trace("a", false), trace("b", false)}})
	if err := d.register("Calc", dispatchCalc{}); err != nil {
		t.Fatal(err)
	}
	m := d.lookupName("Calc.Add")
	args, e := m.decodeArgs(codec.JSON, []byte("[2,3]"))
	if e != nil {
		t.Fatal(e)
	}
	var buf bytes.Buffer
	if e, _ := d.execute(context.Background(), m, args, codec.JSON, &buf, "peer"); e != nil {
		t.Fatal(e)
	}
	if got := strings.TrimSpace(buf.String()); got != "[5]" {
		t.Errorf("result %s, want [5]", got)
	}
	if strings.Join(order, " ") != "a:Calc.Add b:Calc.Add" || !d.intercepted() {
		t.Errorf("interceptors ran %q", order)
	}
	deny := newTestDispatcher(dispatchConfig{interceptors: []Interceptor{trace("deny", true)}})
	if err := deny.register("Calc", dispatchCalc{}); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if e, _ := deny.execute(context.Background(), deny.lookupName("Calc.Add"), args, codec.JSON, &buf, "peer"); e == nil || e.Code != CodeUnauthenticated || buf.Len() != 0 {
		t.Errorf("denied call: %v, %q", e, buf.String())
	}
}

// TestDispatcherCountNeverPassesTheLimit has callers try for a slot, all
// at once, at a full server, while another goroutine reads the count of
// calls running: it never reads more than the limit (Stats' CallsRunning
// is that count).
func TestDispatcherCountNeverPassesTheLimit(t *testing.T) {
	const limit = 4
	d := newTestDispatcher(dispatchConfig{maxConcurrent: limit})
	var away atomic.Bool
	for range limit {
		if d.take(&away) != admitted {
			t.Fatal("a slot below the limit refused")
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if d.take(&away) == admitted {
					d.release()
				}
			}
		})
	}
	var peak int64
	for range 200_000 {
		peak = max(peak, d.running())
	}
	close(stop)
	wg.Wait()
	if peak > limit {
		t.Fatalf("the count of calls running read %d, over the limit of %d", peak, limit)
	}
	away.Store(true)
	d.release()
	if got := d.take(&away); got != shuttingDown {
		t.Fatalf("take with a free slot, told to go away = %v, want shuttingDown", got)
	}
	d.take(&atomic.Bool{})
	if got := d.take(&away); got != shuttingDown {
		t.Fatalf("take at the limit, told to go away = %v, want shuttingDown", got)
	}
}

// At the limit, while a caller waits for a slot, a connection running
// waitShare calls or more — which fairSlot would refuse any slot it got —
// is refused at once instead of waiting; and the calls of one JSON-RPC
// request (a batch) share one wait, so that a batch of calls to a full
// server is answered after about admitWait, not admitWait a call.
func TestDispatcherAdmitAtTheLimit(t *testing.T) {
	const limit = 640 // reserve 80, waitShare 10
	d := newTestDispatcher(dispatchConfig{maxConcurrent: limit})
	if err := d.register("Calc", dispatchCalc{}); err != nil {
		t.Fatal(err)
	}
	m := d.lookupName("Calc.Add")
	var away atomic.Bool
	d.active.Store(limit)
	d.waiting.Store(1) // another caller under its share waits
	var held atomic.Int32
	held.Store(40)
	start := time.Now()
	if e := d.admit(m, &away, &held); e == nil || e.Code != CodeUnavailable {
		t.Fatalf("a connection running 40 while another waits: %v, want refused", e)
	}
	if took := time.Since(start); took > admitWait/2 {
		t.Errorf("refused after %v, not at once", took)
	}
	d.waiting.Store(0)

	var by atomic.Int64
	start = time.Now()
	for i := range 3 {
		if e := d.admitRequest(m, &away, &by); e == nil || e.Code != CodeUnavailable {
			t.Fatalf("call %d of a request to a full server: %v, want refused", i, e)
		}
	}
	if took := time.Since(start); took < admitWait || took > 2*admitWait {
		t.Errorf("three calls of one request refused after %v, want one wait of %v", took, admitWait)
	}
	if n := d.waiting.Load(); n != 0 {
		t.Errorf("%d callers still counted as waiting", n)
	}
}
