// Package feed is an input of the generator's golden tests: a server type
// with every shape of streaming method.
package feed

import (
	"context"
	"errors"
	"iter"

	"github.com/simplerpc/simplerpc"
)

// Line is a stream item.
type Line struct {
	N    int
	Text string
}

// Feed streams.
type Feed struct{}

// Tail streams lines.
func (Feed) Tail(ctx context.Context, file string) iter.Seq2[Line, error] { return nil }

// Numbers streams numbers, without errors.
func (Feed) Numbers(n int) iter.Seq[int] { return nil }

// Open may fail before its stream starts.
func (Feed) Open(ctx context.Context, name string) (iter.Seq2[string, error], error) {
	return nil, errors.New("no")
}

// Store receives chunks it borrows: the client sends []byte.
func (Feed) Store(ctx context.Context, name string, chunks iter.Seq2[simplerpc.BorrowedBytes, error]) (int64, error) {
	return 0, nil
}

// Hash receives chunks it borrows, without errors.
func (Feed) Hash(chunks iter.Seq[simplerpc.BorrowedBytes]) ([]byte, error) {
	return nil, nil
}

// Upload receives chunks.
func (Feed) Upload(ctx context.Context, name string, chunks iter.Seq2[[]byte, error]) (int64, error) {
	return 0, nil
}

// Count receives words, without errors, and returns no error.
func (Feed) Count(words iter.Seq[string]) int { return 0 }

// Talk streams both ways.
func (Feed) Talk(ctx context.Context, in iter.Seq2[Line, error]) iter.Seq2[Line, error] { return in }

// Echo streams both ways, without errors, and may fail first.
func (Feed) Echo(ctx context.Context, tag string, in iter.Seq[int]) (iter.Seq[int], error) {
	return in, nil
}

// Words streams both ways, without errors.
func (Feed) Words(ctx context.Context, in iter.Seq[string]) iter.Seq[string] { return in }
