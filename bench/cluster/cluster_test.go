package main

import (
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSmoke runs every figure briefly and checks the report.
func TestSmoke(t *testing.T) {
	cfg, err := parseFlags([]string{"-smoke", "-out", filepath.Join(t.TempDir(), "cluster.md")})
	if err != nil {
		t.Fatal(err)
	}
	md, err := runAll(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"static:///addr", "| `Calc.Work` | 4 |", "hard kill"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
