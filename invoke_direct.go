package simplerpc

import (
	"context"
	"reflect"
	"strings"
	"unsafe"
)

// A direct call runs a method of a common shape — one or two parameters
// and one result, all of one type among int, int64, uint64, float64,
// string and bool, with or without a leading context.Context and a
// trailing error — as an ordinary Go call rather than through
// reflect.Value.Call, whose per-call cost (the frame layout's cache
// lookup, the copying of every argument and result) is a tenth of a
// small call's server time on a connection with nothing to batch.
//
// How: a method's func is held as a func value of the same shape whose
// receiver is an unsafe.Pointer. Every pointer type has the same calling
// convention, so the method expression of a pointer receiver (*T).M,
// func(*T, A) R, is called as func(unsafe.Pointer, A) R with the
// receiver's address. A value receiver's method is called through the
// method of *T that the compiler writes for it (which copies *p, as a
// call through the value would), on a copy of the receiver made at
// Register. A plain function's type is its shape as it is. The call's
// arguments, the reflect.Values that hold them and the room for its
// result are then one allocation (method.frame, made by decodeArray).
//
// Every other method, and any method whose arguments arrive other than
// as addressable values (decodeArray's), goes through reflect.Value.Call.

// directFunc calls a method with its arguments (without receiver and
// context) and returns its results, less the error.
type directFunc func(ctx context.Context, in []reflect.Value) ([]reflect.Value, error)

// directShapes maps a shape — a method's func type with its receiver, if
// any, as unsafe.Pointer — to what makes the directFunc of a func of that
// shape (fn, a func value of the shape) on a receiver.
var directShapes = map[reflect.Type]func(fn reflect.Value, rcvr unsafe.Pointer) directFunc{}

var unsafePointerType = reflect.TypeFor[unsafe.Pointer]()

func init() {
	directShapesOf[int]()
	directShapesOf[int64]()
	directShapesOf[uint64]()
	directShapesOf[float64]()
	directShapesOf[string]()
	directShapesOf[bool]()
}

// direct returns the directFunc of m, or nil when m's shape has none.
// fn and rcvr are newMethod's; a method's name is the part of m.name
// after its dot.
func (m *method) direct(fn, rcvr reflect.Value) directFunc {
	if m.variadic || m.callbacks != nil || m.stream != nil || m.structArg || len(m.results) != 1 {
		return nil
	}
	var p unsafe.Pointer
	var in []reflect.Type
	t := fn.Type()
	if rcvr.IsValid() {
		if rcvr.Kind() != reflect.Pointer {
			// The method of *T that calls T's, on a copy of the receiver.
			_, name, _ := strings.Cut(m.name, ".")
			mt, ok := reflect.PointerTo(rcvr.Type()).MethodByName(name)
			if !ok {
				return nil
			}
			c := reflect.New(rcvr.Type())
			c.Elem().Set(rcvr)
			rcvr, fn, t = c, mt.Func, mt.Func.Type()
		}
		p = rcvr.UnsafePointer() // kept alive by the directFunc that holds it
		in = append(in, unsafePointerType)
	}
	for i := len(in); i < t.NumIn(); i++ {
		in = append(in, t.In(i))
	}
	out := make([]reflect.Type, t.NumOut())
	for i := range out {
		out[i] = t.Out(i)
	}
	mk := directShapes[reflect.FuncOf(in, out, false)]
	if mk == nil {
		return nil
	}
	return mk(fn, p)
}

// directShapesOf adds the shapes of one and two parameters of type T.
func directShapesOf[T any]() {
	directShapes1[T]()
	directShapes2[T]()
}

// directShape adds the shape F, whose directFunc mk makes.
func directShape[F any](mk func(f F, rcvr unsafe.Pointer) directFunc) {
	directShapes[reflect.TypeFor[F]()] = func(fn reflect.Value, rcvr unsafe.Pointer) directFunc {
		// fn's type is F but for its receiver's pointer type: write fn
		// into f as what it is, then call f as an F.
		var f F
		reflect.NewAt(fn.Type(), unsafe.Pointer(&f)).Elem().Set(fn)
		return mk(f, rcvr)
	}
}

func directShapes1[T any]() {
	directShape(func(f func(T) T, _ unsafe.Pointer) directFunc {
		return func(_ context.Context, in []reflect.Value) ([]reflect.Value, error) {
			return directResult(in, f(directArg[T](in[0])))
		}
	})
	directShape(func(f func(T) (T, error), _ unsafe.Pointer) directFunc {
		return func(_ context.Context, in []reflect.Value) ([]reflect.Value, error) {
			res, err := f(directArg[T](in[0]))
			return directResultErr(in, res, err)
		}
	})
	directShape(func(f func(context.Context, T) T, _ unsafe.Pointer) directFunc {
		return func(ctx context.Context, in []reflect.Value) ([]reflect.Value, error) {
			return directResult(in, f(ctx, directArg[T](in[0])))
		}
	})
	directShape(func(f func(context.Context, T) (T, error), _ unsafe.Pointer) directFunc {
		return func(ctx context.Context, in []reflect.Value) ([]reflect.Value, error) {
			res, err := f(ctx, directArg[T](in[0]))
			return directResultErr(in, res, err)
		}
	})
	directShape(func(f func(unsafe.Pointer, T) T, r unsafe.Pointer) directFunc {
		return func(_ context.Context, in []reflect.Value) ([]reflect.Value, error) {
			return directResult(in, f(r, directArg[T](in[0])))
		}
	})
	directShape(func(f func(unsafe.Pointer, T) (T, error), r unsafe.Pointer) directFunc {
		return func(_ context.Context, in []reflect.Value) ([]reflect.Value, error) {
			res, err := f(r, directArg[T](in[0]))
			return directResultErr(in, res, err)
		}
	})
	directShape(func(f func(unsafe.Pointer, context.Context, T) T, r unsafe.Pointer) directFunc {
		return func(ctx context.Context, in []reflect.Value) ([]reflect.Value, error) {
			return directResult(in, f(r, ctx, directArg[T](in[0])))
		}
	})
	directShape(func(f func(unsafe.Pointer, context.Context, T) (T, error), r unsafe.Pointer) directFunc {
		return func(ctx context.Context, in []reflect.Value) ([]reflect.Value, error) {
			res, err := f(r, ctx, directArg[T](in[0]))
			return directResultErr(in, res, err)
		}
	})
}

func directShapes2[T any]() {
	directShape(func(f func(T, T) T, _ unsafe.Pointer) directFunc {
		return func(_ context.Context, in []reflect.Value) ([]reflect.Value, error) {
			return directResult(in, f(directArg[T](in[0]), directArg[T](in[1])))
		}
	})
	directShape(func(f func(T, T) (T, error), _ unsafe.Pointer) directFunc {
		return func(_ context.Context, in []reflect.Value) ([]reflect.Value, error) {
			res, err := f(directArg[T](in[0]), directArg[T](in[1]))
			return directResultErr(in, res, err)
		}
	})
	directShape(func(f func(context.Context, T, T) T, _ unsafe.Pointer) directFunc {
		return func(ctx context.Context, in []reflect.Value) ([]reflect.Value, error) {
			return directResult(in, f(ctx, directArg[T](in[0]), directArg[T](in[1])))
		}
	})
	directShape(func(f func(context.Context, T, T) (T, error), _ unsafe.Pointer) directFunc {
		return func(ctx context.Context, in []reflect.Value) ([]reflect.Value, error) {
			res, err := f(ctx, directArg[T](in[0]), directArg[T](in[1]))
			return directResultErr(in, res, err)
		}
	})
	directShape(func(f func(unsafe.Pointer, T, T) T, r unsafe.Pointer) directFunc {
		return func(_ context.Context, in []reflect.Value) ([]reflect.Value, error) {
			return directResult(in, f(r, directArg[T](in[0]), directArg[T](in[1])))
		}
	})
	directShape(func(f func(unsafe.Pointer, T, T) (T, error), r unsafe.Pointer) directFunc {
		return func(_ context.Context, in []reflect.Value) ([]reflect.Value, error) {
			res, err := f(r, directArg[T](in[0]), directArg[T](in[1]))
			return directResultErr(in, res, err)
		}
	})
	directShape(func(f func(unsafe.Pointer, context.Context, T, T) T, r unsafe.Pointer) directFunc {
		return func(ctx context.Context, in []reflect.Value) ([]reflect.Value, error) {
			return directResult(in, f(r, ctx, directArg[T](in[0]), directArg[T](in[1])))
		}
	})
	directShape(func(f func(unsafe.Pointer, context.Context, T, T) (T, error), r unsafe.Pointer) directFunc {
		return func(ctx context.Context, in []reflect.Value) ([]reflect.Value, error) {
			res, err := f(r, ctx, directArg[T](in[0]), directArg[T](in[1]))
			return directResultErr(in, res, err)
		}
	})
}

// directArg returns the argument v holds, which is of type T.
func directArg[T any](v reflect.Value) T {
	if v.CanAddr() {
		return *(*T)(unsafe.Pointer(v.UnsafeAddr()))
	}
	return v.Interface().(T)
}

// directResult returns r as the results: in the room past in's values
// that decodeArray leaves for it, when there is one.
func directResult[T any](in []reflect.Value, r T) ([]reflect.Value, error) {
	out := in[len(in):cap(in)]
	if len(out) == 0 {
		out = make([]reflect.Value, 1)
	}
	out = out[:1]
	out[0] = reflect.ValueOf(r)
	return out, nil
}

func directResultErr[T any](in []reflect.Value, r T, err error) ([]reflect.Value, error) {
	if err != nil {
		return nil, err
	}
	return directResult(in, r)
}
