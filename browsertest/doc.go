// Package browsertest holds the tests that drive a real browser —
// headless Chromium, through the DevTools protocol (chromedp) — against
// simplerpc: the web console (internal/console), and JSON-RPC called
// with fetch from a page of another origin (WithCORS). It is a module
// of its own so that the core never downloads chromedp.
//
// The tests need a Chromium (or Chrome) binary: "chromium" on the PATH
// (Debian's package of that name, which .ci/run installs), or the path
// in $CHROMIUM. Run as root, the browser runs without its sandbox.
package browsertest
