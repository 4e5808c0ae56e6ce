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

// FuzzDecodeCallbackArgs feeds arbitrary argument arrays to methods with
// callbacks on both codecs: decoding may fail, never panic; a callback's
// place holds a slot (uint64) or nothing (a nil func), every other place
// a value of its parameter's type.
func FuzzDecodeCallbackArgs(f *testing.F) {
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
		for _, args := range [][]any{{3, uint64(0)}, {uint64(0), uint64(1)}, {nil}, {nil, uint64(1)}, {-1}, {"x", 1.5}} {
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
		}
	})
}
