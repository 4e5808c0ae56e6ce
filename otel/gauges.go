package otel

import (
	"context"
	"errors"
	"fmt"

	"github.com/simplerpc/simplerpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The attributes of the server's gauges.
var (
	sessionsAttached = metric.WithAttributeSet(attribute.NewSet(attribute.String("simplerpc.session.state", "attached")))
	sessionsDetached = metric.WithAttributeSet(attribute.NewSet(attribute.String("simplerpc.session.state", "detached")))
	refusedBusy      = metric.WithAttributeSet(attribute.NewSet(attribute.String("simplerpc.refusal.reason", "busy")))
	refusedMemory    = metric.WithAttributeSet(attribute.NewSet(attribute.String("simplerpc.refusal.reason", "memory")))
	refusedShutdown  = metric.WithAttributeSet(attribute.NewSet(attribute.String("simplerpc.refusal.reason", "shutdown")))
)

// ObserveServer reports srv's own state with the meter of opts (the
// global MeterProvider unless WithMeterProvider says otherwise), read
// from srv.Stats each time the metrics are collected:
// simplerpc.server.connections, simplerpc.server.sessions (by
// simplerpc.session.state, attached or detached),
// simplerpc.server.memory.used and simplerpc.server.memory.limit, and
// simplerpc.server.call.refused (by simplerpc.refusal.reason: busy,
// memory or shutdown). Unregister the registration it returns when srv
// is done with; the tracing options are ignored.
func ObserveServer(srv *simplerpc.Server, opts ...Option) (metric.Registration, error) {
	c := newConfig(opts)
	meter := c.meter()
	conns, err1 := meter.Int64ObservableUpDownCounter("simplerpc.server.connections",
		metric.WithUnit("{connection}"), metric.WithDescription("Native connections open."))
	sessions, err2 := meter.Int64ObservableUpDownCounter("simplerpc.server.sessions",
		metric.WithUnit("{session}"), metric.WithDescription("Sessions the server keeps, attached to a connection or detached."))
	used, err3 := meter.Int64ObservableUpDownCounter("simplerpc.server.memory.used",
		metric.WithUnit("By"), metric.WithDescription("Memory budget in use: calls running and replies not yet sent."))
	limit, err4 := meter.Int64ObservableUpDownCounter("simplerpc.server.memory.limit",
		metric.WithUnit("By"), metric.WithDescription("The memory budget."))
	refused, err5 := meter.Int64ObservableCounter("simplerpc.server.call.refused",
		metric.WithUnit("{call}"), metric.WithDescription("Calls refused, not run, at a limit of the server."))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, fmt.Errorf("simplerpc/otel: the server's instruments: %w", err)
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := srv.Stats()
		o.ObserveInt64(conns, int64(st.Connections))
		o.ObserveInt64(sessions, int64(st.Sessions-st.DetachedSessions), sessionsAttached)
		o.ObserveInt64(sessions, int64(st.DetachedSessions), sessionsDetached)
		o.ObserveInt64(used, st.MemoryInUse)
		o.ObserveInt64(limit, st.MemoryBudget)
		o.ObserveInt64(refused, st.RefusedBusy, refusedBusy)
		o.ObserveInt64(refused, st.RefusedMemory, refusedMemory)
		o.ObserveInt64(refused, st.RefusedShutdown, refusedShutdown)
		return nil
	}, conns, sessions, used, limit, refused)
	if err != nil {
		return nil, fmt.Errorf("simplerpc/otel: the server's instruments: %w", err)
	}
	return reg, nil
}
