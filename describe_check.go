package simplerpc

import (
	"context"
	"errors"
	"fmt"
	"github.com/simplerpc/simplerpc/internal/text"
	"reflect"
	"strings"
	"time"
)

// bindCheckTimeout bounds the describe call Bind makes for its check.
const bindCheckTimeout = 10 * time.Second

// stubField is a func field of a stub, as Bind sees it.
type stubField struct {
	field  string       // the Go field name
	method string       // the method it calls: "Service.Method" or a function
	typ    reflect.Type // the func type
}

// checkContract compares the stub's func fields with the server's methods
// before any is called. It returns nil when they match, when the server
// does not describe itself, or when it forbids this client to ask.
func (c *Client) checkContract(service string, fields []stubField) error {
	ctx, cancel := context.WithTimeout(context.Background(), bindCheckTimeout)
	defer cancel()
	d, err := c.Describe(ctx)
	var e *Error
	if errors.As(err, &e) && (e.Code == CodeNotFound || e.Code == CodePermissionDenied || e.Code == CodeUnauthenticated) {
		return nil // no introspection: Bind trusts the stub, as it always did
	}
	if err != nil {
		return fmt.Errorf("cannot check the stub against the server: %w", err)
	}
	if service != "" && d.Service(service) == nil {
		return fmt.Errorf("the server has no service %q (it has: %s)", service, serviceNames(d))
	}
	var problems []string
	for _, f := range fields {
		if msg := checkField(d, service, f); msg != "" {
			problems = append(problems, msg)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &contractError{problems: problems}
}

// contractError lists the fields of a stub that do not match the server.
type contractError struct{ problems []string }

func (e *contractError) Error() string {
	return "the stub does not match the server:\n" + strings.Join(e.problems, "\n")
}

func serviceNames(d *Description) string {
	var names []string
	for _, s := range d.Services {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return "no services"
	}
	return strings.Join(names, ", ")
}

// checkField compares one func field with the server's method and
// describes every difference, or returns "".
func checkField(d *Description, service string, f stubField) string {
	stubSig := shortName(f.method) + strings.TrimPrefix(f.typ.String(), "func")
	m := d.Method(f.method)
	if m == nil {
		kind := "method"
		if service == "" {
			kind = "function"
		}
		return fmt.Sprintf("  field %s: the server has no %s %s%s", f.field, kind, f.method, suggest(d, service, f.method))
	}
	diffs := compareFunc(d, m, f.typ)
	if len(diffs) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  field %s:\n      server has  %s\n      stub says   %s", f.field, m.Signature, stubSig)
	for _, diff := range diffs {
		b.WriteString("\n      - " + diff)
	}
	return b.String()
}

func shortName(method string) string {
	if i := strings.LastIndexByte(method, '.'); i >= 0 {
		return method[i+1:]
	}
	return method
}

// suggest lists what the server has instead of a missing method, with the
// closest name first.
func suggest(d *Description, service, method string) string {
	var names []string
	if s := d.Service(service); s != nil && service != "" {
		for _, m := range s.Methods {
			names = append(names, shortName(m.Name))
		}
	} else if service == "" {
		for _, m := range d.Functions {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	want := shortName(method)
	best, bestDist := "", max(2, len(want)/3+1) // at most one edit in three letters
	for _, n := range names {
		if dist := text.Distance(strings.ToLower(n), strings.ToLower(want)); dist < bestDist {
			best, bestDist = n, dist
		}
	}
	hint := fmt.Sprintf(" (it has: %s)", strings.Join(names, ", "))
	if best != "" {
		hint = fmt.Sprintf("; did you mean %s?%s", best, hint)
	}
	return hint
}

// compareFunc compares a stub func type with the server's method. Types
// match by shape (see shapeDiff), not by name.
func compareFunc(d *Description, m *MethodDescription, ft reflect.Type) []string {
	b := newSchemaBuilder()
	s := streamOfStub(ft)
	if s != nil || m.Stream != nil {
		if diffs := compareStream(d, b, m, s); len(diffs) > 0 {
			return diffs
		}
	}
	nin, nres := ft.NumIn(), ft.NumOut()-1 // the stub's last result is its error
	if s != nil {
		nin, nres = s.params, s.nresults
	}
	var params []reflect.Type
	for i := 0; i < nin; i++ {
		if i == 0 && ft.In(0) == contextType {
			continue
		}
		params = append(params, ft.In(i))
	}
	var diffs []string
	diffs = append(diffs, compareParams(d, b, m, params, ft.IsVariadic())...)
	if nres > len(m.Results) {
		diffs = append(diffs, fmt.Sprintf("the server returns %s, the stub expects %d", count(len(m.Results), "result"), nres))
		nres = len(m.Results)
	}
	for i := 0; i < nres; i++ {
		if why := shapeDiff(b, ft.Out(i), d, m.Results[i].Schema); why != "" {
			diffs = append(diffs, fmt.Sprintf("result %d: the server returns %s, the stub expects %s%s", i+1, m.Results[i].Go, ft.Out(i), detail(why)))
		}
	}
	return diffs
}

// compareParams compares the stub's parameters (without a context) with
// the method's.
func compareParams(d *Description, b *schemaBuilder, m *MethodDescription, params []reflect.Type, variadic bool) []string {
	direct := compareList(d, b, m, params, variadic)
	if len(direct) == 0 || !m.StructArg || variadic {
		return direct
	}
	// The server also takes its struct's fields by position.
	server := m.Params[0]
	st := resolve(d, server.Schema)
	if len(params) > len(st.PropertyOrder) {
		if len(params) == 1 {
			return direct
		}
		return []string{fmt.Sprintf("the server takes one %s, or at most %d of its fields by position; the stub passes %d arguments",
			server.Go, len(st.PropertyOrder), len(params))}
	}
	var positional []string
	for i, p := range params {
		name := st.PropertyOrder[i]
		if why := shapeDiff(b, p, d, st.Properties[name]); why != "" {
			positional = append(positional, fmt.Sprintf("argument %d is field %s of the server's %s: the stub passes %s%s",
				i+1, name, server.Go, p, detail(why)))
		}
	}
	if len(positional) == 0 {
		return nil
	}
	if len(params) == 1 {
		return direct // most likely the struct itself
	}
	return positional
}

// compareList compares the stub's parameters with the method's, one by
// one: the fixed ones, then any number of the variadic one's elements.
func compareList(d *Description, b *schemaBuilder, m *MethodDescription, params []reflect.Type, variadic bool) []string {
	server := m.Params
	fixedN := len(server)
	var elem *Schema
	if m.Variadic {
		fixedN--
		elem = itemsOf(d, server[fixedN].Schema)
	}
	stubFixed := params
	if variadic {
		stubFixed = params[:len(params)-1]
	}
	switch {
	case variadic && !m.Variadic:
		return []string{"the stub is variadic and the server's method is not: the stub sends its variadic arguments one by one"}
	case !m.Variadic && len(stubFixed) != fixedN:
		return []string{fmt.Sprintf("the server takes %s, the stub passes %d", count(fixedN, "argument"), len(stubFixed))}
	case m.Variadic && len(stubFixed) < fixedN:
		return []string{fmt.Sprintf("the server takes at least %s, the stub passes %d", count(fixedN, "argument"), len(stubFixed))}
	case m.Variadic && !variadic && len(params) == len(server) && params[fixedN].Kind() == reflect.Slice &&
		shapeDiff(b, params[fixedN], d, server[fixedN].Schema) == "":
		return []string{fmt.Sprintf("the server's method is variadic: declare the last parameter ...%s, not %s, so that its elements travel one by one",
			params[fixedN].Elem(), params[fixedN])}
	}
	var diffs []string
	for i, p := range stubFixed {
		if i < fixedN {
			if why, ok := callbackDiff(b, d, p, server[i]); ok { // describe_callback.go
				if why != "" {
					diffs = append(diffs, paramDiff(i, server[i].Go, p, why))
				}
			} else if why := shapeDiff(b, p, d, server[i].Schema); why != "" {
				diffs = append(diffs, paramDiff(i, server[i].Go, p, why))
			}
		} else if why := shapeDiff(b, p, d, elem); why != "" {
			diffs = append(diffs, paramDiff(i, strings.TrimPrefix(server[fixedN].Go, "[]"), p, why))
		}
	}
	if variadic {
		p := params[len(params)-1].Elem()
		if why := shapeDiff(b, p, d, elem); why != "" {
			diffs = append(diffs, fmt.Sprintf("variadic arguments: the server expects %s, the stub passes %s%s",
				strings.TrimPrefix(server[fixedN].Go, "[]"), p, detail(why)))
		}
	}
	return diffs
}

func paramDiff(i int, serverGo string, stub reflect.Type, why string) string {
	return fmt.Sprintf("argument %d: the server expects %s, the stub passes %s%s", i+1, serverGo, stub, detail(why))
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// compareStream compares how a stub streams (s, nil for not at all) with
// how the server's method does.
func compareStream(d *Description, b *schemaBuilder, m *MethodDescription, s *stubStream) []string {
	switch {
	case s == nil:
		return []string{fmt.Sprintf("the server's method streams (a %s stream): declare its iterators in the stub", m.Stream.Kind)}
	case m.Stream == nil:
		return []string{fmt.Sprintf("the stub streams (a %s stream), the server's method does not", s.kind())}
	case s.kind() != m.Stream.Kind:
		return []string{fmt.Sprintf("the server's method is a %s stream, the stub a %s stream", m.Stream.Kind, s.kind())}
	}
	var diffs []string
	if s.in != nil {
		if why := shapeDiff(b, s.in, d, m.Stream.Receives.Schema); why != "" {
			diffs = append(diffs, fmt.Sprintf("stream items sent: the server expects %s, the stub sends %s%s", m.Stream.Receives.Go, s.in, detail(why)))
		}
	}
	if s.out != nil {
		if why := shapeDiff(b, s.out, d, m.Stream.Yields.Schema); why != "" {
			diffs = append(diffs, fmt.Sprintf("stream items received: the server yields %s, the stub expects %s%s", m.Stream.Yields.Go, s.out, detail(why)))
		}
	}
	return diffs
}
