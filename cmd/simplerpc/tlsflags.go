package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/simplerpc/simplerpc"
)

// tlsFlags are the flags of a command that may reach a TLS server.
type tlsFlags struct {
	on         bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
	insecure   bool
}

// register defines the flags on fs.
func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "tls", false, "connect with TLS (implied by the other -tls flags)")
	fs.StringVar(&f.caFile, "cacert", "", "trust the CA certificates in this PEM `file` instead of the system's")
	fs.StringVar(&f.certFile, "cert", "", "client certificate PEM `file`, for mutual TLS (with -key)")
	fs.StringVar(&f.keyFile, "key", "", "client key PEM `file`, for mutual TLS (with -cert)")
	fs.StringVar(&f.serverName, "servername", "", "the `name` the server's certificate must hold (default: the host dialed)")
	fs.BoolVar(&f.insecure, "insecure", false, "with TLS, accept any server certificate (for tests only)")
}

// option returns the client option the flags ask for, or nil for plain
// TCP.
func (f *tlsFlags) option() (simplerpc.ClientOption, error) {
	if !f.on && f.caFile == "" && f.certFile == "" && f.keyFile == "" && f.serverName == "" && !f.insecure {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: f.serverName, InsecureSkipVerify: f.insecure, MinVersion: tls.VersionTLS12}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("-cacert: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-cacert: no PEM certificate in %s", f.caFile)
		}
	}
	switch {
	case (f.certFile == "") != (f.keyFile == ""):
		return nil, errors.New("-cert and -key go together")
	case f.certFile != "":
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("-cert/-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return simplerpc.WithTLS(cfg), nil
}
