package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/console"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Shop is the service the tests call.
type Shop struct{}

// Item is a struct parameter.
type Item struct {
	Name  string            `json:"name"`
	Price float64           `json:"price"`
	Tags  []string          `json:"tags"`
	Attrs map[string]int    `json:"attrs"`
	Blob  []byte            `json:"blob"`
	When  time.Time         `json:"when"`
	Next  *Item             `json:"next"`
	Extra map[string]string `json:"extra,omitempty"`
}

func (Shop) Add(a, b int64) int64 { return a + b }

func (Shop) Describe(it Item) string {
	return it.Name + " " + strings.Join(it.Tags, ",") + " " + string(it.Blob) + " " + it.When.UTC().Format(time.RFC3339)
}

func (Shop) DivMod(a, b int) (int, int, error) {
	if b == 0 {
		return 0, 0, errors.New("division by zero")
	}
	return a / b, a % b, nil
}

func (Shop) Crash() int { panic("boom") }

func (Shop) Who(ctx context.Context) string {
	return simplerpc.IncomingMetadata(ctx).Get("authorization")
}

// start serves Shop on loopback and returns the console of a client of
// it, behind an httptest server.
func start(t testing.TB, opts console.Options) *httptest.Server {
	t.Helper()
	return startWith(t, opts, map[string]any{"Shop": Shop{}})
}

// startWith serves the services on loopback and returns the console of a
// client of them, behind an httptest server.
func startWith(t testing.TB, opts console.Options, services map[string]any) *httptest.Server {
	t.Helper()
	srv := simplerpc.NewServer(simplerpc.WithStackTraces(true), simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	for name, svc := range services {
		if err := srv.Register(name, svc); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := simplerpc.Dial(ctx, l.Addr().String(), simplerpc.WithCodec("json"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Target = l.Addr().String()
	hs := httptest.NewServer(console.New(c, opts))
	t.Cleanup(func() {
		hs.Close()
		c.Close()
		srv.Close()
		<-done
	})
	return hs
}

// answer is what /api/call returns.
type answer struct {
	Results    []json.RawMessage
	Pretty     string
	DurationMs float64
	Error      *struct{ Code, Message, RemoteType, Stack string }
}

func post(t *testing.T, hs *httptest.Server, body string) (int, answer) {
	t.Helper()
	resp, err := http.Post(hs.URL+"/api/call", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return resp.StatusCode, a
}

func TestCall(t *testing.T) {
	hs := start(t, console.Options{})
	// Integers past 2^53 keep every digit.
	code, a := post(t, hs, `{"method":"Shop.Add","params":[9007199254740993,1]}`)
	if code != 200 || a.Error != nil || a.Pretty != "9007199254740994" {
		t.Fatalf("Shop.Add: %d %+v", code, a)
	}
	if a.DurationMs <= 0 {
		t.Errorf("Shop.Add took %v ms", a.DurationMs)
	}
	// A struct by name, with slices, maps, bytes and times.
	_, a = post(t, hs, `{"method":"Shop.Describe","params":[{"name":"pen","tags":["a","b"],"attrs":{"w":1},"blob":"aGk=","when":"2026-01-02T03:04:05Z","next":null}]}`)
	if a.Error != nil || a.Pretty != `"pen a,b hi 2026-01-02T03:04:05Z"` {
		t.Fatalf("Shop.Describe: %+v", a)
	}
	// Several results: an array.
	_, a = post(t, hs, `{"method":"Shop.DivMod","params":[7,2]}`)
	if a.Error != nil || a.Pretty != "[\n  3,\n  1\n]" {
		t.Fatalf("Shop.DivMod: %+v (%q)", a, a.Pretty)
	}
	// An error with its code; a panic with the server's traceback.
	_, a = post(t, hs, `{"method":"Shop.DivMod","params":[7,0]}`)
	if a.Error == nil || a.Error.Code != "application" || !strings.Contains(a.Error.Message, "division by zero") {
		t.Fatalf("Shop.DivMod by 0: %+v", a)
	}
	_, a = post(t, hs, `{"method":"Shop.Crash","params":[]}`)
	if a.Error == nil || a.Error.Code != "internal" || !strings.Contains(a.Error.Stack, "console_test.Shop.Crash") {
		t.Fatalf("Shop.Crash: %+v", a.Error)
	}
	_, a = post(t, hs, `{"method":"Shop.Nope","params":[]}`)
	if a.Error == nil || a.Error.Code != "not_found" {
		t.Fatalf("Shop.Nope: %+v", a.Error)
	}
}

func TestMetadata(t *testing.T) {
	hs := start(t, console.Options{Metadata: simplerpc.Metadata{"authorization": "Bearer flag"}})
	_, a := post(t, hs, `{"method":"Shop.Who","params":[]}`)
	if a.Pretty != `"Bearer flag"` {
		t.Errorf("metadata of the options: %+v", a)
	}
	_, a = post(t, hs, `{"method":"Shop.Who","params":[],"metadata":{"authorization":"Bearer page"}}`)
	if a.Pretty != `"Bearer page"` {
		t.Errorf("metadata of the page: %+v", a)
	}
}

func TestDescribeAndPage(t *testing.T) {
	hs := start(t, console.Options{})
	resp, err := http.Get(hs.URL + "/api/describe")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Target      string
		Description simplerpc.Description
	}
	err = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if err != nil || info.Description.Method("Shop.Add") == nil || info.Target == "" {
		t.Fatalf("describe: %v %+v", err, info)
	}
	for path, want := range map[string]string{"/": "<title>simplerpc console</title>", "/console.js": "function field(", "/console.css": ":root", "/stream.js": "function callStream("} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, no %q", path, resp.StatusCode, want)
		}
	}
}

func TestRefusesOtherOrigins(t *testing.T) {
	hs := start(t, console.Options{})
	for name, hdr := range map[string]map[string]string{
		"other origin":    {"Origin": "http://evil.example"},
		"cross-site":      {"Sec-Fetch-Site": "cross-site"},
		"rebound name":    {"Host": "evil.example"},
		"not json":        {"Content-Type": "text/plain"},
		"same origin, ok": {},
	} {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/call", strings.NewReader(`{"method":"Shop.Add","params":[1,2]}`))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusForbidden
		switch name {
		case "not json":
			want = http.StatusUnsupportedMediaType
		case "same origin, ok":
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	hs := start(t, console.Options{})
	for _, body := range []string{``, `{`, `[]`, `{"method":""}`, `{"method":"Shop.Add","params":{}}`} {
		if code, a := post(t, hs, body); code != http.StatusBadRequest || a.Error == nil {
			t.Errorf("%q: %d %+v", body, code, a)
		}
	}
}

// FuzzCall posts arbitrary bodies to /api/call: each gets a JSON answer
// with a status the handler documents, and the console keeps serving.
func FuzzCall(f *testing.F) {
	for _, s := range []string{`{"method":"Shop.Add","params":[1,2]}`, `{"method":"Shop.Describe","params":[{"name":"x"}]}`,
		`{"method":"Shop.Crash"}`, `{"method":"x","params":[1e999]}`, `{"metadata":{"":"x"},"method":"Shop.Who","timeoutMs":-1}`} {
		f.Add(s)
	}
	hs := start(f, console.Options{})
	f.Fuzz(func(t *testing.T, body string) {
		resp, err := http.Post(hs.URL+"/api/call", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 400 {
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
		if !json.Valid(b) {
			t.Fatalf("answer %q is not JSON", b)
		}
	})
}
