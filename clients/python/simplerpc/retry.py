"""RetryPolicy: how a client retries a call that was not run."""

from __future__ import annotations

import random

__all__ = ["RetryPolicy", "DEFAULT_RETRY"]


class RetryPolicy:
    """Bounds how a client retries a call that was not executed: one the
    server refused as unavailable, one the server promised it had not run
    (a go-away), or one that could not be sent because no connection
    could be made. A call that may have run is never retried. The same
    policy bounds the new connections a session makes to resume.

    max_attempts is the number of tries in all, the first included (1:
    no retries). The wait before retry n is initial_backoff doubled n-1
    times, capped at max_backoff, then jittered between half and all of
    it; a retry that would start after the call's deadline is not made.
    The defaults are the Go client's: 10 attempts, from 1 ms, doubling, to
    at most 1 s, giving up after about half a second without a server. A
    client that must outlast a server's restart sets more:
    RetryPolicy(max_attempts=20) waits for about 10 s.
    """

    __slots__ = ("max_attempts", "initial_backoff", "max_backoff")

    def __init__(self, max_attempts: int = 10, initial_backoff: float = 0.001, max_backoff: float = 1.0) -> None:
        if int(max_attempts) < 1:
            raise ValueError("max_attempts must be at least 1, not %r" % (max_attempts,))
        if initial_backoff < 0 or max_backoff < 0:
            raise ValueError("backoffs cannot be negative")
        self.max_attempts = int(max_attempts)
        self.initial_backoff = float(initial_backoff)
        self.max_backoff = float(max_backoff)

    def backoff(self, attempt: int) -> float:
        """The wait, in seconds, after try number attempt (from 1)."""
        d = self.initial_backoff * (2 ** min(attempt - 1, 62))
        if self.max_backoff and d > self.max_backoff:
            d = self.max_backoff
        return d / 2 + random.uniform(0, d / 2)

    def __repr__(self):
        return "RetryPolicy(max_attempts=%d, initial_backoff=%g, max_backoff=%g)" % (
            self.max_attempts, self.initial_backoff, self.max_backoff)

    def __eq__(self, other):
        if not isinstance(other, RetryPolicy):
            return NotImplemented
        return (self.max_attempts, self.initial_backoff, self.max_backoff) == (
            other.max_attempts, other.initial_backoff, other.max_backoff)

    __hash__ = None  # type: ignore[assignment]


DEFAULT_RETRY = RetryPolicy()
