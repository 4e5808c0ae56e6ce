package simplerpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/simplerpc/simplerpc/internal/codec"
)

// maxBatch is the most requests one JSON-RPC batch may hold.
const maxBatch = 1000

// rpcRequest is one parsed JSON-RPC request object.
type rpcRequest struct {
	id     json.RawMessage // the id to echo; nil when absent (a notification)
	method string
	params json.RawMessage // an array or object; nil when absent
	err    *rpcError       // why the request is invalid; nil if it is valid
	timed  bool            // its call's run time is a sample for runCost (answerBatch)
}

// notification reports whether the request wants no response. An invalid
// request is always answered.
func (r *rpcRequest) notification() bool { return r.id == nil && r.err == nil }

// parseRPCBody parses a request body: one request or a batch. A body
// that is not a request at all gives a single invalid request whose
// error is the answer.
//
// Only the body's outer shape is decoded here: a batch is split into its
// elements and each request object into its members, without decoding
// the members' values, so that a request the decoders refuse (nested too
// deep, say) is answered by itself, with its id, and the other requests
// of its batch still run (JSON-RPC 2.0, sections 5 and 6).
func parseRPCBody(body []byte) (reqs []rpcRequest, batch bool) {
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return invalidBody(rpcParseError, "parse error: the body is not valid JSON"), false
	}
	switch body[0] {
	case '{':
		return []rpcRequest{parseRPCRequest(body)}, false
	case '[':
	default:
		return invalidBody(rpcInvalidRequest, "invalid request: the body must be a request object or a batch array"), false
	}
	// Counted before it is split: a million tiny entries take far more
	// memory parsed than their bytes.
	switch n := jsonArrayLen(body); {
	case n == 0:
		return invalidBody(rpcInvalidRequest, "invalid request: empty batch"), false
	case n > maxBatch:
		return invalidBody(rpcInvalidRequest, fmt.Sprintf("invalid request: a batch of %d requests exceeds the limit of %d", n, maxBatch)), false
	default:
		reqs = make([]rpcRequest, 0, n)
	}
	jsonSplit(body, func(elem []byte) {
		reqs = append(reqs, parseRPCRequest(elem))
	})
	return reqs, true
}

// jsonArrayLen returns the number of elements of data, a valid JSON
// array (0 for anything else), without decoding it.
func jsonArrayLen(data []byte) int {
	data = bytes.TrimSpace(data)
	if len(data) < 2 || data[0] != '[' {
		return 0
	}
	n := 0
	jsonSplit(data, func([]byte) { n++ })
	return n
}

// jsonSplit calls f with each element of data, a valid JSON array, or
// each member ("key": value) of data, a valid JSON object, trimmed of
// space, in order, without decoding them. It takes one pass and no
// memory, however deep the values nest.
func jsonSplit(data []byte, f func(part []byte)) {
	data = bytes.TrimSpace(data)
	if len(data) < 2 {
		return
	}
	inner := data[1 : len(data)-1]
	depth, inString, escaped, start := 0, false, false, 0
	emit := func(end int) {
		if part := bytes.TrimSpace(inner[start:end]); len(part) > 0 {
			f(part)
		}
	}
	for i, b := range inner {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '[' || b == '{':
			depth++
		case b == ']' || b == '}':
			depth--
		case b == ',' && depth == 0:
			emit(i)
			start = i + 1
		}
	}
	emit(len(inner))
}

// jsonMember splits a member of a valid JSON object, as jsonSplit gives
// it, into its key, unescaped, and its value.
func jsonMember(member []byte) (key string, val []byte) {
	end := 1
	for escaped := false; end < len(member); end++ {
		if escaped {
			escaped = false
		} else if member[end] == '\\' {
			escaped = true
		} else if member[end] == '"' {
			break
		}
	}
	raw := member[:end+1]
	if bytes.IndexByte(raw, '\\') < 0 {
		key = string(raw[1 : len(raw)-1])
	} else if json.Unmarshal(raw, &key) != nil {
		key = ""
	}
	val = bytes.TrimSpace(member[end+1:])
	return key, bytes.TrimSpace(bytes.TrimPrefix(val, []byte(":")))
}

// parsedSize returns the bytes the parsed requests hold besides the body:
// their params, and most ids, are slices of it; their method names are
// copies, as may be an id (parseRPCID), counted whole.
func parsedSize(reqs []rpcRequest) int64 {
	n := int64(len(reqs)) * int64(unsafe.Sizeof(rpcRequest{}))
	for i := range reqs {
		n += int64(len(reqs[i].id) + len(reqs[i].method))
	}
	return n
}

func invalidBody(code int, msg string) []rpcRequest {
	return []rpcRequest{{err: protocolError(code, msg)}}
}

// parseRPCRequest parses one request object. raw is valid JSON. Its id
// is read first, so that every later complaint about the request is
// answered with it.
func parseRPCRequest(raw []byte) rpcRequest {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return rpcRequest{err: protocolError(rpcInvalidRequest, "invalid request: a request must be a JSON object")}
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
	jsonSplit(raw, func(member []byte) {
		switch k, v := jsonMember(member); k {
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
	var req rpcRequest
	if id != nil {
		var err error
		if req.id, err = parseRPCID(id); err != nil {
			return rpcRequest{err: protocolError(rpcInvalidRequest, "invalid request: "+err.Error())}
		}
	}
	invalid := func(msg string) rpcRequest {
		return rpcRequest{id: req.id, err: protocolError(rpcInvalidRequest, "invalid request: "+msg)}
	}
	if twice != "" {
		return invalid(fmt.Sprintf("the member %q appears twice", twice))
	}
	// The decoders' limits (nesting, items, number length) hold for the
	// whole request, checked in one scan, without decoding it. The text
	// rule is not the envelope's to apply: an id is echoed as sent
	// (parseRPCID), and the params' text is checked when they are
	// decoded, as invalid params (so are their keys).
	if err := codec.CheckJSON(raw); err != nil && !errors.Is(err, codec.ErrText) {
		return invalid(err.Error())
	}
	var v string
	if version == nil || json.Unmarshal(version, &v) != nil || v != "2.0" {
		return invalid(`"jsonrpc" must be "2.0"`)
	}
	if len(method) == 0 || method[0] != '"' || json.Unmarshal(method, &req.method) != nil {
		return invalid(`"method" must be a string`)
	}
	if params != nil && !bytes.Equal(params, jsonNull) {
		if params[0] != '[' && params[0] != '{' {
			return invalid(`"params" must be an array (by position) or an object (by name)`)
		}
		req.params = params
	}
	return req
}

// parseRPCID checks a request's id, which must be a string, a number or
// null, and returns it as JSON to echo. It is echoed byte for byte, escapes
// and all (a lone surrogate "\ud800" included), unless it holds bytes that
// are not UTF-8: then it is re-encoded, invalid bytes replaced, so that the
// response is valid UTF-8 whatever the request held.
func parseRPCID(id json.RawMessage) (json.RawMessage, error) {
	if len(id) == 0 {
		return nil, fmt.Errorf(`"id" is empty`)
	}
	switch c := id[0]; {
	case c == 'n':
		return jsonNull, nil
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
