package gen

import (
	"fmt"
	"go/types"
	"regexp"
)

// method is a server method as the client mirrors it.
type method struct {
	name     string
	doc      string
	ctx      bool // the server method takes a leading context.Context
	params   []*types.Var
	variadic bool
	results  []types.Type // without the trailing error
	hasErr   bool
	in       *side        // the stream the method receives (its last parameter), or nil
	inName   string       // that parameter's name
	out      *side        // the stream it yields (its first result), or nil
	ifaces   map[int]bool // the params that are interfaces of callbacks, by index
}

// side is one direction of a stream: the iterator type and its items.
type side struct {
	iter    types.Type // iter.Seq[T] or iter.Seq2[T, error], as the server names it
	elem    types.Type
	withErr bool // iter.Seq2[T, error]
}

// iterSide reports whether t is an iterator of items, as Register finds
// streams: func(yield func(T) bool) or func(yield func(T, error) bool),
// named (iter.Seq, iter.Seq2) or not.
func iterSide(t types.Type) *side {
	sig, ok := t.Underlying().(*types.Signature)
	if !ok || sig.Params().Len() != 1 || sig.Results().Len() != 0 || sig.Variadic() {
		return nil
	}
	y, ok := sig.Params().At(0).Type().Underlying().(*types.Signature)
	if !ok || y.Results().Len() != 1 || y.Variadic() {
		return nil
	}
	if b, ok := y.Results().At(0).Type().Underlying().(*types.Basic); !ok || b.Kind() != types.Bool {
		return nil
	}
	switch {
	case y.Params().Len() == 1:
		return &side{iter: t, elem: y.Params().At(0).Type()}
	case y.Params().Len() == 2 && isError(y.Params().At(1).Type()):
		return &side{iter: t, elem: y.Params().At(0).Type(), withErr: true}
	}
	return nil
}

// unborrow returns sd with simplerpc.BorrowedBytes items as []byte: a
// server borrows the items it receives, which are bytes on the wire, and
// the client's are its own.
func unborrow(sd *side) *side {
	n, ok := types.Unalias(sd.elem).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != simplerpcPath || n.Obj().Name() != "BorrowedBytes" {
		return sd
	}
	bytes := types.NewSlice(types.Universe.Lookup("byte").Type())
	args := []types.Type{bytes}
	if sd.withErr {
		args = append(args, types.Universe.Lookup("error").Type())
	}
	if named, ok := types.Unalias(sd.iter).(*types.Named); ok && named.TypeArgs().Len() == len(args) {
		if it, err := types.Instantiate(nil, named.Origin(), args, false); err == nil {
			return &side{iter: it, elem: bytes, withErr: sd.withErr}
		}
	}
	vars := make([]*types.Var, len(args))
	for i, a := range args {
		vars[i] = types.NewParam(0, nil, "", a)
	}
	yield := types.NewSignatureType(nil, nil, nil, types.NewTuple(vars...), types.NewTuple(types.NewParam(0, nil, "", types.Typ[types.Bool])), false)
	it := types.NewSignatureType(nil, nil, nil, types.NewTuple(types.NewParam(0, nil, "yield", yield)), nil, false)
	return &side{iter: it, elem: bytes, withErr: sd.withErr}
}

// inspect checks a method the way Register does and returns it, or why
// the server would not expose it.
func (g *generator) inspect(f *types.Func) (*method, string) {
	sig := f.Type().(*types.Signature)
	m := &method{name: f.Name(), doc: g.docs[f.Pos()], variadic: sig.Variadic()}
	for i := 0; i < sig.Params().Len(); i++ {
		p := sig.Params().At(i)
		if isContext(p.Type()) {
			if i > 0 {
				return nil, fmt.Sprintf("parameter %d is a context.Context; only the first may be", i+1)
			}
			m.ctx = true
			continue
		}
		if sd := iterSide(p.Type()); sd != nil && i == sig.Params().Len()-1 && !sig.Variadic() {
			if why := g.unusable(sd.elem, nil); why != "" {
				return nil, fmt.Sprintf("parameter %d (%s): items: %s", i+1, g.shortString(p.Type()), why)
			}
			m.in = unborrow(sd)
			m.inName = p.Name()
			break
		}
		if cb, ok := p.Type().Underlying().(*types.Signature); ok {
			// A func parameter is a callback: the client passes a func of
			// that type, which Call carries as it is.
			if why := g.callbackUnusable(cb); why != "" {
				return nil, fmt.Sprintf("parameter %d (%s) is a callback: %s", i+1, g.shortString(p.Type()), why)
			}
			m.params = append(m.params, p)
			continue
		}
		if it, ok := p.Type().Underlying().(*types.Interface); ok && it.NumMethods() > 0 {
			// An interface of callbacks: each method travels as one, and
			// the client passes any value implementing it (AsInterface).
			for j := 0; j < it.NumMethods(); j++ {
				f := it.Method(j)
				if !f.Exported() {
					return nil, fmt.Sprintf("parameter %d (%s): method %s is unexported", i+1, g.shortString(p.Type()), f.Name())
				}
				if why := g.callbackUnusable(f.Type().(*types.Signature)); why != "" {
					return nil, fmt.Sprintf("parameter %d (%s): method %s cannot be a callback: %s", i+1, g.shortString(p.Type()), f.Name(), why)
				}
			}
			if m.ifaces == nil {
				m.ifaces = make(map[int]bool)
			}
			m.ifaces[len(m.params)] = true
			m.params = append(m.params, p)
			continue
		}
		if why := g.unusable(p.Type(), nil); why != "" {
			return nil, fmt.Sprintf("parameter %d (%s): %s", i+1, g.shortString(p.Type()), why)
		}
		m.params = append(m.params, p)
	}
	if n := sig.Results().Len(); n > 0 {
		if sd := iterSide(sig.Results().At(0).Type()); sd != nil {
			if n > 2 || n == 2 && !isError(sig.Results().At(1).Type()) {
				return nil, "result 1 is a stream: it may be followed only by an error result"
			}
			if why := g.unusable(sd.elem, nil); why != "" {
				return nil, fmt.Sprintf("result 1 (%s): items: %s", g.shortString(sd.iter), why)
			}
			m.out, m.hasErr = unborrow(sd), n == 2
			return m, ""
		}
	}
	for i := 0; i < sig.Results().Len(); i++ {
		r := sig.Results().At(i).Type()
		if i == sig.Results().Len()-1 && isError(r) {
			m.hasErr = true
			break
		}
		if why := g.unusable(r, nil); why != "" {
			return nil, fmt.Sprintf("result %d (%s): %s", i+1, g.shortString(r), why)
		}
		m.results = append(m.results, r)
	}
	return m, ""
}

// callbackUnusable says why a func parameter of signature sig cannot be a
// callback, as Register checks it, or returns "".
func (g *generator) callbackUnusable(sig *types.Signature) string {
	if sig.Variadic() {
		return "a callback cannot be variadic"
	}
	for i := 0; i < sig.Params().Len(); i++ {
		t := sig.Params().At(i).Type()
		if isContext(t) {
			if i > 0 {
				return fmt.Sprintf("callback parameter %d is a context.Context; only the first may be", i+1)
			}
			continue
		}
		if why := g.unusable(t, nil); why != "" {
			return fmt.Sprintf("callback parameter %d (%s): %s", i+1, g.shortString(t), why)
		}
	}
	for i := 0; i < sig.Results().Len(); i++ {
		t := sig.Results().At(i).Type()
		if i == sig.Results().Len()-1 && isError(t) {
			break
		}
		if why := g.unusable(t, nil); why != "" {
			return fmt.Sprintf("callback result %d (%s): %s", i+1, g.shortString(t), why)
		}
	}
	return ""
}

func isContext(t types.Type) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context"
}

func isError(t types.Type) bool { return types.Identical(t, types.Universe.Lookup("error").Type()) }

// unusable says why values of t cannot travel, or why the generated file
// cannot name t, or returns "".
func (g *generator) unusable(t types.Type, seen map[types.Type]bool) string {
	if seen[t] {
		return ""
	}
	if seen == nil {
		seen = make(map[types.Type]bool)
	}
	seen[t] = true
	if n, ok := t.(*types.Named); ok {
		obj := n.Obj()
		if obj.Pkg() != nil && !obj.Exported() && (!g.samePkg || obj.Pkg().Path() != g.pkg.PkgPath) {
			return fmt.Sprintf("type %s is not exported from its package, so the client cannot name it", obj.Name())
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsComplex != 0:
			return "complex values cannot be encoded"
		case u.Kind() == types.UnsafePointer || u.Kind() == types.Uintptr:
			return u.Name() + " values cannot be encoded"
		}
	case *types.Chan:
		return "chan values cannot be encoded"
	case *types.Signature:
		return "func values cannot be encoded"
	case *types.Interface:
		if u.NumMethods() > 0 {
			return "an interface with methods cannot be decoded"
		}
	case *types.Pointer:
		return g.unusable(u.Elem(), seen)
	case *types.Slice:
		return g.unusable(u.Elem(), seen)
	case *types.Array:
		return g.unusable(u.Elem(), seen)
	case *types.Map:
		if why := g.unusable(u.Key(), seen); why != "" {
			return why
		}
		return g.unusable(u.Elem(), seen)
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			f := u.Field(i)
			if !f.Exported() || jsonSkipped(u.Tag(i)) {
				continue
			}
			if why := g.unusable(f.Type(), seen); why != "" {
				return "field " + f.Name() + ": " + why
			}
		}
	}
	return ""
}

var jsonDash = regexp.MustCompile(`(^|\s)(json|cbor):"-"`)

func jsonSkipped(tag string) bool { return jsonDash.MatchString(tag) }
