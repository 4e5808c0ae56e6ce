package simplerpc_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"unsafe"

	"github.com/simplerpc/simplerpc"
)

type Mixed struct{}

func (Mixed) Good(a int) int                { return a }
func (Mixed) Stream(ch chan int)            {}
func (Mixed) Callback() func()              { return nil }
func (Mixed) Raw(p unsafe.Pointer)          {}
func (Mixed) Ctx(ctx context.Context) error { return nil }

type OnlyBad struct{}

func (OnlyBad) Stream(ch chan int) {}

type PtrOnly struct{}

func (*PtrOnly) M() {}

func TestRegister(t *testing.T) {
	var logs syncBuffer
	srv := simplerpc.NewServer(simplerpc.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := srv.Register("", Mixed{}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"Mixed.Stream", "Mixed.Callback", "Mixed.Raw"} {
		if !strings.Contains(logs.String(), m) {
			t.Errorf("no warning names %s:\n%s", m, logs.String())
		}
	}
	if strings.Contains(logs.String(), "Mixed.Good") || strings.Contains(logs.String(), "Mixed.Ctx") {
		t.Errorf("an exposable method was warned about:\n%s", logs.String())
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"taken", srv.Register("Mixed", Mixed{}), "already registered"},
		{"nothing exposable", srv.Register("Bad", OnlyBad{}), "none can be exposed: Stream"},
		{"pointer receivers", srv.Register("P", PtrOnly{}), "register a *simplerpc_test.PtrOnly"},
		{"nil", srv.Register("N", nil), "nil"},
		{"dotted", srv.Register("a.b", Mixed{}), "dots"},
		{"func taken by service", srv.RegisterFunc("Mixed", func() {}), "already registered"},
		{"not a func", srv.RegisterFunc("f", 3), "not a function"},
		{"bad func", srv.RegisterFunc("f", func(chan int) {}), "chan"},
		{"ctx not first", srv.RegisterFunc("f", func(int, context.Context) {}), "only the first parameter"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, tc.err, tc.want)
		}
	}
	if err := srv.RegisterFunc("f", func() {}); err != nil {
		t.Fatal(err)
	}
	if err := srv.RegisterFunc("f", func() {}); err == nil {
		t.Error("a function name registered twice")
	}
	if err := srv.Register("", &PtrOnly{}); err != nil {
		t.Errorf("pointer registration: %v", err)
	}
}
