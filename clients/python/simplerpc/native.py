"""The native protocol (PROTOCOL.md) over one TCP or TLS connection.

NativeTransport is what Client uses for a (host, port) address or a
simplerpc:// URL: every thread's calls multiplexed on one connection of a
session, resumed when the connection breaks. NativeClient is the
lower-level face of the same machinery, for tests and tools that want to
start, wait for and cancel calls by id:

    from simplerpc.native import NativeClient

    with NativeClient(("127.0.0.1", 9000)) as c:
        c.call("Calc.Add", 1, 2)                     # [3]: the list of results
        call_id = c.start("Calc.Sleep", 10**9)
        c.cancel(call_id)
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from . import _callbacks, _codec, _session, _wire
from ._tls import TLSSocket
from .errors import NotFoundError, NotRun, NotSent, ResourceExhaustedError, UnavailableError

__all__ = ["NativeTransport", "NativeClient", "HandshakeError"]


class HandshakeError(ConnectionError):
    """The server refused the hello; status is the welcome's status."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class NativeTransport:
    """Calls to one server over the native protocol, shared by threads.

    codec is "cbor", "json" or None (cbor when the cbor2 package is
    installed). ssl_context, an ssl.SSLContext, turns TLS on;
    server_hostname is the name its certificate is checked against (the
    host by default). connect_timeout bounds dialing and the handshake;
    retry, a RetryPolicy, the reconnecting of a session with calls in
    flight.
    """

    def __init__(self, host, port, codec=None, ssl_context=None, server_hostname=None, connect_timeout=10.0,
                 retry=None, callbacks=True, max_callbacks=_callbacks.DEFAULT_LIMIT,
                 callback_threads=_callbacks.DEFAULT_THREADS):
        self.host = host
        # Runs the callbacks the server calls (PROTOCOL.md §13); None: the
        # client refuses them, and its hello does not ask for them.
        self._runner = _callbacks.Runner(max_callbacks, callback_threads) if callbacks else None
        self.retry = retry  # bounds a session's reconnecting (RetryPolicy; None: the default)
        self.port = int(port)
        self.codec = _codec.get(codec)
        self._ssl = ssl_context
        self._server_hostname = server_hostname or host
        self.connect_timeout = connect_timeout
        self._mu = threading.Lock()  # guards _session and _old
        self._session = None  # the session new calls go to
        self._old = []  # sessions going away, finishing their calls

    def _dial(self, timeout=None):
        """A connected socket (TLS included), within timeout seconds and
        the connect timeout."""
        if timeout is None or timeout > self.connect_timeout:
            timeout = self.connect_timeout
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl is not None:
                sock = TLSSocket(sock, self._ssl, self._server_hostname)
        except BaseException:
            sock.close()
            raise
        return sock

    def session(self):
        """The session new calls go to, made if needed."""
        s = self._session
        if s is not None and not s.going_away and not s.closed:
            return s
        with self._mu:
            s = self._session
            if s is None or s.going_away or s.closed:
                s = self._session = _session.Session(self._dial, self.codec.name, self._going_away, self.retry,
                                                     self._runner, self.codec)
        return s

    def _going_away(self, s):
        with self._mu:
            if self._session is s:
                self._session = None
            self._old = [o for o in self._old if not o.closed]
            self._old.append(s)

    def start(self, method, prefix, args, timeout, metadata):
        """Send a call; return (session, call). Raises NotSent or NotRun
        when it was not sent."""
        s = self.session()
        conn = s.connected()
        cb = None
        if _callbacks.has_callables(args):
            args, funcs = _callbacks.extract(args)
            cb = _callbacks.CallCallbacks(funcs, method)
            if self._runner is not None and not conn.callbacks:
                raise NotFoundError("%s: the server takes no callbacks (it speaks an older version of the "
                                    "protocol); call not sent" % method, method=method)
        flags, body = _wire.call_body(prefix, timeout, metadata, self.codec.encode(args))
        if len(body) > conn.max_body:
            raise ResourceExhaustedError("the call is %d bytes, over the server's limit of %d: not sent"
                                         % (len(body), conn.max_body), method=method)
        c = s.register(flags, body, method, cb=cb)
        s.send(c)
        return s, c

    def open_stream(self, method, prefix, args, timeout, metadata, end):
        """Open a stream call and wait until the server says it is open
        (or answers it: a method that failed before its stream started).
        Return (session, call). Raises NotSent or NotRun when it was not
        sent, NotFoundError when the server takes no streams."""
        s = self.session()
        conn = s.connected()
        if not conn.streams:
            raise NotFoundError("%s: the server takes no streams (it speaks an older version of the protocol); "
                                "call not sent" % method, method=method)
        flags, body = _wire.call_body(prefix, timeout, metadata, self.codec.encode(args))
        if len(body) > conn.max_body:
            raise ResourceExhaustedError("the call is %d bytes, over the server's limit of %d: not sent"
                                         % (len(body), conn.max_body), method=method)
        c = s.open_stream(flags, body, method, end)
        try:
            s.wait_open(c, None if timeout is None else time.monotonic() + timeout)
        except BaseException:  # the deadline, KeyboardInterrupt: the server is told
            s.cancel_stream(c)
            raise
        return s, c

    def finish(self, s, c, deadline):
        """Wait for call c of session s and return its results."""
        try:
            s.wait(c, deadline)
        except BaseException:  # the deadline, KeyboardInterrupt: the server is told
            s.forget(c)
            raise
        return _session.result(c, self.codec.decode)

    def call(self, method, prefix, args, timeout=None, metadata=None):
        """One attempt at a call: its results, or its error. Raises
        NotSent or NotRun when the call was not run."""
        deadline = None if timeout is None else time.monotonic() + timeout
        s, c = self.start(method, prefix, args, timeout, metadata)
        return self.finish(s, c, deadline)

    def call_many(self, calls):
        """Send several calls with one write and return, for each, its
        results or the exception it raised. calls: (method, prefix, args,
        timeout, metadata) tuples."""
        s = self.session()
        conn = s.connected()
        pending = []
        out = [None] * len(calls)
        for i, (method, prefix, args, timeout, metadata) in enumerate(calls):
            try:
                cb = None
                if _callbacks.has_callables(args):
                    args, funcs = _callbacks.extract(args)
                    cb = _callbacks.CallCallbacks(funcs, method)
                    if self._runner is not None and not conn.callbacks:
                        raise NotFoundError("%s: the server takes no callbacks (it speaks an older version of the "
                                            "protocol); call not sent" % method, method=method)
                flags, body = _wire.call_body(prefix, timeout, metadata, self.codec.encode(args))
                if len(body) > conn.max_body:
                    raise ResourceExhaustedError("the call is %d bytes, over the server's limit of %d: not sent"
                                                 % (len(body), conn.max_body), method=method)
                c = s.register(flags, body, method, cb=cb)
            except Exception as e:
                out[i] = e
                continue
            deadline = None if timeout is None else time.monotonic() + timeout
            pending.append((i, c, deadline))
        s.send_all([c for _, c, _ in pending])
        for i, c, deadline in pending:
            try:
                out[i] = self.finish(s, c, deadline)
            except Exception as e:
                out[i] = e
        return out

    def max_body(self):
        """The server's limit on a frame body (connecting if needed)."""
        return self.session().connected().max_body

    def close(self):
        """Close every connection; calls in flight fail. A later call
        connects anew."""
        with self._mu:
            sessions = [self._session] + self._old
            self._session = None
            self._old = []
        for s in sessions:
            if s is not None:
                s.close()
        if self._runner is not None:
            self._runner.close()


class NativeClient:
    """Calls by method name on one native-protocol session, with ids: the
    interop suite's face of NativeTransport.

    address is a (host, port) tuple; timeout, in seconds, bounds
    connecting and each wait of a call without a timeout of its own. The
    connection is opened at once; close() closes it.
    """

    def __init__(self, address: Tuple[str, int], timeout: Optional[float] = 30.0, codec: Optional[str] = None,
                 ssl_context: Any = None) -> None:
        host, port = address
        self.timeout = timeout
        self._t = NativeTransport(host, port, codec=codec, ssl_context=ssl_context, connect_timeout=timeout)
        self._calls: Dict[int, Any] = {}  # id -> (session, call, deadline)
        try:
            self.max_body = self._t.max_body()
        except NotSent as e:
            self._t.close()
            if isinstance(e.cause, ConnectionRefusedError) and "refused the hello" in str(e.cause):
                raise HandshakeError(str(e.cause)) from None
            raise e.cause from None

    @property
    def codec(self):
        """The codec's name: "cbor" or "json"."""
        return self._t.codec.name

    def call(self, method: str, *args: Any, timeout: Optional[float] = None,
             metadata: Optional[Dict[str, str]] = None) -> List[Any]:
        """Call method with args and return the list of its results; a
        failed call raises the RemoteError subclass for its code."""
        return self.wait(self.start(method, *args, timeout=timeout, metadata=metadata))

    def start(self, method: str, *args: Any, timeout: Optional[float] = None,
              metadata: Optional[Dict[str, str]] = None) -> int:
        """Send a call without waiting for its reply; return its id."""
        try:
            s, c = self._t.start(method, _wire.method_prefix(method), list(args), timeout, metadata)
        except NotRun:
            raise UnavailableError("the server is going away; call not sent", method=method) from None
        wait = timeout if timeout is not None else self.timeout
        self._calls[c.id] = (s, c, None if wait is None else time.monotonic() + wait)
        return c.id

    def wait(self, call_id: int) -> List[Any]:
        """Wait for the reply of call call_id; return its results."""
        s, c, deadline = self._calls.pop(call_id)
        try:
            return self._t.finish(s, c, deadline)
        except NotRun:
            raise UnavailableError("the server shut down: call not run", method=c.method) from None

    def cancel(self, call_id: int) -> None:
        """Cancel call call_id on the server and forget it."""
        s, c, _ = self._calls.pop(call_id)
        s.forget(c)

    def ping(self, timeout: Optional[float] = None) -> float:
        """Send a ping and wait for its pong; return the round trip."""
        s = self._t.session()
        s.connected()
        start = time.monotonic()
        s.ping(None if timeout is None else start + timeout)
        return time.monotonic() - start

    def close(self):
        """Close the connection. Calls still in flight fail."""
        self._t.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
