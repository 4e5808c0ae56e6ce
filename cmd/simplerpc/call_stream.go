package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/simplerpc/simplerpc"
)

// streamCall calls m, a streaming method: it sends the lines of standard
// input as items when m receives a stream, prints the items m sends as
// they arrive, then its results.
func streamCall(ctx context.Context, e *env, c *simplerpc.Client, m *simplerpc.MethodDescription, args []any, asJSON bool) int {
	s, err := c.OpenStream(ctx, m.Name, args...)
	if err != nil {
		printError(e.stderr, "call", err, asJSON)
		return 1
	}
	defer s.Close()
	sent := make(chan error, 1) // what sending the input ended with
	if m.Stream.Receives != nil {
		go func() { // ends at the end of the input, or of the stream
			err := sendLines(s, e.stdin)
			sent <- err
			if err != nil {
				s.Close() // after the error is in sent: the stream's own error must not hide it
			}
		}()
	} else {
		_ = s.CloseSend()
		sent <- nil
	}
	fail := func(err error) int {
		select {
		case serr := <-sent:
			if serr != nil {
				err = serr
			}
		default:
		}
		printError(e.stderr, "call", err, asJSON)
		return 1
	}
	if m.Stream.Yields != nil {
		for {
			var item json.RawMessage
			err := s.Recv(&item)
			if err == io.EOF {
				break
			}
			if err != nil {
				return fail(err)
			}
			if asJSON {
				b, _ := json.Marshal(map[string]json.RawMessage{"item": item})
				fmt.Fprintf(e.stdout, "%s\n", b)
			} else {
				var out bytes.Buffer
				_ = json.Compact(&out, item)
				fmt.Fprintf(e.stdout, "%s\n", out.Bytes())
			}
		}
	}
	// The input is sent before Finish, which would end the client's half.
	if err := <-sent; err != nil {
		printError(e.stderr, "call", err, asJSON)
		return 1
	}
	results := make([]json.RawMessage, len(m.Results))
	ptrs := make([]any, len(results))
	for i := range results {
		ptrs[i] = &results[i]
	}
	if err := s.Finish(ptrs...); err != nil {
		printError(e.stderr, "call", err, asJSON)
		return 1
	}
	printResults(e, m.Name, results, asJSON)
	return 0
}

// sendLines sends each non-empty line of r, a JSON value, as an item, then
// ends the client's half of the stream. It returns why the input could
// not be sent, for the caller to cancel the stream.
func sendLines(s *simplerpc.ClientStream, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return fmt.Errorf("standard input, line %d: not a JSON value: %.40q", n, line)
		}
		if s.Send(json.RawMessage(bytes.Clone(line))) != nil {
			return nil // the stream is over: Finish says why
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	return s.CloseSend()
}
