"""Callbacks (PROTOCOL.md §13): the Python callables passed among a
call's arguments, which the server calls back while the call runs.

A call's callables are replaced by their slots (0, 1, ... in argument
order) and kept in a CallCallbacks with the call. A callback frame names
the call by id and the callable by slot: nothing else of the client is
reachable. Each invocation runs once, on a Runner's bounded pool of
threads (the sync client) or as a task (AsyncClient), and is answered
with a callback reply. Within a session an invocation the server sends
again (after a resume) is not run again: its kept reply is sent again,
or, while it still runs, its reply goes to the connection current when it
ends, which is the one the frame came again on.

A sync callable cannot be interrupted: the end of its invocation (its
timeout, a callback cancel, the end of its call) only keeps one that has
not started yet from running. An asyncio coroutine's task is canceled.
"""

import concurrent.futures
import threading
import time

from . import _wire
from .errors import REGISTERED, RemoteError

__all__ = ["DEFAULT_LIMIT", "CallCallbacks", "Runner", "extract", "error_object", "results_body"]

# Invocations a client runs at once per connection (the Go client's
# DefaultClientCallbacks); past it, resource_exhausted without running.
DEFAULT_LIMIT = 256

# Threads of a sync client's pool: invocations past them wait their turn.
DEFAULT_THREADS = 16

# The number of each code's name in an error object (PROTOCOL.md §4).
CODE_NUMBERS = {
    "application": 1, "not_found": 2, "invalid_argument": 3, "internal": 4, "unavailable": 5,
    "connection_lost": 6, "canceled": 7, "deadline_exceeded": 8, "resource_exhausted": 9,
    "unauthenticated": 10, "permission_denied": 11,
}

EXPIRED = "simplerpc.callback_expired"


def has_callables(args):
    """Report whether a call's argument list holds a callable."""
    for a in args:
        if callable(a):
            return True
    return False


def extract(args):
    """Return (args with each callable replaced by its slot, the
    callables)."""
    funcs = []
    out = []
    for a in args:
        if callable(a):
            out.append(len(funcs))
            funcs.append(a)
        else:
            out.append(a)
    return out, funcs


def callback_name(method, slot):
    """How errors name the callable in slot of a call of method."""
    return "%s callback %d" % (method, slot) if method else "callback %d" % slot


def error_object(e, method):
    """The error object [code, message, method, type, stack, name,
    detail?] of an exception a callable raised: a RemoteError (such as
    ApplicationError or a class given to register_error) travels with its
    code and name, anything else as internal. Tracebacks stay here."""
    if isinstance(e, RemoteError):
        code = e.code or "application"
        name = e.name
        if name is None:
            for n, cls in REGISTERED.items():
                if type(e) is cls:
                    name = n
                    break
        obj = [CODE_NUMBERS.get(code, 4), e.message, method, e.type or type(e).__name__, "", name or ""]
        if e.detail is not None:
            obj.append(e.detail)
        return obj
    return [4, "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__, method,
            type(e).__qualname__, "", ""]


def results_array(value):
    """A callable's return value as a results array: None is no results,
    a tuple several, anything else one."""
    if value is None:
        return []
    if isinstance(value, tuple):
        return list(value)
    return [value]


def reply_frame(codec, call_id, inv, method, value=None, error=None, max_body=None):
    """The callback reply frame of an invocation that returned value or
    raised error."""
    if error is None:
        try:
            body = codec.encode(results_array(value))
        except Exception as e:  # a result the codec cannot write
            error = RemoteError("the callback's results could not be encoded: %s" % e, code="internal")
        else:
            if max_body is not None and len(body) + 10 > max_body:
                error = RemoteError("callback reply of %d bytes exceeds the server's %d-byte limit"
                                    % (len(body), max_body), code="resource_exhausted")
            else:
                return _wire.callback_reply(call_id, inv, body)
    try:
        body = codec.encode(error_object(error, method))
    except Exception as e:  # a detail the codec cannot write
        body = codec.encode([4, "the error could not be encoded: %s" % e, method, "", "", ""])
    return _wire.callback_reply(call_id, inv, body, error=True)


class _Invocation:
    __slots__ = ("done", "reply", "ended", "task")

    def __init__(self):
        self.done = False
        self.reply = None  # the reply frame, kept to send again
        self.ended = False  # its context ended: canceled, or the call is over
        self.task = None  # an asyncio task running it


class CallCallbacks:
    """The callables of one call and the invocations seen for it; guarded
    by its own lock (the sync reader and pool threads share it)."""

    __slots__ = ("funcs", "method", "seen", "floor", "ended", "mu")

    def __init__(self, funcs, method):
        self.funcs = funcs
        self.method = method
        self.seen = {}  # invocation -> _Invocation
        self.floor = 0  # every invocation up to it is settled on the server
        self.ended = False  # the call is over
        self.mu = threading.Lock()

    def repeat(self, inv, settled):
        """Forget the invocations the server says are settled, and return
        (seen before, the kept reply to send again or None)."""
        with self.mu:
            if settled > self.floor:
                self.floor = settled
                for n in [n for n, i in self.seen.items() if n <= settled and i.done]:
                    del self.seen[n]
            if inv <= self.floor:
                return True, None
            i = self.seen.get(inv)
            if i is None:
                return False, None
            return True, i.reply

    def start(self, inv):
        """Record inv as running; None when the call is over."""
        with self.mu:
            if self.ended:
                return None
            i = self.seen[inv] = _Invocation()
            return i

    def done(self, inv, frame):
        """Record that inv has its reply frame, kept until settled."""
        with self.mu:
            i = self.seen.get(inv)
            if i is not None:
                i.done = True
                i.ended = True
                if inv <= self.floor:
                    del self.seen[inv]
                else:
                    i.reply = frame

    def cancel(self, inv):
        """End inv's context (a callback cancel); return its task, if any."""
        with self.mu:
            i = self.seen.get(inv)
            if i is None or i.done:
                return None
            i.ended = True
            return i.task

    def end(self):
        """The call is over: end every invocation; return their tasks."""
        with self.mu:
            self.ended = True
            tasks = [i.task for i in self.seen.values() if not i.done and i.task is not None]
            for i in self.seen.values():
                i.ended = True
            self.seen.clear()
        return tasks


class Runner:
    """Runs a sync client's invocations: at most limit at once (queued
    ones count), on a pool of at most threads threads, made when the
    first one comes and shut down by close()."""

    def __init__(self, limit=DEFAULT_LIMIT, threads=DEFAULT_THREADS):
        if limit < 1 or threads < 1:
            raise ValueError("callback limits must be at least 1")
        self.limit = limit
        self.threads = min(threads, limit)
        self._mu = threading.Lock()
        self._running = 0
        self._pool = None

    def acquire(self):
        """Take room for one invocation; False when there is none."""
        with self._mu:
            if self._running >= self.limit:
                return False
            self._running += 1
            return True

    def release(self):
        with self._mu:
            self._running -= 1

    def submit(self, job):
        with self._mu:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self.threads, "simplerpc-callback")
            pool = self._pool
        try:
            pool.submit(job)
        except RuntimeError:  # shut down meanwhile
            self.release()

    def close(self):
        """Shut the pool down (those queued do not run); a later
        invocation makes a new one."""
        with self._mu:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def deadline_of(timeout):
    return None if timeout is None else time.monotonic() + timeout
