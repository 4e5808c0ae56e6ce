package gen

import (
	"bytes"
	"fmt"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// simplerpcPath is the import path of the library the client calls.
const simplerpcPath = "github.com/simplerpc/simplerpc"

// generator writes one client file.
type generator struct {
	cfg     Config
	pkg     *packages.Package
	samePkg bool                 // the file goes in the package of the type
	docs    map[token.Pos]string // method docs, by position
	imports map[string]string    // import path -> name used in the file
	names   map[string]string    // name used in the file -> import path
}

func newGenerator(cfg Config, pkg *packages.Package, samePkg bool, docs map[token.Pos]string) *generator {
	g := &generator{cfg: cfg, pkg: pkg, samePkg: samePkg, docs: docs,
		imports: make(map[string]string), names: make(map[string]string)}
	g.importName("context", "context")
	g.importName(simplerpcPath, "simplerpc")
	return g
}

// importName records an import and returns the name the file uses for it.
func (g *generator) importName(path, name string) string {
	if n, ok := g.imports[path]; ok {
		return n
	}
	n := name
	for i := 2; g.names[n] != ""; i++ {
		n = name + strconv.Itoa(i)
	}
	g.imports[path], g.names[n] = n, path
	return n
}

// qualifier names packages in type strings, importing them as needed.
func (g *generator) qualifier(p *types.Package) string {
	if g.samePkg && p.Path() == g.pkg.PkgPath {
		return ""
	}
	return g.importName(p.Path(), p.Name())
}

func (g *generator) typeString(t types.Type) string { return types.TypeString(t, g.qualifier) }

// shortString names a type for comments and messages, importing nothing.
func (g *generator) shortString(t types.Type) string {
	return types.TypeString(t, func(p *types.Package) string {
		if g.samePkg && p.Path() == g.pkg.PkgPath {
			return ""
		}
		return p.Name()
	})
}

// file returns the unformatted source of the client file.
func (g *generator) file(named *types.Named, isIface bool, funcs []*types.Func) []byte {
	var body bytes.Buffer
	c := g.cfg.Client
	kind := "type"
	if isIface {
		kind = "interface"
	}
	fmt.Fprintf(&body, "// %s calls the %q service of a simplerpc server. It has the methods\n", c, g.cfg.Service)
	fmt.Fprintf(&body, "// of %s %s, each with a leading context.Context and a trailing error.\n", kind, g.shortString(named))
	fmt.Fprintf(&body, "type %s struct {\n\trpc *simplerpc.Client\n}\n\n", c)
	fmt.Fprintf(&body, "// New%s returns a %s that calls through rpc.\n", c, c)
	fmt.Fprintf(&body, "func New%s(rpc *simplerpc.Client) *%s {\n\treturn &%s{rpc: rpc}\n}\n", c, c, c)
	satisfies := isIface
	var skipped []string
	for _, f := range funcs {
		if !f.Exported() {
			continue
		}
		m, why := g.inspect(f)
		if m == nil {
			skipped = append(skipped, fmt.Sprintf("%s: %s", f.Name(), why))
			satisfies = false
			continue
		}
		// The generated method has the server's signature when it takes a
		// context and returns an error — or a stream, which yields its error.
		satisfies = satisfies && m.ctx && (m.hasErr || m.out != nil)
		body.WriteString("\n")
		if m.in != nil || m.out != nil {
			g.streamMethod(&body, m)
		} else {
			g.method(&body, m)
		}
	}
	var head bytes.Buffer
	head.WriteString(Header + "\n")
	fmt.Fprintf(&head, "// Source: %s %s of package %s, served as %q.\n\n", kind, named.Obj().Name(), g.pkg.PkgPath, g.cfg.Service)
	fmt.Fprintf(&head, "package %s\n\n", g.cfg.Package)
	g.writeImports(&head)
	if len(skipped) > 0 {
		head.WriteString("// These methods are left out, as the server leaves them out:\n")
		for _, s := range skipped {
			head.WriteString("//   - " + s + "\n")
		}
		head.WriteString("\n")
	}
	if satisfies {
		fmt.Fprintf(&head, "// %s satisfies the interface it mirrors.\nvar _ %s = (*%s)(nil)\n\n", c, g.typeString(named), c)
	}
	head.Write(body.Bytes())
	return head.Bytes()
}

// writeImports writes the file's import block.
func (g *generator) writeImports(head *bytes.Buffer) {
	head.WriteString("import (\n")
	paths := make([]string, 0, len(g.imports))
	for p := range g.imports {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, func(a, b string) int {
		// The standard library first, as goimports groups them.
		if sa, sb := isStd(a), isStd(b); sa != sb {
			if sa {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for i, p := range paths {
		if i > 0 && isStd(paths[i-1]) && !isStd(p) {
			head.WriteString("\n")
		}
		if name := g.imports[p]; name != lastElem(p) {
			fmt.Fprintf(head, "\t%s %q\n", name, p)
		} else {
			fmt.Fprintf(head, "\t%q\n", p)
		}
	}
	head.WriteString(")\n\n")
}

// isStd reports whether path is a standard library package.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func lastElem(path string) string { return path[strings.LastIndexByte(path, '/')+1:] }

// method writes one client method.
func (g *generator) method(w *bytes.Buffer, m *method) {
	full := g.methodDoc(w, m)
	names, ptypes := g.paramList(m)
	rtypes := make([]string, 0, len(m.results)+1)
	for _, r := range m.results {
		rtypes = append(rtypes, g.typeString(r))
	}
	params := []string{"ctx context.Context"}
	for i := range m.params {
		params = append(params, names[i]+" "+ptypes[i])
	}
	res := strings.Join(append(rtypes[:len(rtypes):len(rtypes)], "error"), ", ")
	if len(rtypes) > 0 {
		res = "(" + res + ")"
	}
	fmt.Fprintf(w, "func (c *%s) %s(%s) %s {\n", g.cfg.Client, m.name, strings.Join(params, ", "), res)

	args := "nil"
	switch {
	case m.variadic:
		fixed := names[:len(names)-1]
		rest := names[len(names)-1]
		if len(fixed) > 0 {
			fmt.Fprintf(w, "\targs := make([]any, 0, %d+len(%s))\n", len(fixed), rest)
		} else {
			fmt.Fprintf(w, "\targs := make([]any, 0, len(%s))\n", rest)
		}
		if len(fixed) > 0 {
			fmt.Fprintf(w, "\targs = append(args, %s)\n", strings.Join(fixed, ", "))
		}
		fmt.Fprintf(w, "\tfor _, v := range %s {\n\t\targs = append(args, v)\n\t}\n", rest)
		args = "args"
	case len(names) > 0:
		vals := slices.Clone(names)
		for i := range m.ifaces {
			vals[i] = fmt.Sprintf("simplerpc.AsInterface[%s](%s)", ptypes[i], names[i])
		}
		args = "[]any{" + strings.Join(vals, ", ") + "}"
	}
	if len(m.results) == 0 {
		fmt.Fprintf(w, "\treturn c.rpc.Call(ctx, %q, %s)\n}\n", full, args)
		return
	}
	ptrs := make([]string, len(m.results))
	outs := make([]string, len(m.results))
	zeros := make([]string, len(m.results))
	for i := range m.results {
		fmt.Fprintf(w, "\tvar r%d %s\n", i, rtypes[i])
		ptrs[i], outs[i], zeros[i] = fmt.Sprintf("&r%d", i), fmt.Sprintf("r%d", i), fmt.Sprintf("z%d", i)
	}
	fmt.Fprintf(w, "\tif err := c.rpc.Call(ctx, %q, %s, %s); err != nil {\n", full, args, strings.Join(ptrs, ", "))
	for i := range m.results {
		fmt.Fprintf(w, "\t\tvar z%d %s\n", i, rtypes[i])
	}
	fmt.Fprintf(w, "\t\treturn %s, err\n\t}\n", strings.Join(zeros, ", "))
	fmt.Fprintf(w, "\treturn %s, nil\n}\n", strings.Join(outs, ", "))
}

// methodDoc writes the doc comment of m's client method and returns the
// name the call names.
func (g *generator) methodDoc(w *bytes.Buffer, m *method) string {
	full := g.cfg.Service + "." + m.name
	if m.doc != "" {
		for _, line := range strings.Split(strings.TrimRight(m.doc, "\n"), "\n") {
			fmt.Fprintf(w, "//%s\n", prefixSpace(line))
		}
		w.WriteString("//\n")
	}
	fmt.Fprintf(w, "// %s calls %s on the server.\n", m.name, full)
	return full
}

// paramList returns the local names and the type strings of m's
// parameters, the stream parameter last if it has one. Type strings come
// first: they record the imports the names must not hide.
func (g *generator) paramList(m *method) (names, ptypes []string) {
	ptypes = make([]string, len(m.params))
	for i, p := range m.params {
		ptypes[i] = g.typeString(p.Type())
		if m.variadic && i == len(m.params)-1 {
			ptypes[i] = "..." + g.typeString(p.Type().(*types.Slice).Elem())
		}
	}
	raw := make([]string, len(m.params))
	for i, p := range m.params {
		raw[i] = p.Name()
	}
	if m.in != nil {
		ptypes = append(ptypes, g.typeString(m.in.iter))
		raw = append(raw, m.inName)
	}
	// Local names: the parameters keep theirs unless they would clash.
	used := map[string]bool{"c": true, "ctx": true, "err": true, "args": true, "v": true}
	if m.in != nil || m.out != nil {
		for _, n := range []string{"s", "yield", "items", "in2"} {
			used[n] = true
		}
	}
	for name := range g.names {
		used[name] = true
	}
	names = make([]string, len(raw))
	for i, n := range raw {
		if n == "" || n == "_" || used[n] || isLocal(n) {
			n = fmt.Sprintf("arg%d", i)
		}
		used[n] = true
		names[i] = n
	}
	return names, ptypes
}

// isLocal reports whether name has the form of a generated local: r0, z1.
func isLocal(name string) bool {
	if len(name) < 2 || (name[0] != 'r' && name[0] != 'z') {
		return false
	}
	_, err := strconv.Atoi(name[1:])
	return err == nil
}

func prefixSpace(line string) string {
	if line == "" {
		return ""
	}
	return " " + line
}
