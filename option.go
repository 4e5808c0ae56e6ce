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
	tls              *tls.Config
	keepInterval     time.Duration
	keepTimeout      time.Duration
	sessionTTL       time.Duration
	logger           *slog.Logger
	interceptors     []Interceptor
	stackTraces      bool
	maxConcurrent    int
	maxMessageSize   int
	memoryBudget     int                                              // WithMemoryBudget, in budget.go
	identity         func(context.Context, *CallInfo) (string, error) // WithSessionIdentity, in identity.go
	writeTimeout     time.Duration
	handshakeTimeout time.Duration
	// noIntrospection turns off DescribeMethod (WithIntrospection, in
	// describe.go).
	noIntrospection bool
	cors            *corsPolicy // WithCORS, in cors.go
	// callbacksPerCall and callbacksPerConn bound the callback
	// invocations in flight (WithCallbackLimits, in callback_server.go).
	callbacksPerCall, callbacksPerConn int
	compressMin                        int // WithCompression, in compress.go; 0: off
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
	healthInterval time.Duration // WithHealthCheck
	// noCallbacks and callbackLimit: WithCallbacks and
	// WithClientCallbackLimit, in callback_client.go.
	noCallbacks   bool
	callbackLimit int
	compressMin   int // WithCompression, in compress.go; 0: off
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
		keepInterval:     DefaultKeepaliveInterval,
		keepTimeout:      DefaultKeepaliveTimeout,
		sessionTTL:       DefaultSessionTTL,
		maxMessageSize:   DefaultMaxMessageSize,
		memoryBudget:     DefaultMemoryBudget,
		writeTimeout:     DefaultWriteTimeout,
		handshakeTimeout: handshakeTimeout,
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
// that stops reading for longer loses its connection (on a native
// connection, within a quarter more of it, which spares setting a
// deadline for every frame). Zero means no limit.
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
			c.handshakeTimeout = d
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
// connections; no call runs past it. Calls over the limit are never run:
// refused with CodeUnavailable, which clients retry. The limit is shared
// fairly, so that no one client — a connection, or the sessions its client
// left with calls running — keeps a newcomer out:
//
//   - one connection runs at most seven eighths of the limit: the last
//     eighth is kept for connections running fewer than an eighth, and for
//     JSON-RPC requests;
//   - calls still running for clients that left (detached sessions) hold
//     at most half of it, the sessions detached the longest being ended
//     past that;
//   - a newcomer — a connection running fewer than an eighth, or a
//     JSON-RPC request — that finds the server full waits up to a second
//     for a slot before it is refused (as many as an eighth of the limit
//     wait at once; past that a newcomer is refused at once; the calls
//     of one JSON-RPC batch share one such wait). Meanwhile
//     the detached sessions holding calls are ended, the oldest first,
//     and calls of connections running a sixty-fourth of the limit or
//     more are refused at once, so that the slots that free go to those
//     waiting.
//
// Zero (the default) means no limit.
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

// WithMemoryBudget bounds the memory, in bytes, that what clients send
// may make the server hold at once (default 256 MiB): the decoded
// arguments and the results of running calls, replies waiting to be
// written, replies kept for sessions to resume, and JSON-RPC request and
// response bodies, each counted at its size in memory. A connection may
// hold an eighth of it (at least twice the maximum message size); past
// that the server stops reading it until its replies drain. Past the
// whole budget new calls are refused with CodeUnavailable (never run, so
// safe to retry) and the sessions detached the longest are ended first.
// Values below 16 MiB are raised to 16 MiB.
func WithMemoryBudget(n int) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.memoryBudget = max(n, minMemoryBudget) })
}

// WithIntrospection turns the server's DescribeMethod on (the default) or
// off. Without it a server does not say what it serves; calls of
// DescribeMethod fail with CodeNotFound, and Client.Bind skips its
// contract check.
func WithIntrospection(on bool) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.noIntrospection = !on })
}

// WithSessionIdentity makes a server bind each session to an identity
// that fn derives from a call — typically the user an authorization token
// in its metadata names (not the token itself, which may be renewed). The
// identity of a session is what fn returns for the first call of the
// connection that opened it. A connection that resumes the session
// receives nothing of it — no kept reply, no reply of a running call —
// until fn returns the same identity for its first call; a call for which
// it returns another is answered with CodePermissionDenied and its
// connection closed. An error from fn refuses the call: an *Error keeps
// its Code, any other error becomes CodeUnauthenticated.
//
// Without it a session is still bound to the TLS client certificate of
// the connection that opened it, when there is one, and a resumed
// connection's first call passes the server's interceptors before
// anything of the session reaches it. On a connection with neither TLS
// client certificates nor interceptors that check the caller, the session
// id is a bearer secret: whoever knows it may resume the session.
func WithSessionIdentity(fn func(ctx context.Context, info *CallInfo) (string, error)) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.identity = fn })
}

// WithInterceptor adds interceptors to a Client or a Server. The first one
// given is the outermost: it sees the call first.
func WithInterceptor(interceptors ...Interceptor) Option {
	return bothOption{
		server: func(c *serverConfig) { c.interceptors = append(c.interceptors, interceptors...) },
		client: func(c *clientConfig) { c.interceptors = append(c.interceptors, interceptors...) },
	}
}

// WithKeepalive sets how a Server or Client detects a dead peer, such as
// the far end of a half-open connection: when nothing has arrived for
// interval, it sends a ping; when nothing arrives for timeout after that,
// it closes the connection. A peer that vanished is noticed within
// interval+timeout. Zero interval turns keepalive off. Defaults: 15s and 10s.
func WithKeepalive(interval, timeout time.Duration) Option {
	set := func(i, t *time.Duration) { *i, *t = interval, timeout }
	return bothOption{
		server: func(c *serverConfig) { set(&c.keepInterval, &c.keepTimeout) },
		client: func(c *clientConfig) { set(&c.keepInterval, &c.keepTimeout) },
	}
}

// WithSessionTTL sets how long a server keeps a disconnected client's
// session for it to resume (default 30s).
func WithSessionTTL(d time.Duration) ServerOption {
	return serverOptionFunc(func(c *serverConfig) {
		if d > 0 {
			c.sessionTTL = d
		}
	})
}

// WithCORS lets pages of the given origins ("https://app.example.com",
// "http://localhost:8080": scheme, host and port, compared without case)
// call the server's JSON-RPC endpoint and GET /healthz from a browser:
// their responses carry the CORS headers that let such a page read them,
// and the server answers their preflight (OPTIONS) requests, allowing
// POST, GET and every request header (headers are call metadata). Off by
// default: no CORS header is sent, and browsers keep other origins'
// pages from reading the server's answers.
//
// An origin given by name may send credentials (cookies, HTTP
// authentication, TLS client certificates): its responses carry
// Access-Control-Allow-Credentials. "*" allows every origin but never
// with credentials: its responses carry Access-Control-Allow-Origin "*".
// List by name only the origins whose pages you trust to call the
// server as their user. A header such as Authorization that a page sets
// itself needs no credentials.
func WithCORS(origins ...string) ServerOption {
	p := newCORSPolicy(origins)
	return serverOptionFunc(func(c *serverConfig) { c.cors = p })
}

// WithTLS makes a Server accept only TLS connections, or a Client connect
// with TLS, using cfg. A server's cfg needs certificates (and ClientAuth and
// ClientCAs for mutual TLS); a client's needs RootCAs (and Certificates for
// mutual TLS). A client's ServerName defaults to the host it dials. A plain
// client talking to a TLS server, or a TLS client to a plain server, gets an
// error that says so.
func WithTLS(cfg *tls.Config) Option {
	return bothOption{
		server: func(c *serverConfig) { c.tls = cfg },
		client: func(c *clientConfig) { c.tls = cfg },
	}
}

// WithResumableSessions turns session resumption on or off for a client
// (on by default). With it, calls in flight when a connection breaks are
// re-sent under their original ids on a new connection, and the server
// answers each from its memory or runs it if it never received it: a
// network blip loses no call and runs none twice. Without it, such calls
// fail with CodeConnectionLost.
func WithResumableSessions(on bool) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.noSessions = !on })
}

// WithBalancer sets the policy that spreads calls over the servers behind
// a target. The default is LeastLoadedOfTwo.
func WithBalancer(b Balancer) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.balancer = b })
}

// WithHealthCheck makes the client ask each of its servers for its
// health (HealthMethod) every interval, on the connection it has to it,
// and treat one that reports NOT_SERVING as draining: new calls go to
// the others, and to it only when none is serving. A server that does
// not answer in time, or refuses the check (its interceptors see it as
// any call; it is sent without the client's interceptors and
// metadata), keeps the status it had; one without the health method
// counts as serving. Zero (the default) turns checks off.
func WithHealthCheck(interval time.Duration) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.healthInterval = max(interval, 0) })
}

// WithResolver makes the client find its servers through r: the target
// given to Dial is passed to r as it is.
func WithResolver(r Resolver) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.resolver = r })
}
