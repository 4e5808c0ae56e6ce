package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"unsafe"

	"github.com/simplerpc/simplerpc/internal/codec"
)

// decodeArgs decodes the encoded argument array into the values to call
// the method with. The first m.lead values (receiver, context) are left
// for invoke to fill.
func (m *method) decodeArgs(c codec.Codec, data []byte) ([]reflect.Value, *Error) {
	arr, e := m.openArgs(c, data)
	if e != nil {
		return nil, e
	}
	return m.decodeArray(&arr)
}

// openArgs checks the encoded argument array against the decoders'
// limits and opens it, for decodeArray; Cost then says how much memory
// decoding it may take.
func (m *method) openArgs(c codec.Codec, data []byte) (codec.Array, *Error) {
	arr, err := c.OpenArray(data)
	if err != nil {
		return arr, errorf(CodeInvalidArgument, m.name, "arguments: %v", err)
	}
	return arr, nil
}

// decodeArray decodes an opened argument array into the values to call
// the method with, as decodeArgs.
func (m *method) decodeArray(a *codec.Array) ([]reflect.Value, *Error) {
	arr := *a
	if m.callbacks != nil {
		return m.decodeCallbackArgs(&arr) // callback_server.go
	}
	// A struct method's arguments are one map, by name, or else the
	// struct's fields by position (see decodeStructArg).
	if m.structArg {
		v, e := m.decodeStructArg(&arr)
		if e != nil {
			return nil, e
		}
		args := make([]reflect.Value, m.lead+1)
		args[m.lead] = v
		return args, nil
	}
	n := len(m.params)
	got := arr.Len()
	if m.variadic && got < n-1 || !m.variadic && got != n {
		return nil, errorf(CodeInvalidArgument, m.name, "%s takes %s, got %d", m.name, m.arity(), got)
	}
	var holder reflect.Value
	var args []reflect.Value
	first := 0 // holder's field of the first parameter
	if m.frame != nil {
		// One allocation holds the values, the room for the result after
		// them, and the parameters they are.
		p := reflect.New(m.frame)
		args = unsafe.Slice((*reflect.Value)(p.UnsafePointer()), m.lead+n+1)[:m.lead+n]
		holder, first = p.Elem(), 1
	} else {
		holder = reflect.New(m.argsType).Elem()
		args = make([]reflect.Value, m.lead+n)
	}
	fixed := n
	if m.variadic {
		fixed = n - 1
	}
	for i := 0; i < fixed; i++ {
		f := holder.Field(first + i)
		if err := arr.Next(f.Addr().Interface()); err != nil {
			return nil, errorf(CodeInvalidArgument, m.name, "argument %d (%s): %v", i+1, m.params[i], err)
		}
		args[m.lead+i] = f
	}
	if m.variadic {
		st := m.params[n-1]
		rest := reflect.MakeSlice(st, got-fixed, got-fixed)
		for j := 0; j < got-fixed; j++ {
			if err := arr.Next(rest.Index(j).Addr().Interface()); err != nil {
				return nil, errorf(CodeInvalidArgument, m.name, "argument %d (%s): %v", fixed+j+1, st.Elem(), err)
			}
		}
		args[m.lead+n-1] = rest
	}
	return args, nil
}

// decodeStructArg decodes the arguments of a method whose only parameter
// is a plain struct. The rule has no ambiguous case: an argument list of
// exactly one element that is a map holds the arguments by name (the
// map's keys are the struct's field names); any other list holds a prefix
// of the fields by position — one element that is not a map is the first
// field, even when that field is itself a struct. A key that names no
// field is refused, with the nearest field name when one is close; keys
// inside the fields' own values follow the codecs' rule (ignored).
func (m *method) decodeStructArg(arr *codec.Array) (reflect.Value, *Error) {
	pt := m.params[0]
	ptr := pt.Kind() == reflect.Pointer
	st := pt
	if ptr {
		st = pt.Elem()
	}
	sv := reflect.New(st)
	if arr.Len() == 1 && arr.NextIsMap() {
		if err := arr.NextStrict(sv.Interface()); err != nil {
			var unknown *codec.UnknownFieldError
			if errors.As(err, &unknown) {
				return reflect.Value{}, errorf(CodeInvalidArgument, m.name, "%s has no parameter %s", m.name, unknown.Names())
			}
			return reflect.Value{}, errorf(CodeInvalidArgument, m.name, "named arguments: %v", err)
		}
	} else {
		if arr.Len() > len(m.fields) {
			return reflect.Value{}, errorf(CodeInvalidArgument, m.name, "%s takes at most %d positional arguments (the fields of %s), got %d",
				m.name, len(m.fields), st, arr.Len())
		}
		for i := 0; arr.Remaining() > 0; i++ {
			f := sv.Elem().Field(m.fields[i])
			if err := arr.Next(f.Addr().Interface()); err != nil {
				return reflect.Value{}, errorf(CodeInvalidArgument, m.name, "argument %d (%s %s): %v",
					i+1, st.Field(m.fields[i]).Name, f.Type(), err)
			}
		}
	}
	if ptr {
		return sv, nil
	}
	return sv.Elem(), nil
}

// errPanic is the cause of the CodeInternal error of a call whose method
// panicked.
var errPanic = errors.New("the method panicked")

// errResult is the cause of the CodeInternal error of a call whose
// results could not be encoded (a NaN into JSON, say): the method ran,
// so it is not a panic, and execute logs it apart.
var errResult = errors.New("the result could not be encoded")

// invoke runs the method with args (from decodeArgs), recovering a panic.
// It appends the encoded result array to buf, or returns the error to send:
// a results that cannot be encoded gives a CodeInternal error whose cause
// is errResult, and leaves buf as it was.
func (m *method) invoke(ctx context.Context, args []reflect.Value, c codec.Codec, buf *bytes.Buffer, stacks bool) (e *Error, detail any) {
	start := buf.Len()
	encoding := false
	defer func() {
		if p := recover(); p != nil {
			stack := ""
			if mp, ok := p.(*methodPanic); ok { // from the method's own goroutine (stream_call.go)
				p, stack = mp.value, mp.stack
			}
			e = withCause(&Error{Code: CodeInternal, Method: m.name, Message: fmt.Sprint(p), RemoteType: fmt.Sprintf("%T", p)}, errPanic)
			if encoding {
				// A result's own encoding method (MarshalJSON) panicked.
				buf.Truncate(start)
				e = resultError(m.name, fmt.Errorf("panic: %v", p))
			}
			// Captured whatever stacks says, for the log: execute drops it
			// from the reply unless the server sends stacks.
			if stack == "" {
				stack = string(debug.Stack())
			}
			e.Stack = stack
			detail = nil
		}
	}()
	if m.rcvr.IsValid() && m.call == nil {
		args[0] = m.rcvr
	}
	if m.ctx && m.call == nil {
		args[m.lead-1] = reflect.ValueOf(ctx) // converted to context.Context by Call
	}
	if m.callbacks != nil {
		defer m.bindCallbacks(ctx, args)() // callback_server.go
	}
	var st *serverStream
	if m.stream != nil {
		st = ctx.Value(streamKey{}).(*serverStream)
		if m.stream.in != nil {
			args = append(args, st.input(ctx, c, m.name))
			if m.stream.out == nil {
				st.opened()
			}
		}
	}
	var out []reflect.Value
	if m.call != nil {
		var err error
		if out, err = m.call(ctx, args[m.lead:]); err != nil {
			return remoteError(m.name, err, stacks)
		}
	} else if st != nil && m.stream.out != nil {
		out = m.callApart(args)
	} else if m.variadic {
		out = m.fn.CallSlice(args)
	} else {
		out = m.fn.Call(args)
	}
	if m.hasErr && m.call == nil {
		if err, _ := out[len(out)-1].Interface().(error); err != nil {
			return remoteError(m.name, err, stacks)
		}
		out = out[:len(out)-1]
	}
	if st != nil {
		if m.stream.out != nil {
			if e, detail := st.output(ctx, c, m.name, out[0], stacks); e != nil {
				return e, detail
			}
			out = nil
		}
		if e := st.decodeFailure(); e != nil {
			return e, nil
		}
	}
	encoding = true
	if err := c.AppendValues(buf, out); err != nil {
		buf.Truncate(start)
		return resultError(m.name, err), nil
	}
	return nil, nil
}

// resultError is the error of a call of method whose results did not
// encode because of err.
func resultError(method string, err error) *Error {
	e := newError(CodeInternal, method, fmt.Errorf("%w: %w", errResult, err))
	e.RemoteType = fmt.Sprintf("%T", err)
	return e
}
