package simplerpc

import (
	"fmt"
	"reflect"
)

// CallbackDescription describes a parameter that is a callback: a func
// the client passes, which the server calls while the call runs
// (docs/callbacks.md). Its signature is part of the method's shape.
type CallbackDescription struct {
	// Context is set when the callback takes a leading context.Context.
	Context bool `json:"context"`
	// Params describes the callback's parameters, without the context.
	Params []TypeDescription `json:"params"`
	// Results describes its results, without the trailing error.
	Results []TypeDescription `json:"results"`
	// Error is set when it returns an error last.
	Error bool `json:"error"`
}

// InterfaceDescription describes a parameter of an interface type whose
// methods are callbacks: the client passes a value implementing it, and
// each method travels as a callback (docs/callbacks.md).
type InterfaceDescription struct {
	// Methods are the interface's methods, sorted by name: the order of
	// their slots on the wire.
	Methods []InterfaceMethodDescription `json:"methods"`
}

// InterfaceMethodDescription describes one method of an interface of
// callbacks: its name and its signature as a callback.
type InterfaceMethodDescription struct {
	// Name is the method's name.
	Name string `json:"name"`
	CallbackDescription
}

// slotsSchema is the schema of what travels in an interface's place: its
// methods' slots, or null for a nil interface.
func slotsSchema() *Schema {
	return &Schema{Type: "array", Items: &Schema{Type: "integer"}, Nullable: true}
}

// slotSchema is the schema of what travels in a callback's place: the
// func's slot among the call's funcs, or null for a nil func.
func slotSchema() *Schema { return &Schema{Type: "integer", Nullable: true} }

// describeCallback describes the callback of shape s.
func describeCallback(b *schemaBuilder, s *callbackShape) *CallbackDescription {
	cd := &CallbackDescription{Context: s.ctx, Error: s.hasErr,
		Params: make([]TypeDescription, len(s.params)), Results: make([]TypeDescription, len(s.results))}
	for i, p := range s.params {
		cd.Params[i] = TypeDescription{Go: p.String(), Schema: b.schema(p)}
	}
	for i, r := range s.results {
		cd.Results[i] = TypeDescription{Go: r.String(), Schema: b.schema(r)}
	}
	return cd
}

// describeCallbacks fills in the callback parameters of md, m's
// description.
func (m *method) describeCallbacks(b *schemaBuilder, md *MethodDescription) {
	for _, p := range m.callbacks {
		if p.iface != nil {
			id := &InterfaceDescription{Methods: make([]InterfaceMethodDescription, len(p.iface.methods))}
			for j, pm := range p.iface.methods {
				id.Methods[j] = InterfaceMethodDescription{Name: pm.name, CallbackDescription: *describeCallback(b, pm.shape)}
			}
			md.Params[p.index].Schema = slotsSchema()
			md.Params[p.index].Interface = id
			continue
		}
		md.Params[p.index].Schema = slotSchema()
		md.Params[p.index].Callback = describeCallback(b, p.shape)
	}
}

// callbackDiff compares a stub's parameter with the server's when either
// is a callback; handled is false when neither is. The stub's func must
// take what the server's callback is called with, and return at least
// the results the server expects of it, of the same shapes.
func callbackDiff(b *schemaBuilder, d *Description, stub reflect.Type, server TypeDescription) (why string, handled bool) {
	if why, ok := interfaceDiff(b, d, stub, server); ok {
		return why, true
	}
	_, _, isIter := iterShape(stub)
	isFunc := stub.Kind() == reflect.Func && !isIter
	switch {
	case server.Callback == nil && !isFunc:
		return "", false
	case server.Callback == nil:
		return "the stub passes a callback where the server takes a value", true
	case !isFunc:
		return "the server takes a callback", true
	}
	s, err := newCallbackShape(stub)
	if err != nil {
		return err.Error(), true
	}
	return shapeCallbackDiff(b, d, s, server.Callback), true
}

// interfaceDiff compares a stub's parameter with the server's when either
// is an interface of callbacks; handled is false when neither is. The
// stub's interface has the server's methods, by name in the same order,
// each compared as a func callback.
func interfaceDiff(b *schemaBuilder, d *Description, stub reflect.Type, server TypeDescription) (why string, handled bool) {
	isIface := isCallbackInterface(stub)
	switch {
	case server.Interface == nil && !isIface:
		return "", false
	case server.Interface == nil:
		return "the stub passes an interface of callbacks where the server takes " + server.Go, true
	case !isIface:
		return "the server takes an interface of callbacks (" + server.Go + ")", true
	}
	ms := server.Interface.Methods
	if stub.NumMethod() != len(ms) {
		return fmt.Sprintf("the server's interface has %s, the stub's %d", count(len(ms), "method"), stub.NumMethod()), true
	}
	for j := range ms {
		m := stub.Method(j)
		if m.Name != ms[j].Name {
			return fmt.Sprintf("method %d: the server's interface has %s, the stub's %s", j+1, ms[j].Name, m.Name), true
		}
		s, err := newCallbackShape(m.Type)
		if err != nil {
			return fmt.Sprintf("method %s: %v", m.Name, err), true
		}
		if why := shapeCallbackDiff(b, d, s, &ms[j].CallbackDescription); why != "" {
			return fmt.Sprintf("method %s: %s", m.Name, why), true
		}
	}
	return "", true
}

// shapeCallbackDiff compares the stub's callback s with the server's cb:
// s must take what cb is called with and return at least the results the
// server expects of it, of the same shapes. It returns "" when they fit.
func shapeCallbackDiff(b *schemaBuilder, d *Description, s *callbackShape, cb *CallbackDescription) string {
	if len(s.params) != len(cb.Params) {
		return fmt.Sprintf("the server calls it with %s, the stub's func takes %d", count(len(cb.Params), "argument"), len(s.params))
	}
	for i, p := range s.params {
		if w := shapeDiff(b, p, d, cb.Params[i].Schema); w != "" {
			return fmt.Sprintf("callback argument %d: the server passes %s, the stub's func takes %s%s", i+1, cb.Params[i].Go, p, detail(w))
		}
	}
	if len(s.results) < len(cb.Results) {
		return fmt.Sprintf("the server expects %s of it, the stub's func returns %d", count(len(cb.Results), "result"), len(s.results))
	}
	for i, r := range cb.Results {
		if w := shapeDiff(b, s.results[i], d, r.Schema); w != "" {
			return fmt.Sprintf("callback result %d: the server expects %s, the stub's func returns %s%s", i+1, r.Go, s.results[i], detail(w))
		}
	}
	return ""
}
