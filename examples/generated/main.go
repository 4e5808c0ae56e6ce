// Command generated shows a client written by "simplerpc gen": it serves
// Calc on loopback and calls it through the generated, typed CalcClient
// and through CalculatorClient, which satisfies the Calculator interface.
package main

//go:generate go run github.com/simplerpc/simplerpc/cmd/simplerpc gen -type Calc -o calc_client.go
//go:generate go run github.com/simplerpc/simplerpc/cmd/simplerpc gen -type Calculator -service Calc -o calculator_client.go

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/simplerpc/simplerpc"
)

func init() { simplerpc.RegisterError("example.div_by_zero", ErrDivByZero) }

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "generated:", err)
		os.Exit(1)
	}
}

// run serves Calc on loopback and calls it through the generated clients.
func run(w io.Writer) error {
	srv := simplerpc.NewServer()
	if err := srv.Register("Calc", Calc{}); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	defer func() { srv.Close(); <-done }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rpc, err := simplerpc.Dial(ctx, l.Addr().String())
	if err != nil {
		return err
	}
	defer rpc.Close()

	calc := NewCalcClient(rpc)
	sum, err := calc.Add(ctx, 2, 3)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Add(2, 3) = %d\n", sum)
	total, err := calc.Sum(ctx, 1, 2, 3, 4)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Sum(1, 2, 3, 4) = %d\n", total)
	lo, hi, err := calc.MinMax(ctx, 5, -2, 9)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "MinMax(5, -2, 9) = %d, %d\n", lo, hi)
	n, err := calc.Manhattan(ctx, Point{X: 3, Y: -4})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Manhattan({3, -4}) = %d\n", n)

	// Code written against the interface works with the generated client.
	var c Calculator = NewCalculatorClient(rpc)
	q, err := c.Div(ctx, 1, 4)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Div(1, 4) = %g\n", q)
	_, err = c.Div(ctx, 1, 0)
	fmt.Fprintf(w, "Div(1, 0) fails: %v (errors.Is ErrDivByZero: %t)\n", err, errors.Is(err, ErrDivByZero))
	if !errors.Is(err, ErrDivByZero) {
		return fmt.Errorf("Div(1, 0): want ErrDivByZero, got %w", err)
	}
	return nil
}
