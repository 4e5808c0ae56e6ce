package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc/internal/codec"
)

type directSvc struct{ base int64 }

type directKey struct{}

type meters int64

func (s directSvc) AddV(a, b int64) int64 { return s.base + a + b }
func (s directSvc) Not(a bool) bool       { return !a }
func (directSvc) Mixed(a string, b int) string {
	return strings.Repeat(a, b)
}
func (directSvc) Named(a meters) meters { return a * 2 }
func (s *directSvc) AddP(a, b int64) int64 {
	s.base++
	return s.base + a + b
}
func (*directSvc) Ctx(ctx context.Context, a int) (int, error) {
	v, _ := ctx.Value(directKey{}).(int)
	return a + v, ctx.Err()
}
func (*directSvc) Fail(a string) (string, error) { return "", errors.New("refused " + a) }
func (*directSvc) Boom(float64) float64          { panic("boom") }
func (*directSvc) Half(ctx context.Context, a, b float64) float64 {
	return (a + b) / 2
}

// runMethod decodes args as a call's and invokes m, returning the encoded
// results.
func runMethod(t *testing.T, ctx context.Context, m *method, args ...any) ([]byte, *Error) {
	t.Helper()
	c := codec.ByName("cbor")
	var enc bytes.Buffer
	vals := make([]reflect.Value, len(args))
	for i, a := range args {
		vals[i] = reflect.ValueOf(a)
	}
	if err := c.AppendValues(&enc, vals); err != nil {
		t.Fatal(err)
	}
	in, e := m.decodeArgs(c, enc.Bytes())
	if e != nil {
		t.Fatalf("%s: decoding: %v", m.name, e)
	}
	var out bytes.Buffer
	e, _ = m.invoke(ctx, in, c, &out, false)
	return out.Bytes(), e
}

// A method of a common shape is called without reflect, and a call that
// way answers as reflect.Value.Call does: the same results, the same
// errors and panics, the context it was given, and a value receiver's
// state as it was registered.
func TestDirectCalls(t *testing.T) {
	d := newTestDispatcher(dispatchConfig{})
	if err := d.register("Val", directSvc{base: 10}); err != nil {
		t.Fatal(err)
	}
	ptr := &directSvc{base: 100}
	if err := d.register("Ptr", ptr); err != nil {
		t.Fatal(err)
	}
	if err := d.registerFunc("twice", func(s string) string { return s + s }); err != nil {
		t.Fatal(err)
	}
	if err := d.registerFunc("sub", func(_ context.Context, a, b uint64) (uint64, error) {
		if b > a {
			return 0, errors.New("negative")
		}
		return a - b, nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), directKey{}, 7)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	cases := []struct {
		method string
		ctx    context.Context
		args   []any
		direct bool
		err    string // the error's message holds it; "" for none
	}{
		{"Val.AddV", ctx, []any{int64(1), int64(2)}, true, ""},
		{"Val.Not", ctx, []any{true}, true, ""},
		{"Val.Mixed", ctx, []any{"ab", 3}, false, ""},
		{"Val.Named", ctx, []any{meters(4)}, false, ""},
		{"Ptr.AddV", ctx, []any{int64(1), int64(2)}, true, ""},
		{"Ptr.Ctx", ctx, []any{5}, true, ""},
		{"Ptr.Ctx", canceled, []any{5}, true, "context canceled"},
		{"Ptr.Fail", ctx, []any{"it"}, true, "refused it"},
		{"Ptr.Boom", ctx, []any{1.5}, true, "boom"},
		{"Ptr.Half", ctx, []any{1.0, 2.0}, true, ""},
		{"twice", ctx, []any{"ab"}, true, ""},
		{"sub", ctx, []any{uint64(5), uint64(3)}, true, ""},
		{"sub", ctx, []any{uint64(3), uint64(5)}, true, "negative"},
	}
	for _, tc := range cases {
		m := d.lookupName(tc.method)
		if m == nil {
			t.Fatalf("%s not registered", tc.method)
		}
		if got := m.call != nil; got != tc.direct {
			t.Errorf("%s: called directly %v, want %v", tc.method, got, tc.direct)
		}
		viaReflect, err := newMethod(m.name, m.fn, m.rcvr)
		if err != nil {
			t.Fatal(err)
		}
		viaReflect.call = nil
		want, wantE := runMethod(t, tc.ctx, viaReflect, tc.args...)
		got, gotE := runMethod(t, tc.ctx, m, tc.args...)
		if !bytes.Equal(got, want) {
			t.Errorf("%s%v: results %x, through reflect %x", tc.method, tc.args, got, want)
		}
		switch {
		case tc.err == "" && (gotE != nil || wantE != nil):
			t.Errorf("%s%v: errors %v, through reflect %v", tc.method, tc.args, gotE, wantE)
		case tc.err != "" && (gotE == nil || wantE == nil || !strings.Contains(gotE.Message, tc.err) || gotE.Message != wantE.Message || gotE.Code != wantE.Code):
			t.Errorf("%s%v: error %v, through reflect %v, want one saying %q", tc.method, tc.args, gotE, wantE, tc.err)
		}
	}
	// A pointer receiver is the one registered: its calls change it.
	m := d.lookupName("Ptr.AddP")
	if m.call == nil {
		t.Fatal("Ptr.AddP is called through reflect")
	}
	out, e := runMethod(t, ctx, m, int64(1), int64(2))
	if e != nil {
		t.Fatal(e)
	}
	var sum []int64
	if err := codec.ByName("cbor").Unmarshal(out, &sum); err != nil || len(sum) != 1 || sum[0] != 104 || ptr.base != 101 {
		t.Errorf("Ptr.AddP(1, 2) = %v (%v), receiver's base %d; want [104] and 101", sum, err, ptr.base)
	}
}
