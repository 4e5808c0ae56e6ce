package simplerpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"
)

// Client calls the methods a Server exposes. It keeps one connection,
// multiplexing every concurrent call over it, and redials when it breaks;
// calls in flight on a broken connection are re-sent on the next one (see
// WithResumableSessions). A Client is safe for concurrent use by any
// number of goroutines.
type Client struct {
	addr string
	cfg  clientConfig
	ep   *endpoint
}

// Dial connects to the server at addr and returns a Client. The
// connection is made under the retry policy (WithRetry); ctx bounds the
// whole attempt.
func Dial(ctx context.Context, addr string, opts ...ClientOption) (*Client, error) {
	c := &Client{addr: addr, cfg: newClientConfig(opts)}
	c.ep = newEndpoint(&c.cfg, addr)
	var err error
	for n := 1; ; n++ {
		_, err = c.ep.conn(ctx)
		var more bool
		if more, err = c.again(ctx, "", n, err); !more {
			break
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Call calls method ("Service.Method", or a function's bare name) with
// args and decodes its results into results, which must be pointers
// (a nil pointer skips that result). Fewer results than the method returns
// are fine; more are an error. The method's own error comes back as an
// *Error with CodeApplication. A call the server refused or that could not
// be sent is retried under the retry policy; a call that may have run is
// never retried.
func (c *Client) Call(ctx context.Context, method string, args []any, results ...any) error {
	var err error
	md := OutgoingMetadata(ctx)
	if len(c.cfg.interceptors) == 0 {
		err = c.call(ctx, method, args, results, md.pairs())
	} else {
		info := &CallInfo{Method: method, Metadata: maps.Clone(md), Peer: c.addr, Args: args}
		if info.Metadata == nil {
			info.Metadata = make(Metadata)
		}
		final := func(ctx context.Context, info *CallInfo) error {
			return c.call(ctx, info.Method, info.Args, results, info.Metadata.pairs())
		}
		err = chain(c.cfg.interceptors, final)(ctx, info)
	}
	if err != nil && c.cfg.debug {
		c.debugLog(err)
	}
	return err
}

// call makes a call under the retry policy. md is the metadata in wire
// pairs.
func (c *Client) call(ctx context.Context, method string, args, results []any, md []string) error {
	if err := ctx.Err(); err != nil {
		return contextError(method, err)
	}
	var err error
	for n := 1; ; n++ {
		var cc *clientConn
		if cc, err = c.ep.conn(ctx); err == nil {
			err = cc.roundTrip(ctx, method, args, results, md)
		}
		var more bool
		if more, err = c.again(ctx, method, n, err); !more {
			return err
		}
	}
}

// again reports whether to make attempt n+1 after attempt n ended with
// err, having waited the policy's backoff, and returns the error to report
// if not: err, or the context's error if it ended during the wait.
func (c *Client) again(ctx context.Context, method string, n int, err error) (bool, error) {
	if err == nil || !retryable(err) || n >= c.cfg.retry.MaxAttempts {
		return false, err
	}
	if !c.cfg.retry.wait(ctx, n) {
		if ctx.Err() != nil {
			return false, contextError(method, ctx.Err())
		}
		return false, err
	}
	return true, nil
}

// retryable reports whether err says the call was not executed.
func retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeUnavailable && !errors.Is(err, ErrClientClosed)
}

// debugLog logs the server-side traceback an error carries.
func (c *Client) debugLog(err error) {
	var e *Error
	if !errors.As(err, &e) || e.Stack == "" {
		return
	}
	c.cfg.logger.Warn(fmt.Sprintf("Server side traceback (%s, %s: %s):\n%s", e.Method, e.Code, e.Message, e.Stack),
		slog.String("method", e.Method), slog.String("code", e.Code.String()))
}

// Close closes the client's connections. Calls in flight fail with
// CodeConnectionLost; later calls fail with ErrClientClosed.
func (c *Client) Close() error {
	c.ep.close()
	return nil
}

// timeoutOf returns the time left before ctx's deadline, or 0.
func timeoutOf(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(time.Until(dl), time.Microsecond)
}
