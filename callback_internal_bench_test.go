package simplerpc

import "testing"

var sinkBool bool

// BenchmarkHasFuncs measures what a call without callbacks pays to learn
// that it has none: a look at each argument's type.
func BenchmarkHasFuncs(b *testing.B) {
	args := []any{int64(1), int64(2)}
	for b.Loop() {
		sinkBool = hasFuncs(args)
	}
}
