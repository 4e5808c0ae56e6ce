package simplerpc_test

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Shapes is a service whose methods take the argument shapes of
// docs/types.md.
type Shapes struct{}

// Offset is a struct of one field: by position it is that field.
type Offset struct {
	DX int `json:"dx"`
}

func (Shapes) Move(o Offset) int { return o.DX }

// Person has fields of their own shape: named arguments check only the
// top-level keys.
type Person struct {
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Home      Address `json:"home"`
}

// Address is a nested struct.
type Address struct {
	City string `json:"city"`
}

func (Shapes) Greet(p Person) string {
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", p.FirstName, p.LastName, p.Home.City))
}

// Wrapper's only field is a struct: one map is always the named form.
type Wrapper struct {
	Inner Point `json:"inner"`
}

func (Shapes) Unwrap(w Wrapper) string {
	return fmt.Sprintf("%s(%d,%d)", w.Inner.Label, w.Inner.X, w.Inner.Y)
}

func (Shapes) EchoAny(v any) any { return v }

func (Shapes) TypeOf(v any) string { return fmt.Sprintf("%T", v) }

// Year takes a struct that decodes itself: an ordinary parameter.
func (Shapes) Year(t time.Time) int { return t.Year() }

// Empty is a struct with no fields: [] or {} call it.
type Empty struct{}

func (Shapes) Ping(Empty) string { return "pong" }

// shapesServer starts a server with Shapes registered and returns clients
// of both codecs.
func shapesServer(t *testing.T) (*testServer, map[string]*simplerpc.Client) {
	ts := startServer(t)
	if err := ts.srv.Register("Shapes", Shapes{}); err != nil {
		t.Fatal(err)
	}
	clients := map[string]*simplerpc.Client{}
	for _, name := range codecs {
		clients[name] = dial(t, ts.addr, simplerpc.WithCodec(name))
	}
	return ts, clients
}

// TestStructArgumentRule checks the one rule for a struct parameter: one
// map is by name; anything else is a prefix of the fields by position.
func TestStructArgumentRule(t *testing.T) {
	ts, clients := shapesServer(t)
	ctx := context.Background()
	for name, c := range clients {
		var n int
		if err := c.Call(ctx, "Shapes.Move", []any{5}, &n); err != nil || n != 5 {
			t.Errorf("%s: Move(5) = %d, %v", name, n, err)
		}
		if err := c.Call(ctx, "Shapes.Move", []any{map[string]int{"dx": 6}}, &n); err != nil || n != 6 {
			t.Errorf("%s: Move(dx=6) = %d, %v", name, n, err)
		}
		if err := c.Call(ctx, "Shapes.Move", []any{Offset{DX: 7}}, &n); err != nil || n != 7 {
			t.Errorf("%s: Move(Offset{7}) = %d, %v", name, n, err)
		}
		if err := c.Call(ctx, "Shapes.Move", nil, &n); err != nil || n != 0 {
			t.Errorf("%s: Move() = %d, %v", name, n, err)
		}
		var s string
		// One map: by name, even though the only field is a struct.
		if err := c.Call(ctx, "Shapes.Unwrap", []any{map[string]any{"inner": Point{X: 1, Y: 2, Label: "p"}}}, &s); err != nil || s != "p(1,2)" {
			t.Errorf("%s: Unwrap(inner=...) = %q, %v", name, s, err)
		}
		err := c.Call(ctx, "Shapes.Unwrap", []any{Point{X: 1, Y: 2, Label: "p"}}, &s)
		if codeOf(t, err) != simplerpc.CodeInvalidArgument || !strings.Contains(err.Error(), `no parameter "Label", "x", "y"`) {
			t.Errorf("%s: Unwrap with the field's value as the map: %v", name, err)
		}
		// A struct that decodes itself is one ordinary argument.
		when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
		if err := c.Call(ctx, "Shapes.Year", []any{when}, &n); err != nil || n != 2024 {
			t.Errorf("%s: Year = %d, %v", name, n, err)
		}
		if err := c.Call(ctx, "Shapes.Year", nil, &n); codeOf(t, err) != simplerpc.CodeInvalidArgument {
			t.Errorf("%s: Year without its argument: %v", name, err)
		}
		for _, args := range [][]any{nil, {map[string]any{}}} {
			if err := c.Call(ctx, "Shapes.Ping", args, &s); err != nil || s != "pong" {
				t.Errorf("%s: Ping(%v) = %q, %v", name, args, s, err)
			}
		}
	}
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	wantResult(t, "Move by position", rpc(t, hc, url, call("Shapes.Move", `[5]`, 1)), `5`)
	wantResult(t, "Move by name", rpc(t, hc, url, call("Shapes.Move", `{"dx":5}`, 1)), `5`)
	wantResult(t, "Unwrap by name", rpc(t, hc, url, call("Shapes.Unwrap", `{"inner":{"x":1,"y":2,"Label":"q"}}`, 1)), `"q(1,2)"`)
	// One map is by name, also inside a positional params array.
	wantError(t, "Unwrap's field as the only element", rpc(t, hc, url, call("Shapes.Unwrap", `[{"x":1,"y":2,"Label":"q"}]`, 1)),
		-32602, `has no parameter "Label", "x", "y"`)
}

// TestUnknownNamedArguments checks that a named argument that names no
// field is refused, with the nearest name, over both codecs and JSON-RPC;
// keys inside the fields' values are not checked.
func TestUnknownNamedArguments(t *testing.T) {
	ts, clients := shapesServer(t)
	ctx := context.Background()
	for name, c := range clients {
		var s string
		err := c.Call(ctx, "Shapes.Greet", []any{map[string]any{"first_nme": "typo"}}, &s)
		if codeOf(t, err) != simplerpc.CodeInvalidArgument ||
			!strings.Contains(err.Error(), `Shapes.Greet has no parameter "first_nme" (did you mean "first_name"?)`) {
			t.Errorf("%s: misspelt name: %v", name, err)
		}
		err = c.Call(ctx, "Shapes.Greet", []any{map[string]any{"firstName": "a", "zzz": 1, "first_name": "b"}}, &s)
		if codeOf(t, err) != simplerpc.CodeInvalidArgument ||
			!strings.Contains(err.Error(), `"firstName" (did you mean "first_name"?), "zzz"`) {
			t.Errorf("%s: two unknown names: %v", name, err)
		}
		// Names match ignoring case; nested keys follow the codecs' rule.
		args := map[string]any{"First_Name": "Ann", "last_name": "Lee", "home": map[string]any{"city": "Oslo", "zip": "0150"}}
		if err := c.Call(ctx, "Shapes.Greet", []any{args}, &s); err != nil || s != "Ann Lee Oslo" {
			t.Errorf("%s: Greet = %q, %v", name, s, err)
		}
	}
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	wantError(t, "JSON-RPC misspelt name", rpc(t, hc, url, call("Shapes.Greet", `{"first_nme":"typo"}`, 1)),
		-32602, `has no parameter "first_nme" (did you mean "first_name"?)`)
	wantError(t, "JSON-RPC duplicate name", rpc(t, hc, url, call("Shapes.Greet", `{"first_name":"a","First_Name":"b"}`, 1)),
		-32602, "duplicate map key")
	wantResult(t, "JSON-RPC nested unknown key", rpc(t, hc, url, call("Shapes.Greet", `{"first_name":"Ann","home":{"city":"Oslo","zip":1}}`, 1)), `"Ann  Oslo"`)
}

// TestExactNumbers checks that integers decoded into any keep their value
// beyond 2^53, over both codecs and JSON-RPC.
func TestExactNumbers(t *testing.T) {
	ts, clients := shapesServer(t)
	ctx := context.Background()
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	for name, c := range clients {
		for _, tc := range []struct {
			in   any
			want any
			typ  string
		}{
			{int64(9007199254740993), int64(9007199254740993), "int64"},
			{int64(-9223372036854775808), int64(-9223372036854775808), "int64"},
			{uint64(18446744073709551615), new(big.Int).SetUint64(18446744073709551615), "*big.Int"},
			{huge, huge, "*big.Int"},
			{1.5, 1.5, "float64"},
			{[]any{int64(1) << 60, "x"}, []any{int64(1) << 60, "x"}, "[]interface {}"},
		} {
			var typ string
			if err := c.Call(ctx, "Shapes.TypeOf", []any{tc.in}, &typ); err != nil || typ != tc.typ {
				t.Errorf("%s: TypeOf(%v) = %s, %v; want %s", name, tc.in, typ, err, tc.typ)
			}
			var got any
			if err := c.Call(ctx, "Shapes.EchoAny", []any{tc.in}, &got); err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s: EchoAny(%v) = %v (%T), %v", name, tc.in, got, got, err)
			}
		}
	}
	hc, url := httpClient(t), "http://"+ts.addr+"/"
	wantResult(t, "JSON-RPC exact", rpc(t, hc, url, call("Shapes.EchoAny", `[9007199254740993]`, 1)), `9007199254740993`)
	wantResult(t, "JSON-RPC big", rpc(t, hc, url, call("Shapes.EchoAny", `[123456789012345678901234567890]`, 1)), `123456789012345678901234567890`)
	wantResult(t, "JSON-RPC in a map", rpc(t, hc, url, call("Shapes.EchoAny", `[{"n":9007199254740993,"f":1.0}]`, 1)), `{"f":1,"n":9007199254740993}`)
	wantResult(t, "JSON-RPC type", rpc(t, hc, url, call("Shapes.TypeOf", `[1.0]`, 1)), `"float64"`)
	// Text that is not valid UTF-8, as a duplicate key, makes the params
	// invalid: the request is answered with its id.
	wantError(t, "JSON-RPC lone surrogate", rpc(t, hc, url, call("Shapes.EchoAny", `["\ud800"]`, 1)), -32602, "invalid text")
	wantError(t, "JSON-RPC invalid UTF-8", rpc(t, hc, url, call("Shapes.EchoAny", "[\"\xff\"]", 1)), -32602, "invalid text")
	wantError(t, "JSON-RPC duplicate key", rpc(t, hc, url, call("Shapes.EchoAny", `[{"w":2,"w":3}]`, 1)), -32602, "duplicate map key")
}
