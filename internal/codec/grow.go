package codec

import (
	"bytes"
	"reflect"
)

// growThreshold is the size of byte and text values from which the
// encoders make room for them in one step: a large value written into a
// small buffer would otherwise grow it by copying, and allocate more than
// it needs.
const growThreshold = 64 << 10

// growForBytes makes room in buf for the large byte slices and strings
// among vals, with a little over for the heads.
func growForBytes(buf *bytes.Buffer, vals []any) {
	n := 0
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			n += len(v)
		case string:
			n += len(v)
		}
	}
	if n >= growThreshold {
		buf.Grow(n + 16*len(vals))
	}
}

// growForValues is growForBytes for reflected values.
func growForValues(buf *bytes.Buffer, vals []reflect.Value) {
	n := 0
	for _, v := range vals {
		switch v.Kind() {
		case reflect.String:
			n += v.Len()
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				n += v.Len()
			}
		}
	}
	if n >= growThreshold {
		buf.Grow(n + 16*len(vals))
	}
}
