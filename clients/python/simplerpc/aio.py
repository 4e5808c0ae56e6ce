"""AsyncClient: the Client's surface for asyncio.

    async with simplerpc.AsyncClient(("127.0.0.1", 9000)) as client:
        await client.Calc.Add(1, 2)                  # 3
        await asyncio.gather(*(client.Calc.Add(i, i) for i in range(64)))

Natively, every task's calls share one connection of a resumable session
(PROTOCOL.md §6), read by one protocol object in the event loop; the
frames of calls made in one turn of the loop go out in one write. Over an
http:// URL each call runs the JSON-RPC transport in the loop's default
executor.

Ownership: an _AsyncSession owns its connection's transport, its
keepalive timer and at most one reconnect task; close() ends all three.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import io
import secrets
import sys
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

from . import _callbacks, _codec, _wire, streams
from ._describe import Description
from ._session import ACK_BYTES, ACK_EVERY, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, result
from .client import Address, Client, _check_metadata, parse_address
from .errors import (CanceledError, ConnectionLostError, NotFoundError, DeadlineExceededError, UnknownNameError, NotRun, NotSent, RemoteError,
                     InvalidArgumentError, ResourceExhaustedError, UnavailableError, new_error)
from .retry import DEFAULT_RETRY, RetryPolicy

if TYPE_CHECKING:
    import ssl

__all__ = ["AsyncClient"]

_DESCRIBE = "simplerpc.describe"


class _ACall:
    __slots__ = ("id", "frame", "method", "conn", "fut", "flags", "body", "error", "stream", "cb")

    def __init__(self, frame, method, fut):
        self.frame = frame
        self.method = method
        self.fut = fut
        self.conn = None
        self.flags = 0
        self.body = None
        self.error = None
        self.stream = None  # an _AStream: the call opened a stream
        self.cb = None  # a _callbacks.CallCallbacks: the callables passed with the call


def _settle(c):
    """Wake whoever waits on c's stream: its reply or failure is in."""
    if c.stream is not None:
        c.stream.ev.set()


class _Proto(asyncio.Protocol):
    """One connection: it parses frames from what arrives and hands them
    to its session."""

    def __init__(self, session):
        self.s = session
        self.transport = None
        self.buf = bytearray()
        self.welcome = asyncio.get_running_loop().create_future()
        self.max_body = 0
        self.frames = 0
        self.dead = False
        self.last_rx = time.monotonic()
        self.ping_at = None
        self.streams = False  # the welcome granted streams
        self.callbacks = False  # the welcome granted callbacks
        self.error = None  # the protocol violation the connection was given up for
        self.big = None  # a _BigBody: a large frame's body being read into its own bytes

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.last_rx = time.monotonic()
        self.ping_at = None
        if self.big is not None:
            data = self._fill_big(data)
            if data is None:
                return
        buf = self.buf
        buf += data
        if not self.welcome.done():
            if len(buf) < _wire.WELCOME_SIZE:
                return
            try:
                self.welcome.set_result(_wire.parse_welcome(bytes(buf[:_wire.WELCOME_SIZE])))
                self.streams = _wire.welcome_streams(buf)
                self.callbacks = self.s.cb_limit is not None and _wire.welcome_callbacks(buf)
            except _wire.ProtocolError as e:
                self.welcome.set_exception(ConnectionError(str(e)))
                self.transport.abort()
                return
            del buf[:_wire.WELCOME_SIZE]
        pos = 0
        n = len(buf)
        limit = max(self.max_body, _wire.MAX_REPLY)
        try:
            while n - pos >= _wire.HEADER_SIZE:
                size, kind, flags, frame_id = _wire.parse_header(buf, pos, limit, self.streams, self.callbacks)
                end = pos + _wire.HEADER_SIZE + size
                if end > n:
                    if size > _BIG_BODY and self._start_big(buf, pos, n, size, kind, flags, frame_id):
                        pos = n
                    break
                body = bytes(buf[pos + _wire.HEADER_SIZE:end])
                pos = end
                self.frames += 1
                self.s._frame(self, kind, flags, frame_id, body)
        except _wire.ProtocolError as e:
            self.error = str(e)
            self.transport.abort()
            return
        if pos:
            del buf[:pos]

    def _start_big(self, buf, pos, n, size, kind, flags, frame_id):
        """Start reading the body of the frame at buf[pos:], size bytes of
        which buf holds only part, into a bytes object of its own (as the
        threaded client does, _session.Session._read_body): a CBOR reply
        of one byte string into the string's own. Report whether it
        started; not yet when the heads of such a reply are still to
        come."""
        start = pos + _wire.HEADER_SIZE
        skip = 0
        if kind == _wire.REPLY and not flags and self.s.codec.name == "cbor":
            if n - start < _codec.BYTES_REPLY_HEAD:
                return False
            skip = _codec.bytes_reply_head(buf, start, size)
        big = _BigBody(size, skip, kind, flags, frame_id)
        with memoryview(buf) as have:
            big.add(have[start:n])
        self.big = big
        return True

    def _fill_big(self, data):
        """Add data to the large body being read; once it is whole, hand
        the frame to the session. Return what of data follows the body,
        or None when nothing does."""
        big = self.big
        data = memoryview(data)
        k = big.add(data)
        if big.have < big.need:
            return None
        self.big = None
        self.frames += 1
        try:
            self.s._frame(self, big.kind, big.flags, big.frame_id, big.body())
        except _wire.ProtocolError as e:
            self.error = str(e)
            self.transport.abort()
            return None
        return data[k:] if k < len(data) else None

    def connection_lost(self, exc):
        self.dead = True
        if self.big is not None:
            self.big.view.release()
            self.big = None
        if not self.welcome.done():
            self.welcome.set_exception(ConnectionError("the server closed the connection during the handshake"))
        self.s._lost(self)

    def write(self, data):
        if not self.dead:
            self.transport.write(data)


# A body larger than this, not yet whole, is read into its own bytes.
_BIG_BODY = 256 << 10


class _BigBody:
    """A large frame body being read into a bytes object of its own:
    bytes(n) is allocated untouched and io.BytesIO lends it while it holds
    the only reference, so getvalue() returns it without a copy. skip is
    the size of the heads of a CBOR reply of one byte string, which are
    not kept."""

    __slots__ = ("size", "skip", "kind", "flags", "frame_id", "bio", "view", "have", "need", "seen")

    def __init__(self, size, skip, kind, flags, frame_id):
        self.size, self.skip, self.kind, self.flags, self.frame_id = size, skip, kind, flags, frame_id
        self.need = size - skip
        self.bio = io.BytesIO(bytes(self.need))
        self.view = self.bio.getbuffer()
        self.have = 0
        self.seen = 0  # of the heads skipped

    def add(self, data):
        """Take what data holds of the body (after any heads still to
        skip); return how much of data that was."""
        k = 0
        if self.seen < self.skip:
            k = min(self.skip - self.seen, len(data))
            self.seen += k
        m = min(self.need - self.have, len(data) - k)
        self.view[self.have:self.have + m] = data[k:k + m]
        self.have += m
        return k + m

    def body(self):
        """The body read: bytes, or a BytesReply of the one byte string."""
        self.view.release()
        value = self.bio.getvalue()
        return _codec.BytesReply(value, self.size) if self.skip else value


class _Expired(Exception):
    """A callback's coroutine outlived its invocation's timeout."""


async def _within(awaitable, timeout):
    """Await awaitable for at most timeout seconds (None: no bound), then
    cancel it and raise _Expired; canceled with the task that awaits it.
    Unlike wait_for, a TimeoutError the callable raises is its own."""
    fut = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait((fut,), timeout=timeout)
    finally:
        if not fut.done():
            fut.cancel()
    if not done:
        await asyncio.wait((fut,))  # its end after the cancel (whatever it raised: the timeout is what it reports)
        raise _Expired()
    return fut.result()


class _AStream:
    """The client's half of one stream (PROTOCOL.md §12), in the loop."""

    __slots__ = ("items", "held", "consumed_items", "consumed_cost", "reported", "sent", "peer", "opened",
                 "half_closed", "received", "ev")

    def __init__(self):
        self.items = collections.deque()  # item bodies received, not consumed
        self.held = 0  # their cost
        self.consumed_items = 0  # consumed so far, and their cost
        self.consumed_cost = 0
        self.reported = 0  # the cost in the last window frame sent
        # The cost received: the server may send while what it sent, less
        # what was reported, is below the window; received - reported at
        # the window when an item arrives is a violation, however much of
        # it has been consumed since.
        self.received = 0
        self.sent = 0  # the cost of the items sent
        self.peer = (0, 0)  # the server's last window frame
        self.opened = False
        self.half_closed = False
        self.ev = asyncio.Event()  # set when an item, a window or the end arrives


class _AsyncSession:
    """A session with one server, in one event loop."""

    def __init__(self, host, port, codec, ssl_context, server_hostname, connect_timeout, retry, on_goaway,
                 cb_limit=_callbacks.DEFAULT_LIMIT):
        self.host, self.port = host, port
        # Callbacks (PROTOCOL.md §13): at most cb_limit invocations run at
        # once, each a task in cb_tasks; None refuses them.
        self.cb_limit = cb_limit
        self.cb_tasks = set()
        self.codec = codec
        self.ssl = ssl_context
        self.server_hostname = server_hostname
        self.connect_timeout = connect_timeout
        self.retry = retry
        self.on_goaway = on_goaway
        self.loop = asyncio.get_running_loop()
        self.sid = secrets.token_bytes(16)
        self.named = False
        self.conn = None
        self.calls = {}
        self.next_id = 1
        self.going_away = False
        self.closed = False
        self.connecting = None  # the task dialing, awaited by every caller
        self.resuming = None  # the task reconnecting for calls in flight
        self.out = []  # frames queued for the next flush
        self.lost_streams = []  # ids of streams failed with their connection: canceled on the resumed one
        self.flush_handle = None
        self.keepalive = None
        self.settled = self.settled_bytes = 0

    # ---- connecting -------------------------------------------------------

    async def _handshake(self):
        try:
            _, proto = await asyncio.wait_for(self.loop.create_connection(
                lambda: _Proto(self), self.host, self.port, ssl=self.ssl,
                server_hostname=(self.server_hostname or self.host) if self.ssl else None),
                self.connect_timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise NotSent(e) from e
        resume = self.named
        self.named = True
        proto.transport.write(_wire.hello(self.codec.name, self.sid, resume, callbacks=self.cb_limit is not None))
        try:
            status, resumed, max_body = await asyncio.wait_for(asyncio.shield(proto.welcome), self.connect_timeout)
        except (OSError, asyncio.TimeoutError) as e:
            proto.transport.abort()
            raise NotSent(e) from e
        if status == _wire.STATUS_SESSION_REFUSED:
            proto.transport.abort()
            return None, False
        if status != 0:
            proto.transport.abort()
            raise NotSent(ConnectionRefusedError(
                "the server refused the hello: %s" % _wire.STATUSES.get(status, "status %d" % status)))
        proto.max_body = max_body
        return proto, resumed

    async def connected(self):
        conn = self.conn
        if conn is not None and not conn.dead:
            return conn
        if self.closed:
            raise NotSent(ConnectionError("the client is closed"))
        if self.connecting is None:
            self.connecting = self.loop.create_task(self._reconnect(conn))
        task = self.connecting
        return await asyncio.shield(task)

    async def _reconnect(self, old):
        try:
            new, resumed = await self._handshake()
            lost = None
            if new is None:
                lost = "the server refused to resume the session"
                self.sid = secrets.token_bytes(16)
                self.named = False
                new, resumed = await self._handshake()
                if new is None:
                    raise NotSent(ConnectionRefusedError("the server refused a new session"))
            elif not resumed and old is not None:
                lost = "the server no longer had the session (it restarted, or dropped it)"
            if lost:
                self.fail_all(ConnectionLostError, "connection lost while the call was in flight (it may or may not "
                              "have run): " + lost, lambda c: c.conn is not None)
            self._fail_streams(old)
            cancels = self._lost_cancels(resumed)
            self.conn = new
            if cancels:
                self.out.append(cancels)
            for c in list(self.calls.values()):
                if c.conn is not new and c.frame is not None:
                    c.conn = new
                    self.out.append(c.frame)
            self._flush()
            self._arm_keepalive()
            return new
        finally:
            self.connecting = None

    async def _resume(self):
        """After a connection broke with calls in flight: reconnect, as
        the retry policy allows."""
        try:
            for attempt in range(1, self.retry.max_attempts + 1):
                if self.closed or not self.calls:
                    return
                try:
                    await self.connected()
                    return
                except NotSent as e:
                    err = e
                await asyncio.sleep(self.retry.backoff(attempt))
        finally:
            self.resuming = None
        self.fail_all(ConnectionLostError, "connection lost while the call was in flight (it may or may not have "
                      "run), and no new one could be made: %s" % err.cause)

    # ---- frames -----------------------------------------------------------

    def _frame(self, conn, kind, flags, frame_id, body):
        if kind == _wire.REPLY:
            c = self.calls.pop(frame_id, None)
            if c is not None and c.cb is not None:
                self._end_callbacks(c)
            if c is not None and not c.fut.done():
                c.flags, c.body = flags, body
                c.fut.set_result(c)
                _settle(c)
            self.settled += 1
            self.settled_bytes += len(body)
            if self.settled >= ACK_EVERY or self.settled_bytes >= ACK_BYTES:
                self.settled = self.settled_bytes = 0
                upto = (min(self.calls) if self.calls else self.next_id) - 1
                self._queue(_wire.ack(upto, conn.frames))
        elif kind == _wire.ITEM or kind == _wire.WINDOW:
            c = self.calls.get(frame_id)
            if c is None or c.stream is None:
                return  # a stream that has ended
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
            st.ev.set()
        elif kind == _wire.CALLBACK:
            self._callback(conn, frame_id, body)
        elif kind == _wire.CALLBACK_CANCEL:
            inv = _wire.parse_invocation(body)
            c = self.calls.get(frame_id)
            if c is not None and c.cb is not None:
                task = c.cb.cancel(inv)
                if task is not None:
                    task.cancel()
        elif kind == _wire.PING:
            self._queue(_wire.frame(_wire.PONG, frame_id))
        elif kind == _wire.GOAWAY:
            self.going_away = True
            if flags & _wire.FLAG_FINAL:
                for c in list(self.calls.values()):
                    if c.cb is not None:
                        self._end_callbacks(c)
                    if not c.fut.done():
                        c.error = NotRun("the server is shutting down: call not run")
                        c.fut.set_result(c)
                        _settle(c)
                self.calls.clear()
            self.on_goaway(self)

    # ---- callbacks (PROTOCOL.md §13) -------------------------------------

    def _callback(self, conn, call_id, body):
        """Start the invocation a callback frame asks for, or answer why not."""
        slot, inv, settled, timeout, pos = _wire.parse_callback(body)
        c = self.calls.get(call_id)
        cb = c.cb if c is not None else None
        if cb is None:
            self._refuse(call_id, inv, "unavailable", "%s (no call %d is running here)"
                         % (_callbacks.EXPIRED, call_id), _callbacks.callback_name("", slot), _callbacks.EXPIRED)
            return
        name = _callbacks.callback_name(cb.method, slot)
        if slot >= len(cb.funcs):
            self._refuse(call_id, inv, "invalid_argument", "call %d passed %d callable(s): there is no callback %d; "
                         "not run" % (call_id, len(cb.funcs), slot), name)
            return
        seen, reply = cb.repeat(inv, settled)
        if reply is not None:
            self._queue(reply)  # answered before: the same reply again
            return
        if seen:
            return  # running (its reply goes to the current connection), or settled
        if len(self.cb_tasks) >= self.cb_limit:
            self._refuse(call_id, inv, "resource_exhausted", "the client runs at most %d callbacks at once on a "
                         "connection; not run" % self.cb_limit, name)
            return
        state = cb.start(inv)
        if state is None:
            self._refuse(call_id, inv, "unavailable", _callbacks.EXPIRED, name, _callbacks.EXPIRED)
            return
        task = state.task = self.loop.create_task(
            self._run_callback(cb, call_id, inv, slot, state, timeout, body[pos:], conn.max_body))
        self.cb_tasks.add(task)
        task.add_done_callback(self.cb_tasks.discard)

    async def _run_callback(self, cb, call_id, inv, slot, state, timeout, args, max_body):
        """Run one invocation, in its own task, and queue its reply. A
        plain callable runs in the loop; a coroutine is awaited, within
        the invocation's timeout, and canceled when it ends."""
        name = _callbacks.callback_name(cb.method, slot)
        value = error = None
        try:
            decoded = self.codec.decode(args)
            if not isinstance(decoded, list):
                raise ValueError("the arguments are not an array")
        except Exception as e:
            error = InvalidArgumentError("malformed callback arguments: %s" % e)
        else:
            try:
                value = cb.funcs[slot](*decoded)
                if inspect.isawaitable(value):
                    value = await _within(value, timeout)
            except _Expired:
                error = DeadlineExceededError("the callback did not return within the invocation's timeout")
            except asyncio.CancelledError:
                if self.closed or not state.ended:
                    raise  # the session is closing: nobody waits for a reply
                error = CanceledError("the invocation was canceled")
            except Exception as e:  # the callable's error travels back; the client goes on
                error = e
        frame = _callbacks.reply_frame(self.codec, call_id, inv, name, value, error, max_body)
        cb.done(inv, frame)
        if not self.closed:
            self._queue(frame)  # on the current connection, or the one a resume makes

    def _refuse(self, call_id, inv, code, message, method, name=None):
        """Answer an invocation the client does not run."""
        self._queue(_callbacks.reply_frame(self.codec, call_id, inv, method, error=new_error(code, message, name=name)))

    def _end_callbacks(self, c):
        """c is over: end the invocations it runs."""
        for task in c.cb.end():
            task.cancel()

    def _lost(self, conn):
        self._fail_streams(conn)
        if conn is self.conn and self.calls:
            self._ensure_resume()

    def _ensure_resume(self):
        """Start the task that reconnects for the calls in flight, unless
        it runs: the session owns it, close() cancels it."""
        if self.resuming is None and not self.closed:
            self.resuming = self.loop.create_task(self._resume())

    def _queue(self, frame):
        self.out.append(frame)
        if self.flush_handle is None:
            self.flush_handle = self.loop.call_soon(self._flush)

    def _flush(self):
        self.flush_handle = None
        if not self.out:
            return
        conn = self.conn
        if conn is None or conn.dead:
            return  # the resume sends the calls again
        out, self.out = self.out, []
        conn.write(b"".join(out) if len(out) > 1 else out[0])

    def _arm_keepalive(self):
        if self.keepalive is not None:
            self.keepalive.cancel()
        self.keepalive = self.loop.call_later(1.0, self._tick)

    def _tick(self):
        self.keepalive = None
        conn = self.conn
        if self.closed or conn is None or conn.dead:
            return
        if self.calls:
            now = time.monotonic()
            if conn.ping_at is not None and now - conn.ping_at >= KEEPALIVE_TIMEOUT:
                conn.transport.abort()  # nothing arrived after the ping: resume
                return
            if conn.ping_at is None and now - conn.last_rx >= KEEPALIVE_INTERVAL:
                conn.ping_at = now
                self._queue(_wire.frame(_wire.PING, 0))
        self.keepalive = self.loop.call_later(1.0, self._tick)

    # ---- calls ------------------------------------------------------------

    async def call(self, method, prefix, args, timeout, metadata):
        conn = self.conn
        if conn is None or conn.dead:
            conn = await self.connected()
        cb = None
        if _callbacks.has_callables(args):
            args, funcs = _callbacks.extract(args)
            cb = _callbacks.CallCallbacks(funcs, method)
            if self.cb_limit is not None and not conn.callbacks:
                raise NotFoundError("%s: the server takes no callbacks (it speaks an older version of the "
                                    "protocol); call not sent" % method, method=method)
        flags, body = _wire.call_body(prefix, timeout, metadata, self.codec.encode(args))
        if len(body) > conn.max_body:
            raise ResourceExhaustedError("the call is %d bytes, over the server's limit of %d: not sent"
                                         % (len(body), conn.max_body), method=method)
        if self.going_away or self.closed:
            raise NotRun("the session is going away")
        call_id = self.next_id
        self.next_id += 1
        frame = _wire.HEADER.pack(len(body), _wire.CALL, flags, call_id)
        frame = frame + body if not isinstance(body, _wire.Parts) else b"".join([frame] + list(body.iter()))
        c = _ACall(frame, method, self.loop.create_future())
        c.id = call_id
        c.cb = cb
        self.calls[call_id] = c
        if not self.conn.dead:
            c.conn = self.conn
            self._queue(c.frame)
        else:
            self._ensure_resume()
        try:
            if timeout is None:
                await c.fut
            else:
                await asyncio.wait_for(c.fut, timeout)
        except asyncio.TimeoutError:
            self._forget(c)
            raise DeadlineExceededError("no reply within the call's timeout", method=method) from None
        except BaseException:  # the task was canceled: so is the call
            self._forget(c)
            raise
        return result(c, self.codec.decode)

    def _forget(self, c):
        if c.cb is not None:
            self._end_callbacks(c)
        if self.calls.pop(c.id, None) is not None and c.conn is not None:
            self._queue(_wire.frame(_wire.CANCEL, c.id))

    def fail_all(self, cls, message, which=None):
        failed = [c for c in self.calls.values() if which is None or which(c)]
        for c in failed:
            del self.calls[c.id]
            if c.cb is not None:
                self._end_callbacks(c)
            if not c.fut.done():
                c.error = cls(message, method=c.method)
                c.fut.set_result(c)
                _settle(c)
        return failed

    # ---- streams (PROTOCOL.md §12) ---------------------------------------

    def _fail_streams(self, conn):
        """Fail the streams sent on conn, which broke: streams are not
        resumed on another connection."""
        why = "the connection broke with the stream open (streams are not resumed)"
        if conn is not None and conn.error:
            why += ": " + conn.error
        failed = self.fail_all(ConnectionLostError, why,
                               lambda c: c.stream is not None and c.conn is not None and (c.conn is conn or c.conn.dead))
        self.lost_streams.extend(c.id for c in failed)

    def _lost_cancels(self, resumed):
        """The cancel frames of the streams failed since the last
        connection, for the connection that resumed the session: the
        server may keep them for a resume this client does not make."""
        ids, self.lost_streams = self.lost_streams, []
        if not resumed:
            return b""
        return b"".join(_wire.frame(_wire.CANCEL, i) for i in ids)

    async def open_stream(self, method, prefix, args, timeout, metadata, end):
        """Send a call that opens a stream and wait until the server says
        it is open, or answers it. end: send the end of the client's half
        with it (the method takes no stream)."""
        conn = self.conn
        if conn is None or conn.dead:
            conn = await self.connected()
        if not conn.streams:
            raise NotFoundError("%s: the server takes no streams (it speaks an older version of the protocol); "
                                "call not sent" % method, method=method)
        flags, body = _wire.call_body(prefix, timeout, metadata, self.codec.encode(args))
        if len(body) > conn.max_body:
            raise ResourceExhaustedError("the call is %d bytes, over the server's limit of %d: not sent"
                                         % (len(body), conn.max_body), method=method)
        if self.going_away or self.closed:
            raise NotRun("the session is going away")
        call_id = self.next_id
        self.next_id += 1
        frame = _wire.HEADER.pack(len(body), _wire.CALL, flags | _wire.FLAG_STREAM, call_id)
        frame = frame + body if not isinstance(body, _wire.Parts) else b"".join([frame] + list(body.iter()))
        st = _AStream()
        if end:
            frame += _wire.item_end(call_id)
            st.half_closed = True
        c = _ACall(frame, method, self.loop.create_future())
        c.id = call_id
        c.stream = st
        self.calls[call_id] = c
        if not self.conn.dead:
            c.conn = self.conn
            self._queue(c.frame)
        else:
            self._ensure_resume()
        try:
            await self.wait_stream(c, lambda: st.opened or c.fut.done(),
                                   None if timeout is None else time.monotonic() + timeout)
        except BaseException:  # the deadline, the task canceled: so is the stream
            self.cancel_stream(c)
            raise
        return c

    async def wait_stream(self, c, ready, deadline):
        """Wait until ready() holds, woken by what arrives for c's stream."""
        ev = c.stream.ev
        while not ready():
            ev.clear()
            if deadline is None:
                await ev.wait()
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceededError("the stream did not end within the call's timeout", method=c.method)
            try:
                await asyncio.wait_for(ev.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def next_item(self, c, deadline):
        """The body of the next item of c's stream; None once it is over."""
        st = c.stream
        await self.wait_stream(c, lambda: st.items or c.fut.done(), deadline)
        if not st.items:
            return None
        body = st.items.popleft()
        cost = _wire.item_cost(len(body))
        st.held -= cost
        st.consumed_items += 1
        st.consumed_cost += cost
        if st.consumed_cost - st.reported >= _wire.REPORT_EVERY and not c.fut.done() and self._live(c):
            st.reported = st.consumed_cost
            self._queue(_wire.window(c.id, st.consumed_items, st.consumed_cost))
        return body

    async def send_item(self, c, body, deadline):
        """Send an item once the window has room; False when the stream
        is over (nothing sent)."""
        st = c.stream
        await self.wait_stream(c, lambda: c.fut.done() or st.sent - st.peer[1] < _wire.STREAM_WINDOW, deadline)
        if c.fut.done() or not self._live(c):
            return False
        st.sent += _wire.item_cost(len(body))
        self._queue(_wire.item(c.id, body))
        return True

    def end_stream(self, c):
        """End the client's half of c's stream."""
        st = c.stream
        if not st.half_closed and not c.fut.done() and self._live(c):
            st.half_closed = True
            self._queue(_wire.item_end(c.id))

    def cancel_stream(self, c):
        """End c's stream early: take it out, cancel it on the server."""
        gone = self.calls.pop(c.id, None) is not None
        if not c.fut.done():
            c.error = CanceledError("the stream was canceled by the client", method=c.method)
            c.fut.set_result(c)
            _settle(c)
        if gone and self._live(c):
            self._queue(_wire.frame(_wire.CANCEL, c.id))

    def _live(self, c):
        """Report whether c's connection is the session's, and up."""
        return c.conn is not None and c.conn is self.conn and not c.conn.dead

    def close(self):
        self.closed = True
        self.fail_all(ConnectionLostError, "the client was closed with the call in flight")
        if self.keepalive is not None:
            self.keepalive.cancel()
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None
        for task in (self.connecting, self.resuming, *self.cb_tasks):
            if task is not None:
                task.cancel()
        if self.conn is not None:
            self.conn.transport.close()


class AsyncClient:
    """The Client for asyncio: the same addresses, options and call
    surface, with every call awaited (await client.Calc.Add(1, 2)).

    dir() and help() show the server's methods once the description has
    been fetched: await client.describe() first. A misspelt name then
    raises NotFoundError with a hint before any call.

    Callables among a call's arguments are callbacks, as on Client: a
    plain function runs in the event loop (it should not block); a
    coroutine function's invocation runs as a task, bounded by the
    invocation's timeout and canceled by a callback cancel or the end of
    its call. callbacks=False refuses them; max_callbacks (default 256)
    bounds the invocations running at once per connection.
    """

    def __init__(self, address: Address, debug: bool = False, timeout: Optional[float] = None, *,
                 codec: Optional[str] = None, connect_timeout: float = 10.0,
                 metadata: Optional[Dict[str, str]] = None, ssl_context: Optional["ssl.SSLContext"] = None,
                 server_hostname: Optional[str] = None, retry: Optional[RetryPolicy] = None,
                 callbacks: bool = True, max_callbacks: int = _callbacks.DEFAULT_LIMIT) -> None:
        scheme, host, port, _ = parse_address(address)
        if max_callbacks < 1:
            raise ValueError("max_callbacks must be at least 1")
        self._cb_limit: Optional[int] = max_callbacks if callbacks else None
        if retry is None:
            retry = DEFAULT_RETRY
        if not isinstance(retry, RetryPolicy):
            raise TypeError("retry must be a RetryPolicy, not %r" % (retry,))
        if ssl_context is None and scheme in ("simplerpcs", "https"):
            import ssl
            ssl_context = ssl.create_default_context()
        self._native = scheme.startswith("simplerpc")
        self._address = (host, port)
        self._codec = _codec.get(codec) if self._native else None
        self._opts = (host, port, ssl_context, server_hostname, connect_timeout)
        self._debug = debug
        self._timeout = timeout
        self._metadata = _check_metadata(metadata) if metadata else None
        self._retry = retry
        self._session = None
        self._old: List[_AsyncSession] = []
        self._names: Dict[str, Any] = {}
        self._description: Union[None, bool, Description] = None
        self._describing: Optional["asyncio.Future[None]"] = None  # the first call's fetch of the description
        if not self._native:
            self._sync = Client(address, debug=debug, timeout=timeout, connect_timeout=connect_timeout,
                                metadata=metadata, ssl_context=ssl_context, retry=retry)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> Any:
        obj = self._names.get(name)
        if obj is None:
            service, dot, meth = name.partition(".")
            obj = self._names[name] = self[service][meth] if dot else _AsyncName(self, name)
        return obj

    def __dir__(self):
        d = self._description
        return sorted(set(list(d.services) + list(d.functions) if d else []) | {"close", "describe"})

    async def describe(self) -> Optional[Description]:
        """The server's description, fetched once (None if it has none)."""
        if self._description is None:
            try:
                self._description = Description(await self._call_once(_DESCRIBE, (), {}, None, None))
            except Exception:  # introspection off, or unreachable
                self._description = False
        return self._description if isinstance(self._description, Description) else None

    def _check_name(self, name):
        if self._description:
            hint = self._description.missing(name)
            if hint:
                raise UnknownNameError(hint, method=name)

    def _sess(self):
        s = self._session
        if s is None or s.going_away or s.closed:
            host, port, ctx, sni, ct = self._opts
            s = self._session = _AsyncSession(host, port, self._codec, ctx, sni, ct, self._retry, self._going_away,
                                              self._cb_limit)
        return s

    def _going_away(self, s):
        if self._session is s:
            self._session = None
        self._old = [o for o in self._old if not o.closed and o.calls]
        self._old.append(s)

    async def _call(self, name, prefix, args, kwargs):
        timeout = kwargs.pop("_timeout", self._timeout) if kwargs else self._timeout
        metadata = kwargs.pop("_metadata", None) if kwargs else None
        if args and kwargs:
            raise TypeError("%s: pass arguments by position or by name, not both" % name)
        if self._description is None and self._native:
            await self._describe_for_call(timeout)  # once: names are checked, streams told
        self._check_name(name)
        if self._metadata:
            metadata = dict(self._metadata, **_check_metadata(metadata)) if metadata else self._metadata
        elif metadata:
            metadata = _check_metadata(metadata)
        d = self._description
        if d:
            entry = d.entry(name)
            if entry is not None and entry.get("stream"):
                return await self._stream(name, prefix, entry["stream"], args, kwargs, timeout, metadata)
        return await self._call_once(name, args, kwargs, timeout, metadata, prefix)

    async def _describe_for_call(self, timeout):
        """Fetch the description before a first call, once for all the
        tasks calling at the same time; a server that cannot be reached
        now is asked again at the next call."""
        if self._describing is None:
            self._describing = asyncio.ensure_future(self._fetch_description(timeout))
        task = self._describing
        try:
            await asyncio.shield(task)
        finally:
            if task.done() and self._describing is task:
                self._describing = None

    async def _fetch_description(self, timeout):
        try:
            self._description = Description(await self._call_once(_DESCRIBE, (), {}, timeout, self._metadata))
        except (ConnectionError, UnavailableError, DeadlineExceededError):
            pass  # the call itself tells
        except Exception:  # introspection off, or an answer this client cannot read
            self._description = False

    # ---- streams ----------------------------------------------------------

    async def _stream(self, name, prefix, spec, args, kwargs, timeout, metadata):
        """Call a method that streams: an AsyncStream of the server's
        items, or the results of a client stream."""
        kind = spec.get("kind")
        source = None
        if kind in ("client", "bidi"):
            if kwargs or not args:
                raise TypeError("%s takes a stream: pass an iterable of its items as the last argument" % name)
            source = args[-1]
            args = args[:-1]
            if not hasattr(source, "__aiter__"):
                try:
                    source = iter(source)
                except TypeError:
                    raise TypeError("%s takes a stream as its last argument: an iterable or an async iterable, "
                                    "not %s" % (name, type(source).__name__)) from None
        deadline = None if timeout is None else time.monotonic() + timeout
        s, c = await self._open_stream(name, prefix, [kwargs] if kwargs else list(args), deadline, metadata,
                                       kind == "server")
        codec = self._codec
        d = self._description
        max_body = c.conn.max_body if c.conn is not None else _wire.MAX_REPLY
        if kind == "client":
            results = await streams.async_client_stream(s, c, codec, source, deadline, max_body)
            convert = d.converter(name) if d else None
            if convert is not None:
                results = convert(results)
            return results[0] if len(results) == 1 else (results or None)
        item = d.item_converter(name) if d else None
        if kind == "bidi":
            return streams.async_bidi_stream(s, c, codec, source, deadline, max_body, item)
        return streams.AsyncStream(s, c, codec, item, deadline)

    async def _open_stream(self, name, prefix, args, deadline, metadata, end):
        """Open a stream, retrying while it was not run; raise the error
        of a method that failed before its stream started."""
        attempt = 0
        while True:
            attempt += 1
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                s = self._sess()
                c = await s.open_stream(name, prefix, args, remaining, metadata, end)
                if c.fut.done() and not c.stream.opened:
                    streams.finish(c, self._codec)  # raises the method's error
                return s, c
            except NotSent as e:
                if attempt >= self._retry.max_attempts:
                    raise ConnectionError("simplerpc: cannot reach %s:%d after %d attempts: %s"
                                          % (self._address + (attempt, e.cause))) from e.cause
                err = e
            except NotRun as e:
                if attempt >= self._retry.max_attempts:
                    raise UnavailableError("%s (after %d attempts)" % (e, attempt), method=name) from None
                err = e
            except UnavailableError as e:
                if attempt >= self._retry.max_attempts:
                    raise
                err = e
            wait = self._retry.backoff(attempt)
            if deadline is not None and time.monotonic() + wait >= deadline:
                if isinstance(err, UnavailableError):
                    raise err
                raise DeadlineExceededError("the stream was not opened before its deadline: %s" % err, method=name)
            await asyncio.sleep(wait)

    async def _call_once(self, name, args, kwargs, timeout, metadata, prefix=None):
        if not self._native:
            loop = asyncio.get_running_loop()
            kw = dict(kwargs)
            if timeout is not None:
                kw["_timeout"] = timeout
            if metadata:
                kw["_metadata"] = metadata
            return await loop.run_in_executor(None, lambda: self._sync[name](*args, **kw))
        if prefix is None:
            prefix = _wire.method_prefix(name)
        deadline = None if timeout is None else time.monotonic() + timeout
        attempt = 0
        while True:
            attempt += 1
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                results = await self._sess().call(name, prefix, [kwargs] if kwargs else args, remaining, metadata)
                if self._description:
                    # As the sync client: the description's Go types turn
                    # what JSON loses ([]byte as base64 text, floats with
                    # no fraction, time.Time as text) back into bytes,
                    # floats and datetimes.
                    convert = self._description.converter(name)
                    if convert is not None:
                        results = convert(results)
                return results[0] if len(results) == 1 else (results or None)
            except NotSent as e:
                if attempt >= self._retry.max_attempts:
                    raise ConnectionError("simplerpc: cannot reach %s:%d after %d attempts: %s"
                                          % (self._address + (attempt, e.cause))) from e.cause
                err = e
            except NotRun as e:
                if attempt >= self._retry.max_attempts:
                    raise UnavailableError("%s (after %d attempts)" % (e, attempt), method=name) from None
                err = e
            except UnavailableError as e:
                if attempt >= self._retry.max_attempts:
                    raise
                err = e
            except DeadlineExceededError:
                raise
            except RemoteError as e:
                if self._debug and e.traceback:
                    tb = e.traceback if e.traceback.endswith("\n") else e.traceback + "\n"
                    sys.stderr.write("Server side traceback:\n" + tb)
                raise
            wait = self._retry.backoff(attempt)
            if deadline is not None and time.monotonic() + wait >= deadline:
                if isinstance(err, UnavailableError):
                    raise err
                raise DeadlineExceededError("the call was not run before its deadline: %s" % err, method=name)
            await asyncio.sleep(wait)

    async def close(self) -> None:
        """Close the connections; calls in flight fail."""
        if self._describing is not None:
            self._describing.cancel()
            self._describing = None
        for s in [self._session] + self._old:
            if s is not None:
                s.close()
        self._session = None
        self._old = []
        if not self._native:
            self._sync.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self):
        return "<simplerpc.AsyncClient %s:%d>" % self._address


class _AsyncName:
    """A service, a function, or (one level down) a method."""

    __slots__ = ("_client", "_name", "_prefix", "_methods")

    def __init__(self, client, name):
        self._client = client
        self._name = name
        self._prefix = None
        self._methods = {}

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name):
        m = self._methods.get(name)
        if m is None:
            full = self._name + "." + name
            self._client._check_name(full)
            m = self._methods[name] = _AsyncName(self._client, full)
        return m

    def __call__(self, *args, **kwargs):
        if self._prefix is None:
            self._prefix = _wire.method_prefix(self._name)
        return self._client._call(self._name, self._prefix, args, kwargs)

    def __dir__(self):
        d = self._client._description
        return sorted(d.methods_of(self._name)) if d else []

    @property
    def __doc__(self):
        d = self._client._description
        if not d:
            return "simplerpc name %s (await client.describe() for its signature)" % self._name
        return d.method_doc(self._name) if "." in self._name else d.service_doc(self._name)

    def __repr__(self):
        return "<simplerpc async %s of %r>" % (self._name, self._client)
