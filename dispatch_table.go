package simplerpc

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// register exposes every exported method of obj under the service name
// name, as Server.Register documents.
func (d *dispatcher) register(name string, obj any) error {
	if obj == nil {
		return errors.New("simplerpc: Register of nil object")
	}
	v := reflect.ValueOf(obj)
	t := v.Type()
	if name == "" {
		name = reflect.Indirect(v).Type().Name()
		if name == "" {
			return fmt.Errorf("simplerpc: Register: type %s has no name; pass a service name", t)
		}
	}
	if err := validName(name); err != nil {
		return fmt.Errorf("simplerpc: Register(%q): %w", name, err)
	}
	entries := make(map[string]*method)
	var skipped []string
	for i := 0; i < t.NumMethod(); i++ {
		mt := t.Method(i)
		if !mt.IsExported() {
			continue
		}
		full := name + "." + mt.Name
		m, err := newMethod(full, mt.Func, v)
		if err != nil {
			d.cfg.logger.Warn("simplerpc: method not exposed", slog.String("method", full), slog.String("reason", err.Error()))
			skipped = append(skipped, fmt.Sprintf("%s: %v", mt.Name, err))
			continue
		}
		entries[full] = m
	}
	if len(entries) == 0 {
		hint := fmt.Sprintf("type %s has no exported methods", t)
		if len(skipped) > 0 {
			hint = "none can be exposed: " + strings.Join(skipped, "; ")
		} else if t.Kind() != reflect.Pointer && reflect.PointerTo(t).NumMethod() > 0 {
			hint += fmt.Sprintf("; its methods have pointer receivers: register a *%s", t)
		}
		return fmt.Errorf("simplerpc: Register(%q): %s", name, hint)
	}
	return d.add(name, entries)
}

// registerFunc exposes the function fn under the bare name name, as
// Server.RegisterFunc documents.
func (d *dispatcher) registerFunc(name string, fn any) error {
	v := reflect.ValueOf(fn)
	if !v.IsValid() || v.Kind() != reflect.Func || v.IsNil() {
		return fmt.Errorf("simplerpc: RegisterFunc(%q): %T is not a function", name, fn)
	}
	if err := validName(name); err != nil {
		return fmt.Errorf("simplerpc: RegisterFunc(%q): %w", name, err)
	}
	m, err := newMethod(name, v, reflect.Value{})
	if err != nil {
		return fmt.Errorf("simplerpc: RegisterFunc(%q): %w", name, err)
	}
	return d.add("", map[string]*method{name: m})
}

func validName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.ContainsAny(name, ". \t\r\n"):
		return errors.New("a name may not contain dots or spaces")
	}
	return nil
}

// add publishes entries; service is "" for a function. Unlike register
// and registerFunc it does not check the names' form, so that the server
// can add its reserved names (DescribeMethod).
func (d *dispatcher) add(service string, entries map[string]*method) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := *d.methods.Load()
	taken := func(n string) bool { _, ok := d.services[n]; _, fok := old[n]; return ok || fok }
	if service != "" && taken(service) {
		return fmt.Errorf("simplerpc: Register(%q): name already registered", service)
	}
	next := make(map[string]*method, len(old)+len(entries))
	for k, m := range old {
		next[k] = m
	}
	var names []string
	for k, m := range entries {
		if service == "" && taken(k) {
			return fmt.Errorf("simplerpc: RegisterFunc(%q): name already registered", k)
		}
		next[k] = m
		names = append(names, strings.TrimPrefix(k, service+"."))
	}
	if service != "" {
		slices.Sort(names)
		d.services[service] = names
	}
	d.methods.Store(&next)
	return nil
}

// lookup finds a method by the name a native call carries, its wire
// bytes; the map lookup with string(name) does not allocate.
func (d *dispatcher) lookup(name []byte) *method {
	return (*d.methods.Load())[string(name)]
}

// lookupName finds a method by name, as lookup.
func (d *dispatcher) lookupName(name string) *method {
	return (*d.methods.Load())[name]
}

// table returns the method table and each service's sorted method
// names, as they are now. Neither the maps nor the slices may be
// modified: the table is shared with every call, and the services map is
// a copy whose slices are shared.
func (d *dispatcher) table() (methods map[string]*method, services map[string][]string) {
	methods = *d.methods.Load()
	d.mu.Lock()
	services = maps.Clone(d.services)
	d.mu.Unlock()
	return methods, services
}

// notFound explains a failed lookup. Only a server that says what it
// serves (WithIntrospection, the default) names what the service has, a
// few of its methods and their count; the name looked up is quoted valid
// UTF-8 and cut short (peerText), as it comes from the peer.
func (d *dispatcher) notFound(name string) *Error {
	name = peerText(name)
	svc, meth, ok := strings.Cut(name, ".")
	d.mu.Lock()
	methods, known := d.services[svc]
	d.mu.Unlock()
	switch {
	case ok && known && d.cfg.listMethods:
		return errorf(CodeNotFound, name, "service %s has no method %s (%s)", svc, meth, someMethods(methods))
	case ok && known:
		return errorf(CodeNotFound, name, "service %s has no method %s", svc, meth)
	case ok:
		return errorf(CodeNotFound, name, "no service %s", svc)
	}
	return errorf(CodeNotFound, name, "no function %s", name)
}

// notFoundListed is how many of a service's methods a not-found message
// names.
const notFoundListed = 5

// someMethods names the first few of a service's methods, sorted, and
// how many more it has: "it has: Add, Area, Crash, Div, Sum and 33 more;
// simplerpc.describe lists them all".
func someMethods(methods []string) string {
	if len(methods) <= notFoundListed {
		return "it has: " + strings.Join(methods, ", ")
	}
	return fmt.Sprintf("it has: %s and %d more; %s lists them all",
		strings.Join(methods[:notFoundListed], ", "), len(methods)-notFoundListed, DescribeMethod)
}
