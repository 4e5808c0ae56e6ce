package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// writeCerts writes a CA, and a client certificate and key of it, as PEM
// files in dir, and returns the server's mutual-TLS config (its
// certificate for 127.0.0.1).
func writeCerts(t *testing.T, dir string) *tls.Config {
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
	leaf := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
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
		return der, key
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	clientDER, clientKey := leaf(3, x509.ExtKeyUsageClientAuth)
	write("client.pem", "CERTIFICATE", clientDER)
	keyDER, _ := x509.MarshalECPrivateKey(clientKey)
	write("client-key.pem", "EC PRIVATE KEY", keyDER)
	serverDER, serverKey := leaf(2, x509.ExtKeyUsageServerAuth)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
}

func TestHealthTLS(t *testing.T) {
	dir := t.TempDir()
	srv := simplerpc.NewServer(simplerpc.WithTLS(writeCerts(t, dir)), simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	addr := l.Addr().String()
	ca, cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	if r := cli(t, "health", "-cacert", ca, "-cert", cert, "-key", key, addr); r.code != 0 || strings.TrimSpace(r.stdout) != "SERVING" {
		t.Errorf("health over mutual TLS: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, "health", "-timeout", "2s", "-cacert", ca, addr); r.code != 1 {
		t.Errorf("health without a client certificate: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := cli(t, "health", "-timeout", "2s", addr); r.code != 1 || !strings.Contains(r.stderr, "TLS") {
		t.Errorf("health without TLS: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := cli(t, "health", "-cacert", filepath.Join(dir, "client-key.pem"), addr); r.code != 2 || !strings.Contains(r.stderr, "no PEM certificate") {
		t.Errorf("health -cacert of a key: exit %d, stderr %q", r.code, r.stderr)
	}
}
