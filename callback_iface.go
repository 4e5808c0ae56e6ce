package simplerpc

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// Callbacks through interface parameters. A method may take a parameter
// of an interface type whose methods all have the shape of a callback
// (callback_shape.go), such as
//
//	type Observer interface {
//		OnEvent(Event) error
//		OnDone()
//	}
//
// The client passes any value implementing it; each of the interface's
// methods, in the order reflect sorts them (by name), travels as one
// callback, and in the parameter's place goes the array of their slots,
// or nil for a nil interface (PROTOCOL.md §13).
//
// Go's reflection cannot make a value implementing an interface at run
// time, but it can fill a struct's func fields: the server registers,
// once per interface, an adapter — a struct with a func field per method
// whose methods call them (RegisterProxy) — and each call of the method
// gets an adapter whose fields are the callbacks' proxies.

// proxyAdapter is an interface's registered adapter, checked once.
type proxyAdapter struct {
	iface   reflect.Type // the interface
	adapter reflect.Type // the adapter: a struct, or a pointer to one
	methods []proxyMethod
}

// proxyMethod is one method of the interface, in reflect's order.
type proxyMethod struct {
	name  string
	field int            // the adapter struct's field that runs it
	shape *callbackShape // the method's signature, as a callback
}

// proxies holds the registered adapters by interface type.
var proxies sync.Map // reflect.Type → *proxyAdapter

// RegisterProxy registers adapter as the value a server passes for a
// parameter of interface type I: a struct, or a pointer to one, that
// implements I by calling, for each method M of I, its exported func
// field MFunc of M's signature:
//
//	type observerProxy struct {
//		OnEventFunc func(Event) error
//		OnDoneFunc  func()
//	}
//
//	func (p observerProxy) OnEvent(e Event) error { return p.OnEventFunc(e) }
//	func (p observerProxy) OnDone()               { p.OnDoneFunc() }
//
//	simplerpc.RegisterProxy[Observer](observerProxy{})
//
// A method taking an I is then accepted by Register (register the adapter
// first), and each of its calls gets a new adapter whose fields invoke
// the client's value (docs/callbacks.md). Only adapter's type matters.
// `simplerpc gen -proxy` writes adapters. RegisterProxy reports an
// error, and registers nothing, if I is not an interface of callback
// methods, if adapter lacks a field or has one of another signature, if
// it does not implement I, or if another adapter type is registered for
// I already.
func RegisterProxy[I any](adapter any) error {
	it := reflect.TypeFor[I]()
	p, err := newProxyAdapter(it, reflect.TypeOf(adapter))
	if err != nil {
		return fmt.Errorf("simplerpc: RegisterProxy[%s]: %w", it, err)
	}
	if old, loaded := proxies.LoadOrStore(it, p); loaded && old.(*proxyAdapter).adapter != p.adapter {
		return fmt.Errorf("simplerpc: RegisterProxy[%s]: %s is registered for it already", it, old.(*proxyAdapter).adapter)
	}
	return nil
}

// newProxyAdapter checks at as an adapter for the interface it.
func newProxyAdapter(it, at reflect.Type) (*proxyAdapter, error) {
	if at == nil {
		return nil, errors.New("the adapter is nil: pass a value of the adapter's struct type")
	}
	st := at
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() != reflect.Struct {
		return nil, fmt.Errorf("the adapter %s is not a struct with a func field per method", at)
	}
	p := &proxyAdapter{iface: it, adapter: at}
	var problems []error
	if err := checkCallbackInterface(it); err != nil {
		return nil, err
	}
	for i := 0; i < it.NumMethod(); i++ {
		m := it.Method(i)
		s, _ := newCallbackShape(m.Type) // checked above
		want := m.Name + "Func"
		f, ok := st.FieldByName(want)
		switch {
		case !ok || len(f.Index) != 1:
			problems = append(problems, fmt.Errorf("%s has no field %s %s (for method %s)", st, want, m.Type, m.Name))
			continue
		case !f.IsExported():
			problems = append(problems, fmt.Errorf("field %s of %s is unexported", want, st))
			continue
		case f.Type != m.Type:
			problems = append(problems, fmt.Errorf("field %s of %s is a %s; method %s needs %s", want, st, f.Type, m.Name, m.Type))
			continue
		}
		p.methods = append(p.methods, proxyMethod{name: m.Name, field: f.Index[0], shape: s})
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	if !at.Implements(it) {
		return nil, fmt.Errorf("%s does not implement %s: give it each method, calling its func field", at, it)
	}
	return p, nil
}

// proxyFor returns the adapter registered for the interface t.
func proxyFor(t reflect.Type) (*proxyAdapter, error) {
	if v, ok := proxies.Load(t); ok {
		return v.(*proxyAdapter), nil
	}
	return nil, fmt.Errorf("interface %s has no proxy adapter: register one with simplerpc.RegisterProxy[%s](adapter) before Register (`simplerpc gen -proxy` writes one)", t, t)
}

// addInterfaceCallback records parameter p, of an interface type with
// methods, as callbacks of m.
func (m *method) addInterfaceCallback(p reflect.Type) error {
	if m.variadic {
		return fmt.Errorf("a variadic method takes no callbacks")
	}
	pa, err := proxyFor(p)
	if err != nil {
		return err
	}
	m.callbacks = append(m.callbacks, callbackParam{index: len(m.params), iface: pa})
	m.params = append(m.params, p)
	return nil
}

// newProxy returns an adapter whose func fields are the proxies of the
// client's value's slots, made by proxy; without slots (a connection
// without callbacks) every method's proxy says why it cannot run.
func (pa *proxyAdapter) newProxy(proxy func(slot uint64, s *callbackShape) reflect.Value, slots []uint64) reflect.Value {
	st := pa.adapter
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	v := reflect.New(st)
	for j, pm := range pa.methods {
		var slot uint64
		if j < len(slots) {
			slot = slots[j]
		}
		v.Elem().Field(pm.field).Set(proxy(slot, pm.shape))
	}
	if pa.adapter.Kind() == reflect.Pointer {
		return v
	}
	return v.Elem()
}

// interfaceArg is a value passed for a parameter of an interface type,
// whose methods travel as callbacks: it returns the value, of the
// interface's type (Kind Interface), or why it cannot be one. It is a
// func so that hasFuncs finds it as it finds funcs, at no added cost to
// calls without callbacks.
type interfaceArg func() (reflect.Value, error)

// AsInterface marks v, among the arguments of Client.Call, as the value
// for a parameter of interface type I: each method of I travels as a
// callback, which the server calls while the call runs
// (docs/callbacks.md). A stub bound with Bind whose parameter is of an
// interface type does this by itself.
func AsInterface[I any](v I) any {
	it := reflect.TypeFor[I]()
	if err := checkCallbackInterface(it); err != nil {
		return interfaceArg(func() (reflect.Value, error) { return reflect.Value{}, err })
	}
	rv := reflect.ValueOf(&v).Elem()
	return interfaceArg(func() (reflect.Value, error) { return rv, nil })
}

// checkCallbackInterface checks it as the type of an interface of
// callbacks: every method exported and of a callback's shape.
func checkCallbackInterface(it reflect.Type) error {
	if !isCallbackInterface(it) {
		return fmt.Errorf("%s is not an interface with methods", it)
	}
	for i := 0; i < it.NumMethod(); i++ {
		m := it.Method(i)
		if !m.IsExported() {
			return fmt.Errorf("method %s of %s is unexported: it cannot be a callback", m.Name, it)
		}
		if _, err := newCallbackShape(m.Type); err != nil {
			return fmt.Errorf("method %s of %s cannot be a callback: %w", m.Name, it, err)
		}
	}
	return nil
}

// isCallbackInterface reports whether t, a parameter's type, is an
// interface whose methods travel as callbacks.
func isCallbackInterface(t reflect.Type) bool {
	return t.Kind() == reflect.Interface && t.NumMethod() > 0
}

// addInterface adds the methods of ia, argument i of a call of method,
// to the call's funcs, and returns what goes in the argument's place:
// their slots, or nil for a nil interface.
func (cb *clientCallbacks) addInterface(method string, i int, ia interfaceArg) (any, error) {
	v, err := ia()
	if err != nil {
		return nil, errorf(CodeInvalidArgument, method, "argument %d: %v; call not sent", i+1, err)
	}
	if v.IsNil() {
		return nil, nil
	}
	t := v.Type()
	slots := make([]uint64, t.NumMethod())
	for j := range slots {
		slot := len(cb.methods)
		m, err := callbackMethod(method, slot, v.Method(j))
		if err != nil {
			return nil, errorf(CodeInvalidArgument, method, "argument %d (%s): method %s cannot be a callback: %v; call not sent", i+1, t, t.Method(j).Name, err)
		}
		cb.methods = append(cb.methods, m)
		slots[j] = uint64(slot)
	}
	return slots, nil
}
