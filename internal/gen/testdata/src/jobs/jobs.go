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

// Observer is told of a job's events.
type Observer interface {
	// OnEvent reports one event; an error stops the job.
	OnEvent(ctx context.Context, e Event) error
	// OnDone says the job ended after n events.
	OnDone(n int)
	Progress(done, total int) (keepGoing bool)
}

// Follow runs a job, telling o of it.
func (Jobs) Follow(ctx context.Context, name string, o Observer) error {
	if err := o.OnEvent(ctx, Event{Name: name}); err != nil {
		return err
	}
	o.OnDone(1)
	return nil
}
