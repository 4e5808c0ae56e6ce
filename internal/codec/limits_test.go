package codec

import (
	"github.com/simplerpc/simplerpc/internal/text"

	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// cborList is a CBOR argument list of the given encoded elements.
func cborList(elems ...[]byte) []byte {
	b := appendCBORHead(nil, cborArray, uint64(len(elems)))
	for _, e := range elems {
		b = append(b, e...)
	}
	return b
}

// cborRepeat is a CBOR array of n copies of the encoded item.
func cborRepeat(item []byte, n int) []byte {
	return append(appendCBORHead(nil, cborArray, uint64(n)), bytes.Repeat(item, n)...)
}

// jsonRepeat is a JSON array of n copies of item.
func jsonRepeat(item string, n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
}

// refused checks that err is refused with one of want, with a short message.
func refused(t *testing.T, name string, err error, want error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: accepted", name)
	case !errors.Is(err, want):
		t.Errorf("%s: %v, want %v", name, err, want)
	case len(err.Error()) > maxErrorLen:
		t.Errorf("%s: message of %d bytes", name, len(err.Error()))
	default:
		t.Logf("%s: %v", name, err)
	}
}

func TestAttacksRefused(t *testing.T) {
	// Floods of empty containers, as the 15.7 MB frames that took 1 GiB:
	// arrays of 2^20-1 elements (under MaxElements) side by side.
	const flood = 15_700_000
	for _, item := range []struct {
		name string
		b    byte
	}{{"empty maps", 0xa0}, {"empty arrays", 0x80}, {"empty byte strings", 0x40}} {
		var elems [][]byte
		for left := flood; left > 0; left -= MaxElements - 1 {
			elems = append(elems, cborRepeat([]byte{item.b}, min(left, MaxElements-1)))
		}
		_, err := CBOR.OpenArray(cborList(elems...))
		refused(t, "CBOR 15.7 MB of "+item.name, err, ErrLimit)
		// Under MaxItems the cost bound refuses them.
		_, err = CBOR.OpenArray(cborList(cborRepeat([]byte{item.b}, 500_000)))
		refused(t, "CBOR 500,000 "+item.name, err, ErrLimit)
	}
	oneKey := []byte{0xa1, 0x61, 'a', 0x00} // {"a": 0}
	_, err := CBOR.OpenArray(cborList(cborRepeat(oneKey, 200_000)))
	refused(t, "CBOR 200,000 maps of one key", err, ErrLimit)
	var v any
	refused(t, "CBOR Unmarshal 500,000 empty maps", CBOR.Unmarshal(cborRepeat([]byte{0xa0}, 500_000), &v), ErrLimit)

	// A 1 MiB bignum to an int: refused before its decimal form is built.
	bignum := append([]byte{0xc2, 0x5a, 0, 0x10, 0, 0}, bytes.Repeat([]byte{0xff}, 1<<20)...)
	_, err = CBOR.OpenArray(cborList(bignum))
	refused(t, "CBOR 1 MiB bignum", err, ErrLimit)
	negBignum := append([]byte{0xc3, 0x58, MaxBignumBytes + 1}, bytes.Repeat([]byte{1}, MaxBignumBytes+1)...)
	_, err = CBOR.OpenArray(cborList(negBignum))
	refused(t, "CBOR bignum of 129 bytes", err, ErrLimit)
	chunk := append([]byte{0x58, 100}, bytes.Repeat([]byte{1}, 100)...)
	indefBignum := append(append(append([]byte{0xc2, 0x5f}, chunk...), chunk...), 0xff)
	_, err = CBOR.OpenArray(cborList(indefBignum))
	refused(t, "CBOR indefinite bignum of 200 bytes", err, ErrLimit)

	// A bignum of the largest size accepted decodes into an int with a short error.
	big := append([]byte{0xc2, 0x58, MaxBignumBytes}, bytes.Repeat([]byte{0xff}, MaxBignumBytes)...)
	arr, err := CBOR.OpenArray(cborList(big))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := arr.Next(&n); err == nil || len(err.Error()) > maxErrorLen {
		t.Errorf("CBOR bignum of 128 bytes into an int: %v", err)
	}

	// Tags no Go type takes.
	for _, tag := range [][]byte{{0xc4, 0x82, 0, 0}, {0xd8, 0x18, 0x41, 0}, {0xd8, 0x20, 0x61, 'x'}, {0xdb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0}} {
		_, err = CBOR.OpenArray(cborList(tag))
		refused(t, "CBOR tag", err, ErrTag)
	}
	for _, tag := range [][]byte{{0xc0, 0x01}, {0xc1, 0x61, '1'}, {0xc2, 0x01}, {0xc3, 0x80}} {
		_, err = CBOR.OpenArray(cborList(tag))
		refused(t, "CBOR tag of the wrong content", err, ErrTag)
	}

	// JSON: [[1,1,…]] beyond MaxElements (and MaxItems), and many arguments.
	for _, n := range []int{MaxElements + 1, 2_000_001} {
		_, err = JSON.OpenArray([]byte("[" + jsonRepeat("1", n) + "]"))
		refused(t, "JSON [[1,1,…]]", err, ErrLimit)
		_, err = JSON.OpenArray([]byte(jsonRepeat("1", n)))
		refused(t, "JSON arguments", err, ErrLimit)
		_, err = CBOR.OpenArray(cborList(cborRepeat([]byte{1}, n)))
		refused(t, "CBOR [[1,1,…]]", err, ErrLimit)
		refused(t, "JSON Unmarshal", JSON.Unmarshal([]byte(jsonRepeat("1", n)), &v), ErrLimit)
	}
	arg := jsonRepeat("1", 400_000)
	_, err = JSON.OpenArray([]byte("[" + arg + "," + arg + "," + arg + "]"))
	refused(t, "JSON 1.2M items in arrays under MaxElements", err, ErrLimit)
	a := cborRepeat([]byte{1}, 400_000)
	_, err = CBOR.OpenArray(cborList(a, a, a))
	refused(t, "CBOR 1.2M items in arrays under MaxElements", err, ErrLimit)
	// JSON spends 3 bytes on an empty object where CBOR spends one: a
	// flood of them stays under the cost bound (about 29 bytes of heap per
	// byte) and MaxItems bounds it.
	_, err = JSON.OpenArray([]byte("[" + jsonRepeat("{}", MaxItems) + "]"))
	refused(t, "JSON 2^20 empty objects", err, ErrLimit)
	_, err = JSON.OpenArray([]byte("[" + strings.Repeat("9", MaxNumberLen+1) + "]"))
	refused(t, "JSON long number", err, ErrLimit)

	// Nesting: the argument list is level 1.
	deepJSON := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	_, err = JSON.OpenArray([]byte(deepJSON))
	refused(t, "JSON nested 65 levels", err, ErrLimit)
	refused(t, "JSON Unmarshal nested 65 levels", JSON.Unmarshal([]byte(deepJSON), &v), ErrLimit)
	_, err = JSON.OpenArray([]byte(strings.Repeat("[", 10<<20)))
	refused(t, "JSON 10 MiB of [", err, ErrLimit)
	_, err = CBOR.OpenArray(append(bytes.Repeat([]byte{0x81}, MaxDepth+1), 0))
	refused(t, "CBOR nested 65 levels", err, ErrLimit)
	_, err = CBOR.OpenArray(append(bytes.Repeat([]byte{0x81}, MaxDepth), 0xd9, 0xd9, 0xf7, 0))
	refused(t, "CBOR nested 64 levels and a tag", err, ErrLimit)
	_, err = CBOR.OpenArray(bytes.Repeat([]byte{0x9f}, 10<<20))
	refused(t, "CBOR 10 MiB of indefinite arrays", err, ErrNotArray)
	_, err = CBOR.OpenArray(append([]byte{0x81}, bytes.Repeat([]byte{0x9f}, 10<<20)...))
	refused(t, "CBOR 10 MiB of indefinite arrays in a list", err, ErrLimit)
	if _, err := JSON.OpenArray([]byte(deepJSON[1 : len(deepJSON)-1])); err != nil {
		t.Errorf("JSON nested 64 levels: %v", err)
	}
	arr, err = CBOR.OpenArray(append(bytes.Repeat([]byte{0x81}, MaxDepth), 0))
	if err != nil || arr.Next(&v) != nil {
		t.Errorf("CBOR nested 64 levels: %v", err)
	}

	// Malformed input is refused as before.
	for _, in := range []string{"", "[", "[1,]", "[01]", `["\x"]`, "[1 2]", "[tru]", "[1]x", `{"a":1}`, "[\"\x01\"]", "[-]", "[1.]", "[1e]"} {
		if _, err := JSON.OpenArray([]byte(in)); err == nil {
			t.Errorf("JSON %q opened", in)
		}
	}
	for _, in := range [][]byte{{}, {0x9f, 0xff}, {0x81}, {0x81, 0x1c}, {0x82, 0, 0xff}, {0x81, 0x5f, 0x61, 0xff}, {0x81, 0xf8, 0x01}, {0x81, 0xbf, 0x00, 0xff}, {0x81, 0x00, 0x00}} {
		if _, err := CBOR.OpenArray(in); err == nil {
			t.Errorf("CBOR % x opened", in)
		}
	}
}

func TestErrorsBounded(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	var tm time.Time
	var n int
	check := func(name string, err error) {
		t.Helper()
		var pe *time.ParseError
		if err == nil || len(err.Error()) > maxErrorLen || !strings.HasSuffix(err.Error(), "…") {
			t.Errorf("%s: %v", name, err)
		} else if name != "CBOR" && !errors.As(err, &pe) {
			t.Errorf("%s: errors.As does not find the *time.ParseError in %v", name, err)
		}
	}
	arr, err := JSON.OpenArray([]byte(`["` + long + `"]`))
	if err != nil {
		t.Fatal(err)
	}
	check("JSON", arr.Next(&tm))
	check("JSON Unmarshal", JSON.Unmarshal([]byte(`"`+long+`"`), &tm))
	timeText := append([]byte{0xc0, 0x7a, 0, 0x10, 0, 0}, long...)
	arr, err = CBOR.OpenArray(cborList(timeText))
	if err != nil {
		t.Fatal(err)
	}
	check("CBOR", arr.Next(&tm))
	if arr, _ := JSON.OpenArray([]byte(`["` + long + `"]`)); arr.Next(&n) == nil {
		t.Error("a string decoded into an int")
	}
	if got := text.Cut(strings.Repeat("é", 200), 11); got != "éééé…" {
		t.Errorf("text.Cut: %q", got)
	}
}
