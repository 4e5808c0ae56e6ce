package etcd

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/simplerpc/simplerpc"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Scheme is the optional scheme of the targets NewResolver resolves:
// "etcd:///calc" and "calc" name the same servers.
const Scheme = "etcd:///"

// NewResolver returns a simplerpc.Resolver that finds the servers
// registered under a name (see Register): give it to simplerpc.Dial with
// simplerpc.WithResolver and dial the name.
//
//	c, err := simplerpc.Dial(ctx, "calc", simplerpc.WithResolver(etcd.NewResolver(cli)))
//
// It reads the name's keys, then watches them from the revision it read,
// sending every changed set of addresses; if the watch is canceled (the
// revision was compacted, or the etcd member lost its leader) it reads
// again. Only WithPrefix applies to it.
func NewResolver(cli *clientv3.Client, opts ...Option) simplerpc.Resolver {
	return &resolver{cli: cli, cfg: newConfig(opts)}
}

type resolver struct {
	cli *clientv3.Client
	cfg config
}

// Resolve follows target's servers until ctx ends, then closes the
// channel. It fails only for a malformed name.
func (r *resolver) Resolve(ctx context.Context, target string) (<-chan []string, error) {
	dir, err := r.cfg.dir(strings.TrimPrefix(target, Scheme))
	if err != nil {
		return nil, err
	}
	ch := make(chan []string, 1)
	go r.follow(ctx, dir, ch)
	return ch, nil
}

// follow reads and watches the keys under dir, sending each changed set
// on ch, until ctx ends.
func (r *resolver) follow(ctx context.Context, dir string, ch chan<- []string) {
	defer close(ch)
	var last []string
	sent := false
	send := func(set map[string]string) bool {
		addrs := slices.Compact(slices.Sorted(maps.Values(set)))
		if sent && slices.Equal(addrs, last) {
			return true
		}
		last, sent = addrs, true
		select {
		case ch <- slices.Clone(addrs):
			return true
		case <-ctx.Done():
			return false
		}
	}
	for n := 0; ; n++ {
		if n > 0 && !sleep(ctx, backoff(n)) {
			return
		}
		set, rev, err := r.read(ctx, dir)
		if err != nil {
			continue
		}
		if !send(set) {
			return
		}
		if r.watch(ctx, dir, set, rev, send) {
			n = 0 // the watch worked for a while: read again at once
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// read returns the addresses under dir, by key, and the revision read.
func (r *resolver) read(ctx context.Context, dir string) (map[string]string, int64, error) {
	resp, err := r.cli.Get(ctx, dir, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, err
	}
	set := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		set[string(kv.Key)] = string(kv.Value)
	}
	return set, resp.Header.Revision, nil
}

// watch applies the changes under dir after revision rev to set, calling
// send after each batch, until the watch ends. It reports whether any
// batch arrived.
func (r *resolver) watch(ctx context.Context, dir string, set map[string]string, rev int64, send func(map[string]string) bool) bool {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	got := false
	for resp := range r.cli.Watch(wctx, dir, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if resp.Canceled || resp.Err() != nil {
			return got
		}
		if resp.IsProgressNotify() {
			continue
		}
		got = true
		for _, ev := range resp.Events {
			switch ev.Type {
			case clientv3.EventTypePut:
				set[string(ev.Kv.Key)] = string(ev.Kv.Value)
			case clientv3.EventTypeDelete:
				delete(set, string(ev.Kv.Key))
			}
		}
		if !send(set) {
			return got
		}
	}
	return got
}
