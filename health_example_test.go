package simplerpc_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/simplerpc/simplerpc"
)

func ExampleServer_SetServing() {
	srv := simplerpc.NewServer()
	_ = srv.Register("Shelf", Shelf{})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()

	// Natively, as a client (or "simplerpc health ADDR") asks:
	c, err := simplerpc.Dial(context.Background(), l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	h, _ := c.Health(context.Background(), "Shelf")
	fmt.Println(h.Service, h.Status)

	// Over HTTP on the same port, as a Kubernetes httpGet probe asks:
	srv.SetServing("Shelf", false)
	resp, err := http.Get("http://" + l.Addr().String() + "/healthz?service=Shelf")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	// Output:
	// Shelf SERVING
	// 503 {"service":"Shelf","status":"NOT_SERVING"}
}
