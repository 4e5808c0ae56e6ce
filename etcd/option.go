package etcd

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// DefaultTTL is the lease time of a registration unless WithTTL says
// otherwise: how long its key outlives a server that died without
// closing it.
const DefaultTTL = 10 * time.Second

// DefaultPrefix is the root of the keys servers are registered under:
// a server of name "calc" at "10.0.0.7:9000" is the key
// "/simplerpc/calc/10.0.0.7:9000".
const DefaultPrefix = "/simplerpc/"

// An Option configures Register or NewResolver.
type Option func(*config)

type config struct {
	ttl    time.Duration
	prefix string
}

func newConfig(opts []Option) config {
	cfg := config{ttl: DefaultTTL, prefix: DefaultPrefix}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg
}

// WithTTL sets the lease time of a registration (default 10s): the key
// is renewed every third of it, and vanishes that long after the server
// stops renewing it. etcd rounds TTLs up to its minimum (2s with its
// default timing). NewResolver ignores it.
func WithTTL(ttl time.Duration) Option {
	return func(c *config) {
		if ttl > 0 {
			c.ttl = ttl
		}
	}
}

// WithPrefix sets the root of the keys (default DefaultPrefix). Servers
// and clients of one name must use the same prefix.
func WithPrefix(prefix string) Option {
	return func(c *config) {
		if prefix != "" {
			c.prefix = strings.TrimSuffix(prefix, "/") + "/"
		}
	}
}

// dir returns the key prefix of name's servers, with its final slash, so
// that "calc" never matches the servers of "calc2".
func (c config) dir(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "/ \t\r\n") {
		return "", fmt.Errorf("simplerpc/etcd: name %q: want a non-empty name without slashes or spaces", name)
	}
	return c.prefix + name + "/", nil
}

// validAddr checks that addr is a "host:port".
func validAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("simplerpc/etcd: address %q: %w", addr, err)
	}
	if host == "" || port == "" {
		return fmt.Errorf("simplerpc/etcd: address %q: want host:port with both parts", addr)
	}
	return nil
}
