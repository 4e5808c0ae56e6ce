package reliability_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Attack 1: session hijack. A client that learned another's session id
// (it travels in the hello) connects with the resume flag and sends the
// victim's call ids 1–3 again, hoping for the replies the server keeps
// for the victim.

// hijackCase is one way a server tells its clients apart.
type hijackCase struct {
	name  string
	setup func(t *testing.T) attackSetup
	// victimMD and attackerMD are the metadata the victim's and the
	// attacker's calls carry.
	victimMD, attackerMD []string
	// atHello: the server knows the attacker is someone else from the
	// connection itself, so it must refuse the hello (status 4).
	atHello bool
	// codes are the error codes a replayed call may get (PROTOCOL.md §4).
	codes []int
}

// Error codes of PROTOCOL.md §4 that the hijack cases expect.
const (
	codeUnavailable      = 5
	codeUnauthenticated  = 10
	codePermissionDenied = 11
)

// hijackCases are the servers a hijack must fail against. On plain TCP
// with neither an interceptor nor an identity hook the session id is a
// bearer secret, as documented: no case for it.
var hijackCases = []hijackCase{
	{
		name: "TLS client certificate",
		setup: func(t *testing.T) attackSetup {
			return attackSetup{pki: newTestPKI(t)}
		},
		atHello: true,
	},
	{
		name: "token interceptor",
		setup: func(t *testing.T) attackSetup {
			return attackSetup{opts: []simplerpc.ServerOption{simplerpc.WithInterceptor(tokenAuth)}, goodMD: goodToken}
		},
		victimMD: []string{"authorization", "Bearer victim-token"},
		codes:    []int{codeUnauthenticated},
	},
}

var goodToken = []string{"authorization", "Bearer good-token"}

// tokenAuth admits the calls that carry a known token.
func tokenAuth(next simplerpc.Invoker) simplerpc.Invoker {
	return func(ctx context.Context, info *simplerpc.CallInfo) error {
		if tokenUser(info.Metadata.Get("authorization")) == "" {
			return &simplerpc.Error{Code: simplerpc.CodeUnauthenticated, Message: "no valid token"}
		}
		return next(ctx, info)
	}
}

// tokenUser is whom a token names, or "".
func tokenUser(token string) string {
	switch token {
	case "Bearer victim-token":
		return "victim"
	case "Bearer good-token":
		return "good"
	case "Bearer attacker-token":
		return "attacker"
	}
	return ""
}

// TestAttackSessionHijack replays a victim's call ids on its session from
// another identity, and expects none of the victim's replies to reach the
// attacker, every replayed call to get an error (or the connection to be
// refused), and the victim's connection to keep working.
func TestAttackSessionHijack(t *testing.T) {
	for _, hc := range hijackCases {
		t.Run(hc.name, func(t *testing.T) {
			as := startAttackServer(t, hc.setup(t))
			as.attack(t, "session hijack: "+hc.name, 20*time.Second, func(a *attackRun) string { return hijack(a, hc) })
		})
	}
}

// hijack runs one hijack: the victim makes calls 1–3 and keeps its
// connection; the attacker resumes the session and sends 1–3 again.
func hijack(a *attackRun, hc hijackCase) string {
	t := a.t
	v := newVictimClient(t, a.as, hc.victimMD)
	marker := fmt.Sprintf("victim-secret-%x", newSessionID())
	for i := 1; i <= 3; i++ {
		if err := v.echo(marker, 3*time.Second); err != nil {
			t.Fatalf("the victim's call %d: %v", i, err)
		}
	}
	sid, err := v.tap.session()
	if err != nil {
		t.Fatal(err)
	}

	nc, w, err := a.dialHello(net.Dialer{}, "cbor", helloSession|helloResume, sid)
	if err != nil {
		t.Fatalf("the attacker's hello: %v", err)
	}
	var got bytes.Buffer
	outcome := fmt.Sprintf("welcome status %d", w.status)
	if w.status == 0 {
		outcome = fmt.Sprintf("welcome status 0 (resumed %v)", w.resumed())
		var frames bytes.Buffer
		for id := uint64(1); id <= 3; id++ {
			args := cborArray(cborText("attacker"))
			if len(hc.attackerMD) > 0 {
				frames.Write(callFrameMD(id, "Victim.Echo", hc.attackerMD, args))
			} else {
				frames.Write(callFrame(id, "Victim.Echo", 0, args))
			}
		}
		if _, err := nc.Write(frames.Bytes()); err != nil {
			t.Logf("sending the replayed calls: %v", err)
		}
	}
	// The victim calls on while the attacker waits for replies.
	var victimErrs []error
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 5 {
			if err := v.echo(marker, 2*time.Second); err != nil {
				victimErrs = append(victimErrs, err)
				return // one is enough: the others would wait as long
			}
		}
	})
	answers, closed := readAnswers(nc, &got, 3, 2*time.Second)
	wg.Wait()
	nc.Close()

	if hc.atHello && w.status != statusSessionRefused {
		t.Errorf("another identity resuming the session got welcome status %d, want %d (session refused)", w.status, statusSessionRefused)
	}
	leaked := 0
	for id, f := range answers {
		if f.flags&flagError == 0 {
			leaked += len(f.body)
			t.Errorf("replayed call %d got a result: % x", id, f.body[:min(len(f.body), 64)])
			continue
		}
		code, err := errorCode(f.body, "cbor")
		if err != nil {
			t.Errorf("replayed call %d: %v", id, err)
		} else if len(hc.codes) > 0 && !containsInt(hc.codes, code) && code != codePermissionDenied {
			t.Errorf("replayed call %d got error code %d, want one of %v or %d (permission_denied)", id, code, hc.codes, codePermissionDenied)
		}
	}
	if n := bytes.Count(got.Bytes(), []byte(marker)); n > 0 {
		t.Errorf("the attacker read the victim's replies: its marker %d times in %d bytes", n, got.Len())
		leaked = max(leaked, n*len(marker))
	}
	if w.status == 0 && !closed {
		for id := uint64(1); id <= 3; id++ {
			if _, ok := answers[id]; !ok {
				t.Errorf("replayed call %d: no answer within 2s and the connection still open", id)
			}
		}
	}
	for _, err := range victimErrs {
		t.Errorf("the victim's call during the attack: %v", err)
	}
	for i := range 3 {
		if err := v.echo(marker, 2*time.Second); err != nil {
			t.Errorf("the victim's call %d after the attack: %v", i+1, err)
			break
		}
	}
	return fmt.Sprintf("%s; %d of 3 replays answered; %d bytes of the victim's replies leaked", outcome, len(answers), leaked)
}

// readAnswers reads replies from nc, copying every byte into got, until
// want replies came, the connection closed, or limit passed. It reports
// the replies by id and whether the connection closed.
func readAnswers(nc net.Conn, got *bytes.Buffer, want int, limit time.Duration) (map[uint64]rawFrame, bool) {
	answers := make(map[uint64]rawFrame)
	tc := teeConn{Conn: nc, w: got}
	_ = nc.SetReadDeadline(time.Now().Add(limit))
	for len(answers) < want {
		f, err := readFrame(tc)
		switch {
		case err == nil:
		case isTimeout(err):
			return answers, false
		default:
			return answers, true
		}
		if f.kind == kindReply {
			answers[f.id] = f
		}
	}
	return answers, false
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestAttackSessionHelloWithoutResume sends a hello naming the victim's
// session without the resume flag while the victim's call runs: the call
// must not be canceled, and the victim's connection must keep working.
func TestAttackSessionHelloWithoutResume(t *testing.T) {
	plain := hijackCase{name: "plain TCP", setup: func(*testing.T) attackSetup { return attackSetup{} }}
	for _, hc := range append([]hijackCase{plain}, hijackCases...) {
		t.Run(hc.name, func(t *testing.T) {
			as := startAttackServer(t, hc.setup(t))
			as.attack(t, "hello without resume naming a session: "+hc.name, 20*time.Second, func(a *attackRun) string {
				return helloWithoutResume(a, hc)
			})
		})
	}
}

func helloWithoutResume(a *attackRun, hc hijackCase) string {
	t := a.t
	v := newVictimClient(t, a.as, hc.victimMD)
	if err := v.echo("victim", 3*time.Second); err != nil {
		t.Fatalf("the victim's first call: %v", err)
	}
	sid, err := v.tap.session()
	if err != nil {
		t.Fatal(err)
	}
	slow := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(v.ctx(), 5*time.Second)
		defer cancel()
		slow <- v.c.Call(ctx, "Victim.Slow", []any{800})
	}()
	for deadline := time.Now().Add(3 * time.Second); a.as.victim.running.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	nc, w, err := a.dialHello(net.Dialer{}, "cbor", helloSession, sid)
	if err != nil {
		t.Fatalf("the attacker's hello: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	nc.Close()
	if err := <-slow; err != nil {
		t.Errorf("the victim's running call, after a hello naming its session without resume: %v", err)
	}
	if err := v.echo("victim", 3*time.Second); err != nil {
		t.Errorf("the victim's call after the attack: %v", err)
	}
	return fmt.Sprintf("welcome status %d", w.status)
}

// ---- The victim ------------------------------------------------------------

// victimClient is a client whose hello a tap records, as an attacker
// watching the network would.
type victimClient struct {
	c   *simplerpc.Client
	tap *helloTap
	md  []string
}

func newVictimClient(t *testing.T, as *attackServer, md []string) *victimClient {
	t.Helper()
	tap := &helloTap{tls: as.clientTLS("victim")}
	c, err := dialErr(as.addr, simplerpc.WithDialer(tap.dial))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &victimClient{c: c, tap: tap, md: md}
}

func (v *victimClient) ctx() context.Context {
	ctx := context.Background()
	if len(v.md) > 0 {
		ctx = simplerpc.AppendMetadata(ctx, v.md...)
	}
	return ctx
}

// echo calls Victim.Echo(s) and checks the result.
func (v *victimClient) echo(s string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(v.ctx(), timeout)
	defer cancel()
	var got string
	if err := v.c.Call(ctx, "Victim.Echo", []any{s}, &got); err != nil {
		return err
	}
	if got != s {
		return fmt.Errorf("Echo(%q) = %q", s, got)
	}
	return nil
}

// helloTap dials for a client (with TLS, if set, beneath the client) and
// keeps the first bytes it sends: its hello.
type helloTap struct {
	tls *tls.Config

	mu    sync.Mutex
	hello []byte
}

func (ht *helloTap) dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if ht.tls != nil {
		tc := tls.Client(nc, ht.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return &tapConn{Conn: nc, tap: ht}, nil
}

// session returns the session id of the first hello.
func (ht *helloTap) session() (sessionID, error) {
	ht.mu.Lock()
	defer ht.mu.Unlock()
	var sid sessionID
	h := ht.hello
	if len(h) < 7 || h[5]&helloSession == 0 || len(h) < 7+int(h[6])+len(sid) {
		return sid, errors.New("the victim's hello carries no session id")
	}
	copy(sid[:], h[7+int(h[6]):])
	return sid, nil
}

// tapConn hands its first write to its tap.
type tapConn struct {
	net.Conn
	tap  *helloTap
	once sync.Once
}

func (c *tapConn) Write(p []byte) (int, error) {
	c.once.Do(func() {
		c.tap.mu.Lock()
		if c.tap.hello == nil {
			c.tap.hello = bytes.Clone(p)
		}
		c.tap.mu.Unlock()
	})
	return c.Conn.Write(p)
}
