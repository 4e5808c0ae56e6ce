package simplerpc

import (
	"fmt"
	"reflect"
)

// A streamShape says how a method streams: a last parameter that is an
// iterator (iter.Seq[T] or iter.Seq2[T, error]) receives the items the
// client sends; a result that is one yields the items the server sends.
// A method with both is bidirectional.
type streamShape struct {
	in     reflect.Type // the item type the method receives; nil if it receives none
	inSeq  reflect.Type // the parameter's iterator type, which the server builds
	inErr  bool         // the parameter is an iter.Seq2[T, error]
	out    reflect.Type // the item type the method yields; nil if it yields none
	outErr bool         // the result is an iter.Seq2[T, error]
}

// iterShape reports whether t is an iterator type of items of elem —
// iter.Seq[T] (func(yield func(T) bool)) or, with withErr,
// iter.Seq2[T, error] — named or not.
func iterShape(t reflect.Type) (elem reflect.Type, withErr, ok bool) {
	if t.Kind() != reflect.Func || t.NumIn() != 1 || t.NumOut() != 0 || t.IsVariadic() {
		return nil, false, false
	}
	y := t.In(0)
	if y.Kind() != reflect.Func || y.NumOut() != 1 || y.Out(0).Kind() != reflect.Bool || y.IsVariadic() {
		return nil, false, false
	}
	switch {
	case y.NumIn() == 1:
		return y.In(0), false, true
	case y.NumIn() == 2 && y.In(1) == errorType:
		return y.In(0), true, true
	}
	return nil, false, false
}

// checkItem reports why values of elem cannot be a stream's items.
func checkItem(elem reflect.Type) error {
	if err := encodable(elem, nil); err != nil {
		return fmt.Errorf("items of %s: %w", elem, err)
	}
	return nil
}

// kind names the shape for descriptions and messages: "server",
// "client" or "bidi".
func (s *streamShape) kind() string {
	switch {
	case s.in != nil && s.out != nil:
		return "bidi"
	case s.in != nil:
		return "client"
	}
	return "server"
}
