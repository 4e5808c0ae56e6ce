package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	gorillarpc "github.com/gorilla/rpc/v2"
	"github.com/gorilla/rpc/v2/json2"
	"github.com/simplerpc/simplerpc"
)

// httpConc are the caller counts of the http workload.
var httpConc = []int{1, 8, 64}

// httpServer is a JSON-RPC 2.0 over HTTP server measured by the http
// workload. Every one answers {"method": method, "params": [a, b]} with
// {"result": a+b}.
type httpServer struct {
	name   string
	method string
	// serve starts serving on ln; warns, if not nil, counts the records
	// at Warn or above the server logged.
	serve func(ln net.Listener, warns *atomic.Int64) (stop func() error, err error)
}

// Names of the http workload's servers that the ratios are taken against.
const (
	refHTTPFloor     = "net/http-floor"
	refHTTPSimpleRPC = "simplerpc"
	refHTTPGorilla   = "gorilla-json2"
	refHTTPGeth      = "go-ethereum"
)

func httpServers() []httpServer {
	return []httpServer{
		{name: refHTTPFloor, method: "Bench.Add", serve: serveHandler(http.HandlerFunc(floorHTTP))},
		{name: refHTTPSimpleRPC, method: "Bench.Add", serve: serveSimpleRPCHTTP},
		{name: refHTTPGeth, method: "bench_add", serve: serveGeth},
		{name: refHTTPGorilla, method: "Bench.Add", serve: serveGorilla},
		{name: refHTTPIdeal, method: "Bench.Add", serve: serveIdealHTTP},
	}
}

func httpScenario() scenario {
	return scenario{name: "http", perRep: httpRep, report: reportHTTP, chartFile: "http.svg", chart: chartHTTP}
}

// httpRows are the http workload's servers, in report order.
func httpRows() []string {
	var rows []string
	for _, hs := range httpServers() {
		rows = append(rows, hs.name)
	}
	return rows
}

// chartHTTP draws the http workload's throughput against callers.
func chartHTTP(res *results) string {
	return lineChart(res, lineSpec{
		title: "JSON-RPC Add over HTTP/1.1 (lean client): throughput vs concurrent callers",
		rows:  httpRows(), workload: leanWorkload, kind: kindTput, xs: httpConc, scale: 1,
		xLabel: "concurrent callers (log scale)", yLabel: "calls/s, median (log scale)",
	})
}

// httpRep measures every HTTP server once, starting with a different one
// each repetition.
func httpRep(cfg config, rep int, res *results) error {
	servers := httpServers()
	var errs []error
	for i := range servers {
		if err := httpOnce(cfg, servers[(rep+i)%len(servers)], res); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", servers[(rep+i)%len(servers)].name, err))
		}
	}
	return errors.Join(errs...)
}

// httpOnce serves hs and calls it through one http.Client (keep-alive, a
// transport that keeps an idle connection for every caller) at each of
// httpConc callers.
func httpOnce(cfg config, hs httpServer, res *results) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+time.Duration(2*len(httpConc))*(cfg.d+cfg.warm))
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var warns atomic.Int64
	stop, err := hs.serve(ln, &warns)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	tr := &http.Transport{MaxIdleConnsPerHost: httpConc[len(httpConc)-1]}
	defer tr.CloseIdleConnections()
	c := &jsonrpcClient{hc: &http.Client{Transport: tr}, url: "http://" + ln.Addr().String() + "/", method: hs.method}
	call := func(ctx context.Context, _ int) error { return c.add(ctx, 40, 2) }
	for _, n := range httpConc {
		if cfg.warm > 0 {
			if _, err := timedLoad(ctx, n, cfg.warm, call); err != nil {
				return err
			}
		} else if err := primeLoad(ctx, n, call); err != nil {
			return err
		}
		st, err := timedLoad(ctx, n, cfg.d, call)
		if err != nil {
			return err
		}
		st.record(res, hs.name, "http", n)
	}
	tr.CloseIdleConnections()
	// The lean client, against the same server.
	lc := newLeanClient(ln.Addr().String(), hs.method)
	defer lc.close()
	lean := func(ctx context.Context, i int) error { return lc.add(ctx, i) }
	for _, n := range httpConc {
		if cfg.warm > 0 {
			if _, err := timedLoad(ctx, n, cfg.warm, lean); err != nil {
				return fmt.Errorf("lean client: %w", err)
			}
		} else if err := primeLoad(ctx, n, lean); err != nil {
			return fmt.Errorf("lean client: %w", err)
		}
		st, err := timedLoad(ctx, n, cfg.d, lean)
		if err != nil {
			return fmt.Errorf("lean client: %w", err)
		}
		st.record(res, hs.name, leanWorkload, n)
	}
	lc.close()
	res.add(hs.name, metric{"http", kindWarns, 0}, float64(warns.Load()))
	return nil
}

// kindWarns counts the records a server logged at Warn or above.
const kindWarns = "warns"

// jsonrpcClient makes JSON-RPC 2.0 calls of Add over HTTP.
type jsonrpcClient struct {
	hc     *http.Client
	url    string
	method string
	id     atomic.Int64
}

// add posts one request and checks the reply's sum.
func (c *jsonrpcClient) add(ctx context.Context, a, b int64) error {
	body := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":[%d,%d]}`, c.id.Add(1), c.method, a, b)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("jsonrpc request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("jsonrpc post: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("jsonrpc reply: %w", err)
	}
	var r struct {
		Result *int64          `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("jsonrpc reply %q (%s): %w", out, resp.Status, err)
	}
	if r.Result == nil || *r.Result != a+b {
		return fmt.Errorf("jsonrpc %s(%d, %d) replied %s", c.method, a, b, out)
	}
	return nil
}

// serveHandler serves h with a default http.Server.
func serveHandler(h http.Handler) func(net.Listener, *atomic.Int64) (func() error, error) {
	return func(ln net.Listener, _ *atomic.Int64) (func() error, error) {
		srv := &http.Server{Handler: h}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		return func() error {
			err := srv.Close()
			if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
				err = errors.Join(err, serr)
			}
			if err != nil {
				return fmt.Errorf("http close: %w", err)
			}
			return nil
		}, nil
	}
}

// floorHTTP is the floor of the http workload: it decodes one JSON-RPC
// request with encoding/json and writes the response by hand.
func floorHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params [2]int64        `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method != "Bench.Add" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	out := make([]byte, 0, 64)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, req.ID...)
	out = append(out, `,"result":`...)
	out = strconv.AppendInt(out, req.Params[0]+req.Params[1], 10)
	out = append(out, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// warnCounter is a slog.Handler that counts the records at Warn or above.
type warnCounter struct{ n *atomic.Int64 }

func (h warnCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h warnCounter) Handle(context.Context, slog.Record) error {
	h.n.Add(1)
	return nil
}
func (h warnCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h warnCounter) WithGroup(string) slog.Handler      { return h }

// serveSimpleRPCHTTP serves Bench with simplerpc.Server.Serve, whose port
// answers HTTP as well as the native protocol.
func serveSimpleRPCHTTP(ln net.Listener, warns *atomic.Int64) (func() error, error) {
	srv := simplerpc.NewServer(simplerpc.WithLogger(slog.New(warnCounter{warns})))
	if err := srv.Register("Bench", Bench{}); err != nil {
		return nil, fmt.Errorf("simplerpc register: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx) // lets every connection be dealt with, and logged
		if serr := <-done; !errors.Is(serr, simplerpc.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		if err != nil {
			return fmt.Errorf("simplerpc shutdown: %w", err)
		}
		return nil
	}, nil
}

// gethBench is the service registered with go-ethereum's rpc server, which
// names its method bench_add.
type gethBench struct{}

// Add returns a+b.
func (gethBench) Add(a, b int64) int64 { return a + b }

// serveGeth serves gethBench with go-ethereum's rpc.Server as the handler
// of a default http.Server.
func serveGeth(ln net.Listener, warns *atomic.Int64) (func() error, error) {
	rs := gethrpc.NewServer()
	if err := rs.RegisterName("bench", gethBench{}); err != nil {
		return nil, fmt.Errorf("go-ethereum register: %w", err)
	}
	stop, err := serveHandler(rs)(ln, warns)
	if err != nil {
		return nil, err
	}
	return func() error {
		err := stop()
		rs.Stop()
		return err
	}, nil
}

// GorillaBench is the service registered with gorilla/rpc json2.
type GorillaBench struct{}

// Add sets sum to the sum of the two operands.
func (GorillaBench) Add(_ *http.Request, args *[2]int64, sum *int64) error {
	*sum = args[0] + args[1]
	return nil
}

// serveGorilla serves GorillaBench with gorilla/rpc v2 and its json2
// codec as the handler of a default http.Server.
func serveGorilla(ln net.Listener, warns *atomic.Int64) (func() error, error) {
	rs := gorillarpc.NewServer()
	rs.RegisterCodec(json2.NewCodec(), "application/json")
	if err := rs.RegisterService(GorillaBench{}, "Bench"); err != nil {
		return nil, fmt.Errorf("gorilla register: %w", err)
	}
	return serveHandler(rs)(ln, warns)
}

// reportHTTP writes the http section: the lean client's table, then the
// http.Client's.
func reportHTTP(b *strings.Builder, _ config, res *results) {
	fmt.Fprintf(b, "\n## JSON-RPC Add over HTTP/1.1\n\n")
	fmt.Fprintf(b, "Each request is `{\"jsonrpc\":\"2.0\",\"id\":N,\"method\":M,\"params\":[40,2]}`; the reply's result is checked. "+
		"%s is a net/http handler decoding the request with encoding/json and writing the response by hand; "+
		"simplerpc is `Server.Serve`'s own port. "+
		"%s is no JSON-RPC server but a bound: a raw-TCP server that finds each request's end by its Content-Length, "+
		"takes the id and operands out of the body, checks the method's name and writes a canned response, the least any server could do. "+
		"Two clients drive each server in turn. The lean one is as wrk or h2load: each caller has its own keep-alive connection "+
		"and writes a prebuilt request (Host, Content-Type, Content-Length), then reads the status line, the headers and Content-Length bytes of body, "+
		"checking the status is 200 and the body holds its id and `\"result\":42`. "+
		"It costs a call a small part of what Go's http.Client does, so that with client and server on the same cores "+
		"the server's own cost decides the figures. The second table is the same calls through one Go http.Client, "+
		"as a Go caller makes them, whose own cost bounds every server alike "+
		"(the transport keeps up to %d idle connections). "+
		"Warnings: records at Warn or above that simplerpc's server logged in the run, both clients together.\n\n",
		refHTTPFloor, refHTTPIdeal, httpConc[len(httpConc)-1])
	fmt.Fprintf(b, "### Lean client (a raw-TCP connection per caller)\n\n")
	httpTable(b, res, leanWorkload, true)
	fmt.Fprintf(b, "\n### Go http.Client (one, shared by the callers)\n\n")
	httpTable(b, res, "http", true)
}

// httpTable writes the table of workload w's figures, with the warnings
// column if warns, and its ratios.
func httpTable(b *strings.Builder, res *results, w string, warns bool) {
	rows := httpRows()
	var cols []column
	for _, n := range httpConc {
		cols = append(cols,
			medianCol(res, fmt.Sprintf("calls/s C=%d", n), 0, metric{w, kindTput, n}, 1),
			medianCol(res, "p50 ms", 2, metric{w, kindP50, n}, 1e3),
			medianCol(res, "p99 ms", 2, metric{w, kindP99, n}, 1e3))
	}
	all := cols
	if warns {
		all = append(cols[:len(cols):len(cols)], medianCol(res, "warnings", 0, metric{"http", kindWarns, 0}, 1))
	}
	writeRowTable(b, rows, all)
	fmt.Fprintf(b, "\nRatios (÷ %s / ÷ %s):\n\n", refHTTPFloor, refHTTPSimpleRPC)
	writeRowRatios(b, rows, cols, refHTTPFloor, refHTTPSimpleRPC)
	fmt.Fprintf(b, "\nThroughput ÷ %s / ÷ %s:\n\n", refHTTPGorilla, refHTTPGeth)
	var tput []column
	for _, n := range httpConc {
		tput = append(tput, medianCol(res, fmt.Sprintf("calls/s C=%d", n), 0, metric{w, kindTput, n}, 1))
	}
	writeRowRatios(b, rows, tput, refHTTPGorilla, refHTTPGeth)
}
