"""Polling for a reply before sleeping for it, where that is faster.

A thread that blocks in the kernel for a reply is put to sleep and woken
when the reply comes. On an idle machine that can cost more than a
small call's round trip (an idle CPU halts, and in a virtual machine a
halted virtual CPU is woken through the host); on a busy one a thread
that polls instead takes a CPU the server may be waiting for, and is
slower. Neither holds everywhere, so a connection measures: its lone
calls (the only one in flight, read by their own thread) alternate
between polling for up to SPIN seconds and blocking at once for PROBE
calls, and the faster way, by the median of each, is kept for the next
HOLD calls; then it measures again. Polling must be faster by a tenth
to be chosen: with a server slower than SPIN both wait alike, and
blocking spends no CPU time on it.
"""

import os
import socket
import time

__all__ = ["SPIN", "PROBE", "HOLD", "Tuner", "poll_recv", "usable"]

SPIN = 100e-6
PROBE = 32
HOLD = 4096

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_yield = getattr(os, "sched_yield", None) or (lambda: None)
_clock = time.perf_counter


def usable(sock):
    """Report whether sock can be polled: a plain socket (a TLS one
    reads records, not bytes), on a system with MSG_DONTWAIT."""
    return bool(_DONTWAIT) and isinstance(sock, socket.socket)


def poll_recv(sock, view):
    """sock.recv_into(view) without blocking, tried for up to SPIN
    seconds, yielding the CPU between tries to a thread waiting for it:
    the bytes read (0: the end of the stream), or None when none came."""
    recv_into = sock.recv_into
    end = _clock() + SPIN
    while True:
        try:
            return recv_into(view, 0, _DONTWAIT)
        except BlockingIOError:
            if _clock() >= end:
                return None
            _yield()


class Tuner:
    """A connection's choice between polling and blocking (the reading
    thread's alone)."""

    __slots__ = ("left", "probing", "on", "polled", "blocked")

    def __init__(self):
        self.left = PROBE  # calls left in this phase
        self.probing = True
        self.on = False  # polling won the last probe
        self.polled = []  # wait times of the probe's calls, polled and not
        self.blocked = []

    def poll(self):
        """Report whether the next lone call polls."""
        if self.probing:
            return not self.left & 1
        return self.on

    def took(self, polled, seconds):
        """Note a lone call's wait for its reply (seconds, timed while
        probing)."""
        self.left -= 1
        if self.probing:
            (self.polled if polled else self.blocked).append(seconds)
            if self.left <= 0:
                self.on = bool(self.polled and self.blocked) and _median(self.polled) < 0.9 * _median(self.blocked)
                self.polled, self.blocked = [], []
                self.probing, self.left = False, HOLD
        elif self.left <= 0:
            self.probing, self.left = True, PROBE


def _median(v):
    v.sort()
    return v[len(v) // 2]
