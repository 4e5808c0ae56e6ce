package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/simplerpc/simplerpc"
)

const healthSynopsis = "[flags] ADDR [SERVICE]"

const healthHelp = `
Health asks the server at ADDR (host:port, or a target such as
dns:///host:port) for its health — of SERVICE, or of the whole server —
with the reserved method simplerpc.health, prints the status, and exits 0
when it is SERVING and 1 otherwise (NOT_SERVING, SERVICE_UNKNOWN, or no
answer): a Kubernetes exec probe. Over HTTP the same answer is GET
/healthz on the server's port, for httpGet probes.

Examples:

	simplerpc health 127.0.0.1:4000
	simplerpc health -timeout 1s 127.0.0.1:4000 Calc
	simplerpc health -tls -cacert ca.pem calc.internal:4000
`

func runHealth(e *env, args []string) int {
	fs := newFlagSet("health", healthSynopsis, healthHelp)
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this `duration`")
	var tf tlsFlags
	tf.register(fs)
	pos, code, ok := parse(fs, e, args)
	if !ok {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError(e, fs, "health needs ADDR and at most one SERVICE")
	}
	service := ""
	if len(pos) == 2 {
		service = pos[1]
	}
	tlsOpt, err := tf.option()
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	c, err := dialServer(ctx, pos[0], false, e.stderr, tlsOpt)
	if err != nil {
		printError(e.stderr, "health", err, *asJSON)
		return 1
	}
	defer c.Close()
	h, err := c.Health(ctx, service)
	if err != nil {
		printError(e.stderr, "health", err, *asJSON)
		return 1
	}
	if *asJSON {
		b, _ := json.Marshal(h)
		fmt.Fprintf(e.stdout, "%s\n", b)
	} else {
		fmt.Fprintln(e.stdout, h.Status)
	}
	if h.Status != simplerpc.HealthServing {
		return 1
	}
	return 0
}
