package simplerpc

import (
	"context"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how a Client retries a call that was not executed:
// one the server refused with CodeUnavailable, or one that could not be
// sent because no connection could be made. A call that may have run is
// never retried.
type RetryPolicy struct {
	// MaxAttempts is the total number of tries, the first included.
	// Zero or one means no retries.
	MaxAttempts int
	// InitialBackoff is the wait before the first retry.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait, which doubles after each try.
	MaxBackoff time.Duration
}

// DefaultRetryPolicy returns the default policy: 10 attempts, waiting from
// 1 ms, doubling, capped at 1 s, each wait jittered.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 10, InitialBackoff: time.Millisecond, MaxBackoff: time.Second}
}

// backoff returns the wait before try number attempt+1 (attempt >= 1):
// the exponential delay with "equal jitter", between half and all of it.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.InitialBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	if p.MaxBackoff > 0 && d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// wait sleeps for the backoff after attempt, returning false if ctx ends
// first or its deadline would pass before the wait is over.
func (p RetryPolicy) wait(ctx context.Context, attempt int) bool {
	d := p.backoff(attempt)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	if d == 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
