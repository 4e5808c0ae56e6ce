package simplerpc

import "iter"

// rangeTyped ranges over it, a method's result iterator, without
// reflection when its type is an iterator of a common item type —
// reflect.Value.Seq costs a reflective call per item, more than the rest
// of sending a small one. It reports whether it knew the type, and the
// error the iterator yielded or send returned, which ends the loop.
func rangeTyped(it any, send func(any) error) (handled bool, iterErr, sendErr error) {
	switch it := it.(type) {
	case iter.Seq2[int64, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq2[int, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq2[string, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq2[[]byte, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq2[float64, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq2[any, error]:
		iterErr, sendErr = rangeSeq2(it, send)
	case iter.Seq[int64]:
		sendErr = rangeSeq(it, send)
	case iter.Seq[int]:
		sendErr = rangeSeq(it, send)
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

func rangeSeq[T any](it iter.Seq[T], send func(any) error) error {
	for v := range it {
		if err := send(v); err != nil {
			return err
		}
	}
	return nil
}
