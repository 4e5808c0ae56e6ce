package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/console"
)

// Shop is the service the console is tried on.
type Shop struct{}

// Order is a struct parameter with the kinds of fields the console's
// forms handle.
type Order struct {
	Item  string         `json:"item"`
	Qty   int            `json:"qty"`
	Tags  []string       `json:"tags"`
	Attrs map[string]int `json:"attrs"`
	Note  []byte         `json:"note"`
	Due   time.Time      `json:"due"`
}

// Add adds.
func (Shop) Add(a, b int64) int64 { return a + b }

// Place describes an order.
func (Shop) Place(o Order) string {
	return fmt.Sprintf("%d x %s %v %v %q due %s", o.Qty, o.Item, o.Tags, o.Attrs, o.Note, o.Due.UTC().Format(time.RFC3339))
}

// Node is a recursive type: its schema refers to itself.
type Node struct {
	Val  int   `json:"val"`
	Next *Node `json:"next"`
}

// Total sums a chain of nodes.
func (Shop) Total(n *Node) int {
	t := 0
	for ; n != nil; n = n.Next {
		t += n.Val
	}
	return t
}

// Sum is variadic.
func (Shop) Sum(base int, more ...int) int {
	for _, m := range more {
		base += m
	}
	return base
}

// Who answers the authorization metadata of the call.
func (Shop) Who(ctx context.Context) string {
	return simplerpc.IncomingMetadata(ctx).Get("authorization")
}

// Restock fails, showing the server-side traceback.
func (Shop) Restock(item string) int { panic("out of " + item) }

// serveShop serves Shop on loopback and returns the console of a client
// of it.
func serveShop(t *testing.T) string {
	t.Helper()
	srv := simplerpc.NewServer(simplerpc.WithStackTraces(true), simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	if err := srv.Register("Shop", Shop{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.RegisterFunc("greet", func(name string) string { return "hello, " + name }); err != nil {
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
	return hs.URL + "/"
}

// TestConsole opens the console in a browser, calls a method with
// positional parameters, one with a struct (a slice, a map, bytes and a
// time among its fields) and one that panics, and checks what the page
// shows: the results, the error with its code and traceback, and the
// history.
func TestConsole(t *testing.T) {
	url := serveShop(t)
	ctx := browser(t)
	do(t, ctx, "open the console and call Shop.Add",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`button[data-method="Shop.Add"]`)),
		chromedp.Click(chromedp.CSS(`button[data-method="Shop.Add"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0"]`), "9007199254740993"),
		chromedp.SetValue(chromedp.CSS(`[data-path="p1"]`), "1"),
		chromedp.Click(chromedp.CSS(`#call`)),
		chromedp.WaitVisible(chromedp.CSS(`#status.ok`)),
	)
	result := get(t, ctx, "read the result", chromedp.Text(chromedp.CSS(`#result`)))
	status := get(t, ctx, "read the status", chromedp.Text(chromedp.CSS(`#status`)))
	if result != "9007199254740994" || !strings.HasPrefix(status, "OK in ") {
		t.Errorf("Shop.Add: result %q, status %q", result, status)
	}

	do(t, ctx, "fill and call Shop.Place",
		chromedp.Click(chromedp.CSS(`button[data-method="Shop.Place"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="p0.item"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.item"]`), "pen"),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.qty"]`), "3"),
		chromedp.Click(chromedp.CSS(`[data-path="p0.tags.add"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.tags.0"]`), "blue"),
		chromedp.Click(chromedp.CSS(`[data-path="p0.tags.add"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.tags.1"]`), "fine"),
		chromedp.Click(chromedp.CSS(`[data-path="p0.attrs.add"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.attrs.key0"]`), "weight"),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.attrs.value0"]`), "12"),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.note"]`), "gift"),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.due"]`), "2026-03-04T05:06:07Z"),
		chromedp.Click(chromedp.CSS(`#call`)),
		waitCalls(2),
	)
	result = get(t, ctx, "read the result", chromedp.Text(chromedp.CSS(`#result`)))
	if want := `"3 x pen [blue fine] map[weight:12] \"gift\" due 2026-03-04T05:06:07Z"`; result != want {
		t.Errorf("Shop.Place: result %s, want %s", result, want)
	}
	do(t, ctx, "scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	checkScreenshot(t, get(t, ctx, "screenshot", chromedp.CaptureScreenshot()))

	do(t, ctx, "call Shop.Restock, which panics",
		chromedp.Click(chromedp.CSS(`button[data-method="Shop.Restock"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="p0"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0"]`), "ink"),
		chromedp.Click(chromedp.CSS(`#call`)),
		chromedp.WaitVisible(chromedp.CSS(`#stack`)),
	)
	code := get(t, ctx, "read the code", chromedp.Text(chromedp.CSS(`#error-code`)))
	message := get(t, ctx, "read the message", chromedp.Text(chromedp.CSS(`#error-message`)))
	stack := get(t, ctx, "read the traceback", chromedp.Text(chromedp.CSS(`#stack`)))
	if code != "internal" || !strings.Contains(message, "out of ink") || !strings.Contains(stack, "browsertest.Shop.Restock") {
		t.Errorf("Shop.Restock: code %q, message %q, stack:\n%s", code, message, stack)
	}

	history := get(t, ctx, "read the history",
		chromedp.Evaluate[[]string](`[...document.querySelectorAll("#history li")].map(li => li.textContent)`))
	if len(history) != 3 || !strings.HasPrefix(history[0], "Shop.Restock — internal") ||
		!strings.HasPrefix(history[1], "Shop.Place — ok") || !strings.HasPrefix(history[2], "Shop.Add — ok") {
		t.Errorf("history: %q", history)
	}

	// An invalid field is named on the page, and nothing is sent.
	do(t, ctx, "send an invalid integer",
		chromedp.Click(chromedp.CSS(`button[data-method="Shop.Add"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0"]`), "two"),
		chromedp.Click(chromedp.CSS(`#call`)),
		chromedp.WaitVisible(chromedp.CSS(`#error`)),
	)
	message = get(t, ctx, "read the message", chromedp.Text(chromedp.CSS(`#error-message`)))
	if !strings.Contains(message, "an integer is needed") {
		t.Errorf("invalid integer: message %q", message)
	}
	if n := get(t, ctx, "count the history", chromedp.Evaluate[int](`document.querySelectorAll("#history li").length`)); n != 3 {
		t.Errorf("an invalid form was sent: %d calls in the history", n)
	}
}

// checkScreenshot checks that b is a PNG of the browser's window, and
// saves it where -screenshot says.
func checkScreenshot(t *testing.T, b []byte) {
	t.Helper()
	saveScreenshot(t, *screenshot, b)
}

// saveScreenshot checks that b is a PNG of the browser's window, and
// saves it to path unless path is "".
func saveScreenshot(t *testing.T, path string, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if r := img.Bounds(); r.Dx() < 800 || r.Dy() < 600 {
		t.Errorf("screenshot is %dx%d", r.Dx(), r.Dy())
	}
	if path != "" {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsoleForms checks the forms of variadic, recursive (pointer) and
// positional struct parameters, parameters written as JSON, and metadata
// set on the page.
func TestConsoleForms(t *testing.T) {
	url := serveShop(t)
	ctx := browser(t)
	call := func(step string) string {
		t.Helper()
		n := get(t, ctx, step, chromedp.Evaluate[int](`document.querySelectorAll("#history li").length`))
		do(t, ctx, step, chromedp.Click(chromedp.CSS(`#call`)), waitCalls(n+1))
		if status := get(t, ctx, step, chromedp.Text(chromedp.CSS(`#status`))); !strings.HasPrefix(status, "OK") {
			t.Errorf("%s: status %q, error %q", step, status, get(t, ctx, step, chromedp.TextContent(chromedp.CSS(`#error`))))
		}
		return get(t, ctx, step, chromedp.Text(chromedp.CSS(`#result`)))
	}
	do(t, ctx, "variadic", chromedp.Navigate(url),
		chromedp.Click(chromedp.CSS(`button[data-method="Shop.Sum"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0"]`), "1"),
		chromedp.Click(chromedp.CSS(`[data-path="p1.add"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p1.0"]`), "10"),
		chromedp.Click(chromedp.CSS(`[data-path="p1.add"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p1.1"]`), "100"))
	if got := call("call Shop.Sum"); got != "111" {
		t.Errorf("Shop.Sum(1, 10, 100) = %s", got)
	}

	// A pointer starts null; unticking it opens the struct, whose own
	// pointer field opens the recursive type again.
	do(t, ctx, "recursive", chromedp.Click(chromedp.CSS(`button[data-method="Shop.Total"]`)))
	if got := call("call Shop.Total(nil)"); got != "0" {
		t.Errorf("Shop.Total(nil) = %s", got)
	}
	do(t, ctx, "recursive",
		chromedp.Click(chromedp.CSS(`[data-path="p0.null"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.val"]`), "5"),
		chromedp.Click(chromedp.CSS(`[data-path="p0.next.null"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.next.val"]`), "7"))
	if got := call("call Shop.Total(5 -> 7)"); got != "12" {
		t.Errorf("Shop.Total(5 -> 7) = %s", got)
	}

	// A struct's fields by position, as the form collects them.
	do(t, ctx, "positional struct",
		chromedp.Click(chromedp.CSS(`button[data-method="Shop.Place"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.item"]`), "cup"),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.qty"]`), "2"),
		chromedp.SetValue(chromedp.CSS(`[data-path="p0.due"]`), "2026-01-01T00:00:00Z"),
		chromedp.Click(chromedp.CSS(`input[name="mode"][value="positional"]`)))
	if got, want := call("call Shop.Place by position"), `"2 x cup [] map[] \"\" due 2026-01-01T00:00:00Z"`; got != want {
		t.Errorf("Shop.Place by position = %s, want %s", got, want)
	}

	// Parameters written as JSON.
	do(t, ctx, "raw JSON",
		chromedp.Click(chromedp.CSS(`button[data-method="Shop.Sum"]`)),
		chromedp.Click(chromedp.CSS(`#raw summary`)),
		chromedp.Click(chromedp.CSS(`#use-raw`)),
		chromedp.SetValue(chromedp.CSS(`#raw-params`), `[1, 2, 3, {"not": "an int"}]`),
		chromedp.Click(chromedp.CSS(`#call`)),
		waitCalls(5))
	if code := get(t, ctx, "read the code", chromedp.Text(chromedp.CSS(`#error-code`))); code != "invalid_argument" {
		t.Errorf("Shop.Sum with an object: code %q", code)
	}
	do(t, ctx, "raw JSON", chromedp.SetValue(chromedp.CSS(`#raw-params`), `[1, 2, 3]`))
	if got := call("call Shop.Sum as JSON"); got != "6" {
		t.Errorf("Shop.Sum(1, 2, 3) as JSON = %s", got)
	}

	// Metadata set on the page travels with the call.
	do(t, ctx, "metadata",
		chromedp.Click(chromedp.CSS(`button[data-method="Shop.Who"]`)),
		chromedp.Click(chromedp.CSS(`#meta summary`)),
		chromedp.Click(chromedp.CSS(`#add-metadata`)),
		chromedp.SetValue(chromedp.CSS(`.meta-key`), "Authorization"),
		chromedp.SetValue(chromedp.CSS(`.meta-value`), "Bearer from-page"))
	if got := call("call Shop.Who"); got != `"Bearer from-page"` {
		t.Errorf("Shop.Who = %s", got)
	}
}

// TestConsoleKeyboard uses the console from the keyboard alone, and
// checks that every control of a form has a label.
func TestConsoleKeyboard(t *testing.T) {
	url := serveShop(t)
	ctx := browser(t)
	do(t, ctx, "pick Shop.Add with the keyboard",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`button[data-method="Shop.Add"]`)),
		chromedp.Focus(chromedp.CSS(`button[data-method="Shop.Add"]`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="p0"]`)))
	if got := get(t, ctx, "read the focus", chromedp.Evaluate[string](`document.activeElement.dataset.path || ""`)); got != "p0" {
		t.Errorf("after picking a method the focus is on %q, not its first field", got)
	}
	do(t, ctx, "call with Ctrl+Enter",
		chromedp.SetValue(chromedp.CSS(`[data-path="p0"]`), "40"),
		chromedp.SetValue(chromedp.CSS(`[data-path="p1"]`), "2"),
		chromedp.Focus(chromedp.CSS(`[data-path="p1"]`)),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		waitCalls(1))
	if got := get(t, ctx, "read the result", chromedp.Text(chromedp.CSS(`#result`))); got != "42" {
		t.Errorf("Shop.Add by keyboard = %q", got)
	}

	do(t, ctx, "open every part of the Shop.Place form",
		chromedp.Click(chromedp.CSS(`button[data-method="Shop.Place"]`)),
		chromedp.Click(chromedp.CSS(`[data-path="p0.tags.add"]`)),
		chromedp.Click(chromedp.CSS(`[data-path="p0.attrs.add"]`)),
		chromedp.Click(chromedp.CSS(`#raw summary`)),
		chromedp.Click(chromedp.CSS(`#meta summary`)),
		chromedp.Click(chromedp.CSS(`#add-metadata`)))
	unlabeled := get(t, ctx, "find controls without a label", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("main input, main textarea, main select")]
			.filter(e => !e.closest("[hidden]") && e.labels.length === 0 && !e.getAttribute("aria-label"))
			.map(e => e.outerHTML)`))
	if len(unlabeled) > 0 {
		t.Errorf("controls without a label: %q", unlabeled)
	}
}
