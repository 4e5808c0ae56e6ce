package simplerpc

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schema is the language-neutral shape of a value, in the style of JSON
// Schema: {"type": "integer"}, {"type": "array", "items": ...}, and
// {"type": "object", "properties": ...} for a struct, whose properties
// are named as its fields travel (by their json tags). A Schema with no
// Type and no Ref accepts any value.
type Schema struct {
	// Type is "boolean", "integer" (any Go integer type), "number",
	// "string", "array" or "object"; empty for any value.
	Type string `json:"type,omitempty"`
	// Format refines a string: "date-time" for a time.Time.
	Format string `json:"format,omitempty"`
	// ContentEncoding is "base64" for a []byte, which travels as bytes in
	// CBOR and as a base64 string in JSON.
	ContentEncoding string `json:"contentEncoding,omitempty"`
	// Nullable is set for a pointer, which may be null.
	Nullable bool `json:"nullable,omitempty"`
	// Items is the schema of an array's elements.
	Items *Schema `json:"items,omitempty"`
	// Properties are a struct's fields, by the names they travel under.
	Properties map[string]*Schema `json:"properties,omitempty"`
	// PropertyOrder lists Properties in the struct's field order, which is
	// the order of positional arguments to a struct-parameter method.
	PropertyOrder []string `json:"propertyOrder,omitempty"`
	// AdditionalProperties is the schema of a map's values.
	AdditionalProperties *Schema `json:"additionalProperties,omitempty"`
	// Ref names a schema in Description.Defs: "#/$defs/NAME". It is used
	// for recursive types.
	Ref string `json:"$ref,omitempty"`
}

// defsPrefix starts a Schema's Ref.
const defsPrefix = "#/$defs/"

var (
	timeType          = reflect.TypeFor[time.Time]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// schemaBuilder builds the schemas of one description, collecting the
// definitions of recursive types.
type schemaBuilder struct {
	defs      map[string]*Schema
	names     map[reflect.Type]string // recursive type -> its name in defs
	visiting  map[reflect.Type]bool
	recursive map[reflect.Type]bool
}

func newSchemaBuilder() *schemaBuilder {
	return &schemaBuilder{
		defs:      make(map[string]*Schema),
		names:     make(map[reflect.Type]string),
		visiting:  make(map[reflect.Type]bool),
		recursive: make(map[reflect.Type]bool),
	}
}

// schema returns the schema of t.
func (b *schemaBuilder) schema(t reflect.Type) *Schema {
	switch {
	case t == timeType:
		return &Schema{Type: "string", Format: "date-time"}
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		(t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType)):
		return &Schema{} // its own JSON form, which no schema can know
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		(t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)):
		return &Schema{Type: "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Pointer:
		s := *b.schema(t.Elem())
		s.Nullable = true
		return &s
	case reflect.Interface:
		return &Schema{}
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct:
		return b.composite(t)
	}
	return &Schema{}
}

// composite returns the schema of a slice, array, map or struct type,
// referring to Defs for a named type that contains itself.
func (b *schemaBuilder) composite(t reflect.Type) *Schema {
	named := t.Name() != ""
	if named {
		if b.visiting[t] {
			b.recursive[t] = true
			return &Schema{Ref: defsPrefix + b.defName(t)}
		}
		b.visiting[t] = true
		defer delete(b.visiting, t)
	}
	var s *Schema
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			s = &Schema{Type: "string", ContentEncoding: "base64"}
		} else {
			s = &Schema{Type: "array", Items: b.schema(t.Elem())}
		}
	case reflect.Array:
		s = &Schema{Type: "array", Items: b.schema(t.Elem())}
	case reflect.Map:
		s = &Schema{Type: "object", AdditionalProperties: b.schema(t.Elem())}
	default:
		s = &Schema{Type: "object", Properties: map[string]*Schema{}, PropertyOrder: []string{}}
		for _, f := range structFields(t) {
			s.Properties[f.name] = b.schema(f.typ)
			s.PropertyOrder = append(s.PropertyOrder, f.name)
		}
	}
	if named && b.recursive[t] {
		b.defs[b.defName(t)] = s
		return &Schema{Ref: defsPrefix + b.defName(t)}
	}
	return s
}

// defName returns the name of a recursive type in Defs: its Go name,
// numbered if two packages use the same one.
func (b *schemaBuilder) defName(t reflect.Type) string {
	if n, ok := b.names[t]; ok {
		return n
	}
	base := t.String()
	n := base
	for i := 2; ; i++ {
		taken := false
		for _, other := range b.names {
			taken = taken || other == n
		}
		if !taken {
			break
		}
		n = base + strconv.Itoa(i)
	}
	b.names[t] = n
	return n
}

// field is a struct field as it travels: its name and type.
type field struct {
	name  string
	typ   reflect.Type
	depth int // 0 for a field of the struct itself, 1 for a promoted one...
}

// structFields lists the fields values of struct type t travel with, in
// order, as encoding/json sees them: exported, not tagged "-", named by
// their json tag, with the fields of untagged embedded structs in the
// embedding's place unless a shallower field has the same name.
func structFields(t reflect.Type) []field {
	all := collectFields(t, 0, nil)
	out := all[:0:0]
	for _, f := range all {
		shadowed := false
		for _, g := range all {
			shadowed = shadowed || g.name == f.name && g.depth < f.depth
		}
		if !shadowed {
			out = append(out, f)
		}
	}
	return out
}

func collectFields(t reflect.Type, depth int, seen []reflect.Type) []field {
	if slices.Contains(seen, t) {
		return nil
	}
	seen = append(seen, t)
	var fields []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				fields = append(fields, collectFields(et, depth+1, seen)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields = append(fields, field{name, f.Type, depth})
	}
	return fields
}
