package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync/atomic"

	"github.com/simplerpc/simplerpc"
)

// JSONRPC is a Target reached by JSON-RPC 2.0 over HTTP (docs/jsonrpc.md):
// a small client of net/http and encoding/json, written from the
// document and strict about what it receives, so that a server answering
// outside the document fails the cases.
//
// Metadata in a call's context (simplerpc.AppendMetadata) travels as HTTP
// headers. JSON-RPC carries no deadline: when the context ends, the
// request is abandoned and its connection closed, which cancels the call
// on the server.
type JSONRPC struct {
	// URL is where requests are posted: "http://host:port/".
	URL string
	// HTTP is the client that posts them; if nil, http.DefaultClient.
	HTTP *http.Client

	ids atomic.Int64
}

// NewJSONRPC returns a JSONRPC target for the server at addr (host:port).
func NewJSONRPC(addr string, hc *http.Client) *JSONRPC {
	return &JSONRPC{URL: "http://" + addr + "/", HTTP: hc}
}

// Transport returns TransportJSONRPC.
func (*JSONRPC) Transport() string { return TransportJSONRPC }

// Call sends args as the "params" array.
func (j *JSONRPC) Call(ctx context.Context, method string, args []any, results ...any) error {
	if args == nil {
		args = []any{}
	}
	return j.call(ctx, method, args, results)
}

// CallNamed sends args as the "params" object.
func (j *JSONRPC) CallNamed(ctx context.Context, method string, args map[string]any, results ...any) error {
	return j.call(ctx, method, args, results)
}

// CallError is the error of a JSON-RPC call that the server answered with
// an error object. It wraps the *simplerpc.Error that error.data
// describes.
type CallError struct {
	// RPCCode is the JSON-RPC error code (-32000 for an application error).
	RPCCode int
	// Detail is error.data.detail as sent: the fields of a registered
	// error type's value, or nil.
	Detail json.RawMessage
	// Err holds the simplerpc code (from error.data.code), the message
	// and what error.data says of the method, type, stack and name.
	Err *simplerpc.Error
}

// Error returns the wrapped error's text with the JSON-RPC code.
func (e *CallError) Error() string { return fmt.Sprintf("%v (JSON-RPC %d)", e.Err, e.RPCCode) }

// Unwrap returns the *simplerpc.Error.
func (e *CallError) Unwrap() error { return e.Err }

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
	ID      int64  `json:"id"`
}

type rpcResponse struct {
	JSONRPC *string         `json:"jsonrpc"`
	Result  json.RawMessage `json:"result"`
	Error   *rpcError       `json:"error"`
	ID      json.RawMessage `json:"id"`
}

type rpcError struct {
	Code    *int     `json:"code"`
	Message *string  `json:"message"`
	Data    *rpcData `json:"data"`
}

type rpcData struct {
	Code   string          `json:"code"`
	Type   string          `json:"type"`
	Stack  string          `json:"stack"`
	Method string          `json:"method"`
	Name   string          `json:"name"`
	Detail json.RawMessage `json:"detail"`
}

func (j *JSONRPC) call(ctx context.Context, method string, params any, results []any) error {
	id := j.ids.Add(1)
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", Method: method, Params: params, ID: id})
	if err != nil {
		return fmt.Errorf("%s: encoding the request: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range simplerpc.OutgoingMetadata(ctx) {
		req.Header.Set(k, v)
	}
	hc := j.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return contextError(method, ctx.Err())
		}
		return &simplerpc.Error{Code: simplerpc.CodeUnavailable, Method: method, Message: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return contextError(method, ctx.Err())
		}
		return &simplerpc.Error{Code: simplerpc.CodeConnectionLost, Method: method, Message: err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP status %s, want 200: %.200s", method, resp.Status, data)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("%s: response Content-Type %q, want application/json", method, resp.Header.Get("Content-Type"))
	}
	var r rpcResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%s: malformed response %.200q: %w", method, data, err)
	}
	switch {
	case r.JSONRPC == nil || *r.JSONRPC != "2.0":
		return fmt.Errorf("%s: response %.200q lacks \"jsonrpc\": \"2.0\"", method, data)
	case string(r.ID) != fmt.Sprint(id):
		return fmt.Errorf("%s: response id %s, want %d", method, r.ID, id)
	case r.Error != nil && r.Result != nil:
		return fmt.Errorf("%s: response %.200q has both a result and an error", method, data)
	case r.Error != nil:
		return r.Error.callError(method)
	case r.Result == nil:
		return fmt.Errorf("%s: response %.200q has neither a result nor an error", method, data)
	}
	return decodeResult(method, r.Result, results)
}

// callError checks an error object and converts it.
func (re *rpcError) callError(method string) error {
	if re.Code == nil || re.Message == nil {
		return fmt.Errorf("%s: error object lacks a code or a message", method)
	}
	if re.Data == nil {
		return fmt.Errorf("%s: error %d %q has no data; only errors about the request itself lack it", method, *re.Code, *re.Message)
	}
	code, ok := simplerpc.ParseCode(re.Data.Code)
	if !ok {
		return fmt.Errorf("%s: error data has the unknown code %q", method, re.Data.Code)
	}
	if want := simplerpc.JSONRPCCode(code); *re.Code != want {
		return fmt.Errorf("%s: JSON-RPC code %d for a %s error, want %d", method, *re.Code, code, want)
	}
	e := &simplerpc.Error{Code: code, Message: *re.Message, Method: re.Data.Method,
		RemoteType: re.Data.Type, Stack: re.Data.Stack, Name: re.Data.Name}
	return &CallError{RPCCode: *re.Code, Detail: re.Data.Detail, Err: e}
}

// decodeResult decodes a JSON-RPC result into results: null for no
// results, the value for one, an array for several (docs/jsonrpc.md).
// Numbers decoded into an empty interface become json.Number, so that
// no integer is rounded on the way.
func decodeResult(method string, raw json.RawMessage, results []any) error {
	switch len(results) {
	case 0:
		return nil
	case 1:
		return unmarshal(method, raw, results[0])
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return fmt.Errorf("%s: result %.200s is not an array of %d results: %w", method, raw, len(results), err)
	}
	if len(parts) < len(results) {
		return fmt.Errorf("%s: %d results, want %d", method, len(parts), len(results))
	}
	for i, r := range results {
		if err := unmarshal(method, parts[i], r); err != nil {
			return err
		}
	}
	return nil
}

func unmarshal(method string, raw json.RawMessage, v any) error {
	if v == nil {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%s: decoding result %.200s: %w", method, raw, err)
	}
	return nil
}

// contextError is the error of a call abandoned because ctx ended.
func contextError(method string, err error) *simplerpc.Error {
	code := simplerpc.CodeCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		code = simplerpc.CodeDeadlineExceeded
	}
	return &simplerpc.Error{Code: code, Method: method, Message: err.Error()}
}
