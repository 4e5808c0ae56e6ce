package simplerpc_test

import (
	"context"
	"fmt"
	"iter"
	"net"
	"strings"

	"github.com/simplerpc/simplerpc"
)

// Words is a streaming service for the examples.
type Words struct{}

// Split streams the words of s.
func (Words) Split(s string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for _, w := range strings.Fields(s) {
			if !yield(w, nil) {
				return
			}
		}
	}
}

// Count receives words and counts their letters.
func (Words) Count(words iter.Seq2[string, error]) (int, error) {
	n := 0
	for w, err := range words {
		if err != nil {
			return 0, err
		}
		n += len(w)
	}
	return n, nil
}

// serveWords starts a server of Words and returns a client of it.
func serveWords() (*simplerpc.Client, func()) {
	srv := simplerpc.NewServer()
	if err := srv.Register("Words", Words{}); err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	c, err := simplerpc.Dial(context.Background(), l.Addr().String())
	if err != nil {
		panic(err)
	}
	return c, func() {
		c.Close()
		_ = srv.Shutdown(context.Background())
		<-done
	}
}

func ExampleClient_Bind_streams() {
	c, stop := serveWords()
	defer stop()

	var words struct {
		Split func(s string) iter.Seq2[string, error]
		Count func(words iter.Seq2[string, error]) (int, error)
	}
	if err := c.Bind("Words", &words); err != nil {
		panic(err)
	}
	for w, err := range words.Split("call it as if local") {
		if err != nil {
			panic(err)
		}
		fmt.Println(w)
	}
	n, err := words.Count(words.Split("streams both ways"))
	fmt.Println(n, err)
	// Output:
	// call
	// it
	// as
	// if
	// local
	// 15 <nil>
}

func ExampleStream() {
	c, stop := serveWords()
	defer stop()

	for w, err := range simplerpc.Stream[string](context.Background(), c, "Words.Split", "by name") {
		fmt.Println(w, err)
	}
	// Output:
	// by <nil>
	// name <nil>
}

func ExampleClient_OpenStream() {
	c, stop := serveWords()
	defer stop()

	s, err := c.OpenStream(context.Background(), "Words.Count")
	if err != nil {
		panic(err)
	}
	for _, w := range []string{"one", "two", "three"} {
		if err := s.Send(w); err != nil {
			panic(err)
		}
	}
	var n int
	err = s.Finish(&n)
	fmt.Println(n, err)
	// Output:
	// 11 <nil>
}
