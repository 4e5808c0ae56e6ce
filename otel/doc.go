// Package otel instruments simplerpc servers and clients with
// OpenTelemetry: a span per call, W3C trace context and baggage carried in
// the call's metadata, call metrics on both sides, and the server's own
// gauges (connections, sessions, memory budget, calls refused).
//
// It follows the OpenTelemetry semantic conventions for RPC, version
// 1.43.0 (the version go.opentelemetry.io/otel v1.47 ships): spans and
// metrics carry rpc.system.name = "simplerpc", rpc.method ("Calc.Add"),
// rpc.response.status_code ("ok" or the simplerpc Code, "not_found"),
// error.type when the call failed, and, on the client, server.address and
// server.port. The package is a module of its own, so that a program that
// uses simplerpc without OpenTelemetry never downloads it.
//
// A server:
//
//	srv := simplerpc.NewServer(simplerpc.WithInterceptor(srpcotel.ServerInterceptor()))
//	reg, err := srpcotel.ObserveServer(srv) // the server's gauges; reg.Unregister() to stop
//
// A client:
//
//	c, err := simplerpc.Dial(ctx, addr, simplerpc.WithInterceptor(srpcotel.ClientInterceptor()))
//
// Both take the global TracerProvider and MeterProvider unless given
// others (WithTracerProvider, WithMeterProvider), and propagate with W3C
// trace context and baggage unless given other propagators
// (WithPropagators). A method a server runs with the context it was given
// passes the trace on: its own calls are children of the server's span,
// so one trace crosses any number of hops. JSON-RPC calls over HTTP take
// their metadata from the request's headers, so a caller sending a
// traceparent header joins the trace.
//
// # Names
//
// Spans are named after the method ("Calc.Add"); server spans are of kind
// Server, client spans of kind Client. The instruments:
//
//	rpc.server.call.duration       histogram, s     a call's run on the server, interceptors included
//	rpc.client.call.duration       histogram, s     a call as the client saw it, retries included
//	rpc.server.request.size        histogram, By    a call's encoded arguments, as received (WithSizes)
//	rpc.server.response.size       histogram, By    a call's encoded results, as sent (WithSizes)
//	rpc.client.request.size        histogram, By    a call's encoded arguments, as sent (WithSizes)
//	rpc.client.response.size       histogram, By    a call's encoded results, as received (WithSizes)
//	simplerpc.server.call.active   updown, {call}   calls running on the server (asynchronous)
//	simplerpc.client.call.active   updown, {call}   calls sent and not yet answered (asynchronous)
//	simplerpc.server.connections   updown, {connection}      native connections open (ObserveServer)
//	simplerpc.server.sessions      updown, {session}         sessions kept, by simplerpc.session.state
//	simplerpc.server.memory.used   updown, By       memory budget in use
//	simplerpc.server.memory.limit  updown, By       the memory budget
//	simplerpc.server.call.refused  counter, {call}  calls refused at a limit, by simplerpc.refusal.reason
//
// The duration histograms carry rpc.system.name, rpc.method,
// rpc.response.status_code, error.type on failure, and on the client
// server.address and server.port; the size histograms the same; the
// active-call counters the same but the status and error.type. The calls
// in flight are counted with an atomic add and reported when the metrics
// are collected.
//
// A span starts with every attribute of a call that succeeds —
// rpc.response.status_code "ok" among them, and on the server the
// caller's network.peer.address and network.peer.port — so that a call
// that succeeds sets none at its end; a call that fails replaces the
// status and adds error.type (a span keeps the last value set for a
// key, so the span exported has one status, the call's). A sampler or
// a span processor's OnStart sees the status a call will have if it
// succeeds.
//
// The size histograms are off unless WithSizes(true) is given: the
// conventions followed here (1.43.0) define none — 1.40.0 dropped them;
// the names are those of 1.39.0 — and they cost two more histogram
// records per call on each side. A size is that of the encoded argument
// or result array (CallInfo.RequestSize and ResponseSize), without the
// frame's header, method name and metadata; a call that failed has no
// response size, one that was never sent no request size, and a stream's
// items are not measured.
//
// # Bounds
//
// The attributes of a method are built once and kept, for at most
// MaxMethods methods per interceptor; calls of further methods are
// recorded under rpc.method = "_OTHER" (with rpc.method_original on their
// span), so that no peer can make the instruments grow without bound.
package otel
