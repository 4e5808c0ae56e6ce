package simplerpc

import (
	"fmt"
	"reflect"
	"sync"
)

// A callback is a func the client passes among a call's arguments and
// the server calls while the call runs (PROTOCOL.md §13). Its signature
// follows the rules of a method's: an optional leading context.Context,
// parameters the codecs can encode, and results the codecs can encode
// with an optional trailing error. A callback takes no callbacks, no
// streams, and no variadic parameter.

// callbackShape is a callback's signature, checked once: at Register on
// the server, the first time a func of its type is passed on the client.
type callbackShape struct {
	typ     reflect.Type   // the func type
	ctx     bool           // takes a leading context.Context
	params  []reflect.Type // the parameters after the context
	results []reflect.Type // the results before the error
	hasErr  bool           // returns an error last
}

// callbackParam is a parameter of a method that is a callback: a func,
// or an interface whose methods are (callback_iface.go).
type callbackParam struct {
	index int            // among the method's parameters (method.params)
	shape *callbackShape // a func's; nil for an interface
	iface *proxyAdapter  // an interface's; nil for a func
}

// typ returns the parameter's type.
func (p callbackParam) typ() reflect.Type {
	if p.iface != nil {
		return p.iface.iface
	}
	return p.shape.typ
}

// newCallbackShape checks t as the type of a callback.
func newCallbackShape(t reflect.Type) (*callbackShape, error) {
	if t.Kind() != reflect.Func {
		return nil, fmt.Errorf("%s is not a func", t)
	}
	if t.IsVariadic() {
		return nil, fmt.Errorf("a callback cannot be variadic: pass a slice")
	}
	s := &callbackShape{typ: t}
	in := 0
	if t.NumIn() > 0 && t.In(0) == contextType {
		s.ctx, in = true, 1
	}
	for i := in; i < t.NumIn(); i++ {
		p := t.In(i)
		if p == contextType {
			return nil, fmt.Errorf("callback parameter %d is a context.Context; only the first parameter may be", i+1)
		}
		if err := encodable(p, nil); err != nil {
			return nil, fmt.Errorf("callback parameter %d (%s): %w", i+1, p, err)
		}
		s.params = append(s.params, p)
	}
	for i := 0; i < t.NumOut(); i++ {
		r := t.Out(i)
		if r == errorType && i == t.NumOut()-1 {
			s.hasErr = true
			break
		}
		if err := encodable(r, nil); err != nil {
			return nil, fmt.Errorf("callback result %d (%s): %w", i+1, r, err)
		}
		s.results = append(s.results, r)
	}
	return s, nil
}

// clientCallbackMethods caches, by func type, the table entry a client
// runs a callback of that type through: a method without receiver whose
// fn is filled in per func (callbackMethod).
var clientCallbackMethods sync.Map // reflect.Type → *method, or error

// callbackMethod returns the table entry that runs fn, a func passed as
// slot of a call of call, as a server's method runs: its arguments
// decoded by position, its panics recovered, its results or error encoded.
func callbackMethod(call string, slot int, fn reflect.Value) (*method, error) {
	t := fn.Type()
	v, ok := clientCallbackMethods.Load(t)
	if !ok {
		var m *method
		_, err := newCallbackShape(t)
		if err == nil {
			m, err = newMethod("", fn, reflect.Value{})
		}
		if err == nil {
			// Its arguments always come by position: a struct parameter
			// is not the arguments by name.
			m.structArg, m.fields = false, nil
			v = m
		} else {
			v = err
		}
		v, _ = clientCallbackMethods.LoadOrStore(t, v)
	}
	tmpl, ok := v.(*method)
	if !ok {
		return nil, v.(error)
	}
	return &method{name: callbackName(call, slot), fn: fn, lead: tmpl.lead, ctx: tmpl.ctx,
		params: tmpl.params, results: tmpl.results, hasErr: tmpl.hasErr, argsType: tmpl.argsType}, nil
}

// callbackName names the func in slot of a call of method, for errors.
func callbackName(method string, slot int) string {
	return fmt.Sprintf("%s callback %d", method, slot)
}

// addCallback records parameter p, of func type, as a callback of m; last
// says it is m's last parameter.
func (m *method) addCallback(p reflect.Type, last bool) error {
	if m.variadic && last {
		return fmt.Errorf("a callback cannot be variadic")
	}
	if m.variadic {
		return fmt.Errorf("a variadic method takes no callbacks")
	}
	s, err := newCallbackShape(p)
	if err != nil {
		return fmt.Errorf("a callback: %w", err)
	}
	m.callbacks = append(m.callbacks, callbackParam{index: len(m.params), shape: s})
	m.params = append(m.params, p)
	return nil
}
