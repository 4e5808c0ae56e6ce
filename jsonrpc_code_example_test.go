package simplerpc_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/simplerpc/simplerpc"
)

// errOutOfStock is a shop's sentinel error; JSON-RPC clients see it with
// code 1001.
var errOutOfStock = errors.New("out of stock")

func init() {
	simplerpc.RegisterError("shop.out_of_stock", errOutOfStock, simplerpc.WithJSONRPCCode(1001))
}

// quotaError chooses its own JSON-RPC code.
type quotaError struct{ Left int }

func (e *quotaError) Error() string    { return fmt.Sprintf("quota spent (%d left)", e.Left) }
func (e *quotaError) JSONRPCCode() int { return 429 }

// postJSONRPC sends one JSON-RPC request to h and prints the response.
func postJSONRPC(h http.Handler, body string) {
	ts := httptest.NewServer(h)
	defer ts.Close()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(ts.URL, "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	fmt.Println(string(out))
}

// A registered error may carry its own JSON-RPC code, outside the range
// the specification reserves, so that JSON-RPC clients tell it apart.
// Native clients see its Code and name as ever.
func ExampleWithJSONRPCCode() {
	srv := simplerpc.NewServer()
	_ = srv.RegisterFunc("buy", func(item string) error { return fmt.Errorf("buy %s: %w", item, errOutOfStock) })
	postJSONRPC(srv, `{"jsonrpc":"2.0","method":"buy","params":["tea"],"id":1}`)
	// Output:
	// {"jsonrpc":"2.0","error":{"code":1001,"message":"buy tea: out of stock","data":{"code":"application","type":"*fmt.wrapError","method":"buy","name":"shop.out_of_stock"}},"id":1}
}

// An error type may choose its JSON-RPC code itself, registered or not.
func ExampleJSONRPCCoder() {
	srv := simplerpc.NewServer()
	_ = srv.RegisterFunc("fetch", func() (string, error) { return "", fmt.Errorf("fetch: %w", &quotaError{Left: 0}) })
	postJSONRPC(srv, `{"jsonrpc":"2.0","method":"fetch","id":"a"}`)
	// Output:
	// {"jsonrpc":"2.0","error":{"code":429,"message":"fetch: quota spent (0 left)","data":{"code":"application","type":"*fmt.wrapError","method":"fetch"}},"id":"a"}
}
