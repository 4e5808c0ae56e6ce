package gen

import (
	"bytes"
	"flag"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/tools/go/packages"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// goldens are the generator's golden cases: testdata/NAME.golden holds
// the output of cfg.
var goldens = []struct {
	name string
	cfg  Config
	dest string // package directory the output compiles in
}{
	{"calc_client", Config{Pattern: "./testdata/src/calc", Type: "Calc"}, "testdata/src/calc"},
	{"calculator_client", Config{Pattern: "./testdata/src/calc", Type: "Calculator", Service: "Calc"}, "testdata/src/calc"},
	{"calc_other_package", Config{Pattern: "./testdata/src/calc", Type: "Calc", Client: "Client", Package: "calcclient"}, "testdata/src/calcclient"},
	{"feed_client", Config{Pattern: "./testdata/src/feed", Type: "Feed"}, "testdata/src/feed"},
	{"jobs_client", Config{Pattern: "./testdata/src/jobs", Type: "Jobs"}, "testdata/src/jobs"},
	{"observer_proxy", Config{Pattern: "./testdata/src/jobs", Type: "Observer", Proxy: true}, "testdata/src/jobs"},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldens {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Generate(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("generated code differs from %s (go test -update rewrites it):\n%s", path, got)
			}
			if formatted, err := format.Source(got); err != nil || !bytes.Equal(formatted, got) {
				t.Errorf("generated code is not gofmt'd: %v", err)
			}
			if !strings.HasPrefix(string(got), Header+"\n") {
				t.Errorf("generated code does not start with %q", Header)
			}
		})
	}
}

// TestGoldenCompiles type-checks every golden output inside the package it
// is meant for, all in one load.
func TestGoldenCompiles(t *testing.T) {
	overlay := make(map[string][]byte)
	var patterns []string
	for _, tc := range goldens {
		src, err := os.ReadFile(filepath.Join("testdata", tc.name+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		dir, err := filepath.Abs(tc.dest)
		if err != nil {
			t.Fatal(err)
		}
		overlay[filepath.Join(dir, "zz_"+tc.name+".go")] = src
		if p := "./" + tc.dest; !slices.Contains(patterns, p) {
			patterns = append(patterns, p)
		}
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes | packages.NeedSyntax | packages.NeedTypesInfo, Overlay: overlay}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != len(patterns) {
		t.Fatalf("loaded %d packages, want %d", len(pkgs), len(patterns))
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Errorf("%s: %v", p.PkgPath, e)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Pattern: "./testdata/src/calc"}, "no type given"},
		{Config{Pattern: "./testdata/src/calc", Type: "Nope"}, "has no type Nope"},
		{Config{Pattern: "./testdata/src/nope", Type: "Calc"}, "does not load"},
		{Config{Pattern: "./testdata/src/jobs", Type: "Jobs", Proxy: true}, "Jobs is not an interface"},
		{Config{Pattern: "./testdata/src/calc", Type: "Calculator", Proxy: true}, "cannot be a callback"},
	} {
		_, err := Generate(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Generate(%+v) = %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
}

// A stale previous output does not stop its own regeneration.
func TestStaleOutputIsIgnored(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/stale\n\ngo 1.26\n")
	write("svc.go", "package stale\n\ntype Svc struct{}\n\nfunc (Svc) Ping() string { return \"pong\" }\n")
	write("svc_client.go", "package stale\n\nfunc broken() { undefinedThing() }\n")
	cfg := Config{Dir: dir, Type: "Svc", Output: "svc_client.go"}
	if err := WriteFile(cfg); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "svc_client.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "func (c *SvcClient) Ping(ctx context.Context) (string, error)") {
		t.Errorf("regenerated client:\n%s", got)
	}
}
