package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// serve runs the demo's Calc service for a test and returns its address.
func serve(t *testing.T) string {
	t.Helper()
	ds, err := startDemoServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ds.stop)
	return ds.addr
}

func TestList(t *testing.T) {
	addr := serve(t)
	r := cli(t, "list", addr)
	if r.code != 0 {
		t.Fatalf("list exited %d: %s", r.code, r.stderr)
	}
	wantLines(t, "list output", r.stdout,
		"service Calc\n",
		"  Add(int, int) int\n",
		"  Area(main.Rect) float64\n      fields: w number, h number\n",
		"  MinMax(int, ...int) (int, int)\n",
		"  Sleep(context.Context, time.Duration) error\n",
	)
	r = cli(t, "list", "-json", addr, "Calc")
	var d struct {
		Services []struct {
			Name    string
			Methods []struct{ Name, Signature string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 0 || len(d.Services) != 1 || len(d.Services[0].Methods) != 7 {
		t.Errorf("list -json: exit %d, %v, %+v\n%s", r.code, err, d, r.stdout)
	}
	if r := cli(t, "list", addr, "Nope"); r.code != 1 || !strings.Contains(r.stderr, `no service "Nope" (it has: Calc, Files, Jobs)`) {
		t.Errorf("list of a missing service: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := cli(t, "list", "127.0.0.1:1"); r.code != 1 || !strings.Contains(r.stderr, "cannot connect to 127.0.0.1:1") {
		t.Errorf("list of nothing: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := cli(t, "list"); r.code != 2 || !strings.Contains(r.stderr, "list needs ADDR") {
		t.Errorf("list without ADDR: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestCall(t *testing.T) {
	addr := serve(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{addr, "Calc.Add", "1", "2"}, "3\n"},
		{[]string{addr, "Calc.Sum", "1", "2", "3", "-4"}, "2\n"},
		{[]string{addr, "Calc.MinMax", "5", "-2", "9"}, "[\n  -2,\n  9\n]\n"},
		{[]string{addr, "Calc.Area", "w=3", "h=4"}, "12\n"},
		{[]string{addr, "Calc.Area", "3", "4"}, "12\n"},
		{[]string{addr, "Calc.Area", `{"w": 2, "h": 5}`}, "10\n"},
		{[]string{"-timeout", "5s", addr, "Calc.Sleep", "1000"}, ""},
		{[]string{addr, "Calc.Add", "-json", "1", "2"}, `{"method":"Calc.Add","results":[3]}` + "\n"},
	} {
		r := cli(t, append([]string{"call"}, tc.args...)...)
		if r.code != 0 || r.stdout != tc.want {
			t.Errorf("call %v: exit %d, stdout %q, stderr %q; want %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
}

func TestCallErrors(t *testing.T) {
	addr := serve(t)
	r := cli(t, "call", addr, "Calc.Div", "1", "0")
	if r.code != 1 || r.stdout != "" {
		t.Errorf("failed call: exit %d, stdout %q", r.code, r.stdout)
	}
	wantLines(t, "stderr", r.stderr,
		"simplerpc call: Calc.Div: application: div(1, 0): division by zero\n",
		"(code application, remote type *fmt.wrapError, registered as demo.div_by_zero)")
	if strings.Contains(r.stderr, "traceback") {
		t.Errorf("traceback without -debug: %s", r.stderr)
	}

	r = cli(t, "call", "-debug", addr, "Calc.Crash", "boom")
	if r.code != 1 {
		t.Errorf("crash: exit %d", r.code)
	}
	wantLines(t, "-debug stderr", r.stderr, "Server side traceback (Calc.Crash, internal: boom)", "DemoCalc.Crash", "code internal")

	r = cli(t, "call", "-json", addr, "Calc.Nope")
	var e struct {
		Error struct{ Code, Message, Method string }
	}
	if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || r.code != 1 || e.Error.Code != "not_found" || e.Error.Method != "Calc.Nope" {
		t.Errorf("-json error: exit %d, %v, stderr %q", r.code, err, r.stderr)
	}

	r = cli(t, "call", addr, "Calc.Add", "one", "2")
	if r.code != 1 || !strings.Contains(r.stderr, "invalid_argument") {
		t.Errorf("bad argument: exit %d, stderr %q", r.code, r.stderr)
	}
	r = cli(t, "call", "-timeout", "100ms", addr, "Calc.Sleep", "10000000000")
	if r.code != 1 || !strings.Contains(r.stderr, "deadline_exceeded") {
		t.Errorf("deadline: exit %d, stderr %q", r.code, r.stderr)
	}
	r = cli(t, "call", addr, "Calc.Area", "w=3", "4")
	if r.code != 2 || !strings.Contains(r.stderr, "cannot be mixed") {
		t.Errorf("mixed arguments: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestBench(t *testing.T) {
	addr := serve(t)
	r := cli(t, "bench", "-c", "4", "-d", "300ms", addr, "Calc.Add", "1", "2")
	if r.code != 0 {
		t.Fatalf("bench exited %d: %s", r.code, r.stderr)
	}
	wantLines(t, "bench output", r.stdout, "Calc.Add: ", " calls in 0.", "from 4 callers", "calls/s, 0 errors", "latency: p50 ", " p99 ", "histogram:", "█")
	r = cli(t, "bench", "-json", "-c", "2", "-d", "300ms", addr, "Calc.Sum", "1", "2")
	var rep report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
		t.Fatalf("bench -json: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if rep.Calls == 0 || rep.Errors != 0 || rep.Latency.P50 <= 0 || rep.Latency.Max < rep.Latency.P99 || len(rep.Histogram) == 0 || rep.Concurrency != 2 {
		t.Errorf("bench -json report: %+v", rep)
	}
	var sum int64
	for _, b := range rep.Histogram {
		sum += b.Count
	}
	if sum != rep.Calls {
		t.Errorf("histogram holds %d calls, report %d", sum, rep.Calls)
	}
	// Flags after the positional arguments work too.
	r = cli(t, "bench", addr, "Calc.Add", "1", "2", "-c", "2", "-d", "200ms")
	if r.code != 0 || !strings.Contains(r.stdout, "from 2 callers") {
		t.Errorf("bench with trailing flags: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, "bench", "-d", "200ms", addr, "Calc.Div", "1", "0")
	if r.code != 1 || !strings.Contains(r.stderr, "division by zero") {
		t.Errorf("bench of a failing call: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestParseArgs(t *testing.T) {
	got, err := parseArgs([]string{"1", "x", `"q"`, "[1,2]", "-3"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if string(b) != `[1,"x","q",[1,2],-3]` {
		t.Errorf("positional: %s", b)
	}
	got, err = parseArgs([]string{"x=1", "Label=p q"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(got)
	if string(b) != `[{"Label":"p q","x":1}]` {
		t.Errorf("named: %s", b)
	}
	if _, err := parseArgs([]string{"x=1", "x=2"}); err == nil {
		t.Error("a name given twice was accepted")
	}
}

// TestTargets runs list and bench against many-server targets: the CLI
// dials through simplerpc.Dial, so static:/// and dns:/// work as they do
// for a Client.
func TestTargets(t *testing.T) {
	a, b := serve(t), serve(t)
	target := "static:///" + a + "," + b
	if r := cli(t, "list", target); r.code != 0 || !strings.Contains(r.stdout, "service Calc") {
		t.Fatalf("list %s: exit %d, %s%s", target, r.code, r.stdout, r.stderr)
	}
	if r := cli(t, "bench", "-c", "4", "-d", "300ms", target, "Calc.Add", "1", "2"); r.code != 0 || !strings.Contains(r.stdout, "calls/s, 0 errors") {
		t.Fatalf("bench %s: exit %d, %s%s", target, r.code, r.stdout, r.stderr)
	}
	if r := cli(t, "call", "dns:///localhost:"+strings.Split(a, ":")[1], "Calc.Add", "1", "2"); r.code != 0 || strings.TrimSpace(r.stdout) != "3" {
		t.Fatalf("call through dns:///: exit %d, %q %s", r.code, r.stdout, r.stderr)
	}
}
