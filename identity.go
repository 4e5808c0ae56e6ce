package simplerpc

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// errSessionRefused is the cause of a dial the server answered with
// StatusSessionRefused: the session id is held by another identity.
var errSessionRefused = errors.New("the server refused the session: its id is in use by another connection's identity")

// certID returns a fingerprint of the client certificate nc's TLS
// handshake presented, or "" when there is none.
func certID(nc net.Conn) string {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return ""
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(st.PeerCertificates[0].Raw)
	return string(sum[:])
}

// vetsResumes reports whether a resumed connection must prove who it is,
// with its first call, before the session is handed over: when an
// identity hook or interceptors could tell one caller from another.
func (s *Server) vetsResumes() bool {
	return s.cfg.identity != nil || len(s.cfg.interceptors) > 0
}

// callIdentity returns what the identity hook makes of a call, or "" when
// there is no hook.
func (s *Server) callIdentity(ctx context.Context, info *CallInfo) (string, *Error) {
	if s.cfg.identity == nil {
		return "", nil
	}
	id, err := s.cfg.identity(ctx, info)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok {
			return "", e
		}
		return "", withCause(&Error{Code: CodeUnauthenticated, Method: info.Method, Message: err.Error()}, err)
	}
	return id, nil
}

// passesInterceptors runs the server's interceptors around a call that
// does nothing, and returns the error with which they refuse it, if they
// do: for a resumed connection, whose first call must pass them before
// the session's replies reach it.
func (s *Server) passesInterceptors(ctx context.Context, info *CallInfo) *Error {
	if len(s.cfg.interceptors) == 0 {
		return nil
	}
	err := chain(s.cfg.interceptors, func(context.Context, *CallInfo) error { return nil })(ctx, info)
	if err == nil {
		return nil
	}
	e, _ := remoteError(info.Method, err, false)
	return e
}

// vet runs before the first call a connection of a session makes, until
// one passes: on the connection that opened the session it records the
// session's identity; on a connection on probation (one that resumed the
// session) it checks that the call comes from the session's owner —
// same identity, and the interceptors let it through — and only then
// hands the session to the connection, closing the one it supersedes. A
// call refused here is answered on sc alone, never through the session;
// a refused resume also closes sc (the error returned). With no
// identity hook and no probation, there is nothing to check.
func (sc *serverConn) vet(id uint64, call *wire.Call) error {
	s := sc.srv
	if s.cfg.identity == nil && !sc.probation {
		sc.vetted = true
		return nil
	}
	md := metadataFromPairs(call.Metadata)
	ctx := withIncoming(sc.ctx, md)
	info := &CallInfo{Method: string(call.Method), Metadata: md, Peer: sc.peer}
	owner, e := s.callIdentity(ctx, info)
	if e == nil && !sc.probation {
		if sc.sess.setOwner(owner) {
			sc.vetted = true
			return nil
		}
		e = errorf(CodePermissionDenied, info.Method, "the session belongs to another identity; call not run")
	}
	if e == nil {
		e = s.passesInterceptors(ctx, info)
	}
	if e == nil {
		s.mu.Lock()
		superseded, ok := s.promoteLocked(sc.sess, sc, owner, s.cfg.identity != nil)
		s.mu.Unlock()
		if ok {
			sc.probation, sc.vetted, sc.cancels = false, true, sc.sess.cancels
			if superseded != nil {
				superseded.supersede()
			}
			return nil
		}
		e = errorf(CodePermissionDenied, info.Method, "the session cannot be resumed: it ended, or belongs to another identity; call not run")
	}
	sc.replyError(id, e, nil)
	if !sc.probation {
		return nil // the connection that opened the session may try again
	}
	s.logs.log(sc.logger(), slog.LevelWarn, "simplerpc: session resume refused; connection closed", slog.String("code", e.Code.String()), slog.String("reason", e.Message))
	sc.flush()
	return fmt.Errorf("%w: %s", errResumeRefused, e.Message)
}

// errResumeRefused ends a connection whose resume of a session was
// refused.
var errResumeRefused = errors.New("session resume refused")

// supersede closes a connection whose session a new connection of the
// same client resumed: its client has moved on, and must not wait on it.
func (sc *serverConn) supersede() {
	sc.srv.cfg.logger.Debug("simplerpc: connection superseded by a resume of its session; closed", slog.String("remote", sc.peer))
	sc.abort()
}
