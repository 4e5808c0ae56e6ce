package simplerpc_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// secret is what the victim's replies hold; no byte of it may reach the
// attacker.
var secret = []byte("VICTIM-SECRET-REPLY")

// attacker speaks the protocol by hand on one connection.
type attacker struct {
	t  *testing.T
	nc net.Conn
}

// hijackWith opens a connection (TLS with cfg, if not nil) and sends a
// hello naming sid, with the resume flag if resume. It returns the
// welcome's status and the connection.
func hijackWith(t *testing.T, addr string, cfg *tls.Config, sid [16]byte, resume bool) (uint8, *attacker) {
	t.Helper()
	var nc net.Conn
	var err error
	if cfg != nil {
		nc, err = tls.Dial("tcp", addr, cfg)
	} else {
		nc, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	h := wire.Hello{Version: wire.Version, Flags: wire.HelloSession, Codec: "cbor", Session: sid}
	if resume {
		h.Flags |= wire.HelloResume
	}
	if _, err := nc.Write(wire.AppendHello(nil, h)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, wire.WelcomeSize)
	if _, err := io.ReadFull(nc, b); err != nil {
		t.Fatalf("no welcome: %v", err)
	}
	w, err := wire.ParseWelcome(b)
	if err != nil {
		t.Fatal(err)
	}
	return w.Status, &attacker{t: t, nc: nc}
}

// replay sends calls with the given ids, as a resuming client re-sends
// the calls it has in flight, with metadata md (key, value pairs).
func (a *attacker) replay(md []string, ids ...uint64) {
	a.t.Helper()
	var out []byte
	for _, id := range ids {
		body, flags := wire.AppendCallPrefix(nil, "Calc.Echo", 0, md)
		var args bytes.Buffer
		if err := codec.CBOR.AppendArray(&args, []any{[]byte("x")}); err != nil {
			a.t.Fatal(err)
		}
		body = append(body, args.Bytes()...)
		out = wire.AppendHeader(out, wire.Header{Size: uint32(len(body)), Kind: wire.KindCall, Flags: flags, ID: id})
		out = append(out, body...)
	}
	if _, err := a.nc.Write(out); err != nil {
		a.t.Fatal(err)
	}
}

// readAll reads what the server sends for d, or until it closes.
func (a *attacker) readAll(d time.Duration) []byte {
	_ = a.nc.SetReadDeadline(time.Now().Add(d))
	got, _ := io.ReadAll(a.nc)
	return got
}

// victimWithKeptReplies dials a victim client with opts, makes three
// calls whose replies hold the secret (the server keeps them until the
// client acknowledges them, which it does only every 128 replies), and
// starts a fourth that blocks on the server until released.
func victimWithKeptReplies(t *testing.T, ts *testServer, opts ...simplerpc.ClientOption) (*simplerpc.Client, chan error) {
	t.Helper()
	c := dial(t, ts.addr, opts...)
	for range 3 {
		var got []byte
		if err := c.Call(context.Background(), "Calc.Echo", []any{secret}, &got); err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("victim's Echo: %q, %v", got, err)
		}
	}
	blocked := make(chan error, 1)
	go func() {
		var s string
		err := c.Call(context.Background(), "Calc.Block", nil, &s)
		if err == nil && s != "released" {
			err = errors.New("Block returned " + s)
		}
		blocked <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for ts.calc.runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return c, blocked
}

// victimStillWorks checks that the victim's connection still serves it,
// and that its blocked call gets its own reply once released.
func victimStillWorks(t *testing.T, ts *testServer, c *simplerpc.Client, blocked chan error) {
	t.Helper()
	var n int
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Call(ctx, "Calc.Add", []any{40, 2}, &n); err != nil || n != 42 {
		t.Errorf("the victim's next call: %d, %v", n, err)
	}
	close(ts.calc.release)
	select {
	case err := <-blocked:
		if err != nil {
			t.Errorf("the victim's call in flight: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the victim's call in flight was never answered")
	}
}

// TestSessionCannotBeHijacked resumes a victim's session with its id,
// as one who learned it would, and checks that no byte of the victim's
// replies reaches the attacker and that the victim keeps working: with
// TLS client certificates (another certificate is refused at the
// handshake), with an interceptor that checks a token (the resumed
// connection's first call must pass it), and with an identity hook
// (another identity is refused).
func TestSessionCannotBeHijacked(t *testing.T) {
	t.Run("other client certificate", func(t *testing.T) {
		serverTLS, clients := testCertsN(t, 2)
		ts := startServer(t, simplerpc.WithTLS(serverTLS))
		c, blocked := victimWithKeptReplies(t, ts, simplerpc.WithTLS(clients[0]))
		for _, resume := range []bool{true, false} {
			status, a := hijackWith(t, ts.addr, clients[1], simplerpc.SessionIDOf(c), resume)
			if status != wire.StatusSessionRefused {
				t.Errorf("resume=%v from another certificate: welcome status %d, want %d (session refused)", resume, status, wire.StatusSessionRefused)
			}
			a.replay(nil, 1, 2, 3, 4)
			if got := a.readAll(300 * time.Millisecond); bytes.Contains(got, secret) {
				t.Errorf("resume=%v: the attacker read the victim's reply", resume)
			}
		}
		victimStillWorks(t, ts, c, blocked)
	})
	t.Run("token interceptor", func(t *testing.T) {
		ts := startServer(t, simplerpc.WithInterceptor(tokenAuth("s3cret")))
		c, blocked := refusedReplay(t, ts, withMetadata("authorization", "Bearer s3cret"), []string{"authorization", "Bearer guess"}, "wrong token")
		// A hello naming the id without the resume flag is refused, and
		// cancels nothing of the victim's.
		if status, _ := hijackWith(t, ts.addr, nil, simplerpc.SessionIDOf(c), false); status != wire.StatusSessionRefused {
			t.Errorf("a new session under the victim's id: welcome status %d, want %d", status, wire.StatusSessionRefused)
		}
		victimStillWorks(t, ts, c, blocked)
		if n := ts.calc.runs.Load(); n != 1 {
			t.Errorf("the victim's blocked call ran %d times", n)
		}
	})
	t.Run("identity hook", func(t *testing.T) {
		user := func(_ context.Context, info *simplerpc.CallInfo) (string, error) {
			u := info.Metadata.Get("user")
			if u == "" {
				return "", errors.New("no user")
			}
			return u, nil
		}
		ts := startServer(t, simplerpc.WithSessionIdentity(user))
		c, blocked := refusedReplay(t, ts, withMetadata("user", "alice"), []string{"user", "mallory"}, "another identity")
		victimStillWorks(t, ts, c, blocked)
	})
}

// withMetadata is a client interceptor that sends key: value with every
// call.
func withMetadata(key, value string) simplerpc.ClientOption {
	return simplerpc.WithInterceptor(func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			info.Metadata.Set(key, value)
			return next(ctx, info)
		}
	})
}

// refusedReplay makes a victim (dialed with victimOpt) with kept replies,
// resumes its session from a raw connection whose replayed calls carry
// md, and checks that they are refused with a message holding want and
// that no byte of the victim's replies comes back. It returns the victim
// and its call in flight.
func refusedReplay(t *testing.T, ts *testServer, victimOpt simplerpc.ClientOption, md []string, want string) (*simplerpc.Client, chan error) {
	t.Helper()
	c, blocked := victimWithKeptReplies(t, ts, victimOpt)
	status, a := hijackWith(t, ts.addr, nil, simplerpc.SessionIDOf(c), true)
	if status != wire.StatusOK {
		t.Fatalf("welcome status %d", status)
	}
	a.replay(md, 1, 2, 3, 4)
	got := a.readAll(500 * time.Millisecond)
	if bytes.Contains(got, secret) {
		t.Error("the attacker read the victim's reply")
	}
	if !bytes.Contains(got, []byte(want)) {
		t.Errorf("the attacker's replayed call was not refused with %q: %q", want, got)
	}
	return c, blocked
}

// TestResumeSupersedesTheOldConnection checks that a connection whose
// session the same client resumed elsewhere is closed at once, rather
// than left open with its replies going to the new one.
func TestResumeSupersedesTheOldConnection(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr)
	var n int
	if err := c.Call(context.Background(), "Calc.Add", []any{1, 2}, &n); err != nil {
		t.Fatal(err)
	}
	// The same client (plain TCP, no interceptors: the id is its secret)
	// resumes its session on a second connection.
	status, _ := hijackWith(t, ts.addr, nil, simplerpc.SessionIDOf(c), true)
	if status != wire.StatusOK {
		t.Fatalf("welcome status %d", status)
	}
	// The first connection was closed: the client reconnects (its session
	// is resumed again, from the new connection) and its calls succeed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Call(ctx, "Calc.Add", []any{40, 2}, &n)
		cancel()
		if err == nil && n == 42 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client's calls after its session was resumed elsewhere: %v", err)
		}
	}
}

// TestRefusedSessionStartsANewOne checks that a client whose hello the
// server refuses for its session starts a new session and goes on.
func TestRefusedSessionStartsANewOne(t *testing.T) {
	serverTLS, clients := testCertsN(t, 2)
	ts := startServer(t, simplerpc.WithTLS(serverTLS))
	a := dial(t, ts.addr, simplerpc.WithTLS(clients[0]))
	b := dial(t, ts.addr, simplerpc.WithTLS(clients[1]))
	var n int
	for _, c := range []*simplerpc.Client{a, b} {
		if err := c.Call(context.Background(), "Calc.Add", []any{1, 2}, &n); err != nil {
			t.Fatal(err)
		}
	}
	// b comes to hold a's session id (as if it had been copied) and
	// reconnects: the server refuses it the session, and b opens one of
	// its own.
	simplerpc.ForceSessionID(b, simplerpc.SessionIDOf(a))
	if err := b.Call(context.Background(), "Calc.Add", []any{40, 2}, &n); err != nil || n != 42 {
		t.Fatalf("a client refused its session: %d, %v", n, err)
	}
	if simplerpc.SessionIDOf(b) == simplerpc.SessionIDOf(a) {
		t.Error("the refused client kept the session id")
	}
	if err := a.Call(context.Background(), "Calc.Add", []any{2, 3}, &n); err != nil || n != 5 {
		t.Fatalf("the session's owner afterwards: %d, %v", n, err)
	}
}
