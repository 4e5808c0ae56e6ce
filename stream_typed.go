package simplerpc

import (
	"context"
	"iter"
	"reflect"

	"github.com/simplerpc/simplerpc/internal/codec"
)

// rangeTyped ranges over it, a method's result iterator, without
// reflection when its type is an iterator of a common item type —
// reflect.Value.Seq costs a reflective call per item, more than the rest
// of sending a small one. It reports whether it knew the type, and the
// error the iterator yielded or send returned, which ends the loop.
func rangeTyped(it any, send func(any) error) (handled bool, iterErr, sendErr error) {
	switch it := it.(type) {
	case iter.Seq2[int64, error]:
		iterErr, sendErr = rangeSeq2Boxed(it, send)
	case iter.Seq2[int, error]:
		iterErr, sendErr = rangeSeq2Boxed(it, send)
	case iter.Seq2[string, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq2[[]byte, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq2[float64, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq2[any, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq[int64]:
		sendErr = rangeSeqBoxed(it, send)
	case iter.Seq[int]:
		sendErr = rangeSeqBoxed(it, send)
	case iter.Seq[string]:
		sendErr = rangeSeq(it, send)
	case iter.Seq[[]byte]:
		sendErr = rangeSeq(it, send)
	case iter.Seq[float64]:
		sendErr = rangeSeq(it, send)
	case iter.Seq[any]:
		sendErr = rangeSeq(it, send)
	default:
		return false, nil, nil
	}
	return true, iterErr, sendErr
}

func rangeSeq2[T any](it iter.Seq2[T, error], send func(any) error) (iterErr, sendErr error) {
	for v, err := range it {
		if err != nil {
			return err, nil
		}
		if sendErr = send(v); sendErr != nil {
			return nil, sendErr
		}
	}
	return nil, nil
}

// rangeSeq2Boxed is rangeSeq2 for integer items, which it sends through
// one pointer it reuses (send encodes an item before it returns, and
// keeps nothing of it): an integer put in an interface as it is takes an
// allocation of its own, one per item.
func rangeSeq2Boxed[T int | int64](it iter.Seq2[T, error], send func(any) error) (iterErr, sendErr error) {
	box := new(T)
	for v, err := range it {
		if err != nil {
			return err, nil
		}
		*box = v
		if sendErr = send(box); sendErr != nil {
			return nil, sendErr
		}
	}
	return nil, nil
}

// rangeSeqBoxed is rangeSeq2Boxed for an iter.Seq.
func rangeSeqBoxed[T int | int64](it iter.Seq[T], send func(any) error) error {
	box := new(T)
	for v := range it {
		*box = v
		if err := send(box); err != nil {
			return err
		}
	}
	return nil
}

func rangeSeq[T any](it iter.Seq[T], send func(any) error) error {
	for v := range it {
		if err := send(v); err != nil {
			return err
		}
	}
	return nil
}

// typedInputs build the iterator a method receives its items through,
// for a parameter of a common item type, without reflection: the
// reflective one (serverStream.input) calls the method's yield through
// reflect.Value.Call for every item.
var bytesType = reflect.TypeFor[[]byte]()

var typedInputs = map[reflect.Type]func(st *serverStream, ctx context.Context, c codec.Codec, method string) any{
	reflect.TypeFor[iter.Seq2[int64, error]]():   inputSeq2[int64],
	reflect.TypeFor[iter.Seq2[int, error]]():     inputSeq2[int],
	reflect.TypeFor[iter.Seq2[string, error]]():  inputSeq2[string],
	reflect.TypeFor[iter.Seq2[[]byte, error]]():  inputSeq2[[]byte],
	reflect.TypeFor[iter.Seq2[float64, error]](): inputSeq2[float64],
	reflect.TypeFor[iter.Seq2[any, error]]():     inputSeq2[any],
	reflect.TypeFor[iter.Seq[int64]]():           inputSeq[int64],
	reflect.TypeFor[iter.Seq[int]]():             inputSeq[int],
	reflect.TypeFor[iter.Seq[string]]():          inputSeq[string],
	reflect.TypeFor[iter.Seq[[]byte]]():          inputSeq[[]byte],
	reflect.TypeFor[iter.Seq[float64]]():         inputSeq[float64],
	reflect.TypeFor[iter.Seq[any]]():             inputSeq[any],

	reflect.TypeFor[iter.Seq2[BorrowedBytes, error]](): inputBorrowedSeq2, // stream_borrowed.go
	reflect.TypeFor[iter.Seq[BorrowedBytes]]():         inputBorrowedSeq,
}

func inputSeq2[T any](st *serverStream, ctx context.Context, c codec.Codec, method string) any {
	return iter.Seq2[T, error](func(yield func(T, error) bool) {
		defer st.stopReading()
		for {
			v, ok, err := nextItem[T](st, ctx, c, method)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			if !ok || !yield(v, nil) {
				return
			}
		}
	})
}

func inputSeq[T any](st *serverStream, ctx context.Context, c codec.Codec, method string) any {
	return iter.Seq[T](func(yield func(T) bool) {
		defer st.stopReading()
		for {
			v, ok, err := nextItem[T](st, ctx, c, method)
			if err != nil || !ok || !yield(v) {
				return
			}
		}
	})
}

// nextItem waits for the client's next item and decodes it: ok is false
// at the end of the client's half, and err says why the items end early
// (the stream's context ended; the item did not decode, which the reply
// reports too). A []byte item is the copy the stream made as it arrived
// (queueItem), which no one else holds: the method may keep it.
func nextItem[T any](st *serverStream, ctx context.Context, c codec.Codec, method string) (v T, ok bool, err error) {
	item, ok, err := st.next(ctx)
	if !ok {
		if err != nil {
			return v, false, streamContextError(ctx, method)
		}
		return v, false, nil
	}
	if p, isBytes := any(&v).(*[]byte); isBytes && item.bytes {
		*p = item.b
		return v, true, nil
	}
	if err := c.Unmarshal(item.b, &v); err != nil {
		return v, false, st.decodeFailed(method, err)
	}
	return v, true, nil
}
