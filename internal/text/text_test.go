package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer string", 10, "a longe…"},
		{strings.Repeat("é", 10), 10, "ééé…"}, // not inside a character
	} {
		got := Cut(tc.s, tc.n)
		if got != tc.want || len(got) > tc.n || !utf8.ValidString(got) {
			t.Errorf("Cut(%q, %d) = %q, want %q (at most %d bytes, valid UTF-8)", tc.s, tc.n, got, tc.want, tc.n)
		}
	}
}

func TestValid(t *testing.T) {
	if got := Valid("ok é"); got != "ok é" {
		t.Errorf("Valid changed valid text: %q", got)
	}
	if got := Valid("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("Valid(a\\xffb) = %q", got)
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2},
		{"first_nme", "first_name", 1}, {"kitten", "sitting", 3}, {"Add", "Add", 0},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}
