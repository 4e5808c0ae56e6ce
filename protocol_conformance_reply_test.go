package simplerpc_test

import (
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// TestProtocol_4_ErrorObject: an error reply is [code, message, method,
// remote type, stack, name, detail?]; the stack is empty unless the
// server sends them, an error chain for a returned error, a goroutine
// trace for a panic; a registered error carries its name and, for a
// registered type, its fields; an error the server reports itself has
// no remote type.
func TestProtocol_4_ErrorObject(t *testing.T) {
	cs := startConf(t, simplerpc.WithStackTraces(true))
	plain := startConf(t)
	for _, name := range codecs {
		t.Run(name, func(t *testing.T) {
			w := openWire(t, cs.addr, name)
			w.call(1, "Conf.Fail")
			e := w.expectCode(1, simplerpc.CodeApplication)
			if e.Message != "outer: unexpected EOF" || e.Method != "Conf.Fail" || e.RemoteType != "*fmt.wrapError" || e.Name != "" || e.HasDetail {
				t.Errorf("application error: %+v", e)
			}
			wantChain := "error chain:\n  *fmt.wrapError: outer: unexpected EOF\n    *errors.errorString: unexpected EOF\n"
			if e.Stack != wantChain {
				t.Errorf("application error's stack %q, want %q", e.Stack, wantChain)
			}

			w.call(2, "Calc.Crash", "boom")
			e = w.expectCode(2, simplerpc.CodeInternal)
			if e.Message != "boom" || e.RemoteType != "string" || !strings.HasPrefix(e.Stack, "goroutine ") || !strings.Contains(e.Stack, "panic") {
				t.Errorf("panic: %+v", e)
			}

			w.call(3, "Calc.Div", 1.0, 0.0)
			if e = w.expectCode(3, simplerpc.CodeApplication); e.Name != "calc.div_by_zero" || e.HasDetail {
				t.Errorf("registered sentinel: %+v", e)
			}
			w.call(4, "Calc.DivMod", 1, 0)
			e = w.expectCode(4, simplerpc.CodeApplication)
			if e.Name != "calc.range" || !e.HasDetail || e.Detail["Arg"] != "b" {
				t.Errorf("registered type: %+v", e)
			}

			w.call(5, "Calc.Nope")
			if e = w.expectCode(5, simplerpc.CodeNotFound); e.RemoteType != "" || e.Method != "Calc.Nope" || e.Stack != "" {
				t.Errorf("not found: %+v", e)
			}
			w.call(6, "Calc.Add", "x", "y")
			if e = w.expectCode(6, simplerpc.CodeInvalidArgument); e.RemoteType != "" {
				t.Errorf("invalid argument: %+v", e)
			}

			p := openWire(t, plain.addr, name)
			p.call(1, "Conf.Fail")
			if e := p.expectCode(1, simplerpc.CodeApplication); e.Stack != "" {
				t.Errorf("stack without WithStackTraces: %q", e.Stack)
			}
			p.call(2, "Calc.Crash", "boom")
			if e := p.expectCode(2, simplerpc.CodeInternal); e.Stack != "" || e.RemoteType != "string" {
				t.Errorf("panic without WithStackTraces: %+v", e)
			}
		})
	}
}
