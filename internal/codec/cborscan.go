package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrTag reports a CBOR tag that no Go type decodes from. The accepted
// tags are 0 and 1 (time.Time), 2 and 3 (big.Int, ints, floats) and 55799
// (self-described CBOR).
var ErrTag = errors.New("codec: unsupported CBOR tag")

// ErrSimple reports a CBOR simple value other than false, true, null,
// undefined and the floats: no Go type decodes from one (decoded into any
// it would be a type of the CBOR library).
var ErrSimple = errors.New("codec: unsupported CBOR simple value")

// CBOR major types.
const (
	cborUint   = 0
	cborNegInt = 1
	cborBytes  = 2
	cborText   = 3
	cborArray  = 4
	cborMap    = 5
	cborTag    = 6
	cborSimple = 7
)

// cborFrame is one open container while scanning: an array, a map or a tag.
type cborFrame struct {
	left  uint32 // items still to come in a definite-length container
	n     uint32 // items read so far (a map's keys and values both count)
	major byte   // cborArray, cborMap or cborTag; 0 for the outermost frame
	indef bool   // indefinite length: ends at a break
}

// cborScanner checks CBOR input against the limits in one pass, without
// decoding or allocating: the open containers are on a fixed stack, on the
// caller's Go stack.
type cborScanner struct {
	data  []byte
	pos   int
	base  int   // the level of stack[0]
	items int   // data items seen
	cost  int64 // estimated heap of the closed containers and scalars
	sp    int
	stack []cborFrame
}

// shallowFrames is the stack a scan starts with: most input nests only a
// few levels, and clearing a stack of MaxDepth frames would cost more than
// the scan of a small call. Input nested deeper is scanned again from the
// start with the full stack.
const shallowFrames = 8

// errDeeper stops a scan whose input nests deeper than its stack holds.
var errDeeper = errors.New("codec: nested deeper than the scan's stack")

// scanCBOR checks the count data items starting at data[pos], the
// elements of a container at the given level (0 for a whole document, whose
// one item is then not counted against MaxItems). It returns the offset
// just past them and their estimated cost, which leaves out the slots the
// items fill in their container.
func scanCBOR(data []byte, pos int, count uint64, level int) (end int, cost int64, err error) {
	var shallow [shallowFrames]cborFrame
	s := cborScanner{data: data, pos: pos, base: level, stack: shallow[:]}
	if err = s.scan(count); err == errDeeper {
		return scanCBORDeep(data, pos, count, level)
	}
	if err != nil {
		return 0, 0, err
	}
	return s.pos, s.cost, nil
}

// scanCBORDeep is scanCBOR with the full stack, apart so that its frame
// is cleared only when needed.
//
//go:noinline
func scanCBORDeep(data []byte, pos int, count uint64, level int) (end int, cost int64, err error) {
	var deep [MaxDepth + 1]cborFrame
	s := cborScanner{data: data, pos: pos, base: level, stack: deep[:]}
	if err := s.scan(count); err != nil {
		return 0, 0, err
	}
	return s.pos, s.cost, nil
}

func (s *cborScanner) scan(count uint64) error {
	if s.base == 0 {
		s.items = -1
	}
	s.stack[0] = cborFrame{left: uint32(count)} // at most MaxElements
	return s.run()
}

// push opens a container.
func (s *cborScanner) push(f cborFrame) error {
	if s.sp+1 == len(s.stack) {
		return errDeeper
	}
	s.sp++
	s.stack[s.sp] = f
	return nil
}

func (s *cborScanner) run() error {
	for {
		f := &s.stack[s.sp]
		if !f.indef && f.left == 0 {
			if s.sp == 0 {
				return nil
			}
			s.close()
			continue
		}
		if s.pos >= len(s.data) {
			return s.malformed("input ends inside an item")
		}
		if s.data[s.pos] == 0xff {
			if !f.indef {
				return s.malformed("unexpected break")
			}
			if f.major == cborMap && f.n%2 != 0 {
				return s.malformed("map without a value for its last key")
			}
			s.pos++
			s.close()
			continue
		}
		if b := s.data[s.pos]; b < 0x40 && b&0x1f < 28 && !(f.indef && f.n >= MaxElements) {
			// An integer, the commonest item, scanned here.
			n := 1
			if ai := b & 0x1f; ai >= 24 {
				n += 1 << (ai - 24)
			}
			if len(s.data)-s.pos < n {
				return s.malformed("input ends inside an item head")
			}
			if s.items++; s.items > MaxItems {
				return fmt.Errorf("%w: more than %d data items", ErrLimit, MaxItems)
			}
			if b >= 0x19 { // at least 256, or negative
				s.cost += costNumber
			}
			s.pos += n
			s.done()
			continue
		}
		if err := s.item(f); err != nil {
			return err
		}
	}
}

// item scans one data item head, and the whole item unless it opens a
// container or a tag.
func (s *cborScanner) item(f *cborFrame) error {
	at := s.pos
	if f.indef && (f.major == cborArray && f.n >= MaxElements || f.major == cborMap && f.n >= 2*MaxElements) {
		return fmt.Errorf("%w: %s of more than %d elements at byte %d", ErrLimit, cborKind(f.major), MaxElements, at)
	}
	major, ai, arg, err := s.head()
	if err != nil {
		return err
	}
	if major != cborTag {
		if s.items++; s.items > MaxItems {
			return fmt.Errorf("%w: more than %d data items", ErrLimit, MaxItems)
		}
	}
	key := f.major == cborMap && f.n%2 == 0
	switch major {
	case cborUint:
		if arg >= 256 {
			s.cost += costNumber
		}
	case cborNegInt:
		s.cost += costNumber
	case cborBytes, cborText:
		n, err := s.skipString(major, ai, arg)
		if err != nil {
			return err
		}
		switch {
		case major == cborBytes:
			s.cost += costBytes + costData(n)
		case key:
			s.cost += costData(n)
		case n > 0:
			s.cost += costString + costData(n)
		}
	case cborArray, cborMap:
		if s.base+s.sp+1 > MaxDepth {
			return s.tooDeep(at)
		}
		fr := cborFrame{major: major, indef: ai == 31}
		if !fr.indef {
			if arg > MaxElements {
				return fmt.Errorf("%w: %s of %d elements at byte %d, more than %d", ErrLimit, cborKind(major), arg, at, MaxElements)
			}
			fr.left = uint32(arg) // at most MaxElements
			if major == cborMap {
				fr.left *= 2
			}
			if int(fr.left) > len(s.data)-s.pos {
				return s.malformed("container longer than the input")
			}
		}
		return s.push(fr)
	case cborTag:
		if s.base+s.sp+1 > MaxDepth {
			return s.tooDeep(at)
		}
		if arg == 55799 {
			return s.push(cborFrame{major: cborTag, left: 1})
		}
		if err := s.tagged(arg, at); err != nil {
			return err
		}
	case cborSimple:
		if ai < 20 || ai == 24 {
			return fmt.Errorf("%w: simple value %d at byte %d", ErrSimple, arg, at)
		}
		if ai >= 25 {
			s.cost += costNumber
		}
	}
	s.done()
	return nil
}

// tagged scans the content of tag 0, 1, 2 or 3 and refuses any other tag.
func (s *cborScanner) tagged(tag uint64, at int) error {
	if tag > 3 {
		return fmt.Errorf("%w: tag %d at byte %d", ErrTag, tag, at)
	}
	if s.items++; s.items > MaxItems {
		return fmt.Errorf("%w: more than %d data items", ErrLimit, MaxItems)
	}
	if s.pos >= len(s.data) {
		return s.malformed("input ends inside a tag")
	}
	b := s.data[s.pos]
	major, ai, arg, err := s.head()
	if err != nil {
		return err
	}
	switch tag {
	case 0:
		if major != cborText {
			return fmt.Errorf("%w: tag 0 (time) at byte %d holds %s, not text", ErrTag, at, cborKind(major))
		}
		if _, err := s.skipString(major, ai, arg); err != nil {
			return err
		}
		s.cost += costTime
	case 1:
		if major != cborUint && major != cborNegInt && (b < 0xf9 || b > 0xfb) {
			return fmt.Errorf("%w: tag 1 (time) at byte %d holds %s, not a number", ErrTag, at, cborKind(major))
		}
		s.cost += costEpochTime
	default:
		if major != cborBytes {
			return fmt.Errorf("%w: tag %d (bignum) at byte %d holds %s, not bytes", ErrTag, tag, at, cborKind(major))
		}
		if ai != 31 && arg > MaxBignumBytes {
			return fmt.Errorf("%w: bignum of %d bytes at byte %d, more than %d", ErrLimit, arg, at, MaxBignumBytes)
		}
		n, err := s.skipString(major, ai, arg)
		if err != nil {
			return err
		}
		if n > MaxBignumBytes {
			return fmt.Errorf("%w: bignum of %d bytes at byte %d, more than %d", ErrLimit, n, at, MaxBignumBytes)
		}
		s.cost += costBignum + costData(n)
	}
	return nil
}

// head reads a data item head at s.pos, refusing a malformed one.
func (s *cborScanner) head() (major, ai byte, arg uint64, err error) {
	b := s.data[s.pos]
	major, ai = b>>5, b&0x1f
	switch {
	case ai < 24:
		s.pos++
		return major, ai, uint64(ai), nil
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(s.data)-s.pos-1 < n {
			return 0, 0, 0, s.malformed("input ends inside an item head")
		}
		p := s.data[s.pos+1:]
		switch n {
		case 1:
			arg = uint64(p[0])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(p))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(p))
		default:
			arg = binary.BigEndian.Uint64(p)
		}
		if major == cborSimple && ai == 24 && arg < 32 {
			return 0, 0, 0, s.malformed("simple value in two bytes below 32")
		}
		s.pos += 1 + n
		return major, ai, arg, nil
	case ai == 31 && major >= cborBytes && major <= cborMap:
		s.pos++
		return major, ai, 0, nil
	}
	return 0, 0, 0, s.malformed("reserved or misplaced additional information")
}

// skipString skips the content of a byte or text string whose head was
// read, returning its length; an indefinite-length one is a series of
// definite-length chunks of the same type ending with a break. Text must
// be valid UTF-8, each chunk on its own (RFC 8949 §3.2.3).
func (s *cborScanner) skipString(major, ai byte, n uint64) (uint64, error) {
	if ai != 31 {
		if n > uint64(len(s.data)-s.pos) {
			return 0, s.malformed("string longer than the input")
		}
		if major == cborText && !utf8.Valid(s.data[s.pos:s.pos+int(n)]) {
			return 0, fmt.Errorf("%w: invalid UTF-8 in a CBOR text string at byte %d", ErrText, s.pos)
		}
		s.pos += int(n)
		return n, nil
	}
	var total uint64
	for {
		if s.pos >= len(s.data) {
			return 0, s.malformed("input ends inside a string")
		}
		if s.data[s.pos] == 0xff {
			s.pos++
			return total, nil
		}
		if s.data[s.pos]>>5 != major || s.data[s.pos]&0x1f == 31 {
			return 0, s.malformed("bad chunk in an indefinite-length string")
		}
		_, cai, cn, err := s.head()
		if err != nil {
			return 0, err
		}
		if _, err := s.skipString(major, cai, cn); err != nil {
			return 0, err
		}
		total += cn
	}
}

// done records one item completed in the innermost open container.
func (s *cborScanner) done() {
	f := &s.stack[s.sp]
	f.n++
	if !f.indef {
		f.left--
	}
}

// close ends the innermost open container and adds its cost.
func (s *cborScanner) close() {
	f := &s.stack[s.sp]
	switch f.major {
	case cborArray:
		s.cost += costArray + costSlot*int64(f.n)
	case cborMap:
		s.cost += costMapOf(uint64(f.n / 2))
	}
	s.sp--
	s.done()
}

func (s *cborScanner) tooDeep(at int) error {
	return fmt.Errorf("%w: nested deeper than %d levels at byte %d", ErrLimit, MaxDepth, at)
}

func (s *cborScanner) malformed(what string) error {
	return fmt.Errorf("%w: CBOR %s at byte %d", ErrMalformed, what, s.pos)
}

// cborKind names a major type for messages.
func cborKind(major byte) string {
	return [...]string{"an unsigned integer", "a negative integer", "a byte string", "a text string",
		"an array", "a map", "a tag", "a simple value or float"}[major&7]
}
