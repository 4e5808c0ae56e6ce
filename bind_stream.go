package simplerpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// stubStream is how a stub's func type streams, found as the server's
// methods are (iterShape): its last parameter an iterator, its first
// result one, or both.
type stubStream struct {
	in, out          reflect.Type // item types; nil for none
	inSeq, outSeq    reflect.Type // the iterator types
	inErr, outErr    bool         // iter.Seq2[T, error] rather than iter.Seq[T]
	withErr          bool         // the func returns an error after its stream
	params, nresults int          // the parameters before the stream; the results before the error
}

// streamOfStub returns how ft streams, or nil if it does not.
func streamOfStub(ft reflect.Type) *stubStream {
	s := &stubStream{params: ft.NumIn(), nresults: ft.NumOut()}
	if n := ft.NumIn(); n > 0 && !ft.IsVariadic() {
		if elem, withErr, ok := iterShape(ft.In(n - 1)); ok {
			s.in, s.inSeq, s.inErr = elem, ft.In(n-1), withErr
			s.params--
		}
	}
	if ft.NumOut() > 0 {
		if elem, withErr, ok := iterShape(ft.Out(0)); ok {
			s.out, s.outSeq, s.outErr = elem, ft.Out(0), withErr
			s.withErr = ft.NumOut() == 2 && ft.Out(1) == errorType
			s.nresults = 0
		}
	}
	if s.in == nil && s.out == nil {
		return nil
	}
	if s.out == nil && ft.NumOut() > 0 && ft.Out(ft.NumOut()-1) == errorType {
		s.nresults--
	}
	return s
}

// kind names the shape as streamShape.kind does.
func (s *stubStream) kind() string {
	return (&streamShape{in: s.in, out: s.out}).kind()
}

// bindStream makes the func of a stub field that streams.
func (c *Client) bindStream(method string, ft reflect.Type, s *stubStream) (reflect.Value, error) {
	if s.out != nil && (ft.NumOut() > 2 || ft.NumOut() == 2 && !s.withErr) {
		return reflect.Value{}, errors.New("a stream result may be followed only by an error result")
	}
	if s.out == nil && (ft.NumOut() == 0 || ft.Out(ft.NumOut()-1) != errorType) {
		return reflect.Value{}, errors.New("must return error as its last result")
	}
	withCtx := ft.NumIn() > 0 && ft.In(0) == contextType
	first := 0
	if withCtx {
		first = 1
	}
	for i := first; i < s.params; i++ {
		if err := encodable(ft.In(i), nil); err != nil {
			return reflect.Value{}, fmt.Errorf("parameter %d: %w", i+1, err)
		}
	}
	for _, t := range []reflect.Type{s.in, s.out} {
		if t != nil {
			if err := checkItem(t); err != nil {
				return reflect.Value{}, err
			}
		}
	}
	for i := 0; i < s.nresults; i++ {
		if err := encodable(ft.Out(i), nil); err != nil {
			return reflect.Value{}, fmt.Errorf("result %d: %w", i+1, err)
		}
	}
	return reflect.MakeFunc(ft, func(in []reflect.Value) []reflect.Value {
		ctx := context.Background()
		if withCtx {
			if x, ok := in[0].Interface().(context.Context); ok && x != nil {
				ctx = x
			}
		}
		args := make([]any, 0, s.params)
		for _, a := range in[first:s.params] {
			args = append(args, a.Interface())
		}
		var input reflect.Value
		if s.in != nil {
			input = in[len(in)-1]
		}
		if s.out == nil {
			return c.upload(ctx, method, ft, s, args, input)
		}
		return c.download(ctx, method, ft, s, args, input)
	}), nil
}

// upload is a stub call of a method that takes a stream and returns
// values: it sends the caller's items, then waits for the results.
func (c *Client) upload(ctx context.Context, method string, ft reflect.Type, s *stubStream, args []any, input reflect.Value) []reflect.Value {
	out := make([]reflect.Value, ft.NumOut())
	fail := func(err error) []reflect.Value {
		for i := 0; i < s.nresults; i++ {
			out[i] = reflect.Zero(ft.Out(i))
		}
		out[s.nresults] = reflect.ValueOf(&err).Elem()
		return out
	}
	st, err := c.OpenStream(ctx, method, args...)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	if err := sendAll(st, s, input); err != nil {
		return fail(err)
	}
	ptrs := make([]any, s.nresults)
	for i := range ptrs {
		p := reflect.New(ft.Out(i))
		ptrs[i], out[i] = p.Interface(), p.Elem()
	}
	if err := st.Finish(ptrs...); err != nil {
		return fail(err)
	}
	out[s.nresults] = reflect.Zero(errorType)
	return out
}

// sendAll sends the items of input, the caller's iterator, then ends the
// client's half. The stream ending first stops it without an error: its
// own error is Finish's or Recv's to report. An error the iterator yields
// is returned, for the caller to cancel the stream with.
func sendAll(st *ClientStream, s *stubStream, input reflect.Value) error {
	if !input.IsValid() || input.IsNil() {
		return st.CloseSend()
	}
	if s.inErr {
		for v, ev := range input.Seq2() {
			if err, _ := ev.Interface().(error); err != nil {
				return err // the caller cancels the stream
			}
			if st.Send(v.Interface()) != nil {
				return nil
			}
		}
	} else {
		for v := range input.Seq() {
			if st.Send(v.Interface()) != nil {
				return nil
			}
		}
	}
	return st.CloseSend()
}

// download is a stub call of a method that returns a stream (and may take
// one): it returns an iterator of the server's items. With an error
// result, the stream opens before the stub returns; without, when the
// loop starts.
func (c *Client) download(ctx context.Context, method string, ft reflect.Type, s *stubStream, args []any, input reflect.Value) []reflect.Value {
	var st *ClientStream
	if s.withErr {
		var err error
		if st, err = c.OpenStream(ctx, method, args...); err == nil {
			if err = st.opened(); err != nil {
				st.Close()
			}
		}
		if err != nil {
			return []reflect.Value{reflect.Zero(s.outSeq), reflect.ValueOf(&err).Elem()}
		}
	}
	used := false
	seq := reflect.MakeFunc(s.outSeq, func(a []reflect.Value) []reflect.Value {
		yield := a[0]
		stream := st
		if used {
			c.yieldErr(yield, s, method, errStreamUsed)
			return nil
		}
		used = true
		if stream == nil {
			var err error
			if stream, err = c.OpenStream(ctx, method, args...); err != nil {
				c.yieldErr(yield, s, method, err)
				return nil
			}
		}
		defer stream.Close()
		failed := make(chan error, 1)
		if s.in != nil {
			go func() { // ends when the caller's iterator does
				if err := sendAll(stream, s, input); err != nil {
					failed <- err
					stream.Close()
				}
			}()
		} else {
			_ = stream.CloseSend()
		}
		for {
			v := reflect.New(s.out)
			err := stream.Recv(v.Interface())
			if err == io.EOF {
				return nil
			}
			if err != nil {
				select {
				case ferr := <-failed:
					err = ferr // the caller's iterator failed, and canceled the stream
				default:
				}
				c.yieldErr(yield, s, method, err)
				return nil
			}
			item := []reflect.Value{v.Elem()}
			if s.outErr {
				item = append(item, reflect.Zero(errorType))
			}
			if !yield.Call(item)[0].Bool() {
				return nil
			}
		}
	})
	if ft.NumOut() == 2 {
		return []reflect.Value{seq, reflect.Zero(errorType)}
	}
	return []reflect.Value{seq}
}

// yieldErr ends a stub's iterator with err: as its last pair for an
// iter.Seq2[T, error]; an iter.Seq[T] has no room for it, so it is logged.
func (c *Client) yieldErr(yield reflect.Value, s *stubStream, method string, err error) {
	if !s.outErr {
		c.cfg.logger.Debug("simplerpc: stream ended with an error its iter.Seq cannot yield", "method", method, "error", err)
		return
	}
	yield.Call([]reflect.Value{reflect.Zero(s.out), reflect.ValueOf(&err).Elem()})
}
