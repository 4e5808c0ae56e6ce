package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/simplerpc/simplerpc"
)

// DemoJobs is the demo's service with callbacks: funcs the client
// passes, which run in the client when the server calls them.
type DemoJobs struct{}

// DemoEvent is what an observer of DemoJobs.Watch is told.
type DemoEvent struct {
	Job   string
	State string
}

// Build runs steps steps of a made-up build, reporting each through
// progress.
func (DemoJobs) Build(ctx context.Context, steps int, progress func(done, total int)) (string, error) {
	for i := 1; i <= steps; i++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		progress(i, steps)
	}
	return fmt.Sprintf("built in %d steps", steps), nil
}

// Watch tells the observer of each job's events, until the observer
// returns an error, which ends the watch, and returns how many events it
// told.
func (DemoJobs) Watch(ctx context.Context, jobs []string, on func(ctx context.Context, e DemoEvent) error) (int, error) {
	told := 0
	for _, j := range jobs {
		for _, state := range []string{"started", "done"} {
			told++
			if err := on(ctx, DemoEvent{Job: j, State: state}); err != nil {
				return told, nil // the observer has seen enough
			}
		}
	}
	return told, nil
}

// demoJobs is the client's view of DemoJobs.
type demoJobs struct {
	Build func(ctx context.Context, steps int, progress func(done, total int)) (string, error)
	Watch func(ctx context.Context, jobs []string, on func(ctx context.Context, e DemoEvent) error) (int, error)
}

// errEnough is what the demo's observer returns to stop a watch.
var errEnough = errors.New("seen enough")

// stepCallbacks passes a progress func and an observer to the server,
// which calls them back over the call's own connection.
func stepCallbacks(p *printer, c *simplerpc.Client, _ *demoStub) error {
	var jobs demoJobs
	if err := c.Bind("Jobs", &jobs); err != nil {
		return err
	}
	ctx := context.Background()
	var bar []string
	res, err := jobs.Build(ctx, 4, func(done, total int) {
		bar = append(bar, fmt.Sprintf("%d/%d", done, total))
	})
	if err != nil || len(bar) != 4 {
		return fmt.Errorf("Build = %q, %w, progress %v", res, err, bar)
	}
	p.say("   jobs.Build(ctx, 4, progress)    = %q; progress ran in the client: %s", res, strings.Join(bar, " "))
	var seen []string
	told, err := jobs.Watch(ctx, []string{"api", "web", "db"}, func(ctx context.Context, e DemoEvent) error {
		seen = append(seen, e.Job+" "+e.State)
		if e.Job == "web" && e.State == "done" {
			return errEnough
		}
		return nil
	})
	if err != nil || told != 4 || len(seen) != 4 {
		return fmt.Errorf("Watch = %d, %v, observer saw %q; want it to stop after 4 events", told, err, seen)
	}
	p.say("   jobs.Watch(ctx, jobs, observer) = %d events; the observer saw %s, and ended the watch", told, strings.Join(seen, ", "))
	return nil
}
