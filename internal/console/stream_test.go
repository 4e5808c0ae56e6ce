package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/console"
)

// Feed is the streaming service the tests call; every stream it yields
// is bounded.
type Feed struct{}

// Count yields n integers from 9007199254740990, which JavaScript
// numbers cannot hold; at most 100.
func (Feed) Count(ctx context.Context, n int) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for i := range min(n, 100) {
			if !yield(9007199254740990+int64(i), nil) {
				return
			}
		}
	}
}

// Shout yields each word it receives in capitals.
func (Feed) Shout(ctx context.Context, words iter.Seq2[string, error]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for w, err := range words {
			if err != nil || !yield(strings.ToUpper(w), nil) {
				return
			}
		}
	}
}

// Sum receives integers and returns their sum and count.
func (Feed) Sum(ctx context.Context, xs iter.Seq2[int64, error]) (int64, int, error) {
	var sum int64
	n := 0
	for x, err := range xs {
		if err != nil {
			return 0, 0, err
		}
		sum += x
		n++
	}
	return sum, n, nil
}

// Fail yields n items, then fails: with an error, or with a panic.
func (Feed) Fail(ctx context.Context, n int, crash bool) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := range min(n, 100) {
			if !yield(fmt.Sprint("item ", i), nil) {
				return
			}
		}
		if crash {
			panic("feed jammed")
		}
		yield("", errors.New("feed ran dry"))
	}
}

// Ticker streams until its caller stops it, and says when it ended.
type Ticker struct{ ended chan error }

// Tick yields a tick every millisecond until its context ends.
func (tk Ticker) Tick(ctx context.Context) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		defer func() { tk.ended <- ctx.Err() }()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Millisecond):
			}
			if !yield(i, nil) {
				return
			}
		}
	}
}

// Quiet yields nothing until its context ends.
func (tk Ticker) Quiet(ctx context.Context) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		<-ctx.Done()
		tk.ended <- ctx.Err()
	}
}

// line is a line of /api/stream's answer: the opening, an item or the
// end.
type line struct {
	Open       bool
	N          int64
	Ms         float64
	Item       string
	End        bool
	Items      int64
	Sent       int64
	Pretty     string
	FirstMs    float64
	DurationMs float64
	Error      *struct{ Code, Message, Stack string }
	// OpenMs is the Ms of the opening line, on the end line: -1 if the
	// answer had none.
	OpenMs float64 `json:"-"`
}

// openStream posts body to /api/stream and returns the response, whose
// body the caller closes.
func openStream(t *testing.T, ctx context.Context, hs *httptest.Server, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+"/api/stream", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	return resp
}

// streamLines posts body to /api/stream and returns the lines of the
// answer: the items, then the end. An opening line may come first only.
func streamLines(t *testing.T, hs *httptest.Server, body string) (int, []line, line) {
	t.Helper()
	resp := openStream(t, context.Background(), hs, body)
	defer resp.Body.Close()
	var items []line
	openMs, first := -1.0, true
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for ; sc.Scan(); first = false {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Bytes(), err)
		}
		if l.Open {
			if !first {
				t.Errorf("an opening line after the first: %q", sc.Bytes())
			}
			openMs = l.Ms
			continue
		}
		if l.End {
			l.OpenMs = openMs
			if sc.Scan() {
				t.Errorf("a line after the end: %q", sc.Bytes())
			}
			return resp.StatusCode, items, l
		}
		items = append(items, l)
	}
	t.Fatalf("the answer has no end line (%v); items: %+v", sc.Err(), items)
	return 0, nil, line{}
}

func TestStreamServer(t *testing.T) {
	hs := startWith(t, console.Options{}, map[string]any{"Feed": Feed{}})
	code, items, end := streamLines(t, hs, `{"method":"Feed.Count","params":[5]}`)
	if code != 200 || end.Error != nil || end.Items != 5 || len(items) != 5 {
		t.Fatalf("Feed.Count(5): %d, end %+v, %d items", code, end, len(items))
	}
	prev := 0.0
	for i, it := range items {
		if want := fmt.Sprint(9007199254740990 + i); it.N != int64(i+1) || it.Item != want || it.Ms < prev {
			t.Errorf("item %d: %+v, want n %d, item %s, at or after %v ms", i, it, i+1, want, prev)
		}
		prev = it.Ms
	}
	if end.FirstMs != items[0].Ms || end.DurationMs < prev || end.Pretty != "" || end.OpenMs < 0 || end.OpenMs > end.FirstMs {
		t.Errorf("end %+v, last item at %v ms", end, prev)
	}
	// No items: the end alone.
	if _, items, end = streamLines(t, hs, `{"method":"Feed.Count","params":[0]}`); len(items) != 0 || end.Error != nil || end.Items != 0 {
		t.Errorf("Feed.Count(0): %+v, end %+v", items, end)
	}
}

func TestStreamClientAndBidi(t *testing.T) {
	hs := startWith(t, console.Options{}, map[string]any{"Feed": Feed{}})
	_, items, end := streamLines(t, hs, `{"method":"Feed.Shout","params":[],"items":["hey","you"]}`)
	if end.Error != nil || end.Sent != 2 || end.Items != 2 || len(items) != 2 || items[0].Item != `"HEY"` || items[1].Item != `"YOU"` {
		t.Fatalf("Feed.Shout: %+v, end %+v", items, end)
	}
	// More answers than the stream's window holds: the items are sent
	// while the answers are read.
	var words []string
	for i := range 3000 {
		words = append(words, fmt.Sprintf(`"%0100d"`, i))
	}
	_, items, end = streamLines(t, hs, `{"method":"Feed.Shout","params":[],"items":[`+strings.Join(words, ",")+`]}`)
	if end.Error != nil || end.Sent != 3000 || len(items) != 3000 || items[2999].Item != words[2999] {
		t.Fatalf("Feed.Shout of 3000 words: %d items, end %+v", len(items), end)
	}
	_, items, end = streamLines(t, hs, `{"method":"Feed.Sum","params":[],"items":[9007199254740993,1,2]}`)
	if end.Error != nil || len(items) != 0 || end.Sent != 3 || end.Pretty != "[\n  9007199254740996,\n  3\n]" {
		t.Fatalf("Feed.Sum: %+v, end %+v (%q)", items, end, end.Pretty)
	}
	// A client stream with no items.
	if _, _, end = streamLines(t, hs, `{"method":"Feed.Sum","params":[]}`); end.Error != nil || end.Pretty != "[\n  0,\n  0\n]" {
		t.Fatalf("Feed.Sum of nothing: end %+v", end)
	}
	// An item the method cannot take ends the stream with its error.
	if _, _, end = streamLines(t, hs, `{"method":"Feed.Sum","params":[],"items":[1,"two"]}`); end.Error == nil || end.Error.Code != "invalid_argument" {
		t.Fatalf("Feed.Sum of a string: end %+v", end)
	}
}

func TestStreamErrorMidStream(t *testing.T) {
	hs := startWith(t, console.Options{}, map[string]any{"Feed": Feed{}})
	_, items, end := streamLines(t, hs, `{"method":"Feed.Fail","params":[3,false]}`)
	if len(items) != 3 || items[2].Item != `"item 2"` || end.Items != 3 ||
		end.Error == nil || end.Error.Code != "application" || !strings.Contains(end.Error.Message, "feed ran dry") {
		t.Fatalf("Feed.Fail: %+v, end %+v", items, end.Error)
	}
	_, items, end = streamLines(t, hs, `{"method":"Feed.Fail","params":[2,true]}`)
	if len(items) != 2 || end.Error == nil || end.Error.Code != "internal" ||
		!strings.Contains(end.Error.Message, "feed jammed") || !strings.Contains(end.Error.Stack, "console_test.Feed.Fail") {
		t.Fatalf("Feed.Fail with a panic: %+v, end %+v", items, end.Error)
	}
}

// waitEnded waits for a stream of Ticker's to end, canceled.
func waitEnded(t *testing.T, ended chan error, after string) {
	t.Helper()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("after %s, the server's stream ended with %v, not canceled", after, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the server's stream still runs 10 s after %s", after)
	}
}

// TestStreamCancel checks that a page that stops reading — its request
// ends — cancels the stream on the server, and that a stream's timeout
// does too.
func TestStreamCancel(t *testing.T) {
	tk := Ticker{ended: make(chan error, 1)}
	hs := startWith(t, console.Options{}, map[string]any{"Ticker": tk})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, hs, `{"method":"Ticker.Tick","params":[]}`)
	sc := bufio.NewScanner(resp.Body)
	for range 3 {
		if !sc.Scan() {
			t.Fatalf("no item: %v", sc.Err())
		}
	}
	cancel()
	resp.Body.Close()
	waitEnded(t, tk.ended, "the page left")

	// A stream that yields nothing: the request's end alone cancels it.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	resp = openStream(t, ctx, hs, `{"method":"Ticker.Quiet","params":[]}`)
	cancel()
	resp.Body.Close()
	waitEnded(t, tk.ended, "the page left a quiet stream")

	_, items, end := streamLines(t, hs, `{"method":"Ticker.Tick","params":[],"timeoutMs":50}`)
	if end.Error == nil || end.Error.Code != "deadline_exceeded" || end.Items != int64(len(items)) || end.OpenMs < 0 {
		t.Errorf("Ticker.Tick for 50 ms: %d items, end %+v", len(items), end)
	}
	select {
	case <-tk.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's stream still runs 10 s after its deadline")
	}
}

func TestStreamRefusesOtherOrigins(t *testing.T) {
	hs := startWith(t, console.Options{}, map[string]any{"Feed": Feed{}})
	for name, hdr := range map[string]map[string]string{
		"other origin":    {"Origin": "http://evil.example"},
		"cross-site":      {"Sec-Fetch-Site": "cross-site"},
		"rebound name":    {"Host": "evil.example"},
		"not json":        {"Content-Type": "text/plain"},
		"same origin, ok": {"Origin": strings.TrimPrefix(hs.URL, "")},
	} {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/stream", strings.NewReader(`{"method":"Feed.Count","params":[1]}`))
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
		if want != http.StatusOK && resp.Header.Get("Content-Security-Policy") == "" && resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: no Content-Security-Policy", name)
		}
	}
}

func TestStreamBadRequests(t *testing.T) {
	hs := startWith(t, console.Options{}, map[string]any{"Feed": Feed{}, "Shop": Shop{}})
	for _, body := range []string{``, `{`, `[]`, `{"method":""}`, `{"method":"Feed.Count","items":{}}`} {
		if code, items, end := streamLines(t, hs, body); code != http.StatusBadRequest || len(items) != 0 || end.Error == nil {
			t.Errorf("%q: %d %+v", body, code, end)
		}
	}
	for body, want := range map[string]string{
		`{"method":"Shop.Add","params":[1,2]}`: "local",
		`{"method":"Feed.Nope","params":[]}`:   "not_found",
		`{"method":"Feed.Count","params":[]}`:  "invalid_argument",
	} {
		// The stream fails before it opens: no opening line.
		if code, _, end := streamLines(t, hs, body); code != 200 || end.Error == nil || end.Error.Code != want || end.OpenMs != -1 {
			t.Errorf("%s: %d, end %+v, want code %s", body, code, end, want)
		}
	}
}

// FuzzStream posts arbitrary bodies to /api/stream: each answer is lines
// of JSON ending with the end line, and the console keeps serving.
func FuzzStream(f *testing.F) {
	for _, s := range []string{`{"method":"Feed.Count","params":[3]}`, `{"method":"Feed.Shout","items":["a","b"]}`,
		`{"method":"Feed.Sum","items":[1,2]}`, `{"method":"Feed.Fail","params":[1,true]}`, `{"method":"Shop.Add","params":[1,2]}`,
		`{"method":"Feed.Count","params":[1e999],"timeoutMs":-1}`} {
		f.Add(s)
	}
	hs := startWith(f, console.Options{}, map[string]any{"Feed": Feed{}, "Shop": Shop{}})
	f.Fuzz(func(t *testing.T, body string) {
		code, _, _ := streamLines(t, hs, body)
		if code != 200 && code != 400 {
			t.Fatalf("status %d for %q", code, body)
		}
	})
}
