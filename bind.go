package simplerpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
)

// Bind fills the func fields of the struct stub points to, so that calling
// a field calls the remote method of the same name on service: the
// transparent client, which looks like the server object. A field's name
// is the method name unless a `simplerpc:"Name"` tag says otherwise; a tag
// of "-" leaves the field alone. Each func may take a leading
// context.Context (otherwise calls use context.Background()) and must
// return error last. A variadic func sends its variadic arguments one by
// one, as the server's variadic method expects. Calls through the fields
// are exactly Call. An empty service binds bare function names.
//
// Before filling any field, Bind checks the stub against the server's
// description (DescribeMethod): every field's method must exist, take the
// arguments the field passes and return at least the results it expects,
// with types of the same shape. Shapes compare kinds and struct fields,
// not type names; integers of any size match each other, floats do not
// match integers, and a pointer matches what it points to. A mismatch
// fails Bind with a message naming each mismatched field and both
// signatures. A server with introspection turned off skips the check,
// and Bind behaves as without it. The check makes one call, bounded by
// 10 seconds; if that call fails otherwise, Bind returns its error.
func (c *Client) Bind(service string, stub any) error {
	v := reflect.ValueOf(stub)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("simplerpc: Bind needs a non-nil pointer to a struct of funcs, got %T", stub)
	}
	sv := v.Elem()
	st := sv.Type()
	var problems []error
	var fields []stubField
	fns := make(map[int]reflect.Value)
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.Func {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("simplerpc"); ok {
			if tag == "-" {
				continue
			}
			name = tag
		}
		if service != "" {
			name = service + "." + name
		}
		fn, err := c.bindFunc(name, f.Type)
		if err != nil {
			problems = append(problems, fmt.Errorf("field %s (%s): %w", f.Name, f.Type, err))
			continue
		}
		fns[i] = fn
		fields = append(fields, stubField{field: f.Name, method: name, typ: f.Type})
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("simplerpc: Bind(%q, %s):\n%w", service, stubName(st), err)
	}
	if len(fns) == 0 {
		return fmt.Errorf("simplerpc: Bind(%q, %s): the struct has no exported func fields", service, stubName(st))
	}
	if err := c.checkContract(service, fields); err != nil {
		return fmt.Errorf("simplerpc: Bind(%q, %s): %w", service, stubName(st), err)
	}
	for i, fn := range fns {
		sv.Field(i).Set(fn)
	}
	return nil
}

// stubName names the stub's type for messages, without spelling out an
// anonymous struct.
func stubName(st reflect.Type) string {
	if st.Name() == "" {
		return "*struct{...}"
	}
	return "*" + st.String()
}

// bindFunc makes a func of type ft that calls method.
func (c *Client) bindFunc(method string, ft reflect.Type) (reflect.Value, error) {
	if s := streamOfStub(ft); s != nil {
		return c.bindStream(method, ft, s)
	}
	if ft.NumOut() == 0 || ft.Out(ft.NumOut()-1) != errorType {
		return reflect.Value{}, errors.New("must return error as its last result")
	}
	withCtx := ft.NumIn() > 0 && ft.In(0) == contextType
	first := 0
	if withCtx {
		first = 1
	}
	var ifaces []bool // by parameter after the context: an interface of callbacks
	for i := first; i < ft.NumIn(); i++ {
		if isCallbackInterface(ft.In(i)) {
			if ifaces == nil {
				ifaces = make([]bool, ft.NumIn()-first)
			}
			ifaces[i-first] = true
			if err := checkCallbackInterface(ft.In(i)); err != nil { // callback_iface.go
				return reflect.Value{}, fmt.Errorf("parameter %d is an interface of callbacks: %w", i+1, err)
			}
			continue
		}
		if ft.In(i).Kind() == reflect.Func {
			if _, err := newCallbackShape(ft.In(i)); err != nil {
				return reflect.Value{}, fmt.Errorf("parameter %d is a callback: %w", i+1, err)
			}
			continue
		}
		if err := encodable(ft.In(i), nil); err != nil {
			return reflect.Value{}, fmt.Errorf("parameter %d: %w", i+1, err)
		}
	}
	nres := ft.NumOut() - 1
	for i := 0; i < nres; i++ {
		if err := encodable(ft.Out(i), nil); err != nil {
			return reflect.Value{}, fmt.Errorf("result %d: %w", i+1, err)
		}
	}
	variadic := ft.IsVariadic()
	return reflect.MakeFunc(ft, func(in []reflect.Value) []reflect.Value {
		ctx := context.Background()
		if withCtx {
			if x, ok := in[0].Interface().(context.Context); ok && x != nil {
				ctx = x
			}
			in = in[1:]
		}
		args := make([]any, 0, len(in))
		for i, a := range in {
			if variadic && i == len(in)-1 {
				for j := 0; j < a.Len(); j++ {
					args = append(args, a.Index(j).Interface())
				}
				break
			}
			if ifaces != nil && ifaces[i] {
				args = append(args, interfaceArg(func() (reflect.Value, error) { return a, nil })) // its methods travel as callbacks
				continue
			}
			args = append(args, a.Interface())
		}
		out := make([]reflect.Value, nres+1)
		ptrs := make([]any, nres)
		for i := 0; i < nres; i++ {
			p := reflect.New(ft.Out(i))
			ptrs[i] = p.Interface()
			out[i] = p.Elem()
		}
		err := c.Call(ctx, method, args, ptrs...)
		if err != nil {
			for i := 0; i < nres; i++ {
				out[i] = reflect.Zero(ft.Out(i))
			}
			out[nres] = reflect.ValueOf(&err).Elem()
		} else {
			out[nres] = reflect.Zero(errorType)
		}
		return out
	}), nil
}
