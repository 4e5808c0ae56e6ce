package simplerpc

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"time"
)

// A ServerOption configures a Server.
type ServerOption interface{ applyServer(*serverConfig) }

// A ClientOption configures a Client.
type ClientOption interface{ applyClient(*clientConfig) }

// An Option configures both a Server and a Client.
type Option interface {
	ServerOption
	ClientOption
}

type serverConfig struct {
	tls            *tls.Config
	keepInterval   time.Duration
	keepTimeout    time.Duration
	sessionTTL     time.Duration
	logger         *slog.Logger
	interceptors   []Interceptor
	stackTraces    bool
	maxConcurrent  int
	maxMessageSize int
	memoryBudget   int                                              // WithMemoryBudget, in budget.go
	identity       func(context.Context, *CallInfo) (string, error) // WithSessionIdentity, in identity.go
	writeTimeout   time.Duration
	handshake      time.Duration
	// noIntrospection turns off DescribeMethod (WithIntrospection, in
	// describe.go).
	noIntrospection bool
}

type clientConfig struct {
	tls            *tls.Config
	resolver       Resolver
	balancer       Balancer
	keepInterval   time.Duration
	keepTimeout    time.Duration
	noSessions     bool
	logger         *slog.Logger
	interceptors   []Interceptor
	debug          bool
	retry          RetryPolicy
	codec          string
	dialer         func(ctx context.Context, addr string) (net.Conn, error)
	maxMessageSize int
	writeTimeout   time.Duration
}

// Defaults for the options.
const (
	// DefaultMaxMessageSize is the largest frame body accepted unless
	// WithMaxMessageSize says otherwise: 16 MiB.
	DefaultMaxMessageSize = 16 << 20
	// DefaultWriteTimeout bounds each write to a peer, so a peer that stops
	// reading cannot hold a connection's memory forever.
	DefaultWriteTimeout = 30 * time.Second
	// handshakeTimeout bounds the opening exchange of a connection.
	handshakeTimeout = 10 * time.Second
)

func newServerConfig(opts []ServerOption) serverConfig {
	cfg := serverConfig{
		keepInterval:   DefaultKeepaliveInterval,
		keepTimeout:    DefaultKeepaliveTimeout,
		sessionTTL:     DefaultSessionTTL,
		maxMessageSize: DefaultMaxMessageSize,
		memoryBudget:   DefaultMemoryBudget,
		writeTimeout:   DefaultWriteTimeout,
		handshake:      handshakeTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o.applyServer(&cfg)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	return cfg
}

func newClientConfig(opts []ClientOption) clientConfig {
	cfg := clientConfig{
		keepInterval:   DefaultKeepaliveInterval,
		keepTimeout:    DefaultKeepaliveTimeout,
		retry:          DefaultRetryPolicy(),
		codec:          "cbor",
		maxMessageSize: DefaultMaxMessageSize,
		writeTimeout:   DefaultWriteTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o.applyClient(&cfg)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if cfg.dialer == nil {
		var d net.Dialer
		cfg.dialer = func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	return cfg
}

type serverOptionFunc func(*serverConfig)

func (f serverOptionFunc) applyServer(c *serverConfig) { f(c) }

type clientOptionFunc func(*clientConfig)

func (f clientOptionFunc) applyClient(c *clientConfig) { f(c) }

type bothOption struct {
	server func(*serverConfig)
	client func(*clientConfig)
}

func (o bothOption) applyServer(c *serverConfig) { o.server(c) }
func (o bothOption) applyClient(c *clientConfig) { o.client(c) }

// WithLogger sets the logger of a Server or Client. If nil or not given,
// slog.Default() is used.
func WithLogger(l *slog.Logger) Option {
	return bothOption{
		server: func(c *serverConfig) { c.logger = l },
		client: func(c *clientConfig) { c.logger = l },
	}
}

// WithMaxMessageSize sets the largest frame body, in bytes, that a Server
// or Client accepts (default 16 MiB). A frame announcing more is refused
// before any memory is allocated for it. A client also refuses to send a
// call larger than the server's limit, which the server announces when the
// connection opens. Values below 1 KiB are raised to 1 KiB.
func WithMaxMessageSize(n int) Option {
	if n < 1024 {
		n = 1024
	}
	return bothOption{
		server: func(c *serverConfig) { c.maxMessageSize = n },
		client: func(c *clientConfig) { c.maxMessageSize = n },
	}
}

// WithWriteTimeout bounds each write to the peer (default 30s). A peer
// that stops reading for longer loses its connection. Zero means no limit.
func WithWriteTimeout(d time.Duration) Option {
	return bothOption{
		server: func(c *serverConfig) { c.writeTimeout = d },
		client: func(c *clientConfig) { c.writeTimeout = d },
	}
}

// WithHandshakeTimeout bounds how long a server waits for a new
// connection's opening bytes (default 10s): a client that connects and
// says nothing is closed after it.
func WithHandshakeTimeout(d time.Duration) ServerOption {
	return serverOptionFunc(func(c *serverConfig) {
		if d > 0 {
			c.handshake = d
		}
	})
}

// WithStackTraces makes the server send the stack trace of every panic and
// the error chain of every error with its reply. Off by default: stacks
// reveal the server's code to its callers.
func WithStackTraces(on bool) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.stackTraces = on })
}

// WithMaxConcurrentCalls limits the calls a Server runs at once, over all
// connections. A call over the limit is refused at once with
// CodeUnavailable and never run; clients retry it. The last eighth of the
// limit is kept for connections running fewer than an eighth of it, so
// that one client cannot take every slot; calls still running for
// clients that left (detached sessions) may hold at most half of it, and
// a call refused at the limit first ends the session detached the
// longest. Zero (the default) means no limit.
func WithMaxConcurrentCalls(n int) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.maxConcurrent = max(n, 0) })
}

// WithDebug makes the client log the server-side traceback of every remote
// error that carries one, before returning the error.
func WithDebug(on bool) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.debug = on })
}

// WithRetry sets the client's retry policy. The zero RetryPolicy disables
// retries.
func WithRetry(p RetryPolicy) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.retry = p })
}

// WithCodec selects the codec a client asks the server to use for its
// connection: "cbor" (the default) or "json". Dial fails for any other name.
func WithCodec(name string) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.codec = name })
}

// WithDialer makes the client open connections with dial instead of a TCP
// net.Dialer: for custom transports, proxies or in-memory pipes.
func WithDialer(dial func(ctx context.Context, addr string) (net.Conn, error)) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.dialer = dial })
}
