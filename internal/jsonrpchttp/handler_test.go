package jsonrpchttp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/rpcerr"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeServer is a dispatcher with one method, "add", a budget and a
// gate, as a server lends them to the handler.
type fakeServer struct {
	limit    int64
	used     atomic.Int64
	peak     atomic.Int64
	admitted atomic.Int64
	refuse   bool // Admit refuses every call, as a server going away does
	mdKey    struct{}
	sawMD    atomic.Value
}

type addMethod struct{}

var intType = reflect.TypeFor[int]()

func (addMethod) Name() string                   { return "add" }
func (addMethod) StreamKind() string             { return "" }
func (addMethod) Callback() (int, string)        { return 0, "" }
func (addMethod) Params() ([]reflect.Type, bool) { return []reflect.Type{intType, intType}, false }
func (addMethod) StructArg() bool                { return false }
func (addMethod) Arity() string                  { return "2 arguments (int, int)" }
func (addMethod) Results() int                   { return 1 }
func (addMethod) Quick() bool                    { return true }
func (addMethod) Observe(time.Duration)          {}
func (addMethod) OpenArgs(b []byte) (codec.Array, *rpcerr.Error) {
	arr, err := codec.JSON.OpenArray(b)
	if err != nil {
		return arr, rpcerr.New(rpcerr.CodeInvalidArgument, "add", err)
	}
	return arr, nil
}
func (addMethod) DecodeArgs(arr codec.Array) ([]reflect.Value, *rpcerr.Error) {
	var a, b int
	if arr.Len() != 2 || arr.Next(&a) != nil || arr.Next(&b) != nil {
		return nil, rpcerr.Errorf(rpcerr.CodeInvalidArgument, "add", "want two ints")
	}
	return []reflect.Value{reflect.ValueOf(a), reflect.ValueOf(b)}, nil
}

func (f *fakeServer) Lookup(name string) Method {
	if name == "add" {
		return addMethod{}
	}
	return nil
}
func (f *fakeServer) NotFound(name string) *rpcerr.Error {
	return rpcerr.Errorf(rpcerr.CodeNotFound, name, "no such method")
}
func (f *fakeServer) Admit(Method, *atomic.Int64) *rpcerr.Error {
	if f.refuse {
		return rpcerr.Errorf(rpcerr.CodeUnavailable, "", "going away")
	}
	f.admitted.Add(1)
	return nil
}
func (f *fakeServer) Release() { f.admitted.Add(-1) }
func (f *fakeServer) Execute(ctx context.Context, _ Method, args []reflect.Value, buf *bytes.Buffer, _ string) (*rpcerr.Error, any) {
	f.sawMD.Store(ctx.Value(f.mdKey))
	_ = codec.JSON.AppendArray(buf, []any{args[0].Int() + args[1].Int()})
	return nil, nil
}

func (f *fakeServer) Limit() int64 { return f.limit }
func (f *fakeServer) InUse() int64 { return f.used.Load() }
func (f *fakeServer) TryTake(n int64) bool {
	if f.used.Add(n) > f.limit {
		f.used.Add(-n)
		return false
	}
	f.note()
	return true
}
func (f *fakeServer) Take(n int64) { f.used.Add(n); f.note() }
func (f *fakeServer) Give(n int64) { f.used.Add(-n) }
func (f *fakeServer) note() {
	for u := f.used.Load(); u > f.peak.Load(); {
		if f.peak.CompareAndSwap(f.peak.Load(), u) {
			break
		}
	}
}

type openGate struct{}

func (openGate) Enter(context.Context) bool { return true }
func (openGate) Leave()                     {}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func newTestHandler(f *fakeServer, maxMessage int) *Handler {
	var refused atomic.Int64
	logger := slog.New(slog.DiscardHandler)
	return New(Config{
		Dispatcher:  f,
		Budget:      f,
		Refused:     &refused,
		Log:         func(level slog.Level, msg string, args ...any) { logger.Log(context.Background(), level, msg, args...) },
		Logger:      logger,
		Parsing:     openGate{},
		MetadataKey: f.mdKey,
		Metadata: func(h http.Header) any {
			return h.Get("X-Test")
		},
		GetBuffer:      func() *bytes.Buffer { return bufs.Get().(*bytes.Buffer) },
		PutBuffer:      func(b *bytes.Buffer) { b.Reset(); bufs.Put(b) },
		SampleEvery:    8,
		SampleBatches:  true,
		MaxMessageSize: maxMessage,
	})
}

func post(h http.Handler, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestHandlerThroughItsInterfaces answers calls through a fake server:
// results, errors, notifications and batches come back as JSON-RPC 2.0
// says, the headers reach the call as its metadata, and the budget holds
// nothing once each request is answered.
func TestHandlerThroughItsInterfaces(t *testing.T) {
	f := &fakeServer{limit: 64 << 20}
	h := newTestHandler(f, 1<<20)
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"jsonrpc":"2.0","method":"add","params":[40,2],"id":1}`, 200, `{"jsonrpc":"2.0","result":42,"id":1}`},
		{`{"jsonrpc":"2.0","method":"nope","id":2}`, 200, `"code":-32601`},
		{`{"jsonrpc":"2.0","method":"add","params":{"a":1},"id":3}`, 200, `pass \"params\" as an array`},
		{`{"jsonrpc":"2.0","method":"add","params":[1,2]}`, 204, ``},
		{`[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"jsonrpc":"2.0","method":"add","params":[3,4],"id":2}]`, 200,
			`[{"jsonrpc":"2.0","result":3,"id":1},{"jsonrpc":"2.0","result":7,"id":2}]`},
		{`{"jsonrpc":"2.0","method":`, 200, `"code":-32700`},
	} {
		w := post(h, tc.body, "X-Test", "hello")
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want %d with %s", tc.body, w.Code, w.Body, tc.status, tc.want)
		}
		if n := f.used.Load(); n != 0 {
			t.Errorf("%s: %d bytes still charged", tc.body, n)
		}
		if n := f.admitted.Load(); n != 0 {
			t.Errorf("%s: %d calls still admitted", tc.body, n)
		}
	}
	if md := f.sawMD.Load(); md != "hello" {
		t.Errorf("the call saw metadata %v, want the header", md)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
	f.refuse = true
	if w := post(h, `{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}`); !strings.Contains(w.Body.String(), `"code":-32001`) {
		t.Errorf("a call the dispatcher refuses: %s", w.Body)
	}
}

// TestHandlerLimits checks the body size limit (413) and the memory
// budget (503): neither body is held past its refusal, and the budget is
// never over.
func TestHandlerLimits(t *testing.T) {
	f := &fakeServer{limit: 1 << 20}
	h := newTestHandler(f, 4<<10)
	big := `{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1,"pad":"` + strings.Repeat(" ", 8<<10) + `"}`
	if w := post(h, big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit: %d %s", w.Code, w.Body)
	}
	f.used.Store(f.limit) // the budget is spent
	h = newTestHandler(f, 8<<20)
	large := big + strings.Repeat(" ", 512<<10)
	if w := post(h, large); w.Code != http.StatusServiceUnavailable {
		t.Errorf("a body the budget cannot hold: %d %s", w.Code, w.Body)
	}
	f.used.Store(0)
	if f.peak.Load() > f.limit {
		t.Errorf("the budget reached %d, over its %d", f.peak.Load(), f.limit)
	}
	ch := &rpcCharge{h: h}
	body, err := readCharged(strings.NewReader(strings.Repeat("x", 100)), -1, 50, ch, nil)
	if !errors.Is(err, errBodyTooLarge) || len(body) <= 50 {
		t.Errorf("readCharged past the limit: %d bytes, %v", len(body), err)
	}
	if held := ch.held.Load(); held < int64(cap(body)) {
		t.Errorf("a body of %d bytes' room is charged %d", cap(body), held)
	}
	ch.release()
	if n := f.used.Load(); n != 0 {
		t.Errorf("%d bytes charged after the release", n)
	}
}
