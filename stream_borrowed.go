package simplerpc

import (
	"context"
	"iter"
	"reflect"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/frameio"
)

// BorrowedBytes is a []byte stream item that its receiver only borrows:
// it may read an item until it asks for the next one, or until the body of
// its range loop returns, and must copy what it keeps. It is the item type
// of a stream a method receives when the method reads each chunk and is
// done with it (hashes it, writes it to a file, counts it): the server then
// hands the method each large item in the buffer the connection read it
// into, and reads a later item into that buffer again, where a []byte item
// is a slice of its own, allocated for every item.
//
//	func (s *Store) Upload(ctx context.Context, name string, chunks iter.Seq2[simplerpc.BorrowedBytes, error]) (int64, error)
//
// The rule is bufio.Scanner.Bytes's. On the wire, and in the method's
// description, a BorrowedBytes item is a []byte item: a client sends it as
// []byte (its stub may declare iter.Seq2[[]byte, error], or BorrowedBytes,
// which to a sender is just bytes), and `simplerpc gen` writes []byte.
type BorrowedBytes []byte

var borrowedType = reflect.TypeFor[BorrowedBytes]()

// itemGoName names a stream's item type t for its description: a
// BorrowedBytes item is described as the []byte it is on the wire.
func itemGoName(t reflect.Type) string {
	if t == borrowedType {
		return bytesType.String()
	}
	return t.String()
}

// A lender hands a method the items of its stream one at a time, each
// valid until the next: it gives the buffer of the item lent last back to
// the frame reader's pool (frameio.Recycle) when the method asks for the
// next one or stops.
type lender struct {
	st     *serverStream
	lent   []byte // the buffer of the item lent last, to recycle; nil if it is not the reader's
	method string
}

// next returns the next item, giving the last one's buffer back first.
func (l *lender) next(ctx context.Context, c codec.Codec) (BorrowedBytes, bool, error) {
	l.giveBack()
	item, ok, err := l.st.next(ctx)
	if !ok {
		if err != nil {
			return nil, false, streamContextError(ctx, l.method)
		}
		return nil, false, nil
	}
	l.lent = item.own
	if item.bytes {
		return item.b, true, nil
	}
	var v []byte
	err = c.Unmarshal(item.b, &v)
	l.giveBack() // decoded out of it
	if err != nil {
		return nil, false, l.st.decodeFailed(l.method, err)
	}
	return v, true, nil
}

// giveBack recycles the buffer of the item lent last.
func (l *lender) giveBack() {
	if l.lent != nil {
		frameio.Recycle(l.lent)
		l.lent = nil
	}
}

func inputBorrowedSeq2(st *serverStream, ctx context.Context, c codec.Codec, method string) any {
	return iter.Seq2[BorrowedBytes, error](func(yield func(BorrowedBytes, error) bool) {
		l := lender{st: st, method: method}
		defer st.stopReading()
		defer l.giveBack()
		for {
			v, ok, err := l.next(ctx, c)
			if err != nil {
				yield(nil, err)
				return
			}
			if !ok || !yield(v, nil) {
				return
			}
		}
	})
}

func inputBorrowedSeq(st *serverStream, ctx context.Context, c codec.Codec, method string) any {
	return iter.Seq[BorrowedBytes](func(yield func(BorrowedBytes) bool) {
		l := lender{st: st, method: method}
		defer st.stopReading()
		defer l.giveBack()
		for {
			v, ok, err := l.next(ctx, c)
			if err != nil || !ok || !yield(v) {
				return
			}
		}
	})
}
