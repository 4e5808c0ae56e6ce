package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync/atomic"
	"time"
)

// Streams is the service of streaming methods. It counts what its
// iterators do, so that tests can tell from the server's side whether a
// stream was canceled and how far its producer ran ahead.
type Streams struct {
	produced atomic.Int64 // items the producing iterators yielded
	running  atomic.Int64 // iterators running now
	canceled atomic.Int64 // iterators that stopped because their context ended
}

// Count yields 0 to n-1.
func (s *Streams) Count(ctx context.Context, n int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		s.running.Add(1)
		defer s.running.Add(-1)
		for i := range n {
			if ctx.Err() != nil {
				s.canceled.Add(1)
				return
			}
			s.produced.Add(1)
			if !yield(i, nil) {
				if ctx.Err() != nil {
					s.canceled.Add(1)
				}
				return
			}
		}
	}
}

// Blobs yields n byte strings of size bytes, the i-th filled with byte i.
func (s *Streams) Blobs(ctx context.Context, n, size int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		s.running.Add(1)
		defer s.running.Add(-1)
		for i := range n {
			b := make([]byte, size)
			for j := range b {
				b[j] = byte(i)
			}
			s.produced.Add(1)
			if !yield(b, nil) {
				if ctx.Err() != nil {
					s.canceled.Add(1)
				}
				return
			}
		}
	}
}

// Failing yields good items, then fails with the registered division
// error when registered is set, else with a plain error.
func (s *Streams) Failing(good int, registered bool) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := range good {
			if !yield(fmt.Sprintf("item %d", i), nil) {
				return
			}
		}
		if registered {
			yield("", fmt.Errorf("stream: %w", ErrDivByZero))
			return
		}
		yield("", errors.New("the stream broke"))
	}
}

// Open fails before its stream starts unless name is "ok"; then it
// yields name three times.
func (s *Streams) Open(name string) (iter.Seq2[string, error], error) {
	if name != "ok" {
		return nil, fmt.Errorf("no stream %q", name)
	}
	return func(yield func(string, error) bool) {
		for range 3 {
			if !yield(name, nil) {
				return
			}
		}
	}, nil
}

// Upload receives chunks and returns the name, the number of chunks and
// their total size. With delay (ms) it sleeps before taking each chunk:
// a slow consumer.
func (s *Streams) Upload(ctx context.Context, name string, delay int, chunks iter.Seq2[[]byte, error]) (string, int, int64, error) {
	n, total := 0, int64(0)
	for b, err := range chunks {
		if err != nil {
			return "", 0, 0, err
		}
		n++
		total += int64(len(b))
		if delay > 0 {
			time.Sleep(time.Duration(delay) * time.Millisecond)
		}
	}
	return name, n, total, ctx.Err()
}

// Sum adds the numbers it receives; it fails when one is negative.
func (s *Streams) Sum(nums iter.Seq2[int, error]) (int, error) {
	t := 0
	for v, err := range nums {
		if err != nil {
			return 0, err
		}
		if v < 0 {
			return 0, fmt.Errorf("negative number %d", v)
		}
		t += v
	}
	return t, nil
}

// Echo answers each text it receives with prefix and the text. It
// counts as running while it answers.
func (s *Streams) Echo(prefix string, in iter.Seq2[string, error]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		s.running.Add(1)
		defer s.running.Add(-1)
		for v, err := range in {
			if err != nil {
				yield("", err)
				return
			}
			if !yield(prefix+v, nil) {
				return
			}
		}
	}
}

// Stamp yields the times t, t+1s, … t+(n-1)s.
func (s *Streams) Stamp(t time.Time, n int) iter.Seq2[time.Time, error] {
	return func(yield func(time.Time, error) bool) {
		for i := range n {
			if !yield(t.Add(time.Duration(i)*time.Second), nil) {
				return
			}
		}
	}
}

// Produced returns the items the producing iterators yielded so far.
func (s *Streams) Produced() int64 { return s.produced.Load() }

// Running returns how many producing iterators are running.
func (s *Streams) Running() int64 { return s.running.Load() }

// Canceled returns how many producing iterators stopped because their
// stream was canceled.
func (s *Streams) Canceled() int64 { return s.canceled.Load() }

// Slow yields 0 to n-1, one every ms milliseconds, until its stream
// ends.
func (s *Streams) Slow(ctx context.Context, n, ms int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		s.running.Add(1)
		defer s.running.Add(-1)
		for i := range n {
			if i > 0 {
				select {
				case <-time.After(time.Duration(ms) * time.Millisecond):
				case <-ctx.Done():
					s.canceled.Add(1)
					return
				}
			}
			s.produced.Add(1)
			if !yield(i, nil) {
				if ctx.Err() != nil {
					s.canceled.Add(1)
				}
				return
			}
		}
	}
}
