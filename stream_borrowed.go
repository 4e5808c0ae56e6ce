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
// the frame reader that read it (frameio.Reader.TakeBack), for that
// connection's later frames alone, when the method asks for the next one
// or stops. A method that keeps an item against the rule so sees later
// bytes of its own client, never another client's.
type lender struct {
	st     *serverStream
	lent   []byte          // the buffer of the item lent last, to give back; nil if it is not the reader's
	from   *frameio.Reader // the reader lent came from
	rd     *frameio.Reader // the reader of the last item that had one, whose spares done drops
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
	l.lent, l.from = item.own, item.from
	if item.from != nil {
		l.rd = item.from
	}
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

// done gives back the buffer of the item lent last, and leaves the
// reader's spares to the collector: a connection keeps none for a stream
// that borrows no more.
func (l *lender) done() {
	l.giveBack()
	if l.rd != nil {
		l.rd.DropSpares()
	}
}

// giveBack gives back the buffer of the item lent last.
func (l *lender) giveBack() {
	if l.lent != nil {
		l.from.TakeBack(l.lent)
		l.lent, l.from = nil, nil
	}
}

func inputBorrowedSeq2(st *serverStream, ctx context.Context, c codec.Codec, method string) any {
	return iter.Seq2[BorrowedBytes, error](func(yield func(BorrowedBytes, error) bool) {
		l := lender{st: st, method: method}
		defer l.done() // after stopReading, which gives back what is queued
		defer st.stopReading()
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
		defer l.done() // after stopReading, which gives back what is queued
		defer st.stopReading()
		for {
			v, ok, err := l.next(ctx, c)
			if err != nil || !ok || !yield(v) {
				return
			}
		}
	})
}
