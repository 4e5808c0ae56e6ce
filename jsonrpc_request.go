package simplerpc

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	// Counted before it is decoded: decoding a million tiny entries takes
	// far more memory than their bytes.
	switch n := jsonArrayLen(body); {
	case n == 0:
		return invalidBody(rpcInvalidRequest, "invalid request: empty batch"), false
	case n > maxBatch:
		return invalidBody(rpcInvalidRequest, fmt.Sprintf("invalid request: a batch of %d requests exceeds the limit of %d", n, maxBatch)), false
	}
	var raws []json.RawMessage
	if err := codec.JSON.Unmarshal(body, &raws); err != nil {
		return invalidBody(rpcInvalidRequest, "invalid request: "+err.Error()), false
	}
	reqs = make([]rpcRequest, len(raws))
	for i, raw := range raws {
		reqs[i] = parseRPCRequest(raw)
	}
	return reqs, true
}

// jsonArrayLen returns the number of elements of data, a valid JSON
// array (0 for anything else), without decoding it.
func jsonArrayLen(data []byte) int {
	data = bytes.TrimSpace(data)
	if len(data) < 2 || data[0] != '[' {
		return 0
	}
	n, depth, inString, escaped, empty := 0, 0, false, false, true
	for _, b := range data[1 : len(data)-1] {
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
			continue
		case b == ' ' || b == '\t' || b == '\n' || b == '\r':
			continue
		case b == '"':
			inString = true
		case b == '[' || b == '{':
			depth++
		case b == ']' || b == '}':
			depth--
		case b == ',' && depth == 0:
			n++
		}
		empty = false
	}
	if empty {
		return 0
	}
	return n + 1
}

// parsedSize returns the bytes the parsed requests hold.
func parsedSize(reqs []rpcRequest) int64 {
	n := int64(len(reqs)) * int64(unsafe.Sizeof(rpcRequest{}))
	for i := range reqs {
		n += int64(len(reqs[i].id) + len(reqs[i].method) + len(reqs[i].params))
	}
	return n
}

func invalidBody(code int, msg string) []rpcRequest {
	return []rpcRequest{{err: protocolError(code, msg)}}
}

// parseRPCRequest parses one request object. raw is valid JSON.
func parseRPCRequest(raw []byte) rpcRequest {
	raw = bytes.TrimSpace(raw)
	var fields map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' {
		return rpcRequest{err: protocolError(rpcInvalidRequest, "invalid request: a request must be a JSON object")}
	}
	if err := codec.JSON.Unmarshal(raw, &fields); err != nil {
		return rpcRequest{err: protocolError(rpcInvalidRequest, "invalid request: "+err.Error())}
	}
	var req rpcRequest
	if id, ok := fields["id"]; ok {
		var err error
		if req.id, err = parseRPCID(id); err != nil {
			return rpcRequest{err: protocolError(rpcInvalidRequest, "invalid request: "+err.Error())}
		}
	}
	invalid := func(msg string) rpcRequest {
		return rpcRequest{id: req.id, err: protocolError(rpcInvalidRequest, "invalid request: "+msg)}
	}
	var version string
	if v, ok := fields["jsonrpc"]; !ok || json.Unmarshal(v, &version) != nil || version != "2.0" {
		return invalid(`"jsonrpc" must be "2.0"`)
	}
	m, ok := fields["method"]
	if !ok || len(m) == 0 || m[0] != '"' || json.Unmarshal(m, &req.method) != nil {
		return invalid(`"method" must be a string`)
	}
	if p, ok := fields["params"]; ok && !bytes.Equal(p, jsonNull) {
		if p[0] != '[' && p[0] != '{' {
			return invalid(`"params" must be an array (by position) or an object (by name)`)
		}
		req.params = p
	}
	return req
}

// parseRPCID checks a request's id, which must be a string, a number or
// null, and returns it as JSON to echo. A string is re-encoded, so the
// response holds valid UTF-8 whatever the request held.
func parseRPCID(id json.RawMessage) (json.RawMessage, error) {
	if len(id) == 0 {
		return nil, fmt.Errorf(`"id" is empty`)
	}
	switch c := id[0]; {
	case c == 'n':
		return jsonNull, nil
	case c == '"':
		var s string
		if err := json.Unmarshal(id, &s); err != nil {
			return nil, fmt.Errorf(`"id": %w`, err)
		}
		return json.Marshal(s)
	case c == '-' || c >= '0' && c <= '9':
		return id, nil
	}
	return nil, fmt.Errorf(`"id" must be a string, a number or null`)
}
