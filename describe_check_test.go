package simplerpc_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// PointAlike has Point's shape under another name.
type PointAlike struct {
	X     int64 `json:"x"`
	Y     int8  `json:"y"`
	Label string
}

func TestBindContractAccepts(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr)
	var calc struct {
		Add       func(a, b int64) (uint8, error)              // other integer sizes
		AddCtx    func(ctx context.Context, a, b int) error    `simplerpc:"Add"` // fewer results
		Sum       func(a, b, c int) (int, error)               // fixed arguments to a variadic method
		SumSome   func(a int, rest ...int32) (int, error)      `simplerpc:"Sum"`
		Describe  func(p PointAlike) (string, error)           // another type of the same shape
		ByPtr     func(p *Point) (*string, error)              `simplerpc:"Describe"`
		Fields    func(x, y int, label string) (string, error) `simplerpc:"Describe"` // fields by position
		Prefix    func(x int) (string, error)                  `simplerpc:"Describe"`
		AsMap     func(m map[string]any) (string, error)       `simplerpc:"Describe"`
		Echo      func(b []byte) ([]byte, error)
		Anything  func(a, b any) (any, error) `simplerpc:"Add"`
		DivMod    func(a, b int) (q int, err error)
		Unchecked func() error `simplerpc:"-"`
	}
	if err := c.Bind("Calc", &calc); err != nil {
		t.Fatal(err)
	}
	if s, err := calc.Fields(1, 2, "f"); err != nil || s != "f(1,2)" {
		t.Errorf("Fields = %q, %v", s, err)
	}
	if s, err := calc.SumSome(1, 2, 3); err != nil || s != 6 {
		t.Errorf("SumSome = %d, %v", s, err)
	}
}

func TestBindContractDiff(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr)
	var calc struct {
		Add      func(a string) (int, error)
		Ok       func(a, b int) (int, error) `simplerpc:"Add"`
		Mul      func(a, b int) (int, error)
		Ad       func(a, b int) (int, error)
		DivMod   func(a, b int) (int, int, int, error)
		Div      func(a, b int) (float64, error)
		Sum      func(nums []int) (int, error)
		Variadic func(a ...int) (int, error) `simplerpc:"Add"`
		Echo     func(s string) (string, error)
		Describe func(p struct{ Z int }) (string, error)
		Greet    func(name string) (int, error) `simplerpc:"Crash"`
	}
	err := c.Bind("Calc", &calc)
	if err == nil {
		t.Fatal("Bind accepted a mismatched stub")
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{
		`simplerpc: Bind("Calc", *struct{...}): the stub does not match the server:`,
		"the stub does not match the server:",
		"field Add:\n      server has  Add(int, int) int\n      stub says   Add(string) (int, error)\n      - the server takes 2 arguments, the stub passes 1",
		"field Mul: the server has no method Calc.Mul (it has: Add, Block,",
		"field Describe:\n      server has  Describe(simplerpc_test.Point) string\n      stub says   Describe(struct { Z int }) (string, error)",
		"field Ad: the server has no method Calc.Ad; did you mean Add? (it has:",
		"the server returns 2 results, the stub expects 3",
		"argument 1: the server expects float64, the stub passes int\n",
		"declare the last parameter ...int, not []int",
		"the stub is variadic and the server's method is not",
		"argument 1: the server expects []uint8, the stub passes string\n",
		"the stub passes struct { Z int }: the stub's struct has field Z, the server's does not (it has: x, y, Label)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q", want)
		}
	}
	if strings.Contains(msg, "field Ok") || strings.Contains(msg, "field Greet") {
		t.Error("message names a matching field")
	}
	if calc.Ok != nil {
		t.Error("a failed Bind filled a field")
	}
}

func TestBindContractMissingService(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr)
	var stub struct{ Add func(a, b int) (int, error) }
	err := c.Bind("Calculator", &stub)
	if err == nil || !strings.Contains(err.Error(), `the server has no service "Calculator" (it has: Calc)`) {
		t.Errorf("Bind to a missing service: %v", err)
	}
	var fns struct {
		Greet func(int) (string, error) `simplerpc:"greet"`
		Nope  func() error
	}
	err = c.Bind("", &fns)
	if err == nil || !strings.Contains(err.Error(), "field Greet:") || !strings.Contains(err.Error(), "field Nope: the server has no function Nope (it has: greet)") {
		t.Errorf("Bind of functions: %v", err)
	}
}

func TestBindContractServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := simplerpc.NewServer()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	c := dial(t, l.Addr().String(), simplerpc.WithRetry(simplerpc.RetryPolicy{}))
	srv.Close()
	<-done
	var stub struct{ Add func(a, b int) (int, error) }
	err = c.Bind("Calc", &stub)
	if err == nil || !strings.Contains(err.Error(), "cannot check the stub against the server") {
		t.Errorf("Bind with the server gone: %v", err)
	}
}

// descTree has DescNode's shape.
type descTree struct {
	Name string      `json:"name"`
	Kids []*descTree `json:"children"`
}

func TestBindContractNested(t *testing.T) {
	c := dial(t, serveShapes(t, "Shapes"))
	var ok struct {
		Tree  func(n descTree) (descTree, error)
		Mixed func(o map[string]any, f float64, b bool) ([]uint, error)
	}
	if err := c.Bind("Shapes", &ok); err != nil {
		t.Fatalf("recursive shapes: %v", err)
	}
	if n, err := ok.Tree(descTree{Name: "root", Kids: []*descTree{{Name: "leaf"}}}); err != nil || n.Kids[0].Name != "leaf" {
		t.Errorf("Tree = %+v, %v", n, err)
	}
	var bad struct {
		Tree  func(n struct{ Children []string }) error
		Mixed func(o struct {
			When int `json:"when"`
		}, f float64, b bool) error
	}
	err := c.Bind("Shapes", &bad)
	for _, want := range []string{
		"argument 1: the server expects simplerpc_test.DescNode, the stub passes struct { Children []string }: field Children: elements: server a struct, stub a string",
		"field when: server a string, stub an integer",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Bind error lacks %q: %v", want, err)
		}
	}
}
