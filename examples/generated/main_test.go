package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/simplerpc/simplerpc/internal/gen"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun calls the server through the generated clients.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := `Add(2, 3) = 5
Sum(1, 2, 3, 4) = 10
MinMax(5, -2, 9) = -2, 9
Manhattan({3, -4}) = 7
Div(1, 4) = 0.25
Div(1, 0) fails: simplerpc: Calc.Div: application: div(1, 0): division by zero (errors.Is ErrDivByZero: true)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestGeneratedFilesAreFresh regenerates the committed clients, as the
// generate directives in main.go do, and compares.
func TestGeneratedFilesAreFresh(t *testing.T) {
	for _, cfg := range []gen.Config{
		{Type: "Calc", Output: "calc_client.go"},
		{Type: "Calculator", Service: "Calc", Output: "calculator_client.go"},
	} {
		got, err := gen.Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(cfg.Output)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./examples/generated", cfg.Output)
		}
	}
}
