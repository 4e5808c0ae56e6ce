package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// newFlagSet returns a FlagSet for a subcommand whose usage prints the
// synopsis and description, then the flags.
func newFlagSet(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: simplerpc %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(description))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(w, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses a subcommand's arguments. Flags come before the positional
// arguments, as with the go tool; flags the FlagSet defines are also
// recognized after them, and "--" ends the flags. On -h it prints the
// usage to stdout; on a bad flag it explains on stderr. ok is false when
// the command must exit with status code.
func parse(fs *flag.FlagSet, e *env, args []string) (positional []string, code int, ok bool) {
	fs.SetOutput(e.stderr)
	usage := fs.Usage
	fs.Usage = func() {} // printed below, to the right stream
	defer func() { fs.Usage = usage }()
	pos, err := parseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(e.stdout)
		usage()
		return nil, 0, false
	case err != nil:
		fmt.Fprintf(e.stderr, "Run 'simplerpc %s -h' for usage.\n", fs.Name())
		return nil, 2, false
	}
	return pos, 0, true
}

// parseInterspersed parses flags anywhere among args. A token after the
// first positional argument is a flag only if the FlagSet defines it, so a
// negative number stays an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
		for len(rest) > 0 && !isDefinedFlag(fs, rest[0]) {
			if rest[0] == "--" {
				return append(pos, rest[1:]...), nil
			}
			pos = append(pos, rest[0])
			rest = rest[1:]
		}
		if len(rest) == 0 {
			return pos, nil
		}
		args = rest
	}
}

// isDefinedFlag reports whether tok is a flag fs knows (or -h).
func isDefinedFlag(fs *flag.FlagSet, tok string) bool {
	if len(tok) < 2 || tok[0] != '-' {
		return false
	}
	name := strings.TrimPrefix(tok[1:], "-")
	name, _, _ = strings.Cut(name, "=")
	return name == "h" || name == "help" || fs.Lookup(name) != nil
}

// usageError reports a wrong use of a command's arguments and returns 2.
func usageError(e *env, fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "simplerpc %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(e.stderr, "Run 'simplerpc %s -h' for usage.\n", fs.Name())
	return 2
}
