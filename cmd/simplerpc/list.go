package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/simplerpc/simplerpc"
)

const listSynopsis = "[flags] ADDR [SERVICE]"

const listHelp = `
List prints the services of the server at ADDR (host:port), or only
SERVICE, with the Go signature of each method, and the functions
registered with RegisterFunc. For a method whose only parameter is a
struct, it also lists the fields, which "simplerpc call" accepts as
name=value pairs. It needs a server with introspection on (the default).

With -json it prints the server's whole description, schemas included:
the reply of the reserved method simplerpc.describe (see
docs/introspection.md).
`

func runList(e *env, args []string) int {
	fs := newFlagSet("list", listSynopsis, listHelp)
	asJSON := fs.Bool("json", false, "print the description as JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this `duration`")
	pos, code, ok := parse(fs, e, args)
	if !ok {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError(e, fs, "list needs ADDR, and at most one SERVICE")
	}
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	c, err := dialServer(ctx, pos[0], false, e.stderr)
	if err != nil {
		printError(e.stderr, "list", err, *asJSON)
		return 1
	}
	defer c.Close()
	d, err := c.Describe(ctx)
	if errors.Is(err, &simplerpc.Error{Code: simplerpc.CodeNotFound}) {
		err = fmt.Errorf("the server at %s does not describe itself (it runs WithIntrospection(false)): %w", pos[0], err)
	}
	if err != nil {
		printError(e.stderr, "list", err, *asJSON)
		return 1
	}
	if len(pos) == 2 {
		s := d.Service(pos[1])
		if s == nil {
			var names []string
			for _, s := range d.Services {
				names = append(names, s.Name)
			}
			fmt.Fprintf(e.stderr, "simplerpc list: the server has no service %q (it has: %s)\n", pos[1], strings.Join(names, ", "))
			return 1
		}
		d = &simplerpc.Description{Services: []simplerpc.ServiceDescription{*s}, Functions: []simplerpc.MethodDescription{}, Defs: d.Defs}
	}
	if *asJSON {
		b, _ := json.MarshalIndent(d, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
		return 0
	}
	printDescription(e.stdout, d, len(pos) == 1)
	return 0
}

// printDescription writes d for people.
func printDescription(w io.Writer, d *simplerpc.Description, functions bool) {
	for i, s := range d.Services {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "service %s\n", s.Name)
		for _, m := range s.Methods {
			printMethod(w, d, &m)
		}
	}
	if functions && len(d.Functions) > 0 {
		if len(d.Services) > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "functions")
		for _, m := range d.Functions {
			printMethod(w, d, &m)
		}
	}
}

func printMethod(w io.Writer, d *simplerpc.Description, m *simplerpc.MethodDescription) {
	fmt.Fprintf(w, "  %s\n", m.Signature)
	if !m.StructArg {
		return
	}
	s := m.Params[0].Schema
	if s.Ref != "" {
		s = d.Defs[strings.TrimPrefix(s.Ref, "#/$defs/")]
	}
	if s == nil || len(s.PropertyOrder) == 0 {
		return
	}
	fields := make([]string, len(s.PropertyOrder))
	for i, name := range s.PropertyOrder {
		fields[i] = name + " " + schemaName(s.Properties[name])
	}
	fmt.Fprintf(w, "      fields: %s\n", strings.Join(fields, ", "))
}

// schemaName is a short name of a schema's shape.
func schemaName(s *simplerpc.Schema) string {
	switch {
	case s == nil:
		return "any"
	case s.Ref != "":
		return strings.TrimPrefix(s.Ref, "#/$defs/")
	case s.ContentEncoding == "base64":
		return "bytes"
	case s.Type == "array":
		return "[]" + schemaName(s.Items)
	case s.Type == "object" && s.AdditionalProperties != nil:
		return "map[string]" + schemaName(s.AdditionalProperties)
	case s.Type == "":
		return "any"
	}
	return s.Type
}
