package jsonrpc

import (
	"bytes"
	"encoding/json"
)

// ArrayLen returns the number of elements of data, a valid JSON
// array (0 for anything else), without decoding it.
func ArrayLen(data []byte) int {
	data = bytes.TrimSpace(data)
	if len(data) < 2 || data[0] != '[' {
		return 0
	}
	n := 0
	Split(data, func([]byte) { n++ })
	return n
}

// Split calls f with each element of data, a valid JSON array, or
// each member ("key": value) of data, a valid JSON object, trimmed of
// space, in order, without decoding them. It takes one pass and no
// memory, however deep the values nest.
func Split(data []byte, f func(part []byte)) {
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

// Member splits a member of a valid JSON object, as Split gives
// it, into its key, unescaped, and its value.
func Member(member []byte) (key string, val []byte) {
	raw, val := memberKey(member)
	if bytes.IndexByte(raw, '\\') < 0 {
		key = string(raw[1 : len(raw)-1])
	} else if json.Unmarshal(raw, &key) != nil {
		key = ""
	}
	return key, val
}

// memberKey splits a member of a valid JSON object, as Split gives it,
// into its key as written, quotes and escapes and all, and its value.
func memberKey(member []byte) (raw, val []byte) {
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
	raw = member[:end+1]
	val = bytes.TrimSpace(member[end+1:])
	return raw, bytes.TrimSpace(bytes.TrimPrefix(val, []byte(":")))
}

// memberName returns the key of a member, unescaped, as Member does,
// from raw, the key as memberKey gives it. A key written without escapes
// is compared where it lies: the request's members are told apart
// without copying their names.
func memberName(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		switch string(raw[1 : len(raw)-1]) {
		case "id":
			return "id"
		case "jsonrpc":
			return "jsonrpc"
		case "method":
			return "method"
		case "params":
			return "params"
		}
		return "" // a member the server does not read
	}
	var key string
	if json.Unmarshal(raw, &key) != nil {
		return ""
	}
	return key
}
