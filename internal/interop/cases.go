package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/simplerpc/simplerpc"
)

// Case is one interop test case: docs/interop.md describes what each
// expects on the wire, so that a client in another language can run it.
type Case struct {
	// Name identifies the case: "large_unary".
	Name string
	// Description says in a line what it checks.
	Description string
	// Run runs the case against t and returns why it failed, nil if it
	// passed, or a *SkipError if t cannot express it.
	Run func(ctx context.Context, t Target) error
}

// Cases are the cases every server must pass, in the order they run.
var Cases = []Case{
	{"empty_unary", "a call with no arguments and no results", emptyUnary},
	{"large_unary", "a 271828-byte request and a 314159-byte reply, byte for byte", largeUnary},
	{"status_code_and_message", "errors keep their code, message and method", statusCodeAndMessage},
	{"error_details", "a registered error type's fields travel with the error", errorDetails},
	{"registered_error", "an error wrapping a registered sentinel comes back under its name", registeredError},
	{"unimplemented_method", "unknown methods and services are not_found", unimplementedMethod},
	{"invalid_arguments", "wrong argument types and counts are invalid_argument", invalidArguments},
	{"panic", "a panicking method is internal, with the panic value as message", panicking},
	{"deadline_propagation", "the caller's deadline bounds the server-side context", deadlinePropagation},
	{"timeout_on_sleeping_server", "a deadline ends a sleeping call on both sides", timeoutOnSleepingServer},
	{"cancel_after_begin", "canceling a running call cancels it on the server", cancelAfterBegin},
	{"metadata_echo", "metadata reaches the method, keys in lower case", metadataEcho},
	{"struct_by_name", "a struct parameter filled by field names or json tags", structByName},
	{"struct_by_position", "a struct parameter filled by position, whole or a prefix", structByPosition},
	{"big_integers", "int64 and uint64 extremes through typed parameters, exactly", bigIntegers},
	{"bytes", "byte strings of every byte value, and empty", byteStrings},
	{"unicode", "strings beyond ASCII, astral planes and NUL included", unicodeStrings},
	{"big_integers_any", "integers beyond 2^53 through an empty interface, exactly", bigIntegersAny},
	{"struct_one_element_prefix", "a struct parameter filled by a one-element positional prefix", structOneElementPrefix},
	{"unknown_named_parameter", "a named parameter the struct lacks is invalid_argument", unknownNamedParameter},
	{"utf8_in_errors", "error messages are valid UTF-8, whatever the method or argument held", utf8InErrors},
}

// Select returns the cases that name selects: "all" (Cases), or a
// comma-separated list of case names.
func Select(name string) ([]Case, error) {
	if name == "all" || name == "" {
		return Cases, nil
	}
	var out []Case
	for n := range strings.SplitSeq(name, ",") {
		c, ok := lookup(strings.TrimSpace(n))
		if !ok {
			return nil, fmt.Errorf("no interop case %q (the cases: %s; or all)", n, strings.Join(names(), ", "))
		}
		out = append(out, c)
	}
	return out, nil
}

func lookup(name string) (Case, bool) {
	for _, c := range Cases {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

func names() []string {
	var out []string
	for _, c := range Cases {
		out = append(out, c.Name)
	}
	return out
}

// method names a method of the interop service.
func method(name string) string { return ServiceName + "." + name }

func emptyUnary(ctx context.Context, t Target) error {
	return t.Call(ctx, method("Empty"), nil)
}

func largeUnary(ctx context.Context, t Target) error {
	var got []byte
	if err := t.Call(ctx, method("Large"), []any{Pattern(RequestSize), ResponseSize}, &got); err != nil {
		return err
	}
	if err := checkPattern(got, ResponseSize); err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	return nil
}

func statusCodeAndMessage(ctx context.Context, t Target) error {
	for _, c := range []simplerpc.Code{simplerpc.CodeApplication, simplerpc.CodePermissionDenied,
		simplerpc.CodeUnauthenticated, simplerpc.CodeResourceExhausted, simplerpc.CodeInvalidArgument} {
		msg := "interop: failed with " + c.String()
		e, err := wantError(t.Call(ctx, method("Fail"), []any{c.String(), msg}), method("Fail"), c)
		if err != nil {
			return err
		}
		if e.Message != msg {
			return fmt.Errorf("%s error: message %q, want %q", c, e.Message, msg)
		}
	}
	return nil
}

func errorDetails(ctx context.Context, t Target) error {
	err := t.Call(ctx, method("FailDetail"), []any{"quota", 1500, []string{"a", "β"}})
	e, err2 := wantError(err, method("FailDetail"), simplerpc.CodeApplication)
	if err2 != nil {
		return err2
	}
	if e.Name != DetailName || e.Message != "interop detail: quota" || e.RemoteType != "*interop.DetailError" {
		return fmt.Errorf("error named %q, message %q, type %q; want %q, %q, %q",
			e.Name, e.Message, e.RemoteType, DetailName, "interop detail: quota", "*interop.DetailError")
	}
	var d *DetailError
	if !detailOf(err, &d) {
		return fmt.Errorf("the error carries no %s detail", DetailName)
	}
	if d.Reason != "quota" || d.RetryAfterMs != 1500 || len(d.Fields) != 2 || d.Fields[0] != "a" || d.Fields[1] != "β" {
		return fmt.Errorf("detail %+v, want {Reason:quota RetryAfterMs:1500 Fields:[a β]}", *d)
	}
	return nil
}

func registeredError(ctx context.Context, t Target) error {
	err := t.Call(ctx, method("FailRegistered"), []any{"warming up"})
	e, err2 := wantError(err, method("FailRegistered"), simplerpc.CodeApplication)
	if err2 != nil {
		return err2
	}
	if want := "warming up: interop: not ready"; e.Name != NotReadyName || e.Message != want {
		return fmt.Errorf("error named %q with message %q, want %q and %q", e.Name, e.Message, NotReadyName, want)
	}
	if t.Transport() == TransportNative && !errors.Is(err, ErrNotReady) {
		return fmt.Errorf("errors.Is(err, ErrNotReady) is false for %v", err)
	}
	return nil
}

func unimplementedMethod(ctx context.Context, t Target) error {
	for _, m := range []string{method("NoSuchMethod"), "NoSuchService.Empty", "no_such_function"} {
		if _, err := wantError(t.Call(ctx, m, nil), m, simplerpc.CodeNotFound); err != nil {
			return err
		}
	}
	return nil
}

func invalidArguments(ctx context.Context, t Target) error {
	calls := []struct {
		method string
		args   []any
	}{
		{method("Int64"), []any{"not a number"}}, // wrong type
		{method("Int64"), []any{1, 2}},           // too many
		{method("Int64"), nil},                   // too few
		{method("Empty"), []any{1}},              // none expected
	}
	for _, c := range calls {
		if _, err := wantError(t.Call(ctx, c.method, c.args), c.method, simplerpc.CodeInvalidArgument); err != nil {
			return fmt.Errorf("args %v: %w", c.args, err)
		}
	}
	return nil
}

func panicking(ctx context.Context, t Target) error {
	e, err := wantError(t.Call(ctx, method("Panic"), []any{"interop boom"}), method("Panic"), simplerpc.CodeInternal)
	if err != nil {
		return err
	}
	if !strings.Contains(e.Message, "interop boom") {
		return fmt.Errorf("message %q lacks the panic value %q", e.Message, "interop boom")
	}
	return nil
}

func deadlinePropagation(ctx context.Context, t Target) error {
	if t.Transport() == TransportJSONRPC {
		return Skip("JSON-RPC over HTTP carries no deadline (docs/jsonrpc.md)")
	}
	var none int64
	if err := t.Call(context.WithoutCancel(ctx), method("Deadline"), nil, &none); err != nil {
		return err
	}
	if none != -1 {
		return fmt.Errorf("a call without a deadline sees %d ms left on the server, want -1 (none)", none)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var left int64
	if err := t.Call(ctx, method("Deadline"), nil, &left); err != nil {
		return err
	}
	if left <= 0 || left > 5000 {
		return fmt.Errorf("a call with 5s to go sees %d ms left on the server, want 1..5000", left)
	}
	return nil
}

func timeoutOnSleepingServer(ctx context.Context, t Target) error {
	tok := token()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := t.Call(short, method("Sleep"), []any{tok, 10000})
	if _, err := wantError(err, method("Sleep"), simplerpc.CodeDeadlineExceeded); err != nil {
		return err
	}
	if d := time.Since(start); d > 2*time.Second {
		return fmt.Errorf("the call returned %s after its 200ms deadline", d)
	}
	// The server's sleep ends too: at its deadline natively, when the
	// client hangs up over HTTP (or at the cancel a client sends).
	var st string
	if err := t.Call(ctx, method("Await"), []any{tok, StateDeadline + "|" + StateCanceled, 3000}, &st); err != nil {
		return err
	}
	if st != StateDeadline && st != StateCanceled {
		return fmt.Errorf("the sleeping call is %q on the server, want %s or %s", st, StateDeadline, StateCanceled)
	}
	return nil
}

func cancelAfterBegin(ctx context.Context, t Target) error {
	tok := token()
	call, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- t.Call(call, method("Sleep"), []any{tok, 10000}) }()
	var st string
	if err := t.Call(ctx, method("Await"), []any{tok, StateRunning, 3000}, &st); err != nil {
		cancel()
		<-done
		return err
	}
	if st != StateRunning {
		cancel()
		<-done
		return fmt.Errorf("the call is %q on the server 3s after it was sent, want %s", st, StateRunning)
	}
	cancel()
	if _, err := wantError(<-done, method("Sleep"), simplerpc.CodeCanceled); err != nil {
		return err
	}
	if err := t.Call(ctx, method("Await"), []any{tok, StateCanceled, 3000}, &st); err != nil {
		return err
	}
	if st != StateCanceled {
		return fmt.Errorf("the canceled call is %q on the server, want %s", st, StateCanceled)
	}
	return nil
}

func metadataEcho(ctx context.Context, t Target) error {
	ctx = simplerpc.AppendMetadata(ctx, "x-interop-one", "1", "X-Interop-Mixed-Case", "Value With Spaces")
	var got map[string]string
	err := t.Call(ctx, method("Metadata"), []any{"X-Interop-One", "x-interop-mixed-case", "x-interop-absent"}, &got)
	if err != nil {
		return err
	}
	want := map[string]string{"x-interop-one": "1", "x-interop-mixed-case": "Value With Spaces"}
	if len(got) != len(want) || got["x-interop-one"] != want["x-interop-one"] || got["x-interop-mixed-case"] != want["x-interop-mixed-case"] {
		return fmt.Errorf("echoed %v, want %v", got, want)
	}
	return nil
}

func wantPoint(what string, want Point, call func(*Point) error) error {
	var got Point
	if err := call(&got); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if got != want {
		return fmt.Errorf("%s: %+v, want %+v", what, got, want)
	}
	return nil
}

func structByName(ctx context.Context, t Target) error {
	m := method("Point")
	if err := wantPoint("json tags", Point{1, -2, "p"}, func(p *Point) error {
		return t.CallNamed(ctx, m, map[string]any{"x": 1, "y": -2, "label": "p"}, p)
	}); err != nil {
		return err
	}
	if err := wantPoint("field names", Point{3, 0, "q"}, func(p *Point) error {
		return t.CallNamed(ctx, m, map[string]any{"X": 3, "Label": "q"}, p)
	}); err != nil {
		return err
	}
	return wantPoint("no fields", Point{}, func(p *Point) error {
		return t.CallNamed(ctx, m, map[string]any{}, p)
	})
}

func structByPosition(ctx context.Context, t Target) error {
	m := method("Point")
	if err := wantPoint("all fields", Point{1, -2, "p"}, func(p *Point) error {
		return t.Call(ctx, m, []any{1, -2, "p"}, p)
	}); err != nil {
		return err
	}
	if err := wantPoint("a two-field prefix", Point{4, 5, ""}, func(p *Point) error {
		return t.Call(ctx, m, []any{4, 5}, p)
	}); err != nil {
		return err
	}
	_, err := wantError(t.Call(ctx, m, []any{1, 2, "p", "extra"}), m, simplerpc.CodeInvalidArgument)
	if err != nil {
		return fmt.Errorf("more fields than the struct has: %w", err)
	}
	return nil
}

func bigIntegers(ctx context.Context, t Target) error {
	for _, v := range []int64{math.MaxInt64, math.MinInt64, 1<<53 + 1, -(1<<53 + 1), 0, -1} {
		var got int64
		if err := t.Call(ctx, method("Int64"), []any{v}, &got); err != nil {
			return err
		}
		if got != v {
			return fmt.Errorf("Int64(%d) = %d", v, got)
		}
	}
	for _, v := range []uint64{math.MaxUint64, 1<<63 + 1} {
		var got uint64
		if err := t.Call(ctx, method("Uint64"), []any{v}, &got); err != nil {
			return err
		}
		if got != v {
			return fmt.Errorf("Uint64(%d) = %d", v, got)
		}
	}
	// Out of range for the parameter: refused, not wrapped around.
	_, err := wantError(t.Call(ctx, method("Int64"), []any{uint64(math.MaxUint64)}), method("Int64"), simplerpc.CodeInvalidArgument)
	if err != nil {
		return fmt.Errorf("Int64(2^64-1): %w", err)
	}
	return nil
}

func byteStrings(ctx context.Context, t Target) error {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, b := range [][]byte{all, {}, []byte("\x00"), bytes.Repeat([]byte{0xff}, 1000)} {
		var got []byte
		if err := t.Call(ctx, method("Bytes"), []any{b}, &got); err != nil {
			return err
		}
		if !bytes.Equal(got, b) {
			return fmt.Errorf("Bytes(%d bytes) returned %d bytes, not the same", len(b), len(got))
		}
	}
	return nil
}

// unicodeSamples are the strings of the unicode case.
var unicodeSamples = []string{
	"héllo, wörld",
	"日本語のテキスト",
	"emoji 🌍🎉 and 𝄞 (outside the BMP)",
	"nul \x00 inside",
	"e\u0301 (combining) שלום (right to left)",
	"\u2028\u2029 line separators, \ufeff BOM",
	"",
}

func unicodeStrings(ctx context.Context, t Target) error {
	for _, s := range unicodeSamples {
		var got string
		var runes int
		if err := t.Call(ctx, method("Unicode"), []any{s}, &got, &runes); err != nil {
			return err
		}
		if got != s || runes != utf8.RuneCountInString(s) {
			return fmt.Errorf("Unicode(%q) = %q, %d; want it back with %d code points", s, got, runes, utf8.RuneCountInString(s))
		}
	}
	return nil
}

// ---- Cases of the argument and error rules ------------------------------------

func bigIntegersAny(ctx context.Context, t Target) error {
	for _, v := range []any{int64(1<<53 + 1), int64(math.MinInt64), int64(math.MaxInt64), uint64(math.MaxUint64)} {
		var got any
		if err := t.Call(ctx, method("Any"), []any{v}, &got); err != nil {
			return err
		}
		s, err := exactInt(got)
		want := fmt.Sprint(v)
		if err != nil || s != want {
			return fmt.Errorf("Any(%s) = %v (%T), want exactly %s", want, got, got, want)
		}
	}
	return nil
}

func structOneElementPrefix(ctx context.Context, t Target) error {
	return wantPoint("a one-field prefix", Point{7, 0, ""}, func(p *Point) error {
		return t.Call(ctx, method("Point"), []any{7}, p)
	})
}

func unknownNamedParameter(ctx context.Context, t Target) error {
	m := method("Point")
	_, err := wantError(t.CallNamed(ctx, m, map[string]any{"x": 1, "z": 2}), m, simplerpc.CodeInvalidArgument)
	return err
}

func utf8InErrors(ctx context.Context, t Target) error {
	// A decode error quoting a long argument cuts it at 256 bytes: never
	// inside a character.
	long := strings.Repeat("é", 300)
	e, err := wantError(t.Call(ctx, method("Int64"), []any{long}), method("Int64"), simplerpc.CodeInvalidArgument)
	if err != nil {
		return err
	}
	if !utf8.ValidString(e.Message) {
		return fmt.Errorf("the invalid_argument message is not valid UTF-8: %q", e.Message)
	}
	// A method's error text that is not valid UTF-8 arrives as valid
	// UTF-8, its bad bytes replaced by U+FFFD.
	e, err = wantError(t.Call(ctx, method("FailText"), []any{"?bad byte first", 0xff}), method("FailText"), simplerpc.CodeApplication)
	if err != nil {
		return err
	}
	if e.Message != "\ufffdbad byte first" {
		return fmt.Errorf("message %q, want %q", e.Message, "\ufffdbad byte first")
	}
	return nil
}
