package codec

import (
	"bytes"
	"fmt"
	"testing"
)

// structLike is a map of string fields of about 1 KiB encoded, the shape of a
// struct argument with text fields.
func structLike() map[string]string {
	m := make(map[string]string)
	for i := range 24 {
		m[fmt.Sprintf("field%02d", i)] = fmt.Sprintf("value %02d of a text field, some words", i)
	}
	return m
}

// BenchmarkOpenArray measures opening an argument list and decoding its
// elements, the work the server does for every call.
func BenchmarkOpenArray(b *testing.B) {
	for _, c := range []Codec{CBOR, JSON} {
		var add bytes.Buffer
		if err := c.AppendArray(&add, []any{40, 2}); err != nil {
			b.Fatal(err)
		}
		b.Run(c.Name()+"-add", func(b *testing.B) {
			data := add.Bytes()
			b.ReportAllocs()
			for b.Loop() {
				var x, y int
				arr, err := c.OpenArray(data)
				if err != nil || arr.Next(&x) != nil || arr.Next(&y) != nil || x+y != 42 {
					b.Fatal("add does not decode", err)
				}
			}
		})
		var m bytes.Buffer
		if err := c.AppendArray(&m, []any{structLike()}); err != nil {
			b.Fatal(err)
		}
		b.Run(c.Name()+"-map1k", func(b *testing.B) {
			data := m.Bytes()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var v map[string]string
				arr, err := c.OpenArray(data)
				if err != nil || arr.Next(&v) != nil || len(v) != 24 {
					b.Fatal("map does not decode", err)
				}
			}
		})
	}
}
