package gen

import (
	"bytes"
	"fmt"
	"go/types"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// proxyFile returns the unformatted source of the adapter a server
// registers for the interface named (simplerpc.RegisterProxy): a struct
// with a func field per method, the methods calling them, and an init
// that registers it.
func (g *generator) proxyFile(named *types.Named, iface *types.Interface) ([]byte, error) {
	delete(g.names, g.imports["context"]) // imported only if a signature needs it
	delete(g.imports, "context")
	a := g.cfg.Client
	var funcs []*types.Func
	for i := 0; i < iface.NumMethods(); i++ {
		funcs = append(funcs, iface.Method(i))
	}
	if len(funcs) == 0 {
		return nil, fmt.Errorf("gen: interface %s has no methods: nothing to call back", named.Obj().Name())
	}
	slices.SortFunc(funcs, func(x, y *types.Func) int { return strings.Compare(x.Name(), y.Name()) })
	var fields, methods bytes.Buffer
	for _, f := range funcs {
		if !f.Exported() {
			return nil, fmt.Errorf("gen: method %s of %s is unexported: a client cannot implement it", f.Name(), named.Obj().Name())
		}
		sig := f.Type().(*types.Signature)
		if why := g.callbackUnusable(sig); why != "" {
			return nil, fmt.Errorf("gen: method %s of %s cannot be a callback: %s", f.Name(), named.Obj().Name(), why)
		}
		ft := g.typeString(types.NewSignatureType(nil, nil, nil, sig.Params(), sig.Results(), false))
		fmt.Fprintf(&fields, "\t%sFunc %s\n", f.Name(), ft)
		names := make([]string, sig.Params().Len())
		params := make([]string, sig.Params().Len())
		used := map[string]bool{"p": true}
		for name := range g.names {
			used[name] = true
		}
		for i := range names {
			n := sig.Params().At(i).Name()
			if n == "" || n == "_" || used[n] || isLocal(n) {
				n = fmt.Sprintf("arg%d", i)
			}
			used[n] = true
			names[i] = n
			params[i] = n + " " + g.typeString(sig.Params().At(i).Type())
		}
		res := types.TypeString(sig.Results(), g.qualifier)
		if sig.Results().Len() == 1 && sig.Results().At(0).Name() == "" {
			res = strings.TrimSuffix(strings.TrimPrefix(res, "("), ")")
		}
		methods.WriteString("\n")
		if doc := g.docs[f.Pos()]; doc != "" {
			for _, line := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
				fmt.Fprintf(&methods, "//%s\n", prefixSpace(line))
			}
			methods.WriteString("//\n")
		}
		fmt.Fprintf(&methods, "// %s calls %sFunc.\n", f.Name(), f.Name())
		fmt.Fprintf(&methods, "func (p %s) %s(%s) %s {\n\t", a, f.Name(), strings.Join(params, ", "), res)
		if sig.Results().Len() > 0 {
			methods.WriteString("return ")
		}
		fmt.Fprintf(&methods, "p.%sFunc(%s)\n}\n", f.Name(), strings.Join(names, ", "))
	}
	it := g.typeString(named)
	var body bytes.Buffer
	fmt.Fprintf(&body, "// %s is a simplerpc server's adapter for a client's %s:\n", a, g.shortString(named))
	body.WriteString("// each func field invokes the client's method of the same name, as a\n")
	body.WriteString("// callback (simplerpc.RegisterProxy).\n")
	fmt.Fprintf(&body, "type %s struct {\n%s}\n\n", a, fields.String())
	fmt.Fprintf(&body, "func init() {\n\tif err := simplerpc.RegisterProxy[%s](%s{}); err != nil {\n\t\tpanic(err)\n\t}\n}\n", it, a)
	body.Write(methods.Bytes())
	var head bytes.Buffer
	head.WriteString(Header + "\n")
	fmt.Fprintf(&head, "// Source: interface %s of package %s.\n\n", named.Obj().Name(), g.pkg.PkgPath)
	fmt.Fprintf(&head, "package %s\n\n", g.cfg.Package)
	g.writeImports(&head)
	head.Write(body.Bytes())
	return head.Bytes(), nil
}

// proxyName is the adapter's default name: the interface's, lower-case
// first, with "Proxy".
func proxyName(iface string) string {
	r, n := utf8.DecodeRuneInString(iface)
	return string(unicode.ToLower(r)) + iface[n:] + "Proxy"
}
