// Package calc is the input of the generator's golden tests: a server type
// and an interface with every kind of method the generator handles.
package calc

import (
	"context"
	"errors"
	"time"
)

// Point is a struct argument.
type Point struct {
	X     int `json:"x"`
	Y     int `json:"y"`
	Label string
}

type hidden struct{ N int }

// Calc is a server type.
type Calc struct{}

// Add adds two numbers.
// It never fails.
func (Calc) Add(a, b int) int { return a + b }

// Sum adds any number of numbers.
func (*Calc) Sum(ctx context.Context, nums ...int) (int, error) {
	t := 0
	for _, n := range nums {
		t += n
	}
	return t, ctx.Err()
}

// DivMod divides.
func (Calc) DivMod(a, b int) (q, r int, err error) {
	if b == 0 {
		return 0, 0, errors.New("division by zero")
	}
	return a / b, a % b, nil
}

// Describe takes a struct.
func (Calc) Describe(p Point) string { return p.Label }

// Nothing takes and returns nothing.
func (Calc) Nothing() {}

// When uses types of another package.
func (Calc) When(t time.Time, d time.Duration) (time.Time, error) { return t.Add(d), nil }

// Names takes composite types.
func (Calc) Names(m map[string][]*Point) []string { return nil }

// Concat has fixed arguments before the variadic one.
func (Calc) Concat(ctx context.Context, sep string, parts ...string) string { return "" }

// Clash has parameters named like the generated code's locals.
func (Calc) Clash(c, ctx, err, args int, r0 string, _ bool, v, time float64) int { return 0 }

// Stream cannot be served: channels do not travel.
func (Calc) Stream(ch chan int) error { return nil }

// Hidden takes a type only its own package can name.
func (Calc) Hidden(h hidden) int { return h.N }

func (Calc) unexported() {}

// Calculator is an interface whose methods take a context and return an
// error: the generated client satisfies it.
type Calculator interface {
	// Add adds.
	Add(ctx context.Context, a, b int) (int, error)
	Sum(ctx context.Context, nums ...int) (int, error)
	Reset(ctx context.Context) error
}
