package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// closeTimeout bounds the etcd requests of Registration.Close.
const closeTimeout = 5 * time.Second

// A Registration keeps one server's address under its name in etcd, on a
// lease that it renews, until Close. If the process dies, renewals stop
// and the key vanishes when the lease runs out. If the lease runs out
// while the process lives (etcd was out of reach for longer than the
// TTL), the registration writes the key again on a new lease as soon as
// etcd answers.
type Registration struct {
	cli     *clientv3.Client
	key     string
	addr    string
	ttl     int64 // seconds
	cancel  context.CancelFunc
	done    chan struct{} // closed when the renewing goroutine returns
	closing sync.Once
	err     error // Close's result

	mu    sync.Mutex
	lease clientv3.LeaseID // the lease the key was last written under
}

// Register writes addr under name ("<prefix><name>/<addr>", see
// WithPrefix) on a lease of WithTTL (default 10s) and keeps renewing it
// in the background until Close or until cli is closed. ctx bounds the
// first write only. Register a server once it is listening, and Close
// the registration before shutting it down, so that clients stop
// sending it new calls first.
func Register(ctx context.Context, cli *clientv3.Client, name, addr string, opts ...Option) (*Registration, error) {
	cfg := newConfig(opts)
	dir, err := cfg.dir(name)
	if err != nil {
		return nil, err
	}
	if err := validAddr(addr); err != nil {
		return nil, err
	}
	r := &Registration{
		cli:  cli,
		key:  dir + addr,
		addr: addr,
		ttl:  int64((cfg.ttl + time.Second - 1) / time.Second),
		done: make(chan struct{}),
	}
	kctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	ka, err := r.write(ctx, kctx)
	if err != nil {
		cancel()
		r.revoke()
		return nil, fmt.Errorf("simplerpc/etcd: register %s: %w", r.key, err)
	}
	go r.renew(kctx, ka)
	return r, nil
}

// Key returns the etcd key the address is kept under.
func (r *Registration) Key() string { return r.key }

// write grants a lease, puts the key under it and starts renewing it.
// ctx bounds the requests; kctx bounds the renewals.
func (r *Registration) write(ctx, kctx context.Context) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	g, err := r.cli.Grant(ctx, r.ttl)
	if err != nil {
		return nil, fmt.Errorf("grant lease: %w", err)
	}
	r.mu.Lock()
	r.lease = g.ID
	r.mu.Unlock()
	if _, err := r.cli.Put(ctx, r.key, r.addr, clientv3.WithLease(g.ID)); err != nil {
		return nil, fmt.Errorf("put key: %w", err)
	}
	ka, err := r.cli.KeepAlive(kctx, g.ID)
	if err != nil {
		return nil, fmt.Errorf("keep lease alive: %w", err)
	}
	return ka, nil
}

// renew consumes the lease's renewals; when they stop although the
// registration is open (the lease ran out), it writes the key again on a
// new lease, backing off while etcd does not answer. It returns when the
// registration or the etcd client is closed.
func (r *Registration) renew(ctx context.Context, ka <-chan *clientv3.LeaseKeepAliveResponse) {
	defer close(r.done)
	for {
		for range ka {
		}
		ka = nil
		for n := 0; ka == nil; n++ {
			if ctx.Err() != nil || r.cli.Ctx().Err() != nil {
				return
			}
			if n > 0 && !sleep(ctx, backoff(n)) {
				return
			}
			wctx, cancel := context.WithTimeout(ctx, closeTimeout)
			ka, _ = r.write(wctx, ctx)
			cancel()
		}
	}
}

// Close stops renewing, deletes the key (if it is still this
// registration's) and revokes the lease, so that clients see the server
// leave at once rather than after the TTL. It is safe to call more than
// once; later calls return the first one's result. If the etcd client
// is already closed, Close only stops renewing and returns an error: the
// key goes when its lease runs out.
func (r *Registration) Close() error {
	r.closing.Do(func() {
		r.cancel()
		<-r.done
		if err := r.cli.Ctx().Err(); err != nil {
			r.err = fmt.Errorf("simplerpc/etcd: close %s: the etcd client is closed; the key goes when its lease runs out: %w", r.key, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		r.mu.Lock()
		lease := r.lease
		r.mu.Unlock()
		_, err := r.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.LeaseValue(r.key), "=", lease)).
			Then(clientv3.OpDelete(r.key)).
			Commit()
		if err != nil {
			err = fmt.Errorf("simplerpc/etcd: delete %s: %w", r.key, err)
		}
		r.err = errors.Join(err, r.revokeCtx(ctx, lease))
	})
	return r.err
}

// revoke revokes the current lease, if any, best effort.
func (r *Registration) revoke() {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	r.mu.Lock()
	lease := r.lease
	r.mu.Unlock()
	_ = r.revokeCtx(ctx, lease)
}

// revokeCtx revokes lease; a lease that already ran out is no error.
func (r *Registration) revokeCtx(ctx context.Context, lease clientv3.LeaseID) error {
	if lease == clientv3.NoLease {
		return nil
	}
	if _, err := r.cli.Revoke(ctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("simplerpc/etcd: revoke lease of %s: %w", r.key, err)
	}
	return nil
}

// backoff returns the wait before retry n (n >= 1): 50ms doubling, capped
// at 2s.
func backoff(n int) time.Duration {
	d := 50 * time.Millisecond
	for i := 1; i < n && d < 2*time.Second; i++ {
		d *= 2
	}
	return min(d, 2*time.Second)
}

// sleep waits d, or less if ctx ends first, reporting whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
