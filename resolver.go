package simplerpc

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// A Resolver turns a target name into the addresses of the servers behind
// it and follows them as they come and go. Dial uses one for targets with
// a scheme ("dns:///", "static:///") or when given WithResolver.
type Resolver interface {
	// Resolve sends target's current set of "host:port" addresses on the
	// returned channel, then every new set when it changes, until ctx
	// ends; then it closes the channel. An error means target cannot be
	// resolved at all (a malformed name, for example).
	Resolve(ctx context.Context, target string) (<-chan []string, error)
}

// A Refresher is a Resolver that can look again at once. The client calls
// Refresh when an endpoint fails, so a server that left is noticed sooner
// than the next periodic look-up.
type Refresher interface {
	Refresh(target string)
}

// resolverFor picks the resolver for target: the configured one, or the
// built-in one its scheme names, or none for a plain "host:port".
func resolverFor(cfg *clientConfig, target string) (Resolver, string) {
	if cfg.resolver != nil {
		return cfg.resolver, target
	}
	switch {
	case strings.HasPrefix(target, "static:///"):
		return StaticResolver{}, target
	case strings.HasPrefix(target, "dns:///"):
		return &DNSResolver{}, target
	}
	return nil, target
}

// StaticResolver resolves "static:///host:port,host:port,..." to that fixed
// list of addresses.
type StaticResolver struct{}

// Resolve sends the target's list once and closes the channel when ctx ends.
func (StaticResolver) Resolve(ctx context.Context, target string) (<-chan []string, error) {
	list := strings.TrimPrefix(target, "static:///")
	var addrs []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("simplerpc: static target %q: %w", target, err)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("simplerpc: static target %q lists no addresses", target)
	}
	ch := make(chan []string, 1)
	ch <- addrs
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

// DefaultDNSInterval is how often a DNSResolver looks its name up again.
const DefaultDNSInterval = 30 * time.Second

// DNSResolver resolves "dns:///host:port" by looking host up (A and AAAA
// records) every Interval, and at once when the client reports an
// endpoint failed: the way to reach a Kubernetes headless service, whose
// name resolves to the addresses of its ready pods. Its zero value is
// ready to use.
type DNSResolver struct {
	// Interval between look-ups; DefaultDNSInterval if zero.
	Interval time.Duration
	// LookupHost looks host up; net.DefaultResolver.LookupHost if nil.
	// Tests inject their own.
	LookupHost func(ctx context.Context, host string) ([]string, error)

	refresh chan struct{}
}

// Resolve starts following target. The first look-up happens at once;
// failed look-ups keep the last good set.
func (r *DNSResolver) Resolve(ctx context.Context, target string) (<-chan []string, error) {
	host, port, err := net.SplitHostPort(strings.TrimPrefix(target, "dns:///"))
	if err != nil {
		return nil, fmt.Errorf("simplerpc: dns target %q: want dns:///host:port: %w", target, err)
	}
	interval := r.Interval
	if interval <= 0 {
		interval = DefaultDNSInterval
	}
	lookup := r.LookupHost
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	if r.refresh == nil {
		r.refresh = make(chan struct{}, 1)
	}
	ch := make(chan []string, 1)
	go func() {
		defer close(ch)
		var last []string
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			ips, err := lookup(lctx, host)
			cancel()
			if err == nil {
				addrs := make([]string, 0, len(ips))
				for _, ip := range ips {
					addrs = append(addrs, net.JoinHostPort(ip, port))
				}
				slices.Sort(addrs)
				if !slices.Equal(addrs, last) {
					last = addrs
					select {
					case ch <- addrs:
					case <-ctx.Done():
						return
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-r.refresh:
			}
		}
	}()
	return ch, nil
}

// Refresh makes the resolver look up again now.
func (r *DNSResolver) Refresh(string) {
	if r.refresh == nil {
		return
	}
	select {
	case r.refresh <- struct{}{}:
	default:
	}
}
