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

// DemoObserver is told of the jobs' events. Its methods run in the
// client: the server gets an adapter (demo_observer_proxy.go, written by
// gen -proxy) whose methods call them back.
type DemoObserver interface {
	// OnEvent tells of one event; an error ends the watch.
	OnEvent(ctx context.Context, e DemoEvent) error
	// OnDone says the watch ended after told events.
	OnDone(told int)
}

//go:generate go run . gen -proxy -type DemoObserver -o demo_observer_proxy.go

// Watch tells the observer of each job's events, until the observer
// returns an error, which ends the watch, then says it is done, and
// returns how many events it told.
func (DemoJobs) Watch(ctx context.Context, jobs []string, o DemoObserver) (int, error) {
	told := 0
	defer func() { o.OnDone(told) }()
	for _, j := range jobs {
		for _, state := range []string{"started", "done"} {
			told++
			if err := o.OnEvent(ctx, DemoEvent{Job: j, State: state}); err != nil {
				return told, nil // the observer has seen enough
			}
		}
	}
	return told, nil
}

// demoJobs is the client's view of DemoJobs.
type demoJobs struct {
	Build func(ctx context.Context, steps int, progress func(done, total int)) (string, error)
	Watch func(ctx context.Context, jobs []string, o DemoObserver) (int, error)
}

// demoObserver is the client's DemoObserver: it notes what it is told,
// and has seen enough after the web job is done.
type demoObserver struct {
	seen []string
	told int // what OnDone said
}

func (o *demoObserver) OnEvent(ctx context.Context, e DemoEvent) error {
	o.seen = append(o.seen, e.Job+" "+e.State)
	if e.Job == "web" && e.State == "done" {
		return errEnough
	}
	return nil
}

func (o *demoObserver) OnDone(told int) { o.told = told }

// errEnough is what the demo's observer returns to stop a watch.
var errEnough = errors.New("seen enough")

// stepCallbacks passes a progress func and an observer (an interface) to the server,
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
	o := &demoObserver{}
	told, err := jobs.Watch(ctx, []string{"api", "web", "db"}, o)
	seen := o.seen
	if err != nil || told != 4 || len(seen) != 4 || o.told != 4 {
		return fmt.Errorf("Watch = %d, %v, observer saw %q and done after %d; want it to stop after 4 events", told, err, seen, o.told)
	}
	p.say("   jobs.Watch(ctx, jobs, observer) = %d events; the observer saw %s, and ended the watch", told, strings.Join(seen, ", "))
	return nil
}
