// Package jobs is a service whose methods take callbacks, for the
// generator's golden tests.
package jobs

import "context"

// Jobs runs jobs.
type Jobs struct{}

// Event is what Watch reports.
type Event struct {
	Name string
	Done bool
}

// Run runs n steps, reporting each through progress.
func (Jobs) Run(ctx context.Context, n int, progress func(done, total int)) (int, error) {
	for i := 1; i <= n; i++ {
		progress(i, n)
	}
	return n, nil
}

// Watch calls on for each event until it fails.
func (Jobs) Watch(ctx context.Context, on func(ctx context.Context, e Event) error) error {
	return on(ctx, Event{Name: "started"})
}

// Bad takes a callback that takes a callback: the client cannot pass it.
func (Jobs) Bad(f func(g func())) {}
