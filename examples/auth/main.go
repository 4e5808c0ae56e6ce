// Command auth shows token authentication written once, as interceptors:
// the server's checks the "authorization" metadata of every call (native
// and JSON-RPC alike), the client's adds the token to every call.
//
//	go run ./examples/auth
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log"
	"net"
	"os"

	"github.com/simplerpc/simplerpc"
)

// Vault is the protected service.
type Vault struct{}

// Secret returns the secret, to callers the interceptor let through.
func (Vault) Secret(ctx context.Context) string {
	return "the secret, for " + simplerpc.IncomingMetadata(ctx).Get("user")
}

// RequireToken is a server interceptor: calls must carry
// "authorization: Bearer <token>".
func RequireToken(token string) simplerpc.Interceptor {
	want := []byte("Bearer " + token)
	return func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, call *simplerpc.CallInfo) error {
			got := call.Metadata.Get("authorization")
			switch {
			case got == "":
				return &simplerpc.Error{Code: simplerpc.CodeUnauthenticated, Message: "missing bearer token"}
			case subtle.ConstantTimeCompare([]byte(got), want) != 1:
				return &simplerpc.Error{Code: simplerpc.CodePermissionDenied, Message: "invalid token"}
			}
			return next(ctx, call)
		}
	}
}

// WithToken is a client interceptor that adds the token to every call.
func WithToken(token string) simplerpc.Interceptor {
	return func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, call *simplerpc.CallInfo) error {
			call.Metadata.Set("authorization", "Bearer "+token)
			return next(ctx, call)
		}
	}
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	srv := simplerpc.NewServer(simplerpc.WithInterceptor(RequireToken("s3cret")))
	if err := srv.Register("Vault", Vault{}); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(l) //nolint:errcheck // ends with Shutdown below
	defer srv.Shutdown(context.Background())
	ctx := context.Background()

	anonymous, err := simplerpc.Dial(ctx, l.Addr().String())
	if err != nil {
		return err
	}
	defer anonymous.Close()
	var secret string
	err = anonymous.Call(ctx, "Vault.Secret", nil, &secret)
	var e *simplerpc.Error
	if errors.As(err, &e) {
		fmt.Fprintf(os.Stdout, "without a token: %s (%s)\n", e.Code, e.Message)
	}

	client, err := simplerpc.Dial(ctx, l.Addr().String(), simplerpc.WithInterceptor(WithToken("s3cret")))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx = simplerpc.AppendMetadata(ctx, "user", "ada")
	if err := client.Call(ctx, "Vault.Secret", nil, &secret); err != nil {
		return err
	}
	fmt.Println("with the token:", secret)
	return nil
}
