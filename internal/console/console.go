// Package console is the web console of simplerpc (the "simplerpc
// console" command): an http.Handler that serves a page listing a
// server's services and methods (from its description), with a form for
// each method's parameters, and that makes the calls the page asks for
// over the native protocol, through the console's own Client — so the
// console reaches whatever the Client can: TLS servers, static:/// and
// dns:/// targets.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary
// (assets/): it loads nothing from elsewhere and works offline. It
// speaks to the handler's small JSON API:
//
//	GET  /api/describe  the server's Description
//	GET  /api/health    the server's Health
//	POST /api/call      {"method", "params", "metadata", "timeoutMs"}
//	                    -> {"results", "durationMs"} or {"error", "durationMs"}
//	POST /api/stream    {"method", "params", "metadata", "timeoutMs", "items"}
//	                    -> NDJSON: {"open", "ms"}, then {"n", "ms", "item"}
//	                       per item, then {"end", "items", "sent", "results",
//	                       "error", "firstMs", "durationMs"}
//
// A stream is relayed, not buffered: each item the server yields is
// written to the page and flushed before the next is received, so the
// page's reading paces the stream (through its flow control) back to the
// server, and the console holds one item at a time. The page ending the
// request — its Stop button, a closed tab — cancels the stream on the
// server. Streams are bounded in time as calls are.
//
// The handler answers only same-origin requests addressed to an IP
// address or localhost, so that neither another site's page nor one on a
// name rebound to the console's address can make calls through it.
package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/simplerpc/simplerpc"
)

//go:embed assets
var assets embed.FS

// Limits of what the page may ask for.
const (
	// maxRequest bounds the body of a call request.
	maxRequest = 16 << 20
	// DefaultCallTimeout bounds a call whose request names no timeout.
	DefaultCallTimeout = 30 * time.Second
	// maxCallTimeout bounds the timeout a request may ask for.
	maxCallTimeout = 10 * time.Minute
)

// Options configure a Handler.
type Options struct {
	// Target is what the client dialed, shown on the page.
	Target string
	// Metadata is sent with every call, under what the page adds.
	Metadata simplerpc.Metadata
	// Logger logs how each stream ended, at Debug level; slog.Default()
	// if nil.
	Logger *slog.Logger
}

// Handler serves the console of one Client. Each call it makes runs in
// its request's goroutine and ends with it; a stream that receives items
// sends them from one more goroutine of its request, which ends before
// the request does.
type Handler struct {
	c    *simplerpc.Client
	opts Options
	mux  *http.ServeMux
}

// New returns the console of c. c should use the JSON codec
// (simplerpc.WithCodec("json")), so that parameters written as JSON on
// the page travel as they are and results come back as JSON.
func New(c *simplerpc.Client, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{c: c, opts: opts, mux: http.NewServeMux()}
	static, _ := fs.Sub(assets, "assets") // the directory is embedded
	files := http.FileServerFS(static)
	h.mux.Handle("GET /", files)
	h.mux.HandleFunc("GET /api/describe", h.describe)
	h.mux.HandleFunc("GET /api/health", h.health)
	h.mux.HandleFunc("POST /api/call", h.call)
	h.mux.HandleFunc("POST /api/stream", h.stream)
	return h
}

// ServeHTTP serves the page and its API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if why := refuse(r); why != "" {
		http.Error(w, "simplerpc console: "+why, http.StatusForbidden)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	h.mux.ServeHTTP(w, r)
}

// refuse says why r may not be served, or "" if it may: it must be
// addressed to an IP address or localhost (not a name that could be
// rebound to the console's address), and a request that says where it
// comes from must come from the console's own page.
func refuse(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if net.ParseIP(host) == nil && !strings.EqualFold(host, "localhost") {
		return "open the console by IP address or localhost"
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		return "cross-origin request refused"
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return "cross-site request refused"
	}
	return ""
}

// info is what /api/describe answers: the target and its description.
type info struct {
	Target      string                 `json:"target"`
	Description *simplerpc.Description `json:"description"`
}

func (h *Handler) describe(w http.ResponseWriter, r *http.Request) {
	d, err := h.c.Describe(r.Context())
	if err != nil {
		writeJSON(w, http.StatusBadGateway, callResponse{Error: errorOf(err)})
		return
	}
	writeJSON(w, http.StatusOK, info{Target: h.opts.Target, Description: d})
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	hl, err := h.c.Health(r.Context(), r.URL.Query().Get("service"))
	if err != nil {
		writeJSON(w, http.StatusBadGateway, callResponse{Error: errorOf(err)})
		return
	}
	writeJSON(w, http.StatusOK, hl)
}

// callRequest is the body of POST /api/call.
type callRequest struct {
	// Method is "Service.Method" or a function's name.
	Method string `json:"method"`
	// Params are the arguments, by position; for a method whose only
	// parameter is a struct, one object of its fields by name may stand
	// for them.
	Params []json.RawMessage `json:"params"`
	// Metadata travels with the call, over Options.Metadata.
	Metadata map[string]string `json:"metadata"`
	// TimeoutMs bounds the call; DefaultCallTimeout if 0.
	TimeoutMs int64 `json:"timeoutMs"`
	// Items are the items a stream request sends, for a method that
	// receives a stream (client or bidi); /api/call ignores them.
	Items []json.RawMessage `json:"items"`
}

// callResponse is the answer of POST /api/call.
type callResponse struct {
	Results []json.RawMessage `json:"results,omitempty"`
	// Pretty is the results indented for people, as the server sent
	// them (the page shows it as is: parsing it in JavaScript would
	// round large integers): the result itself when there is one, an
	// array when there are several, "" when there are none.
	Pretty     string     `json:"pretty,omitempty"`
	Error      *callError `json:"error,omitempty"`
	DurationMs float64    `json:"durationMs"`
}

// callError is a failed call as the page shows it.
type callError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Method     string `json:"method,omitempty"`
	RemoteType string `json:"remoteType,omitempty"`
	Name       string `json:"name,omitempty"`
	Stack      string `json:"stack,omitempty"`
}

func (h *Handler) call(w http.ResponseWriter, r *http.Request) {
	if !isJSON(w, r) {
		return
	}
	var req callRequest
	if err := decodeRequest(w, r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, callResponse{Error: &callError{Code: "local", Message: err.Error()}})
		return
	}
	ctx, cancel := h.callContext(r.Context(), req)
	defer cancel()
	results, d, err := h.invoke(ctx, req.Method, req.Params)
	took := float64(d.Microseconds()) / 1000
	if err != nil {
		writeJSON(w, http.StatusOK, callResponse{Error: errorOf(err), DurationMs: took})
		return
	}
	writeJSON(w, http.StatusOK, callResponse{Results: results, Pretty: pretty(results), DurationMs: took})
}

// decodeRequest decodes the body of a call or stream request into req,
// which must name a method. The body is read to its end, up to
// maxRequest: only then does the HTTP server watch the connection, and
// end the request's context — and the call — when the page goes.
func decodeRequest(w http.ResponseWriter, r *http.Request, req *callRequest) error {
	body := http.MaxBytesReader(w, r.Body, maxRequest)
	dec := json.NewDecoder(body)
	err := dec.Decode(req)
	if err == nil && req.Method == "" {
		err = errors.New("no method")
	}
	if err == nil {
		_, err = io.Copy(io.Discard, body)
	}
	if err != nil {
		return fmt.Errorf("bad call request: %w", err)
	}
	return nil
}

// callContext returns the context of the call req asks for: bounded by
// its timeout (DefaultCallTimeout if it names none, maxCallTimeout at
// most), carrying Options.Metadata under the request's own.
func (h *Handler) callContext(parent context.Context, req callRequest) (context.Context, context.CancelFunc) {
	timeout := DefaultCallTimeout
	if req.TimeoutMs > 0 {
		timeout = min(time.Duration(req.TimeoutMs)*time.Millisecond, maxCallTimeout)
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	var kv []string
	for k, v := range h.opts.Metadata {
		if _, over := req.Metadata[k]; !over {
			kv = append(kv, k, v)
		}
	}
	for k, v := range req.Metadata {
		if k != "" {
			kv = append(kv, k, v)
		}
	}
	if len(kv) > 0 {
		ctx = simplerpc.AppendMetadata(ctx, kv...)
	}
	return ctx, cancel
}

// pretty returns results indented: the result itself when there is one,
// an array when there are several, "" for none.
func pretty(results []json.RawMessage) string {
	var raw []byte
	switch len(results) {
	case 0:
		return ""
	case 1:
		raw = results[0]
	default:
		raw, _ = json.Marshal(results) // valid JSON values: cannot fail
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// invoke calls method with params and returns its results as JSON and
// how long the call took; the description says how many results there
// are (one if the server does not say).
func (h *Handler) invoke(ctx context.Context, method string, params []json.RawMessage) ([]json.RawMessage, time.Duration, error) {
	n := 1
	d, err := h.c.Describe(ctx)
	switch {
	case err == nil:
		if m := d.Method(method); m != nil {
			n = len(m.Results)
		}
	case errors.Is(err, &simplerpc.Error{Code: simplerpc.CodeNotFound}):
	default:
		return nil, 0, err
	}
	args := make([]any, len(params))
	for i, p := range params {
		args[i] = p
	}
	results := make([]json.RawMessage, n)
	ptrs := make([]any, n)
	for i := range results {
		ptrs[i] = &results[i]
	}
	start := time.Now()
	err = h.c.Call(ctx, method, args, ptrs...)
	took := time.Since(start)
	if err != nil {
		return nil, took, err
	}
	return results, took, nil
}

// errorOf turns a call's error into what the page shows.
func errorOf(err error) *callError {
	var e *simplerpc.Error
	if !errors.As(err, &e) {
		return &callError{Code: "local", Message: err.Error()}
	}
	return &callError{Code: e.Code.String(), Message: e.Message, Method: e.Method, RemoteType: e.RemoteType, Name: e.Name, Stack: e.Stack}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"local","message":"cannot encode the answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
