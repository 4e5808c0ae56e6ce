package browsertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/console"
)

// streamScreenshot is where TestConsoleStreams saves its screenshot, to
// refresh the one docs/console.md shows:
// go test -run TestConsoleStreams -stream-screenshot ../docs/console-streams.png
var streamScreenshot = flag.String("stream-screenshot", "", "save the screenshot of a stream to this PNG `file`")

// Files streams, as the demo's service of that name does, plus a stream
// that runs until it is stopped and one that fails midway.
type Files struct {
	// ended receives how each Ticks stream ended: its context's error.
	ended chan error
}

// Lines streams n numbered lines.
func (Files) Lines(ctx context.Context, n int) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := 1; i <= n; i++ {
			if !yield(fmt.Sprintf("line %d", i), nil) {
				return
			}
		}
	}
}

// Shout receives words and streams each back in capitals.
func (Files) Shout(ctx context.Context, words iter.Seq2[string, error]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for w, err := range words {
			if err != nil || !yield(strings.ToUpper(w), nil) {
				return
			}
		}
	}
}

// Upload receives a file's chunks and returns its size and SHA-256.
func (Files) Upload(ctx context.Context, chunks iter.Seq2[[]byte, error]) (int64, string, error) {
	h := sha256.New()
	var n int64
	for c, err := range chunks {
		if err != nil {
			return 0, "", err
		}
		h.Write(c)
		n += int64(len(c))
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Ticks streams a tick every 20 ms until its caller stops it.
func (f Files) Ticks(ctx context.Context) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		defer func() { f.ended <- ctx.Err() }()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !yield(i, nil) {
				return
			}
		}
	}
}

// Jam streams n lines, then panics.
func (Files) Jam(ctx context.Context, n int) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := 1; i <= n; i++ {
			if !yield(fmt.Sprintf("line %d", i), nil) {
				return
			}
		}
		panic(fmt.Sprintf("jammed after %d lines", n))
	}
}

// serveFiles serves Files on loopback and returns the console of a
// client of it, and the channel on which Ticks says how it ended.
func serveFiles(t *testing.T) (string, chan error) {
	t.Helper()
	files := Files{ended: make(chan error, 4)}
	srv := simplerpc.NewServer(simplerpc.WithStackTraces(true), simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	if err := srv.Register("Files", files); err != nil {
		t.Fatal(err)
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
	hs := httptest.NewServer(console.New(c, console.Options{Target: l.Addr().String()}))
	t.Cleanup(func() {
		hs.Close()
		c.Close()
		srv.Close()
		<-done
	})
	return hs.URL + "/", files.ended
}

// itemsShown returns the items the page shows, as JSON texts.
func itemsShown(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return get(t, ctx, "read the items", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#items-out li")].map(li => li.firstChild.textContent)`))
}

// TestConsoleStreams opens the console on Files: the method list says
// how each method streams; a server stream's items appear; a stream that
// runs until stopped shows its items live, and Stop ends it on the
// server; a bidi and a client stream take their items from the page; a
// stream that fails midway shows its items, then the error with its code
// and traceback; and the history records each stream with its items.
func TestConsoleStreams(t *testing.T) {
	url, ended := serveFiles(t)
	ctx := browser(t)
	do(t, ctx, "open the console",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`button[data-method="Files.Lines"]`)))
	kinds := get(t, ctx, "read the kinds", chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll("nav button")].map(b => [b.dataset.method, (b.querySelector(".kind") || {}).textContent || ""]))`))
	for m, want := range map[string]string{"Files.Lines": "server stream", "Files.Shout": "bidi stream", "Files.Upload": "client stream", "Files.Ticks": "server stream"} {
		if kinds[m] != want {
			t.Errorf("%s is listed as %q, want %q", m, kinds[m], want)
		}
	}

	do(t, ctx, "stream Files.Lines(5)",
		chromedp.Click(chromedp.CSS(`button[data-method="Files.Lines"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="p0"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0"]`), "5"),
		chromedp.Click(chromedp.CSS(`#call`)),
		waitCalls(1))
	if got, want := strings.Join(itemsShown(t, ctx), " "), `"line 1" "line 2" "line 3" "line 4" "line 5"`; got != want {
		t.Errorf("Files.Lines(5) shows %s, want %s", got, want)
	}
	status := get(t, ctx, "read the status", chromedp.Text(chromedp.CSS(`#status`)))
	count := get(t, ctx, "read the count", chromedp.Text(chromedp.CSS(`#stream-count`)))
	if !strings.HasPrefix(status, "OK in ") || !strings.HasPrefix(count, "5 items, the first after ") {
		t.Errorf("Files.Lines(5): status %q, count %q", status, count)
	}

	// A stream that runs until it is stopped: its items appear while it
	// runs; Stop cancels it on the server.
	do(t, ctx, "stream Files.Ticks and see items arrive",
		chromedp.Click(chromedp.CSS(`button[data-method="Files.Ticks"]`)),
		chromedp.Click(chromedp.CSS(`#call`)),
		chromedp.WaitVisible(chromedp.CSS(`#stop`)),
		waitFor(`document.querySelectorAll("#items-out li").length >= 3 && !document.querySelector("#stop").hidden`),
	)
	do(t, ctx, "stop Files.Ticks",
		chromedp.Click(chromedp.CSS(`#stop`)),
		waitCalls(2))
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the server's stream ended with %v, not canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server's stream still runs 10 s after Stop")
	}
	if id := get(t, ctx, "read the focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "call" {
		t.Errorf("after Stop the focus is on %q, not the Call button", id)
	}
	if code := get(t, ctx, "read the code", chromedp.Text(chromedp.CSS(`#error-code`))); code != "canceled" {
		t.Errorf("a stopped stream shows code %q", code)
	}
	if n := len(itemsShown(t, ctx)); n < 3 {
		t.Errorf("a stopped stream shows %d items", n)
	}

	// A bidi stream: items written one a line, and one built in the form.
	do(t, ctx, "stream Files.Shout",
		chromedp.Click(chromedp.CSS(`button[data-method="Files.Shout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#items`)),
		chromedp.SetValue(chromedp.CSS(`#items`), "\"hey\"\n\n\"you\""),
		chromedp.SetValue(chromedp.CSS(`[data-path="item"]`), "there"),
		chromedp.Click(chromedp.CSS(`#add-item`)),
		chromedp.Click(chromedp.CSS(`#call`)),
		waitCalls(3))
	if got, want := strings.Join(itemsShown(t, ctx), " "), `"HEY" "YOU" "THERE"`; got != want {
		t.Errorf("Files.Shout shows %s, want %s", got, want)
	}
	if count := get(t, ctx, "read the count", chromedp.Text(chromedp.CSS(`#stream-count`))); !strings.Contains(count, "3 items") || !strings.HasSuffix(count, "3 sent") {
		t.Errorf("Files.Shout: count %q", count)
	}
	unlabeled := get(t, ctx, "find controls without a label", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("main input, main textarea, main select")]
			.filter(e => !e.closest("[hidden]") && e.labels.length === 0 && !e.getAttribute("aria-label"))
			.map(e => e.outerHTML)`))
	if len(unlabeled) > 0 {
		t.Errorf("controls without a label: %q", unlabeled)
	}
	do(t, ctx, "scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	saveScreenshot(t, *streamScreenshot, get(t, ctx, "screenshot", chromedp.CaptureScreenshot()))

	// A client stream: its results after the items.
	do(t, ctx, "stream Files.Upload",
		chromedp.Click(chromedp.CSS(`button[data-method="Files.Upload"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="item"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="item"]`), "hello, "),
		chromedp.Click(chromedp.CSS(`#add-item`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="item"]`), "world"),
		chromedp.Click(chromedp.CSS(`#add-item`)),
		chromedp.Click(chromedp.CSS(`#call`)),
		waitCalls(4))
	sum := sha256.Sum256([]byte("hello, world"))
	if got, want := get(t, ctx, "read the result", chromedp.Text(chromedp.CSS(`#result`))), fmt.Sprintf("[\n  12,\n  %q\n]", hex.EncodeToString(sum[:])); got != want {
		t.Errorf("Files.Upload: result %q, want %q", got, want)
	}

	// A stream that fails midway.
	do(t, ctx, "stream Files.Jam(2)",
		chromedp.Click(chromedp.CSS(`button[data-method="Files.Jam"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="p0"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0"]`), "2"),
		chromedp.Click(chromedp.CSS(`#call`)),
		waitCalls(5))
	code := get(t, ctx, "read the code", chromedp.Text(chromedp.CSS(`#error-code`)))
	message := get(t, ctx, "read the message", chromedp.Text(chromedp.CSS(`#error-message`)))
	stack := get(t, ctx, "read the traceback", chromedp.Text(chromedp.CSS(`#stack`)))
	if code != "internal" || !strings.Contains(message, "jammed after 2 lines") || !strings.Contains(stack, "browsertest.Files.Jam") {
		t.Errorf("Files.Jam: code %q, message %q, stack:\n%s", code, message, stack)
	}
	if got := strings.Join(itemsShown(t, ctx), " "); got != `"line 1" "line 2"` {
		t.Errorf("Files.Jam(2) shows %s", got)
	}

	// The page keeps the last 1,000 items of a long stream, and counts
	// them all.
	do(t, ctx, "stream Files.Lines(3000)",
		chromedp.Click(chromedp.CSS(`button[data-method="Files.Lines"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="p0"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0"]`), "3000"),
		chromedp.Click(chromedp.CSS(`#call`)),
		waitCalls(6))
	shown := itemsShown(t, ctx)
	numbers := get(t, ctx, "read the numbers", chromedp.Evaluate[[]int](`[...document.querySelectorAll("#items-out li")].map(li => li.value)`))
	if len(shown) != 1000 || shown[0] != `"line 2001"` || shown[999] != `"line 3000"` || numbers[0] != 2001 || numbers[999] != 3000 {
		t.Errorf("Files.Lines(3000) shows %d items, from %q (number %v)", len(shown), shown[0], numbers[0])
	}
	if count := get(t, ctx, "read the count", chromedp.Text(chromedp.CSS(`#stream-count`))); !strings.HasPrefix(count, "3000 items") || !strings.Contains(count, "(showing the last 1000)") {
		t.Errorf("Files.Lines(3000): count %q", count)
	}

	history := get(t, ctx, "read the history",
		chromedp.Evaluate[[]string](`[...document.querySelectorAll("#history li")].map(li => li.textContent)`))
	want := []string{"Files.Lines — ok, 3000 items", "Files.Jam — internal, 2 items", "Files.Upload — ok, 0 items", "Files.Shout — ok, 3 items", "Files.Ticks — canceled, ", "Files.Lines — ok, 5 items"}
	if len(history) != len(want) {
		t.Fatalf("history: %q", history)
	}
	for i, w := range want {
		if !strings.HasPrefix(history[i], w) {
			t.Errorf("history[%d] = %q, want it to start with %q", i, history[i], w)
		}
	}
}

// TestConsoleStreamLeave checks that picking another method while a
// stream runs stops it on the server, records it in the history, and
// leaves the new method's form ready to call.
func TestConsoleStreamLeave(t *testing.T) {
	url, ended := serveFiles(t)
	ctx := browser(t)
	do(t, ctx, "stream Files.Ticks",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`button[data-method="Files.Ticks"]`)),
		chromedp.Click(chromedp.CSS(`button[data-method="Files.Ticks"]`)),
		chromedp.Click(chromedp.CSS(`#call`)),
		waitFor(`document.querySelectorAll("#items-out li").length >= 2`),
		chromedp.Click(chromedp.CSS(`button[data-method="Files.Lines"]`)),
		waitCalls(1))
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the server's stream ended with %v, not canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server's stream still runs 10 s after another method was picked")
	}
	type form struct {
		History       string
		OutcomeHidden bool
		StopHidden    bool
		CallDisabled  bool
		Call          string
	}
	f := get(t, ctx, "read the form", chromedp.Evaluate[form](`({
		History: document.querySelector("#history li").textContent,
		OutcomeHidden: document.querySelector("#outcome").hidden,
		StopHidden: document.querySelector("#stop").hidden,
		CallDisabled: document.querySelector("#call").disabled,
		Call: document.querySelector("#call").textContent})`))
	if !strings.HasPrefix(f.History, "Files.Ticks — canceled") || !f.OutcomeHidden || !f.StopHidden || f.CallDisabled || f.Call != "Open stream" {
		t.Errorf("after leaving a stream: %+v", f)
	}
	do(t, ctx, "stream Files.Lines(2)",
		chromedp.SetValue(chromedp.CSS(`[data-path="p0"]`), "2"),
		chromedp.Click(chromedp.CSS(`#call`)),
		waitCalls(2))
	if got := strings.Join(itemsShown(t, ctx), " "); got != `"line 1" "line 2"` {
		t.Errorf("Files.Lines(2) after leaving a stream shows %s", got)
	}
}

// waitFor waits until the JavaScript expression is true on the page.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[bool](expr)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := poll(ctx, t)
		return chromedp.Void{}, err
	}
}
