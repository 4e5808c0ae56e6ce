package simplerpc

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/simplerpc/simplerpc/internal/codec"
)

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// method is one callable entry of a server's method table, checked once at
// registration so that a call does no reflection lookups.
type method struct {
	name     string        // "Service.Method", or a bare function name
	fn       reflect.Value // the func; for a method, the method expression
	call     directFunc    // calls fn without reflect for a common shape (invoke_direct.go); nil for others
	rcvr     reflect.Value // the receiver, or invalid for a plain function
	lead     int           // values before the arguments: receiver, context
	ctx      bool          // takes a leading context.Context
	params   []reflect.Type
	variadic bool
	results  []reflect.Type // without the trailing error
	hasErr   bool
	// structArg is set when the only parameter is a plain struct (or a
	// pointer to one), one the codecs decode from a map by field: its
	// arguments may come by position or by field name. A struct that
	// decodes itself (time.Time, big.Int, an UnmarshalJSON method) is an
	// ordinary parameter.
	structArg bool
	fields    []int        // the struct's settable field indexes, in order
	argsType  reflect.Type // a struct holding every parameter, for one allocation
	// frame, for a method called directly, is a struct of an array of
	// the call's values (lead+len(params), then one for the result) and
	// then every parameter: the one allocation of its call's arguments
	// (decodeArray). nil for other methods.
	frame  reflect.Type
	cost   runCost      // how long its calls run, for runInline
	reply  replySize    // how large its replies are, for the memory budget
	stream *streamShape // how it streams; nil for a method that does not
	// callbacks are its parameters of func type (callback_shape.go); nil
	// for a method that takes none.
	callbacks []callbackParam
}

// newMethod checks fn's signature and builds its table entry. fn is a
// func value; for a method it is the method expression (receiver first)
// and rcvr is the receiver, else rcvr is the zero Value. Calling through
// the method expression, rather than a bound method value, spares an
// allocation per call.
func newMethod(name string, fn, rcvr reflect.Value) (*method, error) {
	t := fn.Type()
	m := &method{name: name, fn: fn, rcvr: rcvr, variadic: t.IsVariadic()}
	in := 0
	if rcvr.IsValid() {
		in, m.lead = 1, 1
	}
	if t.NumIn() > in && t.In(in) == contextType {
		m.ctx = true
		in++
		m.lead++
	}
	var fields []reflect.StructField
	for i := in; i < t.NumIn(); i++ {
		p := t.In(i)
		if p == contextType {
			return nil, fmt.Errorf("parameter %d is a context.Context; only the first parameter may be", i+1-btoi(rcvr.IsValid()))
		}
		if isCallbackInterface(p) {
			if err := m.addInterfaceCallback(p); err != nil { // callback_iface.go
				return nil, fmt.Errorf("parameter %d (%s): %w", len(m.params)+1, p, err)
			}
			fields = append(fields, reflect.StructField{Name: fmt.Sprintf("P%d", i), Type: p})
			continue
		}
		if _, _, isIter := iterShape(p); p.Kind() == reflect.Func && !isIter {
			if err := m.addCallback(p, i == t.NumIn()-1); err != nil {
				return nil, fmt.Errorf("parameter %d (%s): %w", len(m.params)+1, p, err)
			}
			fields = append(fields, reflect.StructField{Name: fmt.Sprintf("P%d", i), Type: p})
			continue
		}
		if elem, withErr, ok := iterShape(p); ok && i == t.NumIn()-1 && !m.variadic {
			if err := checkItem(elem); err != nil {
				return nil, fmt.Errorf("parameter %d (%s): %w", len(m.params)+1, p, err)
			}
			m.stream = &streamShape{in: elem, inSeq: p, inErr: withErr}
			break
		}
		if err := encodable(p, nil); err != nil {
			return nil, fmt.Errorf("parameter %d (%s): %w", len(m.params)+1, p, err)
		}
		m.params = append(m.params, p)
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("P%d", i), Type: p})
	}
	if t.NumOut() > 0 {
		if elem, withErr, ok := iterShape(t.Out(0)); ok {
			if t.NumOut() > 2 || t.NumOut() == 2 && t.Out(1) != errorType {
				return nil, fmt.Errorf("result 1 (%s) is a stream: it may be followed only by an error result", t.Out(0))
			}
			if err := checkItem(elem); err != nil {
				return nil, fmt.Errorf("result 1 (%s): %w", t.Out(0), err)
			}
			if m.stream == nil {
				m.stream = &streamShape{}
			}
			m.stream.out, m.stream.outErr = elem, withErr
			m.hasErr = t.NumOut() == 2
		}
	}
	for i := 0; i < t.NumOut() && (m.stream == nil || m.stream.out == nil); i++ {
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
	if m.callbacks != nil && m.stream != nil {
		return nil, fmt.Errorf("a method that streams takes no callbacks")
	}
	m.argsType = reflect.StructOf(fields)
	m.reply.fixed = fixedReply(m.results)
	if len(m.params) == 1 && !m.variadic {
		st := m.params[0]
		if st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if codec.IsPlainStruct(st) {
			m.structArg = true
			for i := 0; i < st.NumField(); i++ {
				if f := st.Field(i); f.IsExported() && f.Tag.Get("json") != "-" {
					m.fields = append(m.fields, i)
				}
			}
		}
	}
	if m.call = m.direct(fn, rcvr); m.call != nil {
		values := reflect.StructField{Name: "V", Type: reflect.ArrayOf(m.lead+len(m.params)+1, reflect.TypeFor[reflect.Value]())}
		m.frame = reflect.StructOf(append([]reflect.StructField{values}, fields...))
	}
	return m, nil
}

// fixedReply returns a bound on the encoded size of results whose types
// have a fixed size (numbers, bools, arrays and structs of them), or 0
// when a result may be of any size (strings, slices, maps, pointers,
// interfaces). An error reply is bounded too (internal/rpcerr/wire.go).
func fixedReply(results []reflect.Type) int64 {
	n := int64(64) // the array head and an error reply's room
	for _, t := range results {
		size, ok := fixedSize(t, 0)
		if !ok {
			return 0
		}
		n += size
	}
	return n
}

// fixedSize returns a bound on the encoded size of a value of t, if t
// has a fixed size: CBOR and JSON take at most a few times the bytes of
// a number, and a struct's field names add their length.
func fixedSize(t reflect.Type, depth int) (int64, bool) {
	if depth > 8 {
		return 0, false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return 32, true
	case reflect.Array:
		e, ok := fixedSize(t.Elem(), depth+1)
		return 8 + int64(t.Len())*e, ok && t.Len() <= 1024
	case reflect.Struct:
		n := int64(8)
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			e, ok := fixedSize(f.Type, depth+1)
			if !ok {
				return 0, false
			}
			n += e + int64(len(f.Name)) + 8
		}
		return n, true
	}
	return 0, false
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

// signature returns the method's Go signature without the receiver, for
// messages: "Add(int, int) (int, error)".
func (m *method) signature() string {
	t := m.fn.Type()
	var in, out []string
	for i := btoi(m.rcvr.IsValid()); i < t.NumIn(); i++ {
		s := t.In(i).String()
		if t.IsVariadic() && i == t.NumIn()-1 {
			s = "..." + t.In(i).Elem().String()
		}
		in = append(in, s)
	}
	for i := 0; i < t.NumOut(); i++ {
		out = append(out, t.Out(i).String())
	}
	short := m.name[strings.LastIndexByte(m.name, '.')+1:]
	sig := short + "(" + strings.Join(in, ", ") + ")"
	switch len(out) {
	case 0:
		return sig
	case 1:
		return sig + " " + out[0]
	}
	return sig + " (" + strings.Join(out, ", ") + ")"
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
