package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/simplerpc/simplerpc"
)

// dialServer connects to addr for a command. The connection uses the JSON
// codec, so that arguments given as JSON travel to the server as they
// are (json.RawMessage) whatever the server's Go types, and results come
// back as JSON. With debug, server-side tracebacks go to stderr. extra
// options (TLS, say) come last.
func dialServer(ctx context.Context, addr string, debug bool, stderr io.Writer, extra ...simplerpc.ClientOption) (*simplerpc.Client, error) {
	opts := []simplerpc.ClientOption{
		simplerpc.WithCodec("json"),
		simplerpc.WithLogger(newTermLogger(stderr, slog.LevelWarn, "")),
		simplerpc.WithDebug(debug),
		// Fail fast when nothing listens: a person is waiting.
		simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 3, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}),
	}
	return simplerpc.Dial(ctx, addr, append(opts, extra...)...)
}

// namedArg matches an argument given as name=value.
var namedArg = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// parseArgs turns command-line arguments into call arguments. Each is a
// JSON value, or else a string; name=value pairs (all of them, not mixed
// with positional ones) become one object, for a method whose only
// parameter is a struct.
func parseArgs(args []string) ([]any, error) {
	named := 0
	for _, a := range args {
		if namedArg.MatchString(a) {
			named++
		}
	}
	switch {
	case named == 0:
		out := make([]any, len(args))
		for i, a := range args {
			out[i] = jsonValue(a)
		}
		return out, nil
	case named != len(args):
		return nil, errors.New(`name=value arguments cannot be mixed with positional ones (quote a JSON string containing "=": '"a=b"')`)
	}
	obj := make(map[string]json.RawMessage, len(args))
	for _, a := range args {
		name, value, _ := strings.Cut(a, "=")
		if _, dup := obj[name]; dup {
			return nil, fmt.Errorf("argument %s given twice", name)
		}
		obj[name] = jsonValue(value)
	}
	return []any{obj}, nil
}

// jsonValue returns s if it is valid JSON, else s as a JSON string.
func jsonValue(s string) json.RawMessage {
	if t := strings.TrimSpace(s); t != "" && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(s)
	return b
}

// indent returns raw JSON indented for people.
func indent(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// remoteError is an error as -json prints it.
type remoteError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Method     string `json:"method,omitempty"`
	RemoteType string `json:"remoteType,omitempty"`
	Name       string `json:"name,omitempty"`
	Stack      string `json:"stack,omitempty"`
}

// printError reports a failed call on w: as one JSON object with asJSON,
// else as text naming its code.
func printError(w io.Writer, cmd string, err error, asJSON bool) {
	var e *simplerpc.Error
	if !errors.As(err, &e) {
		if asJSON {
			b, _ := json.Marshal(map[string]any{"error": remoteError{Code: "local", Message: err.Error()}})
			fmt.Fprintf(w, "%s\n", b)
			return
		}
		fmt.Fprintf(w, "simplerpc %s: %s\n", cmd, strings.TrimPrefix(err.Error(), "simplerpc: "))
		return
	}
	if asJSON {
		b, _ := json.Marshal(map[string]any{"error": remoteError{
			Code: e.Code.String(), Message: e.Message, Method: e.Method,
			RemoteType: e.RemoteType, Name: e.Name, Stack: e.Stack,
		}})
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "simplerpc %s: %s\n", cmd, strings.TrimPrefix(err.Error(), "simplerpc: "))
	details := []string{"code " + e.Code.String()}
	if e.RemoteType != "" {
		details = append(details, "remote type "+e.RemoteType)
	}
	if e.Name != "" {
		details = append(details, "registered as "+e.Name)
	}
	fmt.Fprintf(w, "  (%s)\n", strings.Join(details, ", "))
}
