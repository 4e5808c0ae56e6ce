package codec

import (
	"fmt"
	"unicode/utf8"
)

// jsonFrame is one open array or object while scanning.
type jsonFrame struct {
	n   int32 // elements, or pairs, read so far
	obj bool
}

// jsonScanner checks a JSON document against the limits in one pass,
// refusing what json.Valid refuses, without decoding or allocating: the
// open containers are on a fixed stack, on the caller's Go stack, which
// starts shallow as cborScanner's does.
type jsonScanner struct {
	data  []byte
	pos   int
	list  bool // the document is an argument list: its own slots are the caller's
	items int
	cost  int64
	rootN int  // the elements of the outermost container
	objs  bool // an object was seen: its keys are checked when decoded
	sp    int
	stack []jsonFrame
}

const (
	jsonValue = iota // a value starts at pos
	jsonAfter        // a value ended just before pos
	jsonKey          // an object key starts at pos
)

// scanJSON checks data, one JSON value with optional white space around it.
// If list, the value must be an array: the argument list. It returns the
// estimated cost of decoding the value, the number of elements of the
// outermost array or object, where the first of them starts, and whether
// the value holds an object.
func scanJSON(data []byte, list bool) (cost int64, n, first int, objs bool, err error) {
	var shallow [shallowFrames]jsonFrame
	s := jsonScanner{data: data, list: list, stack: shallow[:]}
	if cost, n, first, objs, err = s.scan(); err == errDeeper {
		return scanJSONDeep(data, list)
	}
	return cost, n, first, objs, err
}

// scanJSONDeep is scanJSON with the full stack, apart so that its frame
// is cleared only when needed.
//
//go:noinline
func scanJSONDeep(data []byte, list bool) (cost int64, n, first int, objs bool, err error) {
	var deep [MaxDepth]jsonFrame
	s := jsonScanner{data: data, list: list, stack: deep[:]}
	return s.scan()
}

func (s *jsonScanner) scan() (cost int64, n, first int, objs bool, err error) {
	data := s.data
	s.skipSpace()
	list := s.list
	if list && (s.pos == len(data) || data[s.pos] != '[') {
		return 0, 0, 0, false, ErrNotArray
	}
	first = s.pos + 1
	if err := s.run(); err != nil {
		return 0, 0, 0, false, err
	}
	for first < len(data) && isSpace(data[first]) {
		first++
	}
	return s.cost, s.rootN, first, s.objs, nil
}

func (s *jsonScanner) run() error {
	state := jsonValue
	for {
		switch state {
		case jsonValue:
			if s.pos == len(s.data) {
				return s.malformed("input ends where a value should start")
			}
			if s.sp > 0 {
				if s.items++; s.items > MaxItems {
					return fmt.Errorf("%w: more than %d data items", ErrLimit, MaxItems)
				}
			}
			switch c := s.data[s.pos]; {
			case c == '[' || c == '{':
				if s.sp == MaxDepth {
					return fmt.Errorf("%w: nested deeper than %d levels at byte %d", ErrLimit, MaxDepth, s.pos)
				}
				if s.sp == len(s.stack) {
					return errDeeper
				}
				s.stack[s.sp] = jsonFrame{obj: c == '{'}
				s.objs = s.objs || c == '{'
				s.sp++
				s.pos++
				s.skipSpace()
				if s.pos < len(s.data) && s.data[s.pos] == c+2 { // ']' and '}' follow '[' and '{' by two
					s.pos++
					s.close()
					state = jsonAfter
				} else if c == '{' {
					state = jsonKey
				}
				continue
			case c == '"':
				n, err := s.str()
				if err != nil {
					return err
				}
				if n > 0 {
					s.cost += costString + costData(n)
				}
			case c == '-' || c >= '0' && c <= '9':
				big, err := s.number()
				if err != nil {
					return err
				}
				s.cost += costNumberJSON
				if big > 0 {
					s.cost += costBignumOf(big)
				}
			case c == 't':
				if err := s.literal("true"); err != nil {
					return err
				}
			case c == 'f':
				if err := s.literal("false"); err != nil {
					return err
				}
			case c == 'n':
				if err := s.literal("null"); err != nil {
					return err
				}
			default:
				return s.malformed("invalid character where a value should start")
			}
			state = jsonAfter
		case jsonAfter:
			s.skipSpace()
			if s.sp == 0 {
				if s.pos != len(s.data) {
					return s.malformed("data after the value")
				}
				return nil
			}
			f := &s.stack[s.sp-1]
			if f.n++; f.n > MaxElements {
				return fmt.Errorf("%w: %s of more than %d elements at byte %d", ErrLimit, jsonKind(f.obj), MaxElements, s.pos)
			}
			switch {
			case s.pos == len(s.data):
				return s.malformed("input ends inside " + jsonKind(f.obj))
			case s.data[s.pos] == ',':
				s.pos++
				s.skipSpace()
				state = jsonValue
				if f.obj {
					state = jsonKey
				}
			case s.data[s.pos] == ']' && !f.obj || s.data[s.pos] == '}' && f.obj:
				s.pos++
				s.close()
			default:
				return s.malformed("invalid character after an element")
			}
		case jsonKey:
			if s.items++; s.items > MaxItems {
				return fmt.Errorf("%w: more than %d data items", ErrLimit, MaxItems)
			}
			if s.pos == len(s.data) || s.data[s.pos] != '"' {
				return s.malformed("object key is not a string")
			}
			n, err := s.str()
			if err != nil {
				return err
			}
			s.cost += costData(n)
			s.skipSpace()
			if s.pos == len(s.data) || s.data[s.pos] != ':' {
				return s.malformed("object key without a colon")
			}
			s.pos++
			s.skipSpace()
			state = jsonValue
		}
	}
}

// close ends the innermost open container and adds its cost.
func (s *jsonScanner) close() {
	s.sp--
	f := s.stack[s.sp]
	switch {
	case s.sp == 0 && s.list:
		s.cost += costSlot * int64(f.n)
	case f.obj:
		s.cost += costMapOf(uint64(f.n))
	default:
		s.cost += costArray + costSlotJSON*int64(f.n)
	}
	if s.sp == 0 {
		s.rootN = int(f.n)
	}
}

// str scans the string starting at pos and returns a bound on its decoded
// length, its encoded length (escapes never decode longer). A string must
// be valid UTF-8 and its escapes whole characters, as CBOR text must be:
// encoding/json would replace invalid bytes and lone surrogates with
// U+FFFD, so that the two codecs would not decode the same text alike.
func (s *jsonScanner) str() (uint64, error) {
	s.pos++
	start := s.pos
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == '"':
			n := s.pos - start
			s.pos++
			return uint64(n), nil
		case c == '\\':
			if s.pos+1 == len(s.data) {
				return 0, s.malformed("input ends inside a string")
			}
			switch s.data[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				if err := s.escape(); err != nil {
					return 0, err
				}
			default:
				return 0, s.malformed("invalid escape in a string")
			}
		case c < 0x20:
			return 0, s.malformed("control character in a string")
		case c < 0x80:
			s.pos++
		default:
			r, size := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && size == 1 {
				return 0, fmt.Errorf("%w: invalid UTF-8 in a JSON string at byte %d", ErrText, s.pos)
			}
			s.pos += size
		}
	}
	return 0, s.malformed("input ends inside a string")
}

// escape scans the \u escape at pos. A UTF-16 surrogate must be the high
// half of a pair whose low half follows at once.
func (s *jsonScanner) escape() error {
	r, ok := s.hex4(s.pos)
	if !ok {
		return s.malformed(`invalid \u escape`)
	}
	if r < 0xd800 || r > 0xdfff {
		s.pos += 6
		return nil
	}
	if r <= 0xdbff {
		if low, ok := s.hex4(s.pos + 6); ok && low >= 0xdc00 && low <= 0xdfff {
			s.pos += 12
			return nil
		}
	}
	return fmt.Errorf("%w: JSON \\u escape of a lone surrogate at byte %d", ErrText, s.pos)
}

// hex4 reads the escape \uXXXX at data[at:], if there is one.
func (s *jsonScanner) hex4(at int) (rune, bool) {
	if len(s.data)-at < 6 || s.data[at] != '\\' || s.data[at+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range s.data[at+2 : at+6] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number scans a number literal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// It returns the digits of an integer literal too long for an int64,
// which decodes into any as a *big.Int, else 0.
func (s *jsonScanner) number() (bigDigits int, err error) {
	start := s.pos
	if s.data[s.pos] == '-' {
		s.pos++
	}
	intDigits := 1
	switch {
	case s.pos < len(s.data) && s.data[s.pos] == '0':
		s.pos++
	default:
		if intDigits = s.digits(); intDigits == 0 {
			return 0, s.malformed("invalid number")
		}
	}
	integer := true
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		integer = false
		if s.digits() == 0 {
			return 0, s.malformed("number without digits after its point")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		integer = false
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return 0, s.malformed("number without digits in its exponent")
		}
	}
	if n := s.pos - start; n > MaxNumberLen {
		return 0, fmt.Errorf("%w: number of %d bytes at byte %d, more than %d", ErrLimit, n, start, MaxNumberLen)
	}
	if integer && intDigits > 18 {
		return intDigits, nil
	}
	return 0, nil
}

// digits skips decimal digits and returns how many.
func (s *jsonScanner) digits() int {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

func (s *jsonScanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.malformed("invalid literal")
	}
	s.pos += len(lit)
	return nil
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) && isSpace(s.data[s.pos]) {
		s.pos++
	}
}

func (s *jsonScanner) malformed(what string) error {
	return fmt.Errorf("%w: JSON %s at byte %d", ErrMalformed, what, s.pos)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func jsonKind(obj bool) string {
	if obj {
		return "an object"
	}
	return "an array"
}

// ---- Splitting a scanned argument list ----

// jsonValueEnd returns the length of the JSON value b starts with. b has
// been scanned, so the value is valid.
func jsonValueEnd(b []byte) int {
	switch b[0] {
	case '"':
		return jsonStringEnd(b, 1)
	case '[', '{':
		depth := 0
		for i := 0; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = jsonStringEnd(b, i+1) - 1
			case '[', '{':
				depth++
			case ']', '}':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i, c := range b {
		if c == ',' || c == ']' || c == '}' || isSpace(c) {
			return i
		}
	}
	return len(b)
}

// jsonStringEnd returns the offset just past the closing quote of the
// string whose content starts at b[i].
func jsonStringEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// jsonNextElement skips the white space and the comma after an element.
func jsonNextElement(b []byte) []byte {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i < len(b) && b[i] == ',' {
		i++
		for i < len(b) && isSpace(b[i]) {
			i++
		}
	}
	return b[i:]
}
