package main

import (
	"context"
	"fmt"
)

// workload is one call shape measured on every system.
type workload struct {
	name  string // short key, used in progress output
	title string // heading in the report
	// size is the payload carried each way per call; when non-zero the
	// report adds MB/s.
	size int
	// call makes one call and checks the reply cheaply (lengths, sums),
	// so that checking costs little next to the call itself.
	call func(ctx context.Context, c client) error
}

var (
	structIn = &Payload{Data: pattern(1 << 10), Name: "simplerpc-bench"}
	bytesIn  = pattern(64 << 10)
)

// pattern returns n bytes that differ from their neighbours, so a dropped
// or shifted byte shows up in a comparison.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func workloads() []workload {
	return []workload{
		{name: "add", title: "Add(int64, int64) int64", call: callAdd},
		{name: "struct", title: "Echo struct {Data []byte (1 KiB); Name string}", call: callStruct},
		{name: "bytes", title: "Echo 64 KiB []byte", size: len(bytesIn), call: callBytes},
	}
}

func callAdd(ctx context.Context, c client) error {
	sum, err := c.add(ctx, 40, 2)
	if err != nil {
		return err
	}
	if sum != 42 {
		return fmt.Errorf("add(40, 2) = %d", sum)
	}
	return nil
}

func callStruct(ctx context.Context, c client) error {
	out, err := c.echo(ctx, structIn)
	if err != nil {
		return err
	}
	if len(out.Data) != len(structIn.Data) || out.Name != structIn.Name {
		return fmt.Errorf("echo returned %d bytes, name %q", len(out.Data), out.Name)
	}
	return nil
}

func callBytes(ctx context.Context, c client) error {
	out, err := c.echoBytes(ctx, bytesIn)
	if err != nil {
		return err
	}
	if len(out) != len(bytesIn) || out[len(out)-1] != bytesIn[len(bytesIn)-1] {
		return fmt.Errorf("echoBytes returned %d bytes", len(out))
	}
	return nil
}
