package simplerpc

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/simplerpc/simplerpc/internal/codec"
)

// cbFuzzTarget has the callback parameter shapes argument decoding must
// handle.
type cbFuzzTarget struct{}

func (cbFuzzTarget) Progress(ctx context.Context, n int, f func(done, total int)) int { return n }
func (cbFuzzTarget) Two(f func(string) error, g func(context.Context) (int, error))   {}
func (cbFuzzTarget) Only(f func())                                                    {}
func (cbFuzzTarget) Watch(o cbFuzzObserver, n int)                                    {}

// cbFuzzObserver is an interface of callbacks, with its adapter.
type cbFuzzObserver interface {
	OnEvent(string) error
	OnDone()
}

type cbFuzzObserverProxy struct {
	OnEventFunc func(string) error
	OnDoneFunc  func()
}

func (p cbFuzzObserverProxy) OnEvent(s string) error { return p.OnEventFunc(s) }
func (p cbFuzzObserverProxy) OnDone()                { p.OnDoneFunc() }

// FuzzDecodeCallbackArgs feeds arbitrary argument arrays to methods with
// callbacks on both codecs: decoding may fail, never panic; a callback's
// place holds a slot (uint64) or nothing (a nil func), every other place
// a value of its parameter's type.
func FuzzDecodeCallbackArgs(f *testing.F) {
	if err := RegisterProxy[cbFuzzObserver](cbFuzzObserverProxy{}); err != nil {
		f.Fatal(err)
	}
	var methods []*method
	v := reflect.ValueOf(cbFuzzTarget{})
	for i := 0; i < v.NumMethod(); i++ {
		m, err := newMethod(v.Type().Method(i).Name, v.Type().Method(i).Func, v)
		if err != nil {
			f.Fatal(err)
		}
		if m.callbacks == nil {
			f.Fatalf("%s: no callbacks found", m.name)
		}
		methods = append(methods, m)
	}
	for _, c := range []codec.Codec{codec.CBOR, codec.JSON} {
		for _, args := range [][]any{{3, uint64(0)}, {uint64(0), uint64(1)}, {nil}, {nil, uint64(1)}, {-1}, {"x", 1.5}, {[]uint64{0, 1}, 3}, {[]uint64{0}, 3}, {[]any{nil, "x"}, 1}} {
			var buf bytes.Buffer
			_ = c.AppendArray(&buf, args)
			f.Add(c.Name() == "json", buf.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, useJSON bool, data []byte) {
		c := codec.CBOR
		if useJSON {
			c = codec.JSON
		}
		for _, m := range methods {
			args, e := m.decodeArgs(c, data)
			if e != nil {
				if e.Code != CodeInvalidArgument {
					t.Fatalf("%s: code %v", m.name, e.Code)
				}
				continue
			}
			if len(args) != m.lead+len(m.params) {
				t.Fatalf("%s: %d values for %d leading values and %d params", m.name, len(args), m.lead, len(m.params))
			}
			cb := 0
			for i, a := range args[m.lead:] {
				if cb < len(m.callbacks) && m.callbacks[cb].index == i {
					if pa := m.callbacks[cb].iface; pa != nil {
						cb++
						if a.IsValid() && (a.Type() != reflect.TypeFor[[]uint64]() || a.Len() != len(pa.methods)) {
							t.Fatalf("%s: interface %d decoded as %s of %d", m.name, i, a.Type(), a.Len())
						}
						continue
					}
					cb++
					if a.IsValid() && a.Kind() != reflect.Uint64 {
						t.Fatalf("%s: callback %d decoded as %s", m.name, i, a.Type())
					}
					continue
				}
				if a.Type() != m.params[i] {
					t.Fatalf("%s: arg %d is %s, want %s", m.name, i, a.Type(), m.params[i])
				}
			}
			// The proxies made of what was decoded are of the parameters'
			// types (without a client, they would refuse to run).
			m.bindCallbacks(context.Background(), args)()
			for _, p := range m.callbacks {
				if a := args[m.lead+p.index]; !a.Type().AssignableTo(m.params[p.index]) {
					t.Fatalf("%s: callback %d bound as %s", m.name, p.index, a.Type())
				}
			}
		}
	})
}
