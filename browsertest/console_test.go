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
		chromedp.WaitVisible(chromedp.CSS(`#status.ok`)),
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
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if r := img.Bounds(); r.Dx() < 800 || r.Dy() < 600 {
		t.Errorf("screenshot is %dx%d", r.Dx(), r.Dy())
	}
	if *screenshot != "" {
		if err := os.WriteFile(*screenshot, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
