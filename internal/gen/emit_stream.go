package gen

import (
	"bytes"
	"fmt"
	"strings"
)

// streamMethod writes the client method of a streaming method, with the
// server method's signature (a context first, and an error last unless
// the method returns only its stream, whose iterator yields errors):
// through simplerpc.Stream, StreamWith, Items and Client.OpenStream.
func (g *generator) streamMethod(w *bytes.Buffer, m *method) {
	full := g.methodDoc(w, m)
	w.WriteString("// It streams: see simplerpc.ClientStream.\n")
	names, ptypes := g.paramList(m)
	params := []string{"ctx context.Context"}
	for i := range names {
		params = append(params, names[i]+" "+ptypes[i])
	}
	callArgs := append([]string{"ctx", "c.rpc", fmt.Sprintf("%q", full)}, names[:len(m.params)]...)
	if m.variadic {
		callArgs[len(callArgs)-1] += "..."
	}
	openArgs := append([]string{"ctx", fmt.Sprintf("%q", full)}, callArgs[3:]...)
	in := ""
	if m.in != nil {
		in = names[len(names)-1]
	}
	if m.out == nil {
		g.uploadMethod(w, m, params, openArgs, in)
		return
	}
	out := g.typeString(m.out.iter)
	elem := g.typeString(m.out.elem)
	res := out
	if m.hasErr {
		res = "(" + out + ", error)"
	}
	fmt.Fprintf(w, "func (c *%s) %s(%s) %s {\n", g.cfg.Client, m.name, strings.Join(params, ", "), res)
	if !m.hasErr {
		// Opened when the loop starts.
		var items string
		if m.in == nil {
			items = fmt.Sprintf("simplerpc.Stream[%s](%s)", elem, strings.Join(callArgs, ", "))
		} else {
			seq := in
			if !m.in.withErr {
				fmt.Fprintf(w, "\t%s", g.seq2Of(m, in))
				seq = "in2"
			}
			items = fmt.Sprintf("simplerpc.StreamWith[%s](%s)", elem, strings.Join(append(callArgs[:3:3], append([]string{seq}, callArgs[3:]...)...), ", "))
		}
		if m.out.withErr {
			fmt.Fprintf(w, "\treturn %s\n}\n", items)
			return
		}
		fmt.Fprintf(w, "\treturn func(yield func(%s) bool) {\n\t\tfor v, err := range %s {\n\t\t\tif err != nil || !yield(v) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}\n}\n", elem, items)
		return
	}
	// Opened before the method returns, for the error before the stream.
	fmt.Fprintf(w, "\ts, err := c.rpc.OpenStream(%s)\n", strings.Join(openArgs, ", "))
	w.WriteString("\tif err != nil {\n\t\treturn nil, err\n\t}\n")
	w.WriteString("\tif err := s.Opened(); err != nil {\n\t\ts.Close()\n\t\treturn nil, err\n\t}\n")
	if m.in == nil {
		w.WriteString("\t_ = s.CloseSend()\n")
	} else {
		fmt.Fprintf(w, "\tgo func() { // ends when %s does\n", in)
		g.sendLoop(w, m, in, "\t\t", "s.Close()\n\t\t\t\treturn")
		w.WriteString("\t\t_ = s.CloseSend()\n\t}()\n")
	}
	fmt.Fprintf(w, "\titems := simplerpc.Items[%s](s)\n", elem)
	if m.out.withErr {
		fmt.Fprintf(w, "\treturn func(yield func(%s, error) bool) {\n\t\tdefer s.Close()\n\t\tfor v, err := range items {\n\t\t\tif !yield(v, err) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}, nil\n}\n", elem)
		return
	}
	fmt.Fprintf(w, "\treturn func(yield func(%s) bool) {\n\t\tdefer s.Close()\n\t\tfor v, err := range items {\n\t\t\tif err != nil || !yield(v) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}, nil\n}\n", elem)
}

// uploadMethod writes the client method of a method that receives a
// stream and returns values.
func (g *generator) uploadMethod(w *bytes.Buffer, m *method, params, openArgs []string, in string) {
	rtypes := make([]string, 0, len(m.results)+1)
	for _, r := range m.results {
		rtypes = append(rtypes, g.typeString(r))
	}
	res := strings.Join(append(rtypes[:len(rtypes):len(rtypes)], "error"), ", ")
	if len(rtypes) > 0 {
		res = "(" + res + ")"
	}
	fmt.Fprintf(w, "func (c *%s) %s(%s) %s {\n", g.cfg.Client, m.name, strings.Join(params, ", "), res)
	zeros := make([]string, len(rtypes))
	ptrs := make([]string, len(rtypes))
	outs := make([]string, len(rtypes))
	for i, t := range rtypes {
		fmt.Fprintf(w, "\tvar r%d %s\n", i, t)
		zeros[i], ptrs[i], outs[i] = fmt.Sprintf("r%d", i), fmt.Sprintf("&r%d", i), fmt.Sprintf("r%d", i)
	}
	fail := strings.Join(append(zeros[:len(zeros):len(zeros)], "err"), ", ")
	fmt.Fprintf(w, "\ts, err := c.rpc.OpenStream(%s)\n", strings.Join(openArgs, ", "))
	fmt.Fprintf(w, "\tif err != nil {\n\t\treturn %s\n\t}\n\tdefer s.Close()\n", fail)
	g.sendLoop(w, m, in, "\t", "return "+fail)
	fmt.Fprintf(w, "\tif err := s.Finish(%s); err != nil {\n\t\treturn %s\n\t}\n", strings.Join(ptrs, ", "), fail)
	fmt.Fprintf(w, "\treturn %s\n}\n", strings.Join(append(outs, "nil"), ", "))
}

// sendLoop writes the loop that sends the items of in, indented by ind;
// onErr is what an error of in does (err holds it).
func (g *generator) sendLoop(w *bytes.Buffer, m *method, in, ind, onErr string) {
	if m.in.withErr {
		fmt.Fprintf(w, "%sfor v, err := range %s {\n%s\tif err != nil {\n%s\t\t%s\n%s\t}\n", ind, in, ind, ind, onErr, ind)
	} else {
		fmt.Fprintf(w, "%sfor v := range %s {\n", ind, in)
	}
	fmt.Fprintf(w, "%s\tif s.Send(v) != nil {\n%s\t\tbreak\n%s\t}\n%s}\n", ind, ind, ind, ind)
}

// seq2Of returns the conversion of in, an iter.Seq[T], into in2, the
// iter.Seq2[T, error] StreamWith takes.
func (g *generator) seq2Of(m *method, in string) string {
	elem := g.typeString(m.in.elem)
	return fmt.Sprintf("in2 := func(yield func(%s, error) bool) {\n\t\tfor v := range %s {\n\t\t\tif !yield(v, nil) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}\n", elem, in)
}
