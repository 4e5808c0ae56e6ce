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
		md.Params[p.index].Schema = slotSchema()
		md.Params[p.index].Callback = describeCallback(b, p.shape)
	}
}

// callbackDiff compares a stub's parameter with the server's when either
// is a callback; handled is false when neither is. The stub's func must
// take what the server's callback is called with, and return at least
// the results the server expects of it, of the same shapes.
func callbackDiff(b *schemaBuilder, d *Description, stub reflect.Type, server TypeDescription) (why string, handled bool) {
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
	cb := server.Callback
	if len(s.params) != len(cb.Params) {
		return fmt.Sprintf("the server calls it with %s, the stub's func takes %d", count(len(cb.Params), "argument"), len(s.params)), true
	}
	for i, p := range s.params {
		if w := shapeDiff(b, p, d, cb.Params[i].Schema); w != "" {
			return fmt.Sprintf("callback argument %d: the server passes %s, the stub's func takes %s%s", i+1, cb.Params[i].Go, p, detail(w)), true
		}
	}
	if len(s.results) < len(cb.Results) {
		return fmt.Sprintf("the server expects %s of it, the stub's func returns %d", count(len(cb.Results), "result"), len(s.results)), true
	}
	for i, r := range cb.Results {
		if w := shapeDiff(b, s.results[i], d, r.Schema); w != "" {
			return fmt.Sprintf("callback result %d: the server expects %s, the stub's func returns %s%s", i+1, r.Go, s.results[i], detail(w)), true
		}
	}
	return "", true
}
