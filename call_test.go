package simplerpc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
)

func TestCallBasics(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		ctx := context.Background()
		var sum int
		if err := c.Call(ctx, "Calc.Add", []any{1, 2}, &sum); err != nil || sum != 3 {
			t.Fatalf("Add = %d, %v; want 3", sum, err)
		}
		if err := c.Call(ctx, "Calc.Sum", []any{1, 2, 3, 4}, &sum); err != nil || sum != 10 {
			t.Fatalf("Sum = %d, %v; want 10", sum, err)
		}
		if err := c.Call(ctx, "Calc.Sum", nil, &sum); err != nil || sum != 0 {
			t.Fatalf("Sum() = %d, %v; want 0", sum, err)
		}
		var q, r int
		if err := c.Call(ctx, "Calc.DivMod", []any{7, 2}, &q, &r); err != nil || q != 3 || r != 1 {
			t.Fatalf("DivMod = %d, %d, %v", q, r, err)
		}
		if err := c.Call(ctx, "Calc.Nothing", nil); err != nil {
			t.Fatal(err)
		}
		var greeting string
		if err := c.Call(ctx, "greet", []any{"ada"}, &greeting); err != nil || greeting != "hello, ada" {
			t.Fatalf("greet = %q, %v", greeting, err)
		}
		var b []byte
		if err := c.Call(ctx, "Calc.Echo", []any{[]byte{0, 1, 255}}, &b); err != nil || string(b) != "\x00\x01\xff" {
			t.Fatalf("Echo = %v, %v", b, err)
		}
		// Fewer result pointers than results: the rest are dropped.
		if err := c.Call(ctx, "Calc.DivMod", []any{7, 2}, &q); err != nil || q != 3 {
			t.Fatalf("DivMod with one result = %d, %v", q, err)
		}
		// More result pointers than results is an error.
		err := c.Call(ctx, "Calc.Add", []any{1, 2}, &q, &r)
		if codeOf(t, err) != simplerpc.CodeInvalidArgument {
			t.Fatalf("too many results: %v", err)
		}
	})
}

func TestStructArguments(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		ctx := context.Background()
		for _, tc := range []struct {
			name string
			args []any
			want string
		}{
			{"positional", []any{1, 2, "p"}, "p(1,2)"},
			{"positional prefix", []any{1, 2}, "(1,2)"},
			{"by json name", []any{map[string]any{"x": 3, "y": 4, "Label": "q"}}, "q(3,4)"},
			{"struct value", []any{Point{X: 5, Y: 6, Label: "r"}}, "r(5,6)"},
			{"none", nil, "(0,0)"},
		} {
			var got string
			if err := c.Call(ctx, "Calc.Describe", tc.args, &got); err != nil || got != tc.want {
				t.Errorf("%s: Describe = %q, %v; want %q", tc.name, got, err, tc.want)
			}
		}
		err := c.Call(ctx, "Calc.Describe", []any{1, 2, "p", 4})
		if codeOf(t, err) != simplerpc.CodeInvalidArgument || !strings.Contains(err.Error(), "at most 3") {
			t.Errorf("too many positional: %v", err)
		}
	})
}

func TestBind(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		var calc struct {
			Add      func(a, b int) (int, error)
			Sum      func(ctx context.Context, nums ...int) (int, error)
			DivMod   func(a, b int) (int, int, error)
			Divide   func(a, b float64) (float64, error) `simplerpc:"Div"`
			Nothing  func() error
			Describe func(p Point) (string, error)
			Ignored  func() `simplerpc:"-"`
		}
		if err := c.Bind("Calc", &calc); err != nil {
			t.Fatal(err)
		}
		if calc.Ignored != nil {
			t.Error("a field tagged \"-\" was bound")
		}
		if s, err := calc.Add(1, 2); err != nil || s != 3 {
			t.Errorf("Add = %d, %v", s, err)
		}
		if s, err := calc.Sum(context.Background(), 1, 2, 3); err != nil || s != 6 {
			t.Errorf("Sum = %d, %v", s, err)
		}
		if q, r, err := calc.DivMod(9, 4); err != nil || q != 2 || r != 1 {
			t.Errorf("DivMod = %d, %d, %v", q, r, err)
		}
		if _, err := calc.Divide(1, 0); !errors.Is(err, ErrDivByZero) {
			t.Errorf("Divide by zero: %v", err)
		}
		if err := calc.Nothing(); err != nil {
			t.Error(err)
		}
		if s, err := calc.Describe(Point{1, 2, "b"}); err != nil || s != "b(1,2)" {
			t.Errorf("Describe = %q, %v", s, err)
		}
		var fns struct {
			Greet func(string) (string, error) `simplerpc:"greet"`
		}
		if err := c.Bind("", &fns); err != nil {
			t.Fatal(err)
		}
		if s, err := fns.Greet("bob"); err != nil || s != "hello, bob" {
			t.Errorf("greet = %q, %v", s, err)
		}
	})
}

func TestBindRefusesBadStubs(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr)
	var noErr struct {
		Add func(a, b int) int
		Ok  func(a, b int) (int, error)
	}
	err := c.Bind("Calc", &noErr)
	if err == nil || !strings.Contains(err.Error(), "field Add") || strings.Contains(err.Error(), "field Ok") {
		t.Errorf("Bind of a func without error: %v", err)
	}
	if err := c.Bind("Calc", noErr); err == nil {
		t.Error("Bind of a non-pointer succeeded")
	}
	var chans struct{ F func(chan int) error }
	if err := c.Bind("Calc", &chans); err == nil || !strings.Contains(err.Error(), "chan") {
		t.Errorf("Bind of a chan parameter: %v", err)
	}
}
