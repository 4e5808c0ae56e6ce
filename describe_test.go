package simplerpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

func TestDescribe(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		d, err := c.Describe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Services) != 1 || d.Services[0].Name != "Calc" {
			t.Fatalf("services: %+v", d.Services)
		}
		var names []string
		for _, m := range d.Services[0].Methods {
			names = append(names, m.Name)
		}
		want := []string{"Calc.Add", "Calc.Block", "Calc.Crash", "Calc.Describe", "Calc.Div", "Calc.DivMod",
			"Calc.Echo", "Calc.Nothing", "Calc.Sleep", "Calc.Sum", "Calc.Zeros"}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("methods %v, want %v", names, want)
		}
		if len(d.Functions) != 1 || d.Functions[0].Name != "greet" || d.Functions[0].Signature != "greet(string) string" {
			t.Errorf("functions: %+v", d.Functions)
		}
		add := d.Method("Calc.Add")
		if add == nil || add.Signature != "Add(int, int) int" || len(add.Params) != 2 || len(add.Results) != 1 ||
			add.Params[0].Go != "int" || add.Params[0].Schema.Type != "integer" || add.Error || add.Context || add.Variadic {
			t.Errorf("Add: %+v", add)
		}
		sum := d.Method("Calc.Sum")
		if sum == nil || !sum.Variadic || !sum.Context || !sum.Error || len(sum.Params) != 1 ||
			sum.Params[0].Go != "[]int" || sum.Params[0].Schema.Type != "array" || sum.Params[0].Schema.Items.Type != "integer" {
			t.Errorf("Sum: %+v", sum)
		}
		desc := d.Method("Calc.Describe")
		if desc == nil || !desc.StructArg {
			t.Fatalf("Describe: %+v", desc)
		}
		ps := desc.Params[0].Schema
		if ps.Type != "object" || !reflect.DeepEqual(ps.PropertyOrder, []string{"x", "y", "Label"}) ||
			ps.Properties["x"].Type != "integer" || ps.Properties["Label"].Type != "string" {
			t.Errorf("Point schema: %+v", ps)
		}
		if echo := d.Method("Calc.Echo"); echo == nil || echo.Params[0].Schema.ContentEncoding != "base64" {
			t.Errorf("Echo: %+v", echo)
		}
		if d.Method("Calc.Nope") != nil || d.Method("Nope.Add") != nil || d.Method(simplerpc.DescribeMethod) != nil {
			t.Error("Method found what does not exist")
		}
	})
}

func TestDescribeOff(t *testing.T) {
	ts := startServer(t, simplerpc.WithIntrospection(false))
	c := dial(t, ts.addr)
	_, err := c.Describe(context.Background())
	if codeOf(t, err) != simplerpc.CodeNotFound {
		t.Fatalf("Describe with introspection off: %v", err)
	}
	// Bind works as before, without the contract check.
	var calc struct {
		Add func(a, b string) (int, error)
	}
	if err := c.Bind("Calc", &calc); err != nil {
		t.Fatalf("Bind without introspection: %v", err)
	}
	if _, err := calc.Add("1", "2"); codeOf(t, err) != simplerpc.CodeInvalidArgument {
		t.Errorf("mismatched call: %v", err)
	}
}

// The reserved name cannot be taken by a registration.
func TestDescribeNameIsReserved(t *testing.T) {
	srv := simplerpc.NewServer()
	service, method, _ := strings.Cut(simplerpc.DescribeMethod, ".")
	if err := srv.RegisterFunc(simplerpc.DescribeMethod, func() int { return 1 }); err == nil {
		t.Error("RegisterFunc took the reserved name")
	}
	type hasDescribe struct{ Calc }
	if err := srv.Register(service, &hasDescribe{}); err != nil {
		t.Fatalf("Register(%q): %v", service, err)
	}
	if method[0] >= 'A' && method[0] <= 'Z' {
		t.Errorf("the reserved method name %q is exported: a service could register it", method)
	}
}

// DescNode is a recursive type: its schema goes to Defs.
type DescNode struct {
	Name     string      `json:"name"`
	Children []*DescNode `json:"children,omitempty"`
}

// DescShapes has a method for each kind of schema.
type DescShapes struct{}

type descEmbedded struct {
	Inner int `json:"inner"`
	Label string
}

type descOuter struct {
	descEmbedded
	Label string            `json:"label"`
	When  time.Time         `json:"when"`
	Tags  map[string]uint16 `json:"tags"`
	Any   any               `json:"any"`
	Raw   json.RawMessage   `json:"raw"`
	Skip  int               `json:"-"`
	_     int
}

func (DescShapes) Tree(n DescNode) *DescNode                    { return &n }
func (DescShapes) Mixed(o descOuter, f float32, b bool) [3]int8 { return [3]int8{} }

func TestDescribeSchemas(t *testing.T) {
	c := dial(t, serveShapes(t, "DescShapes"), simplerpc.WithCodec("json"))
	d, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tree := d.Method("DescShapes.Tree")
	ref := "#/$defs/simplerpc_test.DescNode"
	if tree.Params[0].Schema.Ref != ref || tree.Results[0].Schema.Ref != ref || !tree.Results[0].Schema.Nullable {
		t.Errorf("Tree: %s", descJSON(tree))
	}
	node := d.Defs["simplerpc_test.DescNode"]
	if node == nil || node.Properties["children"].Items.Ref != ref || !node.Properties["children"].Items.Nullable {
		t.Errorf("Defs: %s", descJSON(d.Defs))
	}
	mixed := d.Method("DescShapes.Mixed")
	o := mixed.Params[0].Schema
	if !reflect.DeepEqual(o.PropertyOrder, []string{"inner", "Label", "label", "when", "tags", "any", "raw"}) {
		t.Errorf("descOuter fields: %v", o.PropertyOrder)
	}
	if o.Properties["when"].Format != "date-time" || o.Properties["tags"].AdditionalProperties.Type != "integer" ||
		o.Properties["any"].Type != "" || o.Properties["raw"].Type != "" {
		t.Errorf("descOuter: %s", descJSON(o))
	}
	if mixed.Params[1].Schema.Type != "number" || mixed.Params[2].Schema.Type != "boolean" ||
		mixed.Results[0].Schema.Type != "array" || mixed.Results[0].Go != "[3]int8" {
		t.Errorf("Mixed: %s", descJSON(mixed))
	}
	if mixed.StructArg || !tree.StructArg {
		t.Errorf("StructArg: Mixed %v, Tree %v", mixed.StructArg, tree.StructArg)
	}
}

func descJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// The describe call is a method like any other: a cancelled context ends it.
func TestDescribeHonorsContext(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Describe(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Describe with a canceled context: %v", err)
	}
}

// The describe call is an entry of the method table, so JSON-RPC over
// HTTP, served on the same port, answers it too.
func TestDescribeOverJSONRPC(t *testing.T) {
	ts := startServer(t)
	body := strings.NewReader(`{"jsonrpc":"2.0","method":"` + simplerpc.DescribeMethod + `","id":1}`)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Post("http://"+ts.addr+"/", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct {
		Result simplerpc.Description
		Error  any
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		t.Fatal(err)
	}
	if reply.Error != nil || reply.Result.Method("Calc.Add") == nil {
		t.Errorf("JSON-RPC describe: %+v", reply)
	}
}

// serveShapes serves DescShapes under name on loopback until the test ends
// and returns the address.
func serveShapes(t *testing.T, name string) string {
	t.Helper()
	srv := simplerpc.NewServer()
	if err := srv.Register(name, DescShapes{}); err != nil {
		t.Fatal(err)
	}
	l := listen(t)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String()
}
