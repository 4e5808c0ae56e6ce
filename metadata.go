package simplerpc

import (
	"context"
	"maps"
	"strings"
)

// Metadata holds the key/value pairs sent with a call: credentials,
// trace ids, anything that is about the call rather than an argument of
// it. Keys are case-insensitive: they are stored in lower case.
type Metadata map[string]string

// Get returns the value of key, or "".
func (md Metadata) Get(key string) string { return md[strings.ToLower(key)] }

// Set sets key to value.
func (md Metadata) Set(key, value string) { md[strings.ToLower(key)] = value }

// pairs flattens md for the wire: key, value, key, value...
func (md Metadata) pairs() []string {
	if len(md) == 0 {
		return nil
	}
	return md.appendPairs(make([]string, 0, 2*len(md)))
}

// appendPairs appends md's pairs, as pairs returns them, to out.
func (md Metadata) appendPairs(out []string) []string {
	for k, v := range md {
		out = append(out, k, v)
	}
	return out
}

// metadataFromPairs builds Metadata from wire pairs.
func metadataFromPairs(kv []string) Metadata {
	md := make(Metadata, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		md.Set(kv[i], kv[i+1])
	}
	return md
}

type outgoingKey struct{}
type incomingKey struct{}

// AppendMetadata returns a context whose calls carry the given key/value
// pairs in addition to those already in ctx. kv must hold an even number
// of strings.
func AppendMetadata(ctx context.Context, kv ...string) context.Context {
	if len(kv)%2 == 1 {
		panic("simplerpc: AppendMetadata with an odd number of strings")
	}
	md := maps.Clone(OutgoingMetadata(ctx))
	if md == nil {
		md = make(Metadata, len(kv)/2)
	}
	for i := 0; i < len(kv); i += 2 {
		md.Set(kv[i], kv[i+1])
	}
	return context.WithValue(ctx, outgoingKey{}, md)
}

// OutgoingMetadata returns the metadata calls made with ctx will carry.
// The map must not be modified.
func OutgoingMetadata(ctx context.Context) Metadata {
	md, _ := ctx.Value(outgoingKey{}).(Metadata)
	return md
}

// IncomingMetadata returns the metadata the caller sent with the call
// being served: on the server, from the context a method or interceptor
// receives. For JSON-RPC calls it holds the HTTP request's headers, keys
// in lower case.
func IncomingMetadata(ctx context.Context) Metadata {
	md, _ := ctx.Value(incomingKey{}).(Metadata)
	return md
}

// withIncoming returns ctx carrying md as the incoming metadata.
func withIncoming(ctx context.Context, md Metadata) context.Context {
	if len(md) == 0 {
		return ctx
	}
	return context.WithValue(ctx, incomingKey{}, md)
}
