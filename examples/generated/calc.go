package main

import (
	"context"
	"errors"
	"fmt"
)

// Point is a struct argument.
type Point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

// ErrDivByZero is registered on both sides (see main.go), so the client
// recognizes it with errors.Is.
var ErrDivByZero = errors.New("division by zero")

// Calc is the server type. Its methods need neither a context nor an
// error; the generated CalcClient adds both.
type Calc struct{}

// Add adds two numbers.
func (Calc) Add(a, b int) int { return a + b }

// Sum adds any number of numbers.
func (Calc) Sum(ctx context.Context, nums ...int) (int, error) {
	t := 0
	for _, n := range nums {
		t += n
	}
	return t, ctx.Err()
}

// Div divides, failing on a zero divisor.
func (Calc) Div(a, b float64) (float64, error) {
	if b == 0 {
		return 0, fmt.Errorf("div(%g, %g): %w", a, b, ErrDivByZero)
	}
	return a / b, nil
}

// Manhattan returns the Manhattan length of p.
func (Calc) Manhattan(p Point) int { return abs(p.X) + abs(p.Y) }

// MinMax returns the least and the greatest of nums.
func (Calc) MinMax(first int, nums ...int) (lo, hi int) {
	lo, hi = first, first
	for _, n := range nums {
		lo, hi = min(lo, n), max(hi, n)
	}
	return lo, hi
}

func abs(n int) int { return max(n, -n) }

// Calculator is the service as its callers see it: every method takes a
// context and returns an error. The generated CalculatorClient satisfies
// it, so code written against Calculator works locally or remotely.
type Calculator interface {
	// Add adds two numbers.
	Add(ctx context.Context, a, b int) (int, error)
	// Div divides.
	Div(ctx context.Context, a, b float64) (float64, error)
}
