package jsonrpc

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseBody(t *testing.T) {
	for _, tc := range []struct {
		body    string
		batch   bool
		n       int
		errCode int // of the first request; 0 for a valid one
		method  string
		id      string
	}{
		{body: `{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":7}`, n: 1, method: "Calc.Add", id: "7"},
		{body: `{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2]}`, n: 1, method: "Calc.Add"},
		{body: `[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"b","id":"x"}]`, batch: true, n: 2, method: "a", id: "1"},
		{body: `{"jsonrpc":"2.0","method":`, n: 1, errCode: CodeParseError},
		{body: `[]`, n: 1, errCode: CodeInvalidRequest},
		{body: `3`, n: 1, errCode: CodeInvalidRequest},
		{body: `[1]`, batch: true, n: 1, errCode: CodeInvalidRequest},
		{body: `{"jsonrpc":"1.0","method":"a","id":2}`, n: 1, errCode: CodeInvalidRequest, id: "2"},
		{body: `{"jsonrpc":"2.0","method":"a","method":"b","id":3}`, n: 1, errCode: CodeInvalidRequest, id: "3"},
		{body: `{"jsonrpc":"2.0","method":"a","params":5,"id":4}`, n: 1, errCode: CodeInvalidRequest, id: "4"},
		{body: `{"jsonrpc":"2.0","method":"a","id":{}}`, n: 1, errCode: CodeInvalidRequest},
	} {
		reqs, batch := ParseBody([]byte(tc.body))
		if batch != tc.batch || len(reqs) != tc.n {
			t.Errorf("%s: batch %v, %d requests; want %v, %d", tc.body, batch, len(reqs), tc.batch, tc.n)
			continue
		}
		r := reqs[0]
		switch {
		case tc.errCode != 0 && (r.Err == nil || r.Err.Code != tc.errCode):
			t.Errorf("%s: error %+v, want code %d", tc.body, r.Err, tc.errCode)
		case tc.errCode == 0 && r.Err != nil:
			t.Errorf("%s: error %+v, want none", tc.body, r.Err)
		case tc.errCode == 0 && r.Method != tc.method:
			t.Errorf("%s: method %q, want %q", tc.body, r.Method, tc.method)
		case string(r.ID) != tc.id:
			t.Errorf("%s: id %s, want %s", tc.body, r.ID, tc.id)
		}
	}
}

func TestParseBodyBatchLimit(t *testing.T) {
	one := `{"jsonrpc":"2.0","method":"a"}`
	body := "[" + strings.Repeat(one+",", MaxBatch) + one + "]"
	reqs, batch := ParseBody([]byte(body))
	if batch || len(reqs) != 1 || reqs[0].Err == nil || !strings.Contains(reqs[0].Err.Message, "exceeds the limit") {
		t.Fatalf("a batch of %d: %d requests, batch %v, error %+v; want one refusal", MaxBatch+1, len(reqs), batch, reqs[0].Err)
	}
}

func TestParseID(t *testing.T) {
	for in, want := range map[string]string{
		`"a"`:                           `"a"`,
		`"\ud800"`:                      `"\ud800"`,
		"\"\xff\"":                      "\"\ufffd\"",
		`12`:                            `12`,
		`null`:                          `null`,
		`-1.5e3`:                        `-1.5e3`,
		`true`:                          "",
		`[1]`:                           "",
		"":                              "",
		`1` + strings.Repeat("0", 2000): "",
	} {
		got, err := ParseID(json.RawMessage(in))
		if want == "" {
			if err == nil {
				t.Errorf("ParseID(%.20s) = %s, want an error", in, got)
			}
			continue
		}
		if err != nil || string(got) != want {
			t.Errorf("ParseID(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
}

func TestSplitAndMember(t *testing.T) {
	var parts []string
	Split([]byte(` [ 1 , "a,]" , {"k":[2,3]} , [] ] `), func(p []byte) { parts = append(parts, string(p)) })
	if want := []string{`1`, `"a,]"`, `{"k":[2,3]}`, `[]`}; strings.Join(parts, "|") != strings.Join(want, "|") {
		t.Fatalf("Split = %q, want %q", parts, want)
	}
	var keys, vals []string
	Split([]byte(`{"a\"b" : 1, "c":{"d":2}}`), func(m []byte) {
		k, v := Member(m)
		keys, vals = append(keys, k), append(vals, string(v))
	})
	if strings.Join(keys, "|") != `a"b|c` || strings.Join(vals, "|") != `1|{"d":2}` {
		t.Fatalf("members %q = %q", keys, vals)
	}
	if n := ArrayLen([]byte(`[1,[2,3],{}]`)); n != 3 {
		t.Fatalf("ArrayLen = %d, want 3", n)
	}
}

func TestResponses(t *testing.T) {
	id := json.RawMessage(`"x"`)
	res := Result(1, []byte(` [ 42 ] `))
	out := AppendResult(nil, id, res)
	if string(out) != `{"jsonrpc":"2.0","result":42,"id":"x"}` || len(out) != ResultSize(id, res) {
		t.Fatalf("AppendResult = %s (%d bytes, ResultSize %d)", out, len(out), ResultSize(id, res))
	}
	if got := string(Result(0, []byte(`[]`))); got != "null" {
		t.Fatalf("Result of none = %s", got)
	}
	if got := string(Result(2, []byte(`[1,2]`))); got != "[1,2]" {
		t.Fatalf("Result of two = %s", got)
	}
	e := &Error{Code: CodeApplicationError, Message: "m", Data: &ErrorData{Code: "application", Detail: func() {}}}
	out = AppendError(nil, nil, e)
	var back struct {
		Error Error           `json:"error"`
		ID    json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(out, &back); err != nil || back.Error.Message != "m" || back.Error.Data.Detail != nil || !bytes.Equal(back.ID, Null) {
		t.Fatalf("AppendError = %s (%v)", out, err)
	}
}

func TestValidAppCode(t *testing.T) {
	for code, want := range map[int]bool{1: true, -32769: true, -31999: true, -32768: false, -32000: false, -32601: false, CodeInvalidParams: true, CodeInternalError: true} {
		if ValidAppCode(code) != want {
			t.Errorf("ValidAppCode(%d) = %v", code, !want)
		}
	}
}

// FuzzParseBody checks that any body parses without panicking into
// requests that are each valid or carry an error, and whose ids encode
// as valid JSON.
func FuzzParseBody(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1}`))
	f.Add([]byte(`[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b","params":{"x":1},"id":"\u00e9"}]`))
	f.Add([]byte(`[[[[[[[[[[]]]]]]]]]]`))
	f.Add([]byte("{\"id\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		reqs, _ := ParseBody(body)
		if len(reqs) == 0 {
			t.Fatal("no requests")
		}
		// A lone request parses as encoding/json's check of the whole
		// body, then ParseRequest, would have it, whichever scan it took.
		if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '{' {
			want := Request{Err: Invalid(CodeParseError, "parse error: the body is not valid JSON")}
			if json.Valid(b) {
				want = ParseRequest(b) // which takes valid JSON only
			}
			if !reflect.DeepEqual(reqs[0], want) {
				t.Fatalf("%q parsed as %+v, want %+v", body, reqs[0], want)
			}
		}
		for _, r := range reqs {
			if r.Err == nil && (r.Params != nil && r.Params[0] != '[' && r.Params[0] != '{') {
				t.Fatalf("valid request with params %s", r.Params)
			}
			var out []byte
			if r.Err != nil {
				out = AppendError(nil, r.ID, r.Err)
			} else {
				out = AppendResult(nil, r.ID, Null)
			}
			if !json.Valid(out) {
				t.Fatalf("response %s is not valid JSON", out)
			}
		}
	})
}
