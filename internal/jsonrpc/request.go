package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/simplerpc/simplerpc/internal/codec"
)

// MaxBatch is the most requests one JSON-RPC batch may hold.
const MaxBatch = 1000

// Request is one parsed JSON-RPC request object.
type Request struct {
	ID     json.RawMessage // the id to echo; nil when absent (a notification)
	Method string
	Params json.RawMessage // an array or object; nil when absent
	Err    *Error          // why the request is invalid; nil if it is valid
}

// Notification reports whether the request wants no response. An invalid
// request is always answered.
func (r *Request) Notification() bool { return r.ID == nil && r.Err == nil }

// ParseBody parses a request body: one request or a batch. A body
// that is not a request at all gives a single invalid request whose
// error is the answer.
//
// Only the body's outer shape is decoded here: a batch is split into its
// elements and each request object into its members, without decoding
// the members' values, so that a request the decoders refuse (nested too
// deep, say) is answered by itself, with its id, and the other requests
// of its batch still run (JSON-RPC 2.0, sections 5 and 6).
func ParseBody(body []byte) (reqs []Request, batch bool) {
	return ParseBodyInto(body, new([1]Request))
}

// ParseBodyInto is ParseBody, giving the one request of a body that is
// not a batch (or the error of one that is not a request) in one rather
// than in a slice of its own.
func ParseBodyInto(body []byte, one *[1]Request) (reqs []Request, batch bool) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' && codec.CheckJSON(body) == nil {
		// Valid JSON within the decoders' limits (what the scan accepts,
		// encoding/json does): the request's own check, done.
		one[0] = parseRequest(body, true)
		return one[:], false
	}
	if !json.Valid(body) {
		return invalidBody(one, CodeParseError, "parse error: the body is not valid JSON"), false
	}
	switch body[0] {
	case '{':
		one[0] = ParseRequest(body)
		return one[:], false
	case '[':
	default:
		return invalidBody(one, CodeInvalidRequest, "invalid request: the body must be a request object or a batch array"), false
	}
	// Counted before it is split: a million tiny entries take far more
	// memory parsed than their bytes.
	switch n := ArrayLen(body); {
	case n == 0:
		return invalidBody(one, CodeInvalidRequest, "invalid request: empty batch"), false
	case n > MaxBatch:
		return invalidBody(one, CodeInvalidRequest, fmt.Sprintf("invalid request: a batch of %d requests exceeds the limit of %d", n, MaxBatch)), false
	default:
		reqs = make([]Request, 0, n)
	}
	Split(body, func(elem []byte) {
		reqs = append(reqs, ParseRequest(elem))
	})
	return reqs, true
}

// ParsedSize returns the bytes the parsed requests hold besides the body:
// their params, and most ids, are slices of it; their method names are
// copies, as may be an id (ParseID), counted whole.
func ParsedSize(reqs []Request) int64 {
	n := int64(len(reqs)) * int64(unsafe.Sizeof(Request{}))
	for i := range reqs {
		n += int64(len(reqs[i].ID) + len(reqs[i].Method))
	}
	return n
}

func invalidBody(one *[1]Request, code int, msg string) []Request {
	one[0] = Request{Err: Invalid(code, msg)}
	return one[:]
}

// ParseRequest parses one request object. raw is valid JSON. Its id
// is read first, so that every later complaint about the request is
// answered with it.
func ParseRequest(raw []byte) Request { return parseRequest(raw, false) }

// parseRequest is ParseRequest; checked says that raw has passed
// codec.CheckJSON already.
func parseRequest(raw []byte, checked bool) Request {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return Request{Err: Invalid(CodeInvalidRequest, "invalid request: a request must be a JSON object")}
	}
	// The members this server reads; others are ignored. One of them
	// twice is refused, as a duplicate key is everywhere (docs/types.md);
	// its last value is still read for the id to answer with.
	var id, version, method, params []byte
	var twice string
	note := func(dst *[]byte, k string, v []byte) {
		if *dst != nil && twice == "" {
			twice = k
		}
		*dst = v
	}
	Split(raw, func(member []byte) {
		key, v := memberKey(member)
		switch k := memberName(key); k {
		case "id":
			note(&id, k, v)
		case "jsonrpc":
			note(&version, k, v)
		case "method":
			note(&method, k, v)
		case "params":
			note(&params, k, v)
		}
	})
	var req Request
	if id != nil {
		var err error
		if req.ID, err = ParseID(id); err != nil {
			return Request{Err: Invalid(CodeInvalidRequest, "invalid request: "+err.Error())}
		}
	}
	invalid := func(msg string) Request {
		return Request{ID: req.ID, Err: Invalid(CodeInvalidRequest, "invalid request: "+msg)}
	}
	if twice != "" {
		return invalid(fmt.Sprintf("the member %q appears twice", twice))
	}
	// The decoders' limits (nesting, items, number length) hold for the
	// whole request, checked in one scan, without decoding it. The text
	// rule is not the envelope's to apply: an id is echoed as sent
	// (ParseID), and the params' text is checked when they are
	// decoded, as invalid params (so are their keys).
	if checked {
		// as below, with no error
	} else if err := codec.CheckJSON(raw); err != nil && !errors.Is(err, codec.ErrText) {
		return invalid(err.Error())
	}
	if !isVersion(version) {
		return invalid(`"jsonrpc" must be "2.0"`)
	}
	if len(method) == 0 || method[0] != '"' {
		return invalid(`"method" must be a string`)
	}
	if name := method[1 : len(method)-1]; bytes.IndexByte(name, '\\') < 0 && utf8.Valid(name) {
		// As written: nothing to unescape or replace.
		req.Method = string(name)
	} else if json.Unmarshal(method, &req.Method) != nil {
		return invalid(`"method" must be a string`)
	}
	if params != nil && !bytes.Equal(params, Null) {
		if params[0] != '[' && params[0] != '{' {
			return invalid(`"params" must be an array (by position) or an object (by name)`)
		}
		req.Params = params
	}
	return req
}

// ParseID checks a request's id, which must be a string, a number or
// null, and returns it as JSON to echo. It is echoed byte for byte, escapes
// and all (a lone surrogate "\ud800" included), unless it holds bytes that
// are not UTF-8: then it is re-encoded, invalid bytes replaced, so that the
// response is valid UTF-8 whatever the request held.
func ParseID(id json.RawMessage) (json.RawMessage, error) {
	if len(id) == 0 {
		return nil, fmt.Errorf(`"id" is empty`)
	}
	switch c := id[0]; {
	case c == 'n':
		return Null, nil
	case c == '"':
		if utf8.Valid(id) {
			return id, nil
		}
		var s string
		if err := json.Unmarshal(id, &s); err != nil {
			return nil, fmt.Errorf(`"id": %w`, err)
		}
		return json.Marshal(s)
	case c == '-' || c >= '0' && c <= '9':
		if len(id) > codec.MaxNumberLen {
			return nil, fmt.Errorf(`"id" is a number longer than %d characters`, codec.MaxNumberLen)
		}
		return id, nil
	}
	return nil, fmt.Errorf(`"id" must be a string, a number or null`)
}

// isVersion reports whether v, a JSON value, is the string "2.0", however
// written.
func isVersion(v []byte) bool {
	if string(v) == `"2.0"` {
		return true
	}
	var s string
	return v != nil && json.Unmarshal(v, &s) == nil && s == "2.0"
}
