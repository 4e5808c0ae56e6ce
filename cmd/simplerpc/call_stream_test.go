package main

import (
	"strings"
	"testing"
)

func TestCallStream(t *testing.T) {
	addr := serve(t)
	r := cli(t, "call", addr, "Files.Lines", "3")
	if r.code != 0 || r.stdout != "\"line 1\"\n\"line 2\"\n\"line 3\"\n" {
		t.Errorf("server stream: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = cli(t, "call", "-json", addr, "Files.Lines", "2")
	want := `{"item":"line 1"}` + "\n" + `{"item":"line 2"}` + "\n" + `{"method":"Files.Lines","results":[]}` + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("server stream -json: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = cliIn(t, "\"a\"\n\n\"bc\"\n", "call", addr, "Files.Shout")
	if r.code != 0 || r.stdout != "\"A\"\n\"BC\"\n" {
		t.Errorf("bidi stream from stdin: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// "hello" and "!", base64 as []byte travels in JSON: sha256("hello!").
	r = cliIn(t, "\"aGVsbG8=\"\n\"IQ==\"\n", "call", addr, "Files.Upload")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "[\n  6,\n  \"ce06092fb948d9ffac7d1a376e404b26b7575bcc11ee05a4615fef4fec3a308b\"\n]") {
		t.Errorf("client stream from stdin: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = cliIn(t, "not json\n", "call", addr, "Files.Shout")
	if r.code != 1 || !strings.Contains(r.stderr, "line 1: not a JSON value") {
		t.Errorf("bad input line: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
