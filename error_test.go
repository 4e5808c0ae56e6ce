package simplerpc_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
)

func TestApplicationErrors(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		ctx := context.Background()
		err := c.Call(ctx, "Calc.Div", []any{1.0, 0.0})
		var e *simplerpc.Error
		if !errors.As(err, &e) {
			t.Fatalf("Div by zero: %v", err)
		}
		if e.Code != simplerpc.CodeApplication || e.Message != "division by zero" || e.Method != "Calc.Div" ||
			e.RemoteType != "*errors.errorString" || e.Name != "calc.div_by_zero" {
			t.Errorf("Div by zero: %+v", e)
		}
		if !errors.Is(err, ErrDivByZero) {
			t.Error("errors.Is(err, ErrDivByZero) = false")
		}
		if !strings.Contains(e.Stack, "error chain") {
			t.Errorf("stack of an error with WithStackTraces: %q", e.Stack)
		}

		err = c.Call(ctx, "Calc.DivMod", []any{1, 0})
		var re *RangeError
		if !errors.As(err, &re) || re.Arg != "b" || re.Value != 0 {
			t.Fatalf("errors.As RangeError: %v (%#v)", err, re)
		}
		if codeOf(t, err) != simplerpc.CodeApplication {
			t.Errorf("code %v", codeOf(t, err))
		}
		if !errors.Is(err, &simplerpc.Error{Code: simplerpc.CodeApplication}) {
			t.Error("errors.Is against a code-only *Error failed")
		}
	})
}

func TestPanicIsRecovered(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		err := c.Call(context.Background(), "Calc.Crash", []any{"boom"})
		var e *simplerpc.Error
		if !errors.As(err, &e) || e.Code != simplerpc.CodeInternal || e.Message != "boom" || e.RemoteType != "string" {
			t.Fatalf("panic: %+v", err)
		}
		if !strings.Contains(e.Stack, "(*Calc).Crash") {
			t.Errorf("stack does not name the panicking method:\n%s", e.Stack)
		}
		var sum int
		if err := c.Call(context.Background(), "Calc.Add", []any{2, 2}, &sum); err != nil || sum != 4 {
			t.Fatalf("server stopped serving after a panic: %d, %v", sum, err)
		}
	})
}

func TestNoStackTracesByDefault(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, simplerpc.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	c := dial(t, ts.addr)
	var e *simplerpc.Error
	if err := c.Call(context.Background(), "Calc.Crash", []any{"quiet"}); !errors.As(err, &e) || e.Stack != "" {
		t.Fatalf("stack sent without WithStackTraces: %+v", err)
	}
	if err := c.Call(context.Background(), "Calc.Div", []any{1, 0}); !errors.As(err, &e) || e.Stack != "" {
		t.Fatalf("error chain sent without WithStackTraces: %+v", err)
	}
	if !strings.Contains(logs.String(), "method panicked") || !strings.Contains(logs.String(), "Crash") {
		t.Errorf("the server did not log the panic with its stack: %s", logs.String())
	}
}

func TestDebugLogsServerTraceback(t *testing.T) {
	ts := startServer(t, simplerpc.WithStackTraces(true))
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	c := dial(t, ts.addr, simplerpc.WithDebug(true), simplerpc.WithLogger(logger))
	_ = c.Call(context.Background(), "Calc.Crash", []any{"traced"})
	if out := logs.String(); !strings.Contains(out, "Server side traceback") || !strings.Contains(out, "Crash") {
		t.Errorf("debug client did not log the traceback: %q", out)
	}

	var quiet syncBuffer
	c2 := dial(t, ts.addr, simplerpc.WithLogger(slog.New(slog.NewTextHandler(&quiet, nil))))
	_ = c2.Call(context.Background(), "Calc.Crash", []any{"traced"})
	if quiet.String() != "" {
		t.Errorf("a client without debug logged: %q", quiet.String())
	}
}

func TestNotFoundAndInvalidArguments(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		ctx := context.Background()
		for _, tc := range []struct {
			method string
			args   []any
			code   simplerpc.Code
			msg    string
		}{
			{"Calc.Ad", nil, simplerpc.CodeNotFound, "it has: Add, Block"},
			{"Nope.Add", nil, simplerpc.CodeNotFound, "no service Nope"},
			{"nope", nil, simplerpc.CodeNotFound, "no function nope"},
			{"Calc.unexported", nil, simplerpc.CodeNotFound, "has no method unexported"},
			{"Calc.Add", []any{1}, simplerpc.CodeInvalidArgument, "takes 2 arguments (int, int), got 1"},
			{"Calc.Add", []any{1, 2, 3}, simplerpc.CodeInvalidArgument, "got 3"},
			{"Calc.Add", []any{"one", 2}, simplerpc.CodeInvalidArgument, "argument 1 (int)"},
			{"Calc.Sum", []any{1, "x"}, simplerpc.CodeInvalidArgument, "argument 2 (int)"},
		} {
			err := c.Call(ctx, tc.method, tc.args)
			var e *simplerpc.Error
			if !errors.As(err, &e) || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("%s%v: got %v; want code %v and %q", tc.method, tc.args, err, tc.code, tc.msg)
			}
		}
		var n int
		if err := c.Call(ctx, "Calc.Add", []any{1, 2}, &n); err != nil || n != 3 {
			t.Fatalf("bad calls broke the connection: %v", err)
		}
	})
}

func TestErrorFormatting(t *testing.T) {
	e := &simplerpc.Error{Code: simplerpc.CodeNotFound, Method: "Calc.X", Message: "no"}
	if got, want := e.Error(), "simplerpc: Calc.X: not_found: no"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	for c := simplerpc.CodeApplication; c <= simplerpc.CodePermissionDenied; c++ {
		back, ok := simplerpc.ParseCode(c.String())
		if !ok || back != c {
			t.Errorf("ParseCode(%q) = %v, %v", c.String(), back, ok)
		}
	}
	if _, ok := simplerpc.ParseCode("bogus"); ok {
		t.Error("ParseCode accepted a bogus name")
	}
}
