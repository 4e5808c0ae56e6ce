package simplerpc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Event is what Board reports to an Observer.
type Event struct {
	Seq  int
	Text string
}

// Observer is an interface of callbacks: the client implements it, the
// server calls it.
type Observer interface {
	OnEvent(Event) error
	OnDone(ctx context.Context, n int) string
}

// observerProxy is the server's adapter for Observer.
type observerProxy struct {
	OnEventFunc func(Event) error
	OnDoneFunc  func(ctx context.Context, n int) string
}

func (p observerProxy) OnEvent(e Event) error                    { return p.OnEventFunc(e) }
func (p observerProxy) OnDone(ctx context.Context, n int) string { return p.OnDoneFunc(ctx, n) }

func init() {
	if err := simplerpc.RegisterProxy[Observer](observerProxy{}); err != nil {
		panic(err)
	}
}

// Board is a service whose methods take an Observer.
type Board struct {
	mu      sync.Mutex
	kept    Observer
	lastErr error
}

// Watch reports each text to o as an event, stopping at the first error,
// then says it is done; it returns what OnDone returned.
func (f *Board) Watch(ctx context.Context, texts []string, o Observer) (string, error) {
	if o == nil {
		return "nil observer", nil
	}
	for i, s := range texts {
		if err := o.OnEvent(Event{Seq: i + 1, Text: s}); err != nil {
			f.mu.Lock()
			f.lastErr = err
			f.mu.Unlock()
			return "", fmt.Errorf("event %d: %w", i+1, err)
		}
	}
	return o.OnDone(ctx, len(texts)), nil
}

// Keep keeps its observer for Later, past the call.
func (f *Board) Keep(o Observer) {
	f.mu.Lock()
	f.kept = o
	f.mu.Unlock()
}

// Later calls the observer Keep kept.
func (f *Board) Later() error {
	f.mu.Lock()
	o := f.kept
	f.mu.Unlock()
	return o.OnEvent(Event{Seq: 99})
}

func (f *Board) last() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

// boardStub is the client's view of Board.
type boardStub struct {
	Watch func(ctx context.Context, texts []string, o Observer) (string, error)
	Keep  func(ctx context.Context, o Observer) error
	Later func(ctx context.Context) error
}

// recorder is the client's Observer.
type recorder struct {
	mu     sync.Mutex
	events []Event
	fail   error // OnEvent returns it for event 2
	panics bool  // OnEvent panics for event 2
}

func (r *recorder) OnEvent(e Event) error {
	if e.Seq == 2 && r.panics {
		panic("observer exploded")
	}
	if e.Seq == 2 && r.fail != nil {
		return r.fail
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	return nil
}

func (r *recorder) OnDone(ctx context.Context, n int) string {
	if _, ok := ctx.Deadline(); !ok {
		return "no deadline"
	}
	return fmt.Sprintf("done after %d", n)
}

func startBoard(t *testing.T) (*testServer, *Board) {
	t.Helper()
	ts := startServer(t)
	f := &Board{}
	if err := ts.srv.Register("Board", f); err != nil {
		t.Fatal(err)
	}
	return ts, f
}

func TestInterfaceCallbackBind(t *testing.T) {
	for _, name := range codecs {
		t.Run(name, func(t *testing.T) {
			ts, _ := startBoard(t)
			var board boardStub
			if err := dial(t, ts.addr, simplerpc.WithCodec(name)).Bind("Board", &board); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := &recorder{}
			got, err := board.Watch(ctx, []string{"a", "b", "c"}, r)
			if err != nil || got != "done after 3" {
				t.Fatalf("Watch = %q, %v; want %q", got, err, "done after 3")
			}
			want := []Event{{1, "a"}, {2, "b"}, {3, "c"}}
			if !slices.Equal(r.events, want) {
				t.Fatalf("observer saw %v, want %v", r.events, want)
			}
			if got, err := board.Watch(ctx, []string{"a"}, nil); err != nil || got != "nil observer" {
				t.Fatalf("Watch with a nil observer = %q, %v", got, err)
			}
		})
	}
}

func TestInterfaceCallbackCallByName(t *testing.T) {
	ts, _ := startBoard(t)
	c := dial(t, ts.addr)
	ctx := context.Background()
	r := &recorder{}
	var got string
	if err := c.Call(ctx, "Board.Watch", []any{[]string{"x", "y"}, simplerpc.AsInterface[Observer](r)}, &got); err != nil || got != "no deadline" {
		t.Fatalf("Watch by name = %q, %v; want %q (a call without a deadline)", got, err, "no deadline")
	}
	if len(r.events) != 2 {
		t.Fatalf("observer saw %v", r.events)
	}
	if err := c.Call(ctx, "Board.Watch", []any{[]string{"x"}, simplerpc.AsInterface[Observer](nil)}, &got); err != nil || got != "nil observer" {
		t.Fatalf("Watch by name with a nil observer = %q, %v", got, err)
	}
	// Without AsInterface the value travels as a value, which the server
	// refuses, saying what it takes.
	err := c.Call(ctx, "Board.Watch", []any{[]string{"x"}, r}, &got)
	if codeOf(t, err) != simplerpc.CodeInvalidArgument || !contains(err.Error(), "AsInterface") {
		t.Fatalf("an observer passed as a value: %v", err)
	}
	// An interface without methods is no interface of callbacks.
	err = c.Call(ctx, "Board.Watch", []any{[]string{"x"}, simplerpc.AsInterface[any](r)}, &got)
	if codeOf(t, err) != simplerpc.CodeInvalidArgument || !contains(err.Error(), "not an interface with methods") {
		t.Fatalf("AsInterface[any]: %v", err)
	}
}

// An interface method's error and panic reach the server as *Error; the
// client serves on.
func TestInterfaceCallbackErrors(t *testing.T) {
	ts, f := startBoard(t)
	var board boardStub
	if err := dial(t, ts.addr).Bind("Board", &board); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err := board.Watch(ctx, []string{"a", "b"}, &recorder{fail: ErrDivByZero})
	if !errors.Is(err, ErrDivByZero) || !errors.Is(f.last(), ErrDivByZero) {
		t.Fatalf("client got %v, server saw %v; want ErrDivByZero on both", err, f.last())
	}
	_, err = board.Watch(ctx, []string{"a", "b"}, &recorder{panics: true})
	var e *simplerpc.Error
	if !errors.As(f.last(), &e) || e.Code != simplerpc.CodeInternal || !contains(e.Message, "observer exploded") {
		t.Fatalf("server saw %v after OnEvent panicked, want CodeInternal with the panic value", f.last())
	}
	if err == nil {
		t.Fatal("Watch succeeded with a panicking observer")
	}
	if got, err := board.Watch(ctx, []string{"z"}, &recorder{}); err != nil || got != "no deadline" {
		t.Fatalf("after a panic: %q, %v", got, err)
	}
}

// An observer kept past its call fails at once, and the client runs
// nothing.
func TestInterfaceCallbackAfterReturn(t *testing.T) {
	ts, _ := startBoard(t)
	var board boardStub
	if err := dial(t, ts.addr).Bind("Board", &board); err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	if err := board.Keep(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	err := board.Later(context.Background())
	if codeOf(t, err) != simplerpc.CodeUnavailable || !errors.Is(err, simplerpc.ErrCallbackExpired) {
		t.Fatalf("kept observer: %v, want CodeUnavailable and ErrCallbackExpired", err)
	}
	if len(r.events) != 0 {
		t.Fatalf("kept observer ran: %v", r.events)
	}
}

// A client with callbacks off runs none of the interface's methods.
func TestInterfaceCallbackRefused(t *testing.T) {
	ts, f := startBoard(t)
	var board boardStub
	if err := dial(t, ts.addr, simplerpc.WithCallbacks(false)).Bind("Board", &board); err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int64
	_, err := board.Watch(context.Background(), []string{"a"}, countingObserver{&ran})
	if !errors.Is(f.last(), simplerpc.ErrNoCallbacks) || err == nil || ran.Load() != 0 {
		t.Fatalf("server saw %v, client got %v, ran %d", f.last(), err, ran.Load())
	}
}

type countingObserver struct{ n *atomic.Int64 }

func (o countingObserver) OnEvent(Event) error                { o.n.Add(1); return nil }
func (o countingObserver) OnDone(context.Context, int) string { o.n.Add(1); return "" }

// Bind checks the stub's interface against the server's, method by
// method; Describe lists the methods.
func TestInterfaceCallbackContract(t *testing.T) {
	ts, _ := startBoard(t)
	c := dial(t, ts.addr)
	var wrongMethod struct {
		Watch func(ctx context.Context, texts []string, o interface{ OnEvent(string) error }) (string, error)
	}
	if err := c.Bind("Board", &wrongMethod); err == nil || !contains(err.Error(), "has 2 methods") {
		t.Fatalf("an interface with other methods: %v", err)
	}
	var wrongShape struct {
		Watch func(ctx context.Context, texts []string, o interface {
			OnDone(ctx context.Context, n string) string
			OnEvent(Event) error
		}) (string, error)
	}
	if err := c.Bind("Board", &wrongShape); err == nil || !contains(err.Error(), "method OnDone: callback argument 1") {
		t.Fatalf("an interface method of another signature: %v", err)
	}
	var asFunc struct {
		Watch func(ctx context.Context, texts []string, o func(Event) error) (string, error)
	}
	if err := c.Bind("Board", &asFunc); err == nil || !contains(err.Error(), "interface of callbacks") {
		t.Fatalf("a func for an interface: %v", err)
	}
	d, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := d.Method("Board.Watch")
	if m == nil || len(m.Params) != 2 || m.Params[1].Interface == nil {
		t.Fatalf("Board.Watch described as %+v", m)
	}
	ms := m.Params[1].Interface.Methods
	if len(ms) != 2 || ms[0].Name != "OnDone" || !ms[0].Context || ms[0].Params[0].Go != "int" || ms[0].Results[0].Go != "string" ||
		ms[1].Name != "OnEvent" || !ms[1].Error || ms[1].Params[0].Go != "simplerpc_test.Event" {
		t.Fatalf("Observer described as %+v", ms)
	}
}

// Register refuses a method taking an interface without an adapter;
// RegisterProxy refuses adapters that do not fit.
func TestInterfaceCallbackRegistration(t *testing.T) {
	srv := simplerpc.NewServer()
	err := srv.RegisterFunc("watch", func(o Unadapted) error { return nil })
	if err == nil || !contains(err.Error(), "RegisterProxy[simplerpc_test.Unadapted]") {
		t.Fatalf("Register of a method taking an interface without adapter: %v", err)
	}
	cases := []struct {
		name    string
		adapter any
		want    string
	}{
		{"missing field", struct{ OnEventFunc func(Event) error }{}, "no field OnDoneFunc"},
		{"wrong field", badFieldProxy{}, "field OnEventFunc of simplerpc_test.badFieldProxy is a func(simplerpc_test.Event)"},
		{"not implementing", fieldsOnlyProxy{}, "does not implement"},
		{"not a struct", 3, "not a struct"},
		{"nil", nil, "nil"},
	}
	for _, tc := range cases {
		err := simplerpc.RegisterProxy[Unadapted](tc.adapter)
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("%s: RegisterProxy = %v; want an error with %q", tc.name, err, tc.want)
		}
	}
	if err := simplerpc.RegisterProxy[interface{ Send(chan int) }](struct{}{}); err == nil || !contains(err.Error(), "cannot be a callback") {
		t.Errorf("an interface whose method cannot be a callback: %v", err)
	}
	if err := simplerpc.RegisterProxy[Event](observerProxy{}); err == nil || !contains(err.Error(), "not an interface") {
		t.Errorf("a struct for I: %v", err)
	}
	if err := simplerpc.RegisterProxy[Observer](&ptrObserverProxy{}); err == nil || !contains(err.Error(), "registered for it already") {
		t.Errorf("a second adapter: %v", err)
	}
	if err := simplerpc.RegisterProxy[Observer](observerProxy{}); err != nil {
		t.Errorf("the same adapter again: %v", err)
	}
	if err := srv.RegisterFunc("variadic", func(o Observer, more ...int) error { return nil }); err == nil || !contains(err.Error(), "variadic") {
		t.Errorf("a variadic method with an interface of callbacks: %v", err)
	}
}

// Unadapted is an interface of callbacks no adapter is registered for.
type Unadapted interface {
	OnEvent(Event) error
	OnDone()
}

type badFieldProxy struct {
	OnEventFunc func(Event)
	OnDoneFunc  func()
}

func (p badFieldProxy) OnEvent(e Event) error { p.OnEventFunc(e); return nil }
func (p badFieldProxy) OnDone()               { p.OnDoneFunc() }

type fieldsOnlyProxy struct {
	OnEventFunc func(Event) error
	OnDoneFunc  func()
}

type ptrObserverProxy struct {
	OnEventFunc func(Event) error
	OnDoneFunc  func(ctx context.Context, n int) string
}

func (p *ptrObserverProxy) OnEvent(e Event) error                    { return p.OnEventFunc(e) }
func (p *ptrObserverProxy) OnDone(ctx context.Context, n int) string { return p.OnDoneFunc(ctx, n) }

// An adapter whose methods have pointer receivers is passed as a pointer.
func TestInterfaceCallbackPointerAdapter(t *testing.T) {
	if err := simplerpc.RegisterProxy[PtrObserver](&ptrObserverProxy{}); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t)
	err := ts.srv.RegisterFunc("tell", func(o PtrObserver, s string) error {
		return o.OnEvent(Event{Seq: 1, Text: strings.ToUpper(s)})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	if err := dial(t, ts.addr).Call(context.Background(), "tell", []any{simplerpc.AsInterface[PtrObserver](r), "hi"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.events, []Event{{1, "HI"}}) {
		t.Fatalf("observer saw %v", r.events)
	}
}

// PtrObserver is Observer under another name, adapted by a pointer.
type PtrObserver interface {
	OnEvent(Event) error
	OnDone(ctx context.Context, n int) string
}

// A JSON-RPC call of a method taking an interface of callbacks is
// refused, saying why.
func TestInterfaceCallbackJSONRPCRefused(t *testing.T) {
	ts, _ := startBoard(t)
	r := rpc(t, httpClient(t), "http://"+ts.addr, call("Board.Watch", `[["a"], [0, 1]]`, 1))
	wantError(t, "JSON-RPC call of a method with an interface of callbacks", r, -32602, "native protocol")
}

// Slots sent by hand, without funcs behind them, reach nothing of the
// client's: a wrong count is refused by the server, and the right count
// of slots the call has no funcs for is refused by the client.
func TestInterfaceCallbackForgedSlots(t *testing.T) {
	ts, b := startBoard(t)
	c := dial(t, ts.addr)
	ctx := context.Background()
	var got string
	err := c.Call(ctx, "Board.Watch", []any{[]string{"x"}, []uint64{0}}, &got)
	if codeOf(t, err) != simplerpc.CodeInvalidArgument || !contains(err.Error(), "interface of 2 methods: got 1 slot") {
		t.Fatalf("one slot for two methods: %v", err)
	}
	err = c.Call(ctx, "Board.Watch", []any{[]string{"x"}, []uint64{7, 8}}, &got)
	if err == nil || b.last() == nil {
		t.Fatalf("slots of no funcs: %v, server saw %v; want both to fail", err, b.last())
	}
	if err := c.Call(ctx, "Board.Watch", []any{[]string{"y"}, simplerpc.AsInterface[Observer](&recorder{})}, &got); err != nil || got != "no deadline" {
		t.Fatalf("a real observer after forged slots: %q, %v", got, err)
	}
}
