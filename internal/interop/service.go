package interop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/simplerpc/simplerpc"
)

// ServiceName is the name the interop service is registered under: its
// methods are called "Interop.Empty", "Interop.Large", ...
const ServiceName = "Interop"

// The sizes of the large_unary case, as gRPC's interop suite uses them:
// the request carries RequestSize bytes, the reply ResponseSize.
const (
	RequestSize  = 271828
	ResponseSize = 314159
)

// ErrNotReady is the registered sentinel the registered_error case expects:
// FailRegistered returns an error wrapping it, and the reply names it
// "interop.not_ready".
var ErrNotReady = errors.New("interop: not ready")

// DetailError is the registered error type the error_details case expects:
// FailDetail returns one, and the reply carries its fields as the error's
// detail under the name "interop.detail".
type DetailError struct {
	Reason       string   `json:"reason"`
	RetryAfterMs int      `json:"retryAfterMs"`
	Fields       []string `json:"fields"`
}

// Error returns "interop detail: REASON".
func (e *DetailError) Error() string { return "interop detail: " + e.Reason }

// The registered names of the interop errors.
const (
	NotReadyName = "interop.not_ready"
	DetailName   = "interop.detail"
)

func init() {
	simplerpc.RegisterError(NotReadyName, ErrNotReady)
	simplerpc.RegisterErrorType(DetailName, &DetailError{})
}

// Point is the struct parameter of the struct cases, taken by name (its
// json tags, or its field names) or by position (X, Y, Label).
type Point struct {
	X     int    `json:"x"`
	Y     int    `json:"y"`
	Label string `json:"label"`
}

// The states of a sleeping call, as Await reports them.
const (
	StateUnknown  = ""                  // no call under that token yet
	StateRunning  = "running"           // sleeping
	StateFinished = "finished"          // slept its whole time
	StateCanceled = "canceled"          // its context was canceled
	StateDeadline = "deadline_exceeded" // its context's deadline passed
)

// Service is the interop test service. Its zero value is not usable; make
// one with NewService and register it under ServiceName. It is safe for
// concurrent calls.
type Service struct {
	mu      sync.Mutex
	states  map[string]string // guarded by mu: token -> state of a Sleep
	changed chan struct{}     // guarded by mu: closed, and replaced, when states changes
}

// NewService returns a Service with no sleeping calls recorded.
func NewService() *Service {
	return &Service{states: make(map[string]string), changed: make(chan struct{})}
}

// Register registers a new Service on srv under ServiceName.
func Register(srv *simplerpc.Server) error {
	if err := srv.Register(ServiceName, NewService()); err != nil {
		return fmt.Errorf("interop: registering the service: %w", err)
	}
	return nil
}

// Empty takes nothing and returns nothing.
func (*Service) Empty() {}

// Large checks that payload is Pattern(RequestSize) and returns
// Pattern(size): a large message each way, verified byte by byte.
func (*Service) Large(payload []byte, size int) ([]byte, error) {
	if err := checkPattern(payload, RequestSize); err != nil {
		return nil, fmt.Errorf("request payload: %w", err)
	}
	if size < 0 || size > 4<<20 {
		return nil, &simplerpc.Error{Code: simplerpc.CodeInvalidArgument, Message: fmt.Sprintf("size %d is not within 0..4194304", size)}
	}
	return Pattern(size), nil
}

// Pattern returns n bytes where byte i is i modulo 251, so that a byte
// lost, added or moved anywhere is noticed.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// checkPattern reports how b differs from Pattern(n).
func checkPattern(b []byte, n int) error {
	if len(b) != n {
		return fmt.Errorf("%d bytes, want %d", len(b), n)
	}
	for i, c := range b {
		if c != byte(i%251) {
			return fmt.Errorf("byte %d is %d, want %d", i, c, i%251)
		}
	}
	return nil
}

// Fail returns an error with the code named code (Code.String names,
// "permission_denied") and the message message.
func (*Service) Fail(code, message string) error {
	c, ok := simplerpc.ParseCode(code)
	if !ok {
		return &simplerpc.Error{Code: simplerpc.CodeInvalidArgument, Message: fmt.Sprintf("unknown code %q", code)}
	}
	return &simplerpc.Error{Code: c, Message: message}
}

// FailDetail returns a *DetailError with the given fields.
func (*Service) FailDetail(reason string, retryAfterMs int, fields []string) error {
	return &DetailError{Reason: reason, RetryAfterMs: retryAfterMs, Fields: fields}
}

// FailRegistered returns an error that wraps ErrNotReady.
func (*Service) FailRegistered(what string) error {
	return fmt.Errorf("%s: %w", what, ErrNotReady)
}

// FailText returns an error whose message is text with its first byte
// replaced by b, so that a caller can have the server send a message
// that is not valid UTF-8 (b = 255) without sending one itself.
func (*Service) FailText(text string, b uint8) error {
	if text == "" {
		return errors.New(string([]byte{b}))
	}
	return errors.New(string([]byte{b}) + text[1:])
}

// Panic panics with msg.
func (*Service) Panic(msg string) int { panic(msg) }

// Sleep sleeps for ms milliseconds, or until its context ends, and
// records how it ended under token, for Await.
func (s *Service) Sleep(ctx context.Context, token string, ms int) error {
	s.set(token, StateRunning)
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		s.set(token, StateFinished)
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			s.set(token, StateDeadline)
		} else {
			s.set(token, StateCanceled)
		}
		return ctx.Err()
	}
}

// Await waits until the Sleep under token is in one of states (a list
// separated by "|": "canceled|deadline_exceeded"), for at most waitMs
// milliseconds, and returns its state then.
func (s *Service) Await(ctx context.Context, token, states string, waitMs int) string {
	want := strings.Split(states, "|")
	t := time.NewTimer(time.Duration(waitMs) * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		st, changed := s.states[token], s.changed
		s.mu.Unlock()
		for _, w := range want {
			if st == w {
				return st
			}
		}
		select {
		case <-changed:
		case <-t.C:
			return st
		case <-ctx.Done():
			return st
		}
	}
}

func (s *Service) set(token, state string) {
	s.mu.Lock()
	s.states[token] = state
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Deadline returns the milliseconds left until the call's deadline, as
// the server sees it, or -1 when the call has none.
func (*Service) Deadline(ctx context.Context) int64 {
	d, ok := ctx.Deadline()
	if !ok {
		return -1
	}
	return max(time.Until(d).Milliseconds(), 0)
}

// Metadata returns the values of the call's metadata under keys (matched
// case-insensitively); keys the call did not carry are left out.
func (*Service) Metadata(ctx context.Context, keys ...string) map[string]string {
	md := simplerpc.IncomingMetadata(ctx)
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		k = strings.ToLower(k)
		if v, ok := md[k]; ok {
			out[k] = v
		}
	}
	return out
}

// Point returns its argument: a struct taken by name or by position, and
// returned as an object.
func (*Service) Point(p Point) Point { return p }

// Int64 returns v.
func (*Service) Int64(v int64) int64 { return v }

// Uint64 returns v.
func (*Service) Uint64(v uint64) uint64 { return v }

// Any returns v, decoded into an empty interface and encoded again.
func (*Service) Any(v any) any { return v }

// Bytes returns b.
func (*Service) Bytes(b []byte) []byte { return b }

// Unicode returns s and the number of code points in it, so that a
// string that arrived altered is noticed even if it came back unchanged.
func (*Service) Unicode(s string) (string, int) { return s, utf8.RuneCountInString(s) }
