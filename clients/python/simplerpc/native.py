"""A minimal, synchronous client of simplerpc's native protocol.

    from simplerpc.native import NativeClient

    with NativeClient(("127.0.0.1", 9000)) as c:
        c.call("Calc.Add", 1, 2)                     # [3]: the list of results
        c.call("Calc.Sleep", 10**9, timeout=0.1)     # raises DeadlineExceededError

It speaks PROTOCOL.md version 1 over one TCP connection with the JSON
codec (the standard library's json), and implements the hello and
welcome, call, reply and error frames, cancel, ping and pong, and
go-away. It is minimal on purpose: no sessions (a broken connection
fails the calls in flight with ConnectionLostError), no retries, no TLS,
no CBOR, and no background thread — replies are read while a caller
waits for one, so several calls may be in flight (start, then wait) but
a NativeClient is not safe to share between threads. For everyday use,
Client (JSON-RPC over HTTP) is the complete client.
"""

import base64
import json
import socket
import struct
import time

from .errors import ConnectionLostError, DeadlineExceededError, InternalError, UnavailableError, new_error

__all__ = ["NativeClient", "HandshakeError", "CODES"]

MAGIC = b"SRPC"
VERSION = 1

# Frame kinds (PROTOCOL.md §2).
CALL, REPLY, CANCEL, PING, PONG, GOAWAY, ACK = 1, 2, 3, 4, 5, 6, 7
# Frame flags.
FLAG_ERROR, FLAG_METADATA, FLAG_FINAL = 1, 2, 4

_HEADER = struct.Struct(">IBBQ")  # size, kind, flags, id: 14 bytes

# The simplerpc codes by number (PROTOCOL.md §4).
CODES = {
    1: "application", 2: "not_found", 3: "invalid_argument", 4: "internal",
    5: "unavailable", 6: "connection_lost", 7: "canceled", 8: "deadline_exceeded",
    9: "resource_exhausted", 10: "unauthenticated", 11: "permission_denied",
}

# The welcome's statuses other than 0 (OK).
_STATUSES = {1: "unsupported version", 2: "unknown codec", 3: "TLS required", 4: "session refused"}

# How long past a call's own timeout the client waits for the server's
# deadline_exceeded reply before giving up on its own.
_GRACE = 1.0


class HandshakeError(ConnectionError):
    """The server refused the hello; status is the welcome's status."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class NativeClient:
    """One native-protocol connection to a simplerpc server.

    address is a (host, port) tuple. timeout, in seconds, bounds
    connecting and each wait for a call that has no timeout of its own
    (None: no limit). The connection is opened at once; close() closes it.
    """

    def __init__(self, address, timeout=30.0):
        host, port = address
        self.timeout = timeout
        self._sock = socket.create_connection((host, int(port)), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._next_id = 1
        self._replies = {}  # call id -> (flags, body) read while waiting for another
        self._deadlines = {}  # call id -> when the caller stops waiting (monotonic), or None
        self._abandoned = set()  # canceled call ids, whose replies are dropped
        self._pongs = set()
        self._going_away = False
        try:
            self._handshake()
        except BaseException:
            self._sock.close()
            raise

    def _handshake(self):
        codec = b"json"
        self._sock.sendall(MAGIC + bytes([VERSION, 0, len(codec)]) + codec)
        welcome = self._read_exactly(11)
        if welcome[:4] != MAGIC:
            raise HandshakeError("not a simplerpc server (welcome %r)" % (welcome,))
        status = welcome[5]
        if status != 0:
            raise HandshakeError("the server refused the hello: %s" % _STATUSES.get(status, "status %d" % status), status)
        self.max_body = struct.unpack(">I", welcome[7:11])[0]

    # ---- calls ----------------------------------------------------------

    def call(self, method, *args, timeout=None, metadata=None):
        """Call method with args and return the list of its results.

        timeout, in seconds, travels with the call: the server's context
        ends then, and it answers deadline_exceeded. metadata is a dict of
        strings sent with the call. A failed call raises the RemoteError
        subclass for its code.
        """
        return self.wait(self.start(method, *args, timeout=timeout, metadata=metadata))

    def start(self, method, *args, timeout=None, metadata=None):
        """Send a call without waiting for its reply; return its id, for
        wait or cancel."""
        if self._going_away:
            raise UnavailableError("the server is going away; call not sent", method=method)
        name = method.encode("utf-8")
        body = bytearray(_uvarint(len(name)) + name)
        micros = 0 if timeout is None else max(1, int(timeout * 1e6))
        body += _uvarint(micros)
        flags = 0
        if metadata:
            flags |= FLAG_METADATA
            body += _uvarint(len(metadata))
            for k, v in metadata.items():
                for s in (k.encode("utf-8"), v.encode("utf-8")):
                    body += _uvarint(len(s)) + s
        body += json.dumps(list(args), default=_encode, allow_nan=False, separators=(",", ":")).encode("utf-8")
        if len(body) > self.max_body:
            raise new_error("resource_exhausted", "call of %d bytes exceeds the server's %d-byte limit"
                            % (len(body), self.max_body), method=method)
        call_id = self._next_id
        self._next_id += 1
        self._deadlines[call_id] = (None if timeout is None else time.monotonic() + timeout + _GRACE, method)
        self._send(CALL, flags, call_id, bytes(body))
        return call_id

    def wait(self, call_id):
        """Wait for the reply of call call_id and return its results, or
        raise its error."""
        deadline, method = self._deadlines[call_id]
        try:
            while call_id not in self._replies:
                self._read_frame(deadline, method)
            flags, body = self._replies.pop(call_id)
        except DeadlineExceededError:
            self.cancel(call_id)
            raise
        finally:
            self._deadlines.pop(call_id, None)
        try:
            value = json.loads(body.decode("utf-8"))
        except ValueError:
            raise InternalError("malformed reply (%d bytes)" % len(body), method=method) from None
        if not isinstance(value, list):
            raise InternalError("malformed reply: not an array", method=method)
        if flags & FLAG_ERROR:
            raise _error(value, method)
        return value

    def cancel(self, call_id):
        """Ask the server to cancel call call_id, and forget it: its reply,
        should one still come, is dropped."""
        self._deadlines.pop(call_id, None)
        self._replies.pop(call_id, None)
        self._abandoned.add(call_id)
        self._send(CANCEL, 0, call_id, b"")

    def ping(self, timeout=None):
        """Send a ping and wait for its pong; return the round trip in
        seconds."""
        token = self._next_id
        self._next_id += 1
        start = time.monotonic()
        self._send(PING, 0, token, b"")
        deadline = None if timeout is None else start + timeout
        while token not in self._pongs:
            self._read_frame(deadline, "ping")
        self._pongs.discard(token)
        return time.monotonic() - start

    def close(self):
        """Close the connection. Calls still in flight are abandoned."""
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- frames ---------------------------------------------------------

    def _send(self, kind, flags, frame_id, body):
        try:
            self._sock.sendall(_HEADER.pack(len(body), kind, flags, frame_id) + body)
        except OSError as e:
            raise ConnectionLostError("sending on the connection failed: %s" % e) from e

    def _read_frame(self, deadline, method):
        """Read one frame and file it: a reply, a pong, a ping answered, a
        go-away noted. deadline (monotonic) bounds the wait."""
        header = self._read_exactly(_HEADER.size, deadline, method)
        size, kind, flags, frame_id = _HEADER.unpack(header)
        if size > max(self.max_body, 16 << 20):
            raise ConnectionLostError("the server sent a frame of %d bytes" % size, method=method)
        body = self._read_exactly(size, deadline, method) if size else b""
        if kind == REPLY:
            if frame_id in self._abandoned:
                self._abandoned.discard(frame_id)
            else:
                self._replies[frame_id] = (flags, body)
        elif kind == PING:
            self._send(PONG, 0, frame_id, b"")
        elif kind == PONG:
            self._pongs.add(frame_id)
        elif kind == GOAWAY:
            self._going_away = True
        else:
            self.close()
            raise ConnectionLostError("the server sent a frame of kind %d" % kind, method=method)

    def _read_exactly(self, n, deadline=None, method=None):
        buf = bytearray()
        while len(buf) < n:
            wait = self.timeout
            if deadline is not None:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise DeadlineExceededError("no reply within the call's timeout", method=method)
            self._sock.settimeout(wait)
            try:
                chunk = self._sock.recv(n - len(buf))
            except socket.timeout:
                if deadline is not None:
                    continue  # the loop raises DeadlineExceededError
                raise DeadlineExceededError("no reply within %ss" % self.timeout, method=method) from None
            except OSError as e:
                raise ConnectionLostError("the connection broke: %s" % e, method=method) from e
            if not chunk:
                raise ConnectionLostError("the server closed the connection", method=method)
            buf += chunk
        return bytes(buf)


def _error(obj, method):
    """The exception for an error object [code, message, method, type,
    stack, name, detail?] (PROTOCOL.md §4)."""
    if len(obj) < 6:
        return InternalError("malformed error reply", method=method)
    code = CODES.get(obj[0], "internal")  # an unknown code counts as internal
    return new_error(code, str(obj[1]), method=obj[2] or method, type=obj[3] or None,
                     traceback=obj[4] or None, name=obj[5] or None,
                     detail=obj[6] if len(obj) > 6 else None)


def _uvarint(n):
    """n as an unsigned LEB128 varint."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _encode(v):
    """Encode bytes as base64, as Go's []byte travels in JSON."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    raise TypeError("Object of type %s is not JSON serializable" % type(v).__name__)
