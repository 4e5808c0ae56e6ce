package simplerpc

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// method is one callable entry of a server's method table, checked once at
// registration so that a call does no reflection lookups.
type method struct {
	name     string        // "Service.Method", or a bare function name
	fn       reflect.Value // the func; for a method, with the receiver bound
	ctx      bool          // takes a leading context.Context
	params   []reflect.Type
	variadic bool
	results  []reflect.Type // without the trailing error
	hasErr   bool
	// structArg is set when the only parameter is a struct (or a pointer to
	// one): its arguments may come by position or by field name.
	structArg bool
	fields    []int        // the struct's settable field indexes, in order
	argsType  reflect.Type // a struct holding every parameter, for one allocation
}

// newMethod checks fn's signature and builds its table entry. fn is a
// func value, with any receiver already bound.
func newMethod(name string, fn reflect.Value) (*method, error) {
	t := fn.Type()
	m := &method{name: name, fn: fn, variadic: t.IsVariadic()}
	in := 0
	if t.NumIn() > 0 && t.In(0) == contextType {
		m.ctx, in = true, 1
	}
	var fields []reflect.StructField
	for i := in; i < t.NumIn(); i++ {
		p := t.In(i)
		if p == contextType {
			return nil, fmt.Errorf("parameter %d is a context.Context; only the first parameter may be", i+1)
		}
		if err := encodable(p, nil); err != nil {
			return nil, fmt.Errorf("parameter %d (%s): %w", i+1, p, err)
		}
		m.params = append(m.params, p)
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("P%d", i), Type: p})
	}
	for i := 0; i < t.NumOut(); i++ {
		r := t.Out(i)
		if r == errorType && i == t.NumOut()-1 {
			m.hasErr = true
			break
		}
		if err := encodable(r, nil); err != nil {
			return nil, fmt.Errorf("result %d (%s): %w", i+1, r, err)
		}
		m.results = append(m.results, r)
	}
	m.argsType = reflect.StructOf(fields)
	if len(m.params) == 1 && !m.variadic {
		st := m.params[0]
		if st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if st.Kind() == reflect.Struct {
			m.structArg = true
			for i := 0; i < st.NumField(); i++ {
				if f := st.Field(i); f.IsExported() && f.Tag.Get("json") != "-" {
					m.fields = append(m.fields, i)
				}
			}
		}
	}
	return m, nil
}

// encodable reports why values of t cannot travel through a codec, or nil.
func encodable(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128, reflect.Uintptr:
		return fmt.Errorf("%s values cannot be encoded", t.Kind())
	case reflect.Interface:
		if t.NumMethod() > 0 {
			return fmt.Errorf("interface %s cannot be decoded: no concrete type to build", t)
		}
		return nil
	case reflect.Pointer, reflect.Slice, reflect.Array:
		if seen == nil {
			seen = make(map[reflect.Type]bool)
		}
		seen[t] = true
		return encodable(t.Elem(), seen)
	case reflect.Map:
		if seen == nil {
			seen = make(map[reflect.Type]bool)
		}
		seen[t] = true
		if err := encodable(t.Key(), seen); err != nil {
			return err
		}
		return encodable(t.Elem(), seen)
	case reflect.Struct:
		if seen == nil {
			seen = make(map[reflect.Type]bool)
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" || f.Tag.Get("cbor") == "-" {
				continue
			}
			if err := encodable(f.Type, seen); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
	}
	return nil
}

// Signature returns the method's Go signature without the receiver, for
// messages: "Add(int, int) (int, error)".
func (m *method) signature() string {
	short := m.name
	if i := strings.LastIndexByte(short, '.'); i >= 0 {
		short = short[i+1:]
	}
	return short + strings.TrimPrefix(m.fn.Type().String(), "func")
}

// arity describes the arguments the method accepts, for error messages.
func (m *method) arity() string {
	types := make([]string, len(m.params))
	for i, p := range m.params {
		types[i] = p.String()
		if m.variadic && i == len(m.params)-1 {
			types[i] = "..." + p.Elem().String()
		}
	}
	n := len(m.params)
	switch {
	case m.variadic:
		return fmt.Sprintf("at least %d argument(s) (%s)", n-1, strings.Join(types, ", "))
	case n == 1:
		return fmt.Sprintf("1 argument (%s)", types[0])
	}
	return fmt.Sprintf("%d arguments (%s)", n, strings.Join(types, ", "))
}
