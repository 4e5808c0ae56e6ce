package otel

import (
	"maps"
	"slices"

	"github.com/simplerpc/simplerpc"
	"go.opentelemetry.io/otel/propagation"
)

// MetadataCarrier lets a propagation.TextMapPropagator read and write a
// call's metadata: the interceptors carry trace context in it; a program
// may use it to carry other context of its own. Keys are case-insensitive,
// as Metadata's are.
type MetadataCarrier simplerpc.Metadata

var _ propagation.TextMapCarrier = MetadataCarrier(nil)

// Get returns the value of key, or "".
func (c MetadataCarrier) Get(key string) string { return simplerpc.Metadata(c).Get(key) }

// Set sets key to value. On a nil carrier it does nothing.
func (c MetadataCarrier) Set(key, value string) {
	if c != nil {
		simplerpc.Metadata(c).Set(key, value)
	}
}

// Keys returns the keys, sorted.
func (c MetadataCarrier) Keys() []string { return slices.Sorted(maps.Keys(c)) }
