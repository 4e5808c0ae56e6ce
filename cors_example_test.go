package simplerpc_test

import (
	"fmt"
	"net"
	"net/http"

	"github.com/simplerpc/simplerpc"
)

func ExampleWithCORS() {
	srv := simplerpc.NewServer(simplerpc.WithCORS("https://app.example.com"))
	_ = srv.Register("Shelf", Shelf{})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()

	// The preflight a browser sends before a page of that origin posts a
	// JSON-RPC call with an Authorization header.
	req, _ := http.NewRequest(http.MethodOptions, "http://"+l.Addr().String()+"/", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	fmt.Println(resp.Header.Get("Access-Control-Allow-Origin"))
	fmt.Println(resp.Header.Get("Access-Control-Allow-Headers"))
	fmt.Println(resp.Header.Get("Access-Control-Allow-Credentials"))
	// Output:
	// 204
	// https://app.example.com
	// authorization, content-type
	// true
}
