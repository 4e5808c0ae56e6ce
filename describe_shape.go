package simplerpc

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// resolve follows a schema's Ref into the description's Defs.
func resolve(d *Description, s *Schema) *Schema {
	for i := 0; s != nil && s.Ref != "" && i < 64; i++ {
		next := d.Defs[strings.TrimPrefix(s.Ref, defsPrefix)]
		if next == nil {
			return &Schema{} // unknown: accept anything
		}
		s = next
	}
	if s == nil {
		return &Schema{}
	}
	return s
}

func itemsOf(d *Description, s *Schema) *Schema {
	if s = resolve(d, s); s.Items != nil {
		return s.Items
	}
	return &Schema{}
}

// shapeDiff says how values of the stub's type t differ in shape from the
// server's schema, or returns "". Shapes match when the JSON-Schema types
// match, with these rules:
//   - integers of any size and signedness match each other (a value that
//     does not fit fails when it is decoded), but not floats;
//   - pointers match what they point to;
//   - a schema that accepts anything (interface{}, a json.Marshaler)
//     matches everything;
//   - []byte matches only []byte;
//   - a stub's struct matches when each of its fields has a field of the
//     same name (case-insensitively, as decoding matches them) and a
//     matching shape on the server's side; the server's struct may have
//     more fields;
//   - a map matches a struct whose every field matches the map's values.
func shapeDiff(b *schemaBuilder, t reflect.Type, d *Description, server *Schema) string {
	return diffSchemas(b.schema(t), b, d, server, map[[2]*Schema]bool{})
}

func diffSchemas(stub *Schema, b *schemaBuilder, d *Description, server *Schema, seen map[[2]*Schema]bool) string {
	if stub.Ref != "" {
		stub = b.defs[strings.TrimPrefix(stub.Ref, defsPrefix)]
		if stub == nil {
			return ""
		}
	}
	server = resolve(d, server)
	if seen[[2]*Schema{stub, server}] {
		return "" // a recursive type, already being compared
	}
	seen[[2]*Schema{stub, server}] = true
	if stub.Type == "" || server.Type == "" {
		return ""
	}
	if stub.Type != server.Type {
		return leafDiff(stub, server)
	}
	switch stub.Type {
	case "string":
		if stub.ContentEncoding != server.ContentEncoding {
			return leafDiff(stub, server)
		}
	case "array":
		if why := diffSchemas(orAny(stub.Items), b, d, orAny(server.Items), seen); why != "" {
			return "elements: " + why
		}
	case "object":
		return diffObjects(stub, b, d, server, seen)
	}
	return ""
}

func diffObjects(stub *Schema, b *schemaBuilder, d *Description, server *Schema, seen map[[2]*Schema]bool) string {
	switch {
	case stub.AdditionalProperties != nil && server.AdditionalProperties != nil:
		if why := diffSchemas(stub.AdditionalProperties, b, d, server.AdditionalProperties, seen); why != "" {
			return "map values: " + why
		}
	case stub.AdditionalProperties != nil:
		for _, name := range server.PropertyOrder {
			if why := diffSchemas(stub.AdditionalProperties, b, d, server.Properties[name], seen); why != "" {
				return fmt.Sprintf("map values vs field %s: %s", name, why)
			}
		}
	case server.AdditionalProperties != nil:
		for _, name := range stub.PropertyOrder {
			if why := diffSchemas(stub.Properties[name], b, d, server.AdditionalProperties, seen); why != "" {
				return fmt.Sprintf("field %s vs map values: %s", name, why)
			}
		}
	default:
		for _, name := range stub.PropertyOrder {
			i := slices.IndexFunc(server.PropertyOrder, func(s string) bool { return strings.EqualFold(s, name) })
			if i < 0 {
				return fmt.Sprintf("the stub's struct has field %s, the server's does not (it has: %s)",
					name, strings.Join(server.PropertyOrder, ", "))
			}
			if why := diffSchemas(stub.Properties[name], b, d, server.Properties[server.PropertyOrder[i]], seen); why != "" {
				return fmt.Sprintf("field %s: %s", name, why)
			}
		}
	}
	return ""
}

// leafDiff describes two shapes that differ at the top.
func leafDiff(stub, server *Schema) string {
	return fmt.Sprintf("server %s, stub %s", shapeName(server), shapeName(stub))
}

// detail appends why to a message about a parameter or result, unless it
// only repeats the types the message names.
func detail(why string) string {
	if strings.HasPrefix(why, "server ") {
		return ""
	}
	return ": " + why
}

func orAny(s *Schema) *Schema {
	if s == nil {
		return &Schema{}
	}
	return s
}

// shapeName names a schema's shape for messages.
func shapeName(s *Schema) string {
	switch {
	case s.ContentEncoding == "base64":
		return "bytes"
	case s.Type == "object" && s.AdditionalProperties != nil:
		return "a map"
	case s.Type == "object":
		return "a struct"
	case s.Type == "array":
		return "a list"
	case s.Type == "integer":
		return "an integer"
	case s.Type == "number":
		return "a float"
	case s.Type == "boolean":
		return "a bool"
	}
	return "a " + s.Type
}
