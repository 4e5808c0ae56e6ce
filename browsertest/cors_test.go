package browsertest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/simplerpc/simplerpc"
)

// serveJSONRPC serves a JSON-RPC endpoint (a simplerpc server's own
// port) with opts and returns its URL. Its "whoami" function answers
// the authorization metadata the call came with.
func serveJSONRPC(t *testing.T, opts ...simplerpc.ServerOption) string {
	t.Helper()
	srv := simplerpc.NewServer(append([]simplerpc.ServerOption{simplerpc.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err := srv.RegisterFunc("add", func(a, b int) int { return a + b }); err != nil {
		t.Fatal(err)
	}
	if err := srv.RegisterFunc("whoami", func(ctx context.Context) string {
		return simplerpc.IncomingMetadata(ctx).Get("authorization")
	}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "http://" + l.Addr().String()
}

// fetchJS calls method on url with fetch, as a page would, with a JSON
// body and an Authorization header (which make the browser send a
// preflight first), and gives the result or "error: ..." when the
// browser refuses to let the page read the answer.
func fetchJS(url, method string) string {
	return fmt.Sprintf(`fetch(%q, {method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer page"},
		body: JSON.stringify({jsonrpc: "2.0", id: 1, method: %q, params: %s})})
	.then(r => r.json()).then(r => JSON.stringify(r.result)).catch(e => "error: " + e.message)`,
		url+"/", method, map[string]string{"add": "[2, 40]", "whoami": "[]"}[method])
}

// TestCORSFromBrowser calls JSON-RPC with fetch from a page of one
// origin on servers of another: one that allows the page's origin, one
// that allows another, and one without WithCORS.
func TestCORSFromBrowser(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>app</title><p id="app">app page</p>`)
	}))
	t.Cleanup(page.Close)
	allowed := serveJSONRPC(t, simplerpc.WithCORS(page.URL))
	other := serveJSONRPC(t, simplerpc.WithCORS("http://127.0.0.1:1"))
	closed := serveJSONRPC(t)

	ctx := browser(t)
	do(t, ctx, "open the page", chromedp.Navigate(page.URL), chromedp.WaitVisible(chromedp.CSS(`#app`)))
	eval := func(js string) string {
		t.Helper()
		return get(t, ctx, "fetch", chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	}
	if got := eval(fetchJS(allowed, "add")); got != "42" {
		t.Errorf("add from an allowed origin: %s", got)
	}
	if got := eval(fetchJS(allowed, "whoami")); got != `"Bearer page"` {
		t.Errorf("whoami from an allowed origin: %s", got)
	}
	health := fmt.Sprintf(`fetch(%q).then(r => r.status + " " + r.headers.get("content-type")).catch(e => "error: " + e.message)`, allowed+"/healthz")
	if got := eval(health); got != "200 application/json" {
		t.Errorf("GET /healthz from an allowed origin: %s", got)
	}
	for name, url := range map[string]string{"another origin allowed": other, "no WithCORS": closed} {
		if got := eval(fetchJS(url, "add")); !strings.HasPrefix(got, "error: ") {
			t.Errorf("%s: the page read the answer: %s", name, got)
		}
	}
}
