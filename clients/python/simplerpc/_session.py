"""One session of the native protocol (PROTOCOL.md §6): its id, its
current connection, the calls waiting for replies, and the reading of
replies, shared by the threads that call through it.

Nobody reads in the background. The thread whose call is waiting reads
the connection itself when no other thread is reading (the leader), files
every reply it reads for its caller, and, once its own reply is in, hands
the reading over to another waiting caller. A lone caller thus sends its
call with one sendall and reads its reply with one recv (or, where its
connection finds polling faster, with a poll's tries: _spin). Writes are
shared the same way: a call goes into a queue, and the thread that holds
the write lock, or takes it next, writes everything queued with one
sendall before it lets go (_unlock_w), so that threads calling at once
send their calls together.

Locks, in the order they nest: connect_mu (dialing), then wmu (writes to
the connection, and swapping it), then mu (the call table, the reading
turn). mu is never held across a socket call.

A call's life:

    register (id, in calls) ── sent on conn ── reply read ──► done
        │                         │ connection breaks
        │                         ▼
        │                resume: sent again on the new conn
        │                not resumed / no new conn: connection_lost
        └── timeout / KeyboardInterrupt: taken out, cancel sent

A stream's life (PROTOCOL.md §12), a call flagged stream with a
_StreamState, in the call table until it is over:

    open_stream ── window 0/0: open ── items in, windows out (and back) ── reply: over
        │                  │ cancel_stream (break, close, timeout): cancel sent, over
        │                  │ its connection breaks: connection_lost, over (never sent again)
        └── reply before the window: the method failed before its stream started

Items are queued on the stream by whichever thread reads, and taken by
the stream's consumer (next_item), which reports them consumed in window
frames; a thread sending the stream beside its consumer waits on a
waiter _Call of its own (sender), woken with the stream's.
"""

import collections
import io
import secrets
import select
import socket
import struct
import threading
import time

from . import _callbacks, _codec, _spin, _wire
from ._callbacks import callback_name
from .errors import (CanceledError, ConnectionLostError, DeadlineExceededError, InternalError, InvalidArgumentError, NotRun,
                     NotSent, new_error)
from .retry import DEFAULT_RETRY

__all__ = ["Session", "result", "error_from_object", "CODES"]

# Keepalive (PROTOCOL.md §7): ping after this much silence while a call
# waits, give the connection up when nothing arrives for as long again.
KEEPALIVE_INTERVAL = 15.0
KEEPALIVE_TIMEOUT = 10.0

# Acks: after this many replies or bytes of them (PROTOCOL.md §6).
ACK_EVERY = 128
ACK_BYTES = 1 << 20

# A write that makes no progress for this long breaks the connection.
WRITE_TIMEOUT = 30.0

# A connection idle for longer is checked for a close by the server
# before a call is sent on it.
IDLE_CHECK = 1.0

_READ_CHUNK = 256 << 10

_clock = time.perf_counter

# The codes of the error object (PROTOCOL.md §4).
CODES = {
    1: "application", 2: "not_found", 3: "invalid_argument", 4: "internal",
    5: "unavailable", 6: "connection_lost", 7: "canceled", 8: "deadline_exceeded",
    9: "resource_exhausted", 10: "unauthenticated", 11: "permission_denied",
}


class _Conn:
    """One connection of a session: the socket, its read buffer (the
    reading thread's alone) and its counters."""

    __slots__ = ("sock", "max_body", "buf", "start", "end", "frames", "dead", "last_rx", "last_tx", "ping_at",
                 "rcvtimeo", "rcvsecs", "mid", "streams", "error", "callbacks", "spin")

    # The socket is in blocking mode, and its waits are bounded by the
    # kernel (SO_RCVTIMEO, SO_SNDTIMEO): one system call per read or
    # write, where a Python socket timeout adds a poll before each.

    def __init__(self, sock, max_body, streams=False, callbacks=False):
        self.sock = sock
        self.streams = streams  # the welcome granted streams
        self.callbacks = callbacks  # the welcome granted callbacks
        self.error = None  # why the client gave the connection up, if it broke the protocol
        self.rcvtimeo = None
        self.rcvsecs = -1.0  # the seconds read_timeout last set, rounded
        # Polls for lone calls' replies, or not (_spin); None: the socket
        # cannot be polled (TLS).
        self.spin = _spin.Tuner() if _spin.usable(sock) else None
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(WRITE_TIMEOUT))
        self.max_body = max_body
        self.buf = bytearray(_READ_CHUNK)
        self.start = 0  # buf[start:end] holds bytes read, not yet parsed
        self.end = 0
        self.frames = 0  # frames read, for acks
        self.dead = False
        self.last_rx = self.last_tx = time.monotonic()
        self.ping_at = None  # when the keepalive ping went out
        self.mid = False  # a frame is taken from the buffer and not yet filed

    def read_timeout(self, seconds):
        """Bound the next reads to seconds (None: no bound), or a little
        less: rounded down to whole seconds above one, to hundredths
        above a tenth, so that the timeout of one read is the timeout of
        the next, and setting it is a system call saved. (A read that
        times out early is retried for what remains.)"""
        if seconds is not None:
            if seconds > 1:
                seconds = float(int(seconds))
            elif seconds > 0.1:
                seconds = int(seconds * 100) / 100
        if seconds == self.rcvsecs:
            return
        self.rcvsecs = seconds
        tv = _timeval(seconds) if seconds is not None else _timeval(0)
        if tv != self.rcvtimeo:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
            self.rcvtimeo = tv

    def kill(self):
        if not self.dead:
            self.dead = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


_allocate_lock = threading.Lock


def _wake(c):
    """Wake c's caller if it is blocked (under the session's mu), and the
    thread sending c's stream, if one waits for it."""
    if c.waiting:
        c.waiting = False
        c.wake.release()
    st = c.stream
    if st is not None and st.sender is not None:
        w = st.sender
        w.ev = True
        if w.waiting:
            w.waiting = False
            w.wake.release()


class _Call:
    __slots__ = ("id", "frame", "method", "conn", "done", "flags", "body", "error", "wake", "waiting", "pong",
                 "stream", "ev", "cb", "canceled")

    def __init__(self, frame, method):
        self.frame = frame
        self.method = method
        self.conn = None  # the connection it was last sent on (set under wmu and mu)
        self.done = False
        self.canceled = False  # forgotten by its caller (under mu): not to be sent
        self.flags = 0
        self.body = None
        self.error = None
        # wake is held while nobody has woken the caller: it blocks on
        # acquiring it, and one wake releases it. waiting (under the
        # session's mu) says a caller is blocked and no wake is pending.
        self.wake = _allocate_lock()
        self.wake.acquire()
        self.waiting = False
        self.pong = False  # a ping waiting for its pong, not a call
        self.stream = None  # a _StreamState: the call opened a stream
        self.ev = False  # an item or a window arrived for the stream (under mu)
        self.cb = None  # a _callbacks.CallCallbacks: the callables passed with the call


class _StreamState:
    """The client's half of one stream (PROTOCOL.md §12); its fields are
    guarded by the session's mu."""

    __slots__ = ("items", "held", "consumed_items", "consumed_cost", "reported", "sent", "peer", "opened",
                 "half_closed", "received", "sender")

    def __init__(self):
        self.items = collections.deque()  # item bodies received, not consumed
        self.held = 0  # their cost
        self.consumed_items = 0  # consumed so far, and their cost: what window frames report
        self.consumed_cost = 0
        self.reported = 0  # the cost in the last window frame sent
        # The cost received: the server may send while what it sent, less
        # what was reported, is below the window; received - reported at
        # the window when an item arrives is a violation, however much of
        # it has been consumed since.
        self.received = 0
        self.sent = 0  # the cost of the items sent
        self.peer = (0, 0)  # the server's last window frame: items, cost
        self.opened = False  # the server's window frame said the stream is open
        self.half_closed = False  # the end of the client's half was sent
        self.sender = None  # the waiter of the thread that sends the stream, beside its reader


class Session:
    """A session with one server. dial() returns a connected socket (TLS
    included); codec names the hello's codec. Safe for threads."""

    def __init__(self, dial, codec, on_goaway=None, retry=None, runner=None, codec_obj=None):
        self._dial = dial
        # Callbacks (PROTOCOL.md §13): runner runs them, None refuses them
        # (the hello does not ask); codec_obj encodes their replies.
        self._runner = runner
        self._codec_obj = codec_obj
        self._retry = retry or DEFAULT_RETRY
        self._codec = codec
        self._on_goaway = on_goaway
        self.sid = secrets.token_bytes(16)
        self._named = False  # a hello named sid: later ones resume it
        self.connect_mu = threading.Lock()
        self.wmu = threading.Lock()  # guards conn (swaps) and writes to it
        # Calls registered and not yet written: whoever holds wmu, or
        # takes it next, writes every one queued with one sendall
        # (_unlock_w), so that threads calling at once share a write.
        self.sendq = collections.deque()
        self.mu = threading.Lock()  # guards everything below
        self.conn = None
        self.calls = {}  # id -> _Call waiting for its reply
        self.next_id = 1
        self.reading = False
        self.going_away = False
        self.closed = False
        self._settled = 0
        self._settled_bytes = 0
        self.doomed = collections.deque()  # streams whose finalizer could not cancel them
        # Ids of streams failed when their connection broke: the server may
        # keep them for a resume this client does not make, so the
        # connection that resumes the session cancels them (_lost_cancels).
        self.lost_streams = []

    # ---- connecting -------------------------------------------------------

    def _handshake(self, deadline=None):
        """Dial and greet, within deadline; return (conn, resumed)."""
        try:
            sock = self._dial(None if deadline is None else max(deadline - time.monotonic(), 0.001))
        except OSError as e:
            raise NotSent(e) from e
        try:
            resume = self._named
            self._named = True
            sock.sendall(_wire.hello(self._codec, self.sid, resume, callbacks=self._runner is not None))
            welcome = _read_exactly(sock, _wire.WELCOME_SIZE)
            status, resumed, max_body = _wire.parse_welcome(welcome)
            streams = _wire.welcome_streams(welcome)
            callbacks = self._runner is not None and _wire.welcome_callbacks(welcome)
        except (OSError, _wire.ProtocolError) as e:
            sock.close()
            raise NotSent(e) from e
        if status == _wire.STATUS_SESSION_REFUSED:
            sock.close()
            return None, False
        if status != 0:
            sock.close()
            raise NotSent(ConnectionRefusedError(
                "the server refused the hello: %s" % _wire.STATUSES.get(status, "status %d" % status)))
        sock.settimeout(None)  # blocking: the kernel's timeouts bound waits (_Conn)
        return _Conn(sock, max_body, streams, callbacks), resumed

    def connected(self):
        """The current connection, made if there is none. Raises NotSent
        when none can be made."""
        conn = self.conn
        if conn is not None and not conn.dead:
            if time.monotonic() - conn.last_rx < IDLE_CHECK or self.reading or not _readable(conn.sock):
                return conn
            self._drain_idle(conn)
            if not conn.dead:
                return conn
        return self._reconnect(conn)

    def _drain_idle(self, conn):
        """Read what arrived on a connection nobody reads (a ping, the
        server closing it) before a call is sent on it."""
        with self.mu:
            if self.reading:
                return
            self.reading = True
        try:
            while not conn.dead and _readable(conn.sock):
                self._read_frame(conn, KEEPALIVE_TIMEOUT)
        except (OSError, _wire.ProtocolError):
            conn.kill()
        finally:
            self._handoff()

    def _reconnect(self, old, deadline=None):
        """Replace the broken connection old (or none); with calls in
        flight, resume the session and send them again. Raises NotSent if
        no connection could be made."""
        with self.connect_mu:
            conn = self.conn
            if conn is not old and conn is not None and not conn.dead:
                return conn
            if self.closed:
                raise NotSent(ConnectionError("the client is closed"))
            new, resumed = self._handshake(deadline)
            lost = None
            if new is None:  # session refused: a new id, the calls in flight are lost
                lost = "the server refused to resume the session"
                self.sid = secrets.token_bytes(16)
                self._named = False
                new, resumed = self._handshake()
                if new is None:
                    raise NotSent(ConnectionRefusedError("the server refused a new session"))
            elif not resumed and old is not None:
                lost = "the server no longer had the session (it restarted, or dropped it)"
            if lost:
                self.fail_all(ConnectionLostError, "connection lost while the call was in flight (it may or may not "
                              "have run): " + lost, lambda c: c.conn is not None)
            self._fail_streams(old)
            cancels = self._lost_cancels(resumed)
            self.wmu.acquire()
            try:
                self.conn = new
                with self.mu:
                    again = [c for c in self.calls.values() if c.conn is not new]
                    for c in again:
                        c.conn = new
                try:
                    if cancels:
                        _wire.sendall(new.sock, cancels)
                    for c in again:
                        _wire.sendall(new.sock, c.frame)
                except OSError:
                    new.kill()
            finally:
                self._unlock_w()
            return new

    # ---- calls ------------------------------------------------------------

    def register(self, flags, body, method, stream=None, cb=None):
        """Give a call (its frame's flags and body) an id and put it in the
        table."""
        while self.doomed:
            self.cancel_stream(self.doomed.popleft())
        with self.mu:
            if self.going_away or self.closed:
                raise NotRun("the session is going away")
            call_id = self.next_id
            self.next_id += 1
            c = _Call(_wire.frame_of(_wire.HEADER.pack(len(body), _wire.CALL, flags, call_id), body), method)
            c.id = call_id
            c.stream = stream
            c.cb = cb
            self.calls[call_id] = c
        return c

    def send(self, c):
        """Send a registered call on the current connection, unless a
        reconnect already did. The call is queued: when another thread is
        writing, that thread sends it with whatever else is queued, and
        send returns at once."""
        self.sendq.append(c)
        if self.wmu.acquire(False):
            self._unlock_w()
        # Otherwise the thread holding wmu sends it as it lets go.

    def _unlock_w(self):
        """Release wmu, having written every queued call first; again
        while calls queued as it let go and nobody else took wmu."""
        q = self.sendq
        while True:
            try:
                if q:
                    self._write_queued()
            finally:
                self.wmu.release()
            # A call queued between the last look and the release found
            # wmu held: it is this thread's to send.
            if not q or not self.wmu.acquire(False):
                return

    def _write_queued(self):
        """Write the queued calls with one write (under wmu). A call
        failed or canceled before it went (a timeout, a go-away) is not
        sent; one a reconnect already sent is not sent again."""
        conn = self.conn
        try:
            self._write_batches(conn)
        except OSError:
            conn.kill()  # the reader resumes the session and sends them again
        except BaseException:
            # A KeyboardInterrupt: calls were taken from the queue, and
            # maybe half written. Give the connection up, so that the
            # session's resume sends every waiting call again.
            if conn is not None:
                conn.kill()
            raise

    def _write_batches(self, conn):
        """Write what is queued on conn, batch after batch, until nothing
        more was queued while the last batch went."""
        q = self.sendq
        while q:
            batch = []
            with self.mu:
                while q:
                    c = q.popleft()
                    if conn is not None and not conn.dead and c.conn is not conn and not c.done and not c.canceled:
                        c.conn = conn
                        batch.append(c.frame)
            if not batch:
                return
            if len(batch) == 1:
                _wire.sendall(conn.sock, batch[0])
            elif any(isinstance(f, _wire.Parts) for f in batch):
                frames = _wire.Parts()
                for f in batch:
                    frames.extend(f.iter() if isinstance(f, _wire.Parts) else (f,))
                _wire.sendall(conn.sock, frames)
            else:
                conn.sock.sendall(b"".join(batch))
            conn.last_tx = time.monotonic()

    def send_all(self, calls):
        """Send several registered calls with one write."""
        self.sendq.extend(calls)
        self.wmu.acquire()
        self._unlock_w()

    def ping(self, deadline):
        """Send a ping and wait (until deadline, monotonic) for its pong."""
        with self.mu:
            token = self.next_id
            self.next_id += 1
            c = _Call(_wire.frame(_wire.PING, token), "ping")
            c.id = token
            c.pong = True
            self.calls[token] = c
        self.send(c)
        try:
            self.wait(c, deadline)
        finally:
            with self.mu:
                self.calls.pop(token, None)
        if c.error is not None:
            raise c.error

    def forget_quietly(self, c):
        """Take c out of the table without canceling it (a notification:
        it runs, its reply is dropped)."""
        with self.mu:
            self.calls.pop(c.id, None)

    def forget(self, c):
        """Take c out of the table and cancel it on the server."""
        with self.mu:
            gone = self.calls.pop(c.id, None) is not None
            c.canceled = True  # not sent, if it is still queued
            sent = c.conn is not None
        if c.cb is not None:
            c.cb.end()
        if gone and sent:
            self._write(_wire.frame(_wire.CANCEL, c.id))

    def wait(self, c, deadline):
        """Wait until c is answered, reading for everyone when nobody else
        is. Raises DeadlineExceededError at deadline (monotonic); the
        caller cancels."""
        while True:
            with self.mu:
                if c.done or c.ev:
                    return
                lead = not self.reading
                if lead:
                    self.reading = True
                else:
                    c.waiting = True
            if lead:
                try:
                    self._lead(c, deadline)
                except DeadlineExceededError:
                    raise  # raised between frames: the stream is whole
                except BaseException:
                    # A KeyboardInterrupt that came between taking a frame
                    # from the buffer and filing it lost that frame: give
                    # the connection up, so that the session's resume sends
                    # every waiting call again and no reply is lost. (One
                    # that came while waiting for bytes lost nothing.)
                    conn = self.conn
                    if conn is not None and conn.mid:
                        conn.kill()
                    raise
                finally:
                    self._handoff()
                continue
            timeout = -1 if deadline is None else deadline - time.monotonic()
            if deadline is not None and timeout <= 0:
                with self.mu:
                    if c.waiting:
                        c.waiting = False
                    else:
                        c.wake.acquire()
                raise DeadlineExceededError("no reply within the call's timeout", method=c.method)
            if not c.wake.acquire(True, timeout):
                with self.mu:
                    if c.waiting:
                        c.waiting = False  # no wake is coming
                    else:
                        c.wake.acquire()  # one came as the wait ended: take it

    def _handoff(self):
        """Give the reading turn up, waking a caller to take it."""
        with self.mu:
            self.reading = False
            for other in self.calls.values():
                if other.waiting:
                    _wake(other)
                    break
                st = other.stream
                if st is not None and st.sender is not None and st.sender.waiting:
                    _wake(other)
                    break
            idle_goaway = self.going_away and not self.calls
        if idle_goaway:
            self.close()

    def _lead(self, c, deadline):
        """Read frames until c is answered (or fails), then file the
        replies already read, so that their callers need not read."""
        self._read_until(c, deadline)
        conn = self.conn
        try:
            while conn is not None and not conn.dead and _complete(conn):
                self._read_frame(conn, None)
        except _wire.ProtocolError as e:
            conn.error = str(e)
            conn.kill()
        except OSError:
            conn.kill()

    def _read_until(self, c, deadline):
        # A lone call — the only one in flight — polls for its reply or
        # not, as its connection's tuner says, and tells it how long the
        # reply took.
        tuner = None
        conn = self.conn
        if conn is not None and conn.spin is not None and len(self.calls) == 1 and c.stream is None:
            tuner = conn.spin
            polled = poll = tuner.poll()
            start = _clock() if tuner.probing else 0.0  # timed while it measures
        else:
            poll = False
        while not (c.done or c.ev):
            conn = self.conn
            if conn is None or conn.dead:
                self._fail_streams(conn)  # streams are not resumed: they fail first, saying why
                if c.stream is not None and c.conn is not None:
                    continue  # its own was among them
                self._resume(conn, deadline, c)
                continue
            wait = None
            now = time.monotonic()
            if deadline is not None:
                wait = deadline - now
                if wait <= 0:
                    raise DeadlineExceededError("no reply within the call's timeout", method=c.method)
            ka = (conn.last_rx + KEEPALIVE_INTERVAL if conn.ping_at is None else conn.ping_at + KEEPALIVE_TIMEOUT) - now
            if ka <= 0:
                if conn.ping_at is not None:
                    conn.kill()  # nothing arrived after the ping: the peer is gone
                    continue
                conn.ping_at = now
                self._write(_wire.frame(_wire.PING, 0))
                continue
            try:
                self._read_frame(conn, ka if wait is None else min(wait, ka), poll)
            except (socket.timeout, BlockingIOError):
                continue
            except _wire.ProtocolError as e:
                conn.error = str(e)
                conn.kill()
            except OSError:
                conn.kill()
            poll = False
        if tuner is not None and c.done:
            tuner.took(polled, _clock() - start if start else 0.0)

    def _resume(self, old, deadline, c):
        """Replace the broken connection old, trying as the retry policy
        allows; when no connection can be made, every waiting call fails
        (connection_lost: it may have run). The caller's deadline passing
        fails its call alone: the next reader tries on."""
        attempt = 0
        while True:
            attempt += 1
            try:
                self._reconnect(old, deadline)
                return
            except NotSent as e:
                err = e
            now = time.monotonic()
            wait = self._retry.backoff(attempt)
            if attempt >= self._retry.max_attempts:
                self.fail_all(ConnectionLostError, "connection lost while the call was in flight (it may or may "
                              "not have run), and no new one could be made: %s" % err.cause)
                return
            if deadline is not None and now + wait >= deadline:
                raise DeadlineExceededError("no reply within the call's timeout (reconnecting: %s)" % err.cause,
                                            method=c.method)
            time.sleep(wait)

    def _read_frame(self, conn, timeout, poll=False):
        """Read one frame from conn (waiting at most timeout seconds for
        its first bytes, polling for them first with poll: _spin) and
        file it."""
        buf = conn.buf
        if conn.end - conn.start < _wire.HEADER_SIZE:
            self._fill(conn, _wire.HEADER_SIZE, timeout, poll)
        size, kind, flags, frame_id = _wire.parse_header(buf, conn.start, max(conn.max_body, _wire.MAX_REPLY),
                                                         conn.streams, conn.callbacks)
        conn.mid = True
        start = conn.start + _wire.HEADER_SIZE
        if conn.end - start >= size:
            body = bytes(buf[start:start + size])
            conn.start = start + size
            if conn.start == conn.end:
                conn.start = conn.end = 0
        else:
            body = self._read_body(conn, kind, flags, size)
        conn.frames += 1
        if kind == _wire.REPLY:
            self._deliver(conn, frame_id, flags, body)
        elif kind == _wire.ITEM or kind == _wire.WINDOW:
            self._stream_frame(kind, frame_id, body)
        elif kind == _wire.CALLBACK:
            self._callback(conn, frame_id, body)
        elif kind == _wire.CALLBACK_CANCEL:
            self._callback_cancel(frame_id, body)
        elif kind == _wire.PING:
            self._write(_wire.frame(_wire.PONG, frame_id))
        elif kind == _wire.GOAWAY:
            self._goaway(flags & _wire.FLAG_FINAL)
        elif kind == _wire.PONG and frame_id:
            # The keepalive's pong (token 0) needs nothing: any bytes
            # arriving count as life.
            with self.mu:
                c = self.calls.get(frame_id)
                if c is not None and c.pong:
                    del self.calls[frame_id]
                    c.done = True
                    _wake(c)
        conn.mid = False

    def _read_body(self, conn, kind, flags, size):
        """The body of size bytes of the frame whose header is at
        conn.buf[conn.start:], not wholly in the buffer: read where it is
        kept, as bytes. bytes(n) is allocated untouched (calloc) and
        io.BytesIO lends it to recv_into while it holds the only
        reference, so the body is neither zeroed first nor copied after.
        A CBOR reply that is one byte string comes back as a BytesReply of
        the string alone, read the same way."""
        timeout = KEEPALIVE_INTERVAL + KEEPALIVE_TIMEOUT
        skip = 0
        # (Filling the buffer cannot bring the whole of a body larger than
        # the buffer.)
        if kind == _wire.REPLY and not flags and self._codec == "cbor" and size > len(conn.buf):
            if conn.end - conn.start < _wire.HEADER_SIZE + _codec.BYTES_REPLY_HEAD:
                try:
                    self._fill(conn, _wire.HEADER_SIZE + _codec.BYTES_REPLY_HEAD, timeout)
                except (socket.timeout, BlockingIOError):
                    raise ConnectionError("the server stopped in the middle of a reply") from None
            skip = _codec.bytes_reply_head(conn.buf, conn.start + _wire.HEADER_SIZE, size)
        start = conn.start + _wire.HEADER_SIZE + skip
        have = conn.end - start
        bio = io.BytesIO(bytes(size - skip))
        view = bio.getbuffer()
        try:
            if have:
                with memoryview(conn.buf) as buffered:
                    view[:have] = buffered[start:conn.end]
            conn.start = conn.end = 0
            conn.read_timeout(timeout)
            while have < len(view):
                try:
                    n = conn.sock.recv_into(view[have:])
                except (socket.timeout, BlockingIOError):
                    raise ConnectionError("the server stopped in the middle of a reply") from None
                if not n:
                    raise ConnectionError("the server closed the connection")
                have += n
        finally:
            view.release()
        conn.last_rx = time.monotonic()
        body = bio.getvalue()
        return _codec.BytesReply(body, size) if skip else body

    def _fill(self, conn, need, timeout, poll=False):
        """Read until conn.buf holds need unparsed bytes; with poll, poll
        for them first (_spin)."""
        buf = conn.buf
        if conn.start and len(buf) - conn.start < need:
            n = conn.end - conn.start
            buf[:n] = buf[conn.start:conn.end]
            conn.start, conn.end = 0, n
        view = memoryview(buf)
        if poll:
            n = _spin.poll_recv(conn.sock, view[conn.end:])
            if n == 0:
                raise ConnectionError("the server closed the connection")
            if n:
                conn.end += n
                conn.last_rx = time.monotonic()
                conn.ping_at = None
        conn.read_timeout(timeout)
        while conn.end - conn.start < need:
            n = conn.sock.recv_into(view[conn.end:])
            if not n:
                raise ConnectionError("the server closed the connection")
            conn.end += n
            conn.last_rx = time.monotonic()
            conn.ping_at = None

    def _deliver(self, conn, call_id, flags, body):
        with self.mu:
            c = self.calls.pop(call_id, None)
            if c is not None:
                if c.cb is not None:
                    c.cb.end()
                c.flags = flags
                c.body = body
                c.done = True
                _wake(c)
            self._settled += 1
            self._settled_bytes += len(body)
            if self._settled < ACK_EVERY and self._settled_bytes < ACK_BYTES:
                return
            self._settled = self._settled_bytes = 0
            upto = (min(self.calls) if self.calls else self.next_id) - 1
            frames = conn.frames
        self._write(_wire.ack(upto, frames))

    def _goaway(self, final):
        with self.mu:
            self.going_away = True
            lost = list(self.calls.values()) if final else []
            if final:
                self.calls.clear()
            for c in lost:
                if c.cb is not None:
                    c.cb.end()
                c.error = NotRun("the server is shutting down: call not run")
                c.done = True
                _wake(c)
        if self._on_goaway is not None:
            self._on_goaway(self)

    # ---- callbacks (PROTOCOL.md §13) -------------------------------------

    def _callback(self, conn, call_id, body):
        """Run the invocation a callback frame asks for, or answer why not."""
        slot, inv, settled, timeout, pos = _wire.parse_callback(body)
        with self.mu:
            c = self.calls.get(call_id)
            cb = c.cb if c is not None else None
        if cb is None:
            self._refuse(call_id, inv, "unavailable", "%s (no call %d is running here)"
                         % (_callbacks.EXPIRED, call_id), callback_name("", slot), _callbacks.EXPIRED)
            return
        name = callback_name(cb.method, slot)
        if slot >= len(cb.funcs):
            self._refuse(call_id, inv, "invalid_argument", "call %d passed %d callable(s): there is no callback %d; "
                         "not run" % (call_id, len(cb.funcs), slot), name)
            return
        seen, reply = cb.repeat(inv, settled)
        if reply is not None:
            self._write(reply)  # answered before: the same reply again
            return
        if seen:
            return  # running (its reply goes to the current connection), or settled
        runner = self._runner
        if not runner.acquire():
            self._refuse(call_id, inv, "resource_exhausted", "the client runs at most %d callbacks at once on a "
                         "connection; not run" % runner.limit, name)
            return
        state = cb.start(inv)
        if state is None:
            runner.release()
            self._refuse(call_id, inv, "unavailable", _callbacks.EXPIRED, name, _callbacks.EXPIRED)
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        args = body[pos:]
        runner.submit(lambda: self._run_callback(cb, call_id, inv, slot, state, deadline, args, conn.max_body))

    def _run_callback(self, cb, call_id, inv, slot, state, deadline, args, max_body):
        """Run one invocation on a pool thread and send its reply."""
        name = callback_name(cb.method, slot)
        try:
            value = error = None
            if state.ended:
                error = CanceledError("the invocation ended before it started; not run")
            elif deadline is not None and time.monotonic() >= deadline:
                error = DeadlineExceededError("the invocation's timeout passed before it started; not run")
            else:
                try:
                    decoded = self._codec_obj.decode(args)
                    if not isinstance(decoded, list):
                        raise ValueError("the arguments are not an array")
                except Exception as e:
                    error = InvalidArgumentError("malformed callback arguments: %s" % e)
                else:
                    try:
                        value = cb.funcs[slot](*decoded)
                    except Exception as e:  # the callable's error travels back; the client goes on
                        error = e
            frame = _callbacks.reply_frame(self._codec_obj, call_id, inv, name, value, error, max_body)
            cb.done(inv, frame)
            self._write(frame)  # on the current connection: the one a resume sends the frame again on
        finally:
            self._runner.release()

    def _refuse(self, call_id, inv, code, message, method, name=None):
        """Answer an invocation the client does not run."""
        err = new_error(code, message, name=name)
        self._write(_callbacks.reply_frame(self._codec_obj, call_id, inv, method, error=err))

    def _callback_cancel(self, call_id, body):
        inv = _wire.parse_invocation(body)
        with self.mu:
            c = self.calls.get(call_id)
        if c is not None and c.cb is not None:
            c.cb.cancel(inv)

    # ---- streams (PROTOCOL.md §12) ---------------------------------------

    def _stream_frame(self, kind, frame_id, body):
        """File an item or a window frame with its stream; one for a
        stream that has ended is dropped. An item past the window is a
        violation (ProtocolError)."""
        with self.mu:
            c = self.calls.get(frame_id)
            if c is None or c.stream is None:
                return
            st = c.stream
            if kind == _wire.ITEM:
                if st.received - st.reported >= _wire.STREAM_WINDOW:
                    raise _wire.ProtocolError("the server sent call %d's stream (%s) past its window of %d"
                                              % (frame_id, c.method, _wire.STREAM_WINDOW))
                st.items.append(body)
                cost = _wire.item_cost(len(body))
                st.held += cost
                st.received += cost
            else:
                st.peer = _wire.parse_window(body, st.peer)
                st.opened = True
            c.ev = True
            _wake(c)

    def _fail_streams(self, conn):
        """Fail every stream sent on conn, which broke: streams are not
        resumed on another connection."""
        why = "the connection broke with the stream open (streams are not resumed)"
        if conn is not None and conn.error:
            why += ": " + conn.error
        failed = self.fail_all(ConnectionLostError, why,
                               lambda c: c.stream is not None and c.conn is not None and (c.conn is conn or c.conn.dead))
        self.lost_streams.extend(c.id for c in failed)

    def _lost_cancels(self, resumed):
        """The cancel frames of the streams failed since the last
        connection, for the connection that resumed the session; none if
        it started a new one."""
        ids, self.lost_streams = self.lost_streams, []
        if not resumed:
            return b""
        return b"".join(_wire.frame(_wire.CANCEL, i) for i in ids)

    def open_stream(self, flags, body, method, end):
        """Register and send a call that opens a stream; end: send the end
        of the client's half at once (the method takes no stream)."""
        c = self.register(flags | _wire.FLAG_STREAM, body, method, _StreamState())
        if end:
            end_frame = _wire.item_end(c.id)
            if isinstance(c.frame, _wire.Parts):
                c.frame.append(end_frame)
            else:
                c.frame += end_frame
            c.stream.half_closed = True
        self.send(c)
        return c

    def wait_open(self, c, deadline):
        """Wait until the server says c's stream is open, or answers it."""
        st = c.stream
        while True:
            with self.mu:
                c.ev = False
                if st.opened or c.done:
                    return
            self.wait(c, deadline)

    def next_item(self, c, deadline):
        """The body of the next item of c's stream, waiting for it; None
        once the stream is over (c.done: its reply or error is in)."""
        st = c.stream
        while True:
            with self.mu:
                c.ev = False
                if st.items:
                    body = st.items.popleft()
                    cost = _wire.item_cost(len(body))
                    st.held -= cost
                    st.consumed_items += 1
                    st.consumed_cost += cost
                    report = st.consumed_cost - st.reported >= _wire.REPORT_EVERY and not c.done
                    if report:
                        st.reported = st.consumed_cost
                        frame = _wire.window(c.id, st.consumed_items, st.consumed_cost)
                    conn = c.conn
                    break
                if c.done:
                    return None
            self.wait(c, deadline)
        if report:
            self._write_on(conn, frame)
        return body

    def send_item(self, c, body, deadline, waiter):
        """Send one item of c's stream once the window has room, waiting
        (as waiter, a _Call of the sending thread) for the server's window
        frames. Returns False when the stream is over (nothing sent)."""
        st = c.stream
        cost = _wire.item_cost(len(body))
        while True:
            with self.mu:
                waiter.ev = False
                if c.done:
                    return False
                if st.sent - st.peer[1] < _wire.STREAM_WINDOW:
                    st.sent += cost
                    conn = c.conn
                    break
            self.wait(waiter, deadline)
        self._write_on(conn, _wire.item(c.id, body))
        return True

    def end_stream(self, c):
        """End the client's half of c's stream."""
        with self.mu:
            st = c.stream
            if c.done or st.half_closed:
                return
            st.half_closed = True
            conn = c.conn
        self._write_on(conn, _wire.item_end(c.id))

    def sender(self, c):
        """A waiter for a thread that sends c's stream beside the one that
        receives it: woken by what wakes c."""
        w = _Call(b"", c.method)
        w.stream, w.conn = c.stream, c.conn  # a dead conn fails the stream, never resumes it
        c.stream.sender = w
        return w

    def cancel_stream(self, c, blocking=True):
        """End c's stream early: take it out, cancel it on the server.
        Without blocking (from a finalizer), a cancel that would wait for
        a lock is left for the next call to send."""
        if not blocking:
            if not self.mu.acquire(False):
                self.doomed.append(c)
                return
            self.mu.release()
            if not self.wmu.acquire(False):
                self.doomed.append(c)
                return
            self._unlock_w()
        with self.mu:
            gone = self.calls.pop(c.id, None) is not None
            if not c.done:
                c.done = True
                c.error = CanceledError("the stream was canceled by the client", method=c.method)
                _wake(c)
            conn = c.conn
        if gone and conn is not None:
            self._write_on(conn, _wire.frame(_wire.CANCEL, c.id))

    def _write_on(self, conn, data):
        """Write a frame of a stream on conn, the connection the stream
        lives on; nothing when it has broken or been replaced."""
        self.wmu.acquire()
        try:
            if conn is not self.conn or conn is None or conn.dead:
                return
            try:
                _wire.sendall(conn.sock, data)
                conn.last_tx = time.monotonic()
            except OSError:
                conn.kill()
        finally:
            self._unlock_w()

    def _write(self, data):
        """Write a control frame; a failure is the reader's to notice."""
        self.wmu.acquire()
        try:
            conn = self.conn
            if conn is None or conn.dead:
                return
            try:
                conn.sock.sendall(data)
            except OSError:
                conn.kill()
        finally:
            self._unlock_w()

    def fail_all(self, cls, message, which=None):
        """Fail every waiting call (for which which(call) holds), and
        return them."""
        with self.mu:
            failed = [c for c in self.calls.values() if which is None or which(c)]
            for c in failed:
                del self.calls[c.id]
                if c.cb is not None:
                    c.cb.end()
                c.error = cls(message, method=c.method)
                c.done = True
                _wake(c)
        return failed

    def close(self):
        """Close the connection; calls still waiting fail."""
        with self.mu:
            self.closed = True
        self.fail_all(ConnectionLostError, "the client was closed with the call in flight")
        self.wmu.acquire()
        try:
            conn, self.conn = self.conn, None
        finally:
            self._unlock_w()
        if conn is not None:
            conn.kill()

    def idle(self):
        with self.mu:
            return not self.calls


def result(c, decode):
    """The decoded results of an answered call, or raise its error."""
    if c.error is not None:
        raise c.error
    try:
        value = decode(c.body)
    except Exception as e:  # a body the codec cannot read
        raise InternalError("malformed reply (%d bytes): %s" % (len(c.body), e), method=c.method) from None
    if not isinstance(value, list):
        raise InternalError("malformed reply: not an array", method=c.method)
    if c.flags & _wire.FLAG_ERROR:
        raise error_from_object(value, c.method)
    return value


def error_from_object(obj, method):
    """The exception of an error object [code, message, method, type,
    stack, name, detail?] (PROTOCOL.md §4)."""
    if len(obj) < 6 or not isinstance(obj[0], int):
        return InternalError("malformed error reply", method=method)
    code = CODES.get(obj[0], "internal")  # an unknown code counts as internal
    return new_error(code, str(obj[1]), method=obj[2] or method, type=obj[3] or None,
                     traceback=obj[4] or None, name=obj[5] or None,
                     detail=obj[6] if len(obj) > 6 else None)


def _timeval(seconds):
    """seconds as a struct timeval; 0 is no timeout, so at least 1 µs."""
    if not seconds:
        return struct.pack("@ll", 0, 0)
    us = max(1, int(seconds * 1e6))
    return struct.pack("@ll", us // 1000000, us % 1000000)


def _complete(conn):
    """Report whether conn's buffer holds a whole frame."""
    n = conn.end - conn.start
    if n < _wire.HEADER_SIZE:
        return False
    size = int.from_bytes(conn.buf[conn.start:conn.start + 4], "big")
    return n >= _wire.HEADER_SIZE + size


def _read_exactly(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the server closed the connection during the handshake")
        buf += chunk
    return bytes(buf)


def _readable(sock):
    """Report whether sock has bytes (or an end of file) to read now."""
    try:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


