package simplerpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// tokenAuth is a server interceptor that wants "authorization: Bearer <token>".
func tokenAuth(token string) simplerpc.Interceptor {
	return func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			switch info.Metadata.Get("authorization") {
			case "":
				return &simplerpc.Error{Code: simplerpc.CodeUnauthenticated, Message: "no token"}
			case "Bearer " + token:
				return next(ctx, info)
			}
			return &simplerpc.Error{Code: simplerpc.CodePermissionDenied, Message: "wrong token"}
		}
	}
}

func TestMetadataAndInterceptors(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(side string) simplerpc.Interceptor {
		return func(next simplerpc.Invoker) simplerpc.Invoker {
			return func(ctx context.Context, info *simplerpc.CallInfo) error {
				err := next(ctx, info)
				mu.Lock()
				seen = append(seen, side+" "+info.Method)
				mu.Unlock()
				return err
			}
		}
	}
	ts := startServer(t, simplerpc.WithInterceptor(record("server"), tokenAuth("s3cret")))
	if err := ts.srv.RegisterFunc("whoami", func(ctx context.Context) string {
		return simplerpc.IncomingMetadata(ctx).Get("user")
	}); err != nil {
		t.Fatal(err)
	}
	for _, codec := range codecs {
		plain := dial(t, ts.addr, simplerpc.WithCodec(codec))
		var n int
		err := plain.Call(context.Background(), "Calc.Add", []any{1, 2}, &n)
		if codeOf(t, err) != simplerpc.CodeUnauthenticated {
			t.Fatalf("%s: no token: %v", codec, err)
		}
		ctx := simplerpc.AppendMetadata(context.Background(), "Authorization", "Bearer wrong")
		if err := plain.Call(ctx, "Calc.Add", []any{1, 2}, &n); codeOf(t, err) != simplerpc.CodePermissionDenied {
			t.Fatalf("%s: wrong token: %v", codec, err)
		}

		// A client interceptor adds the token to every call.
		withToken := func(next simplerpc.Invoker) simplerpc.Invoker {
			return func(ctx context.Context, info *simplerpc.CallInfo) error {
				info.Metadata.Set("authorization", "Bearer s3cret")
				return next(ctx, info)
			}
		}
		authed := dial(t, ts.addr, simplerpc.WithCodec(codec), simplerpc.WithInterceptor(withToken, record("client")))
		if err := authed.Call(context.Background(), "Calc.Add", []any{1, 2}, &n); err != nil || n != 3 {
			t.Fatalf("%s: with token: %d, %v", codec, n, err)
		}
		var who string
		ctx = simplerpc.AppendMetadata(context.Background(), "user", "ada")
		if err := authed.Call(ctx, "whoami", nil, &who); err != nil || who != "ada" {
			t.Fatalf("%s: metadata did not reach the method: %q, %v", codec, who, err)
		}
		// Application errors still pass through the interceptors unchanged.
		if err := authed.Call(context.Background(), "Calc.Div", []any{1, 0}); !errors.Is(err, ErrDivByZero) {
			t.Fatalf("%s: error through interceptors: %v", codec, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	joined := strings.Join(seen, ",")
	for _, want := range []string{"server Calc.Add", "client Calc.Add", "server whoami", "client whoami"} {
		if !strings.Contains(joined, want) {
			t.Errorf("interceptors saw %q, missing %q", joined, want)
		}
	}
}

func TestMetadataLimits(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr)
	ctx := context.Background()
	for i := range 65 {
		ctx = simplerpc.AppendMetadata(ctx, "k"+string(rune('a'+i%26))+strings.Repeat("x", i), "v")
	}
	if err := c.Call(ctx, "Calc.Add", []any{1, 2}); codeOf(t, err) != simplerpc.CodeInvalidArgument {
		t.Fatalf("65 metadata pairs: %v", err)
	}
}

// testCerts makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, and returns TLS configs for mutual TLS.
func testCerts(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	server, clients := testCertsN(t, 1)
	return server, clients[0]
}

// testCertsN is testCerts with n client certificates of the same CA.
func testCertsN(t *testing.T, n int) (server *tls.Config, clients []*tls.Config) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	leaf := func(serial int64, usage x509.ExtKeyUsage) tls.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	server = &tls.Config{Certificates: []tls.Certificate{leaf(2, x509.ExtKeyUsageServerAuth)},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	for i := range n {
		clients = append(clients, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{leaf(int64(3+i), x509.ExtKeyUsageClientAuth)}})
	}
	return server, clients
}

func TestMutualTLS(t *testing.T) {
	serverTLS, clientTLS := testCerts(t)
	ts := startServer(t, simplerpc.WithTLS(serverTLS))
	for _, codec := range codecs {
		c := dial(t, ts.addr, simplerpc.WithTLS(clientTLS), simplerpc.WithCodec(codec))
		var n int
		if err := c.Call(context.Background(), "Calc.Add", []any{40, 2}, &n); err != nil || n != 42 {
			t.Fatalf("%s over mutual TLS: %d, %v", codec, n, err)
		}
	}
	noRetry := simplerpc.WithRetry(simplerpc.RetryPolicy{})
	// A plain client is told TLS is required.
	_, err := simplerpc.Dial(context.Background(), ts.addr, noRetry)
	if err == nil || !strings.Contains(err.Error(), "requires TLS") {
		t.Errorf("plain client to a TLS server: %v", err)
	}
	// A TLS client without a client certificate is refused.
	_, err = simplerpc.Dial(context.Background(), ts.addr, noRetry, simplerpc.WithTLS(&tls.Config{RootCAs: clientTLS.RootCAs}))
	if err == nil {
		t.Error("a client without a certificate passed mutual TLS")
	}
	// A TLS client talking to a plain server gets a TLS error.
	plain := startServer(t)
	_, err = simplerpc.Dial(context.Background(), plain.addr, noRetry, simplerpc.WithTLS(clientTLS))
	if err == nil || !strings.Contains(err.Error(), "does the server use TLS") {
		t.Errorf("TLS client to a plain server: %v", err)
	}
}
