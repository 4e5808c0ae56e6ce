package simplerpc

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// DescribeMethod is the reserved name of the method every server answers
// with its Description, unless WithIntrospection(false) turned it off.
// No registered method can take this name: Register only exposes exported
// (capitalized) method names, and RegisterFunc refuses names with a dot.
const DescribeMethod = "simplerpc.describe"

// Description is a server's account of what it serves: its services,
// their methods, and each method's parameters and results. A server
// returns it from DescribeMethod; Client.Describe fetches it.
type Description struct {
	// Services lists the registered services, sorted by name.
	Services []ServiceDescription `json:"services"`
	// Functions lists the functions registered with RegisterFunc, sorted
	// by name.
	Functions []MethodDescription `json:"functions"`
	// Defs holds the schemas of recursive types, which schemas refer to
	// with a Ref of "#/$defs/NAME".
	Defs map[string]*Schema `json:"$defs,omitempty"`
}

// ServiceDescription describes one registered service.
type ServiceDescription struct {
	// Name is the service name, as given to Register.
	Name string `json:"name"`
	// Methods lists the service's methods, sorted by name.
	Methods []MethodDescription `json:"methods"`
}

// MethodDescription describes one method or function.
type MethodDescription struct {
	// Name is what a call names: "Service.Method", or a function's name.
	Name string `json:"name"`
	// Signature is the Go signature without the receiver:
	// "Add(int, int) int".
	Signature string `json:"signature"`
	// Params describes the parameters callers send, without the leading
	// context.Context. For a variadic method the last one is the slice;
	// callers send its elements one by one.
	Params []TypeDescription `json:"params"`
	// Results describes the results, without the trailing error.
	Results []TypeDescription `json:"results"`
	// Variadic is set when the last parameter is variadic.
	Variadic bool `json:"variadic"`
	// Context is set when the method takes a leading context.Context: it
	// sees the caller's deadline and cancellation.
	Context bool `json:"context"`
	// Error is set when the method returns an error last.
	Error bool `json:"error"`
	// StructArg is set when the only parameter is a struct (or a pointer
	// to one): callers may send its fields by position, or one map of
	// fields by name.
	StructArg bool `json:"structArg"`
	// Stream is set for a method that streams: its last parameter, its
	// results, or both are iterators of items. Params and Results then
	// leave the iterators out.
	Stream *StreamDescription `json:"stream,omitempty"`
}

// StreamDescription describes how a method streams.
type StreamDescription struct {
	// Kind is "server" (the method yields items), "client" (it receives
	// them) or "bidi" (both).
	Kind string `json:"kind"`
	// Receives describes the items the method receives from the client,
	// for client and bidi streams.
	Receives *TypeDescription `json:"receives,omitempty"`
	// Yields describes the items the method sends, for server and bidi
	// streams.
	Yields *TypeDescription `json:"yields,omitempty"`
}

// TypeDescription describes one parameter or result.
type TypeDescription struct {
	// Go is the Go type, as reflect prints it: "int", "[]string",
	// "calc.Point".
	Go string `json:"go"`
	// Schema is the language-neutral shape of its values. For a callback,
	// what travels in its place: the func's slot, or null; for an
	// interface of callbacks, the array of its methods' slots, or null.
	Schema *Schema `json:"schema"`
	// Callback describes a parameter that is a callback; nil for others.
	Callback *CallbackDescription `json:"callback,omitempty"`
	// Interface describes a parameter of an interface type whose methods
	// are callbacks; nil for others (describe_callback.go).
	Interface *InterfaceDescription `json:"interface,omitempty"`
}

// Service returns the description of the named service, or nil.
func (d *Description) Service(name string) *ServiceDescription {
	for i := range d.Services {
		if d.Services[i].Name == name {
			return &d.Services[i]
		}
	}
	return nil
}

// Method returns the description of the method a call names
// ("Service.Method", or a function's name), or nil.
func (d *Description) Method(name string) *MethodDescription {
	list := d.Functions
	if svc, _, ok := strings.Cut(name, "."); ok {
		s := d.Service(svc)
		if s == nil {
			return nil
		}
		list = s.Methods
	}
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// Describe asks the server for its Description. It fails with
// CodeNotFound when the server has introspection turned off.
func (c *Client) Describe(ctx context.Context) (*Description, error) {
	var d Description
	if err := c.Call(ctx, DescribeMethod, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// registerIntrospection adds DescribeMethod to the method table, unless
// turned off. NewServer calls it.
func (s *Server) registerIntrospection() {
	if s.cfg.noIntrospection {
		return
	}
	m, err := newMethod(DescribeMethod, reflect.ValueOf(s.describe), reflect.Value{})
	if err != nil {
		panic("simplerpc: " + err.Error()) // the signature is fixed
	}
	if err := s.dispatch.add("", map[string]*method{DescribeMethod: m}); err != nil {
		panic(err) // the table is empty
	}
}

// describe builds the server's Description from its method table.
func (s *Server) describe() *Description {
	table, services := s.dispatch.table()
	b := newSchemaBuilder()
	d := &Description{Services: []ServiceDescription{}, Functions: []MethodDescription{}}
	for _, name := range slices.Sorted(maps.Keys(services)) {
		sd := ServiceDescription{Name: name, Methods: []MethodDescription{}}
		for _, mname := range services[name] {
			if m := table[name+"."+mname]; m != nil {
				sd.Methods = append(sd.Methods, m.describe(b))
			}
		}
		d.Services = append(d.Services, sd)
	}
	for _, name := range slices.Sorted(maps.Keys(table)) {
		if !strings.Contains(name, ".") {
			d.Functions = append(d.Functions, table[name].describe(b))
		}
	}
	if len(b.defs) > 0 {
		d.Defs = b.defs
	}
	return d
}

// describe returns the method's description.
func (m *method) describe(b *schemaBuilder) MethodDescription {
	md := MethodDescription{
		Name:      m.name,
		Signature: m.signature(),
		Params:    make([]TypeDescription, len(m.params)),
		Results:   make([]TypeDescription, len(m.results)),
		Variadic:  m.variadic,
		Context:   m.ctx,
		Error:     m.hasErr,
		StructArg: m.structArg,
	}
	for i, p := range m.params {
		md.Params[i] = TypeDescription{Go: p.String(), Schema: b.schema(p)}
	}
	for i, r := range m.results {
		md.Results[i] = TypeDescription{Go: r.String(), Schema: b.schema(r)}
	}
	m.describeCallbacks(b, &md) // describe_callback.go
	if s := m.stream; s != nil {
		md.Stream = &StreamDescription{Kind: s.kind()}
		if s.in != nil {
			md.Stream.Receives = &TypeDescription{Go: itemGoName(s.in), Schema: b.schema(s.in)}
		}
		if s.out != nil {
			md.Stream.Yields = &TypeDescription{Go: itemGoName(s.out), Schema: b.schema(s.out)}
		}
	}
	return md
}
