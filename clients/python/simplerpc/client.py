"""The Client: a simplerpc server's methods as Python attributes."""

import base64
import itertools
import json
import random
import sys
import threading
import time

from .errors import InternalError, ResourceExhaustedError, UnavailableError, from_error_object
from .transport import NotSent, Transport

__all__ = ["Client", "Method", "MAX_ATTEMPTS"]

# Retries of a call that was not run (no connection could be made, or the
# server refused it as unavailable): MAX_ATTEMPTS tries in all, waiting
# from INITIAL_BACKOFF, doubling, capped at MAX_BACKOFF, each wait
# jittered between half and all of it.
MAX_ATTEMPTS = 10
INITIAL_BACKOFF = 0.001
MAX_BACKOFF = 1.0

_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "simplerpc-python",
}


class Client:
    """A connection to a simplerpc server, calling its methods by JSON-RPC
    2.0 over HTTP/1.1.

    address is a (host, port) tuple, as the socket module takes. Attribute
    access builds a call: client.Calc.Add(1, 2) calls "Calc.Add", a method
    of a registered object; client.greet("ada") calls a registered
    function. Keyword arguments are sent by name, for a method whose only
    parameter is a struct: client.Calc.Area(w=3, h=4). client["name"]
    reaches a method whose name is also a Client attribute ("close").

    With debug=True, a server error that carries a traceback prints
    "Server side traceback:" and the traceback to stderr before it is
    raised. timeout, in seconds, bounds connecting and each wait for the
    server; None means no limit.

    A Client may be shared by threads. Calls reuse kept-alive connections:
    one after another they share one connection, at the same time each has
    its own.
    """

    def __init__(self, address, debug=False, timeout=None):
        try:
            host, port = address
        except (TypeError, ValueError):
            raise TypeError("address must be a (host, port) tuple, got %r" % (address,)) from None
        self._address = (host, int(port))
        self._debug = bool(debug)
        self._transport = Transport(host, int(port), timeout)
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return Method(self, name)

    def __getitem__(self, name):
        return Method(self, name)

    def close(self):
        """Close the client's idle connections. A later call reconnects."""
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<simplerpc.Client %s:%d>" % self._address

    def _call(self, method, args, kwargs):
        """Call method with args or kwargs and return its result."""
        if args and kwargs:
            raise TypeError("%s: pass arguments by position or by name, not both" % method)
        with self._ids_lock:
            req_id = next(self._ids)
        request = {"jsonrpc": "2.0", "method": method, "params": kwargs if kwargs else list(args), "id": req_id}
        body = json.dumps(request, default=_encode, allow_nan=False, separators=(",", ":")).encode("utf-8")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                status, reason, data = self._transport.post(body, _HEADERS, method)
            except NotSent as e:
                if attempt == MAX_ATTEMPTS:
                    raise ConnectionError("simplerpc: cannot reach %s:%d after %d attempts: %s"
                                          % (self._address + (attempt, e.cause))) from e.cause
            else:
                try:
                    return self._result(method, req_id, status, reason, data)
                except UnavailableError:
                    if attempt == MAX_ATTEMPTS:
                        raise
            time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")

    def _result(self, method, req_id, status, reason, data):
        """Return the result in a response, or raise its error."""
        resp = None
        try:
            resp = json.loads(data.decode("utf-8")) if data else None
        except ValueError:
            pass
        if status == 413:
            message = "the request exceeds the server's size limit"
            if isinstance(resp, dict) and isinstance(resp.get("error"), dict):
                message = str(resp["error"].get("message", message))
            raise ResourceExhaustedError(message, method=method)
        if status != 200:
            excerpt = data[:200].decode("utf-8", "replace").strip()
            raise InternalError("unexpected HTTP response %d %s: %s" % (status, reason, excerpt), method=method)
        if not isinstance(resp, dict) or resp.get("jsonrpc") != "2.0":
            raise InternalError("malformed JSON-RPC response: %r" % (data[:200],), method=method)
        if resp.get("error") is not None:
            err = from_error_object(resp["error"], method)
            if self._debug and err.traceback:
                tb = err.traceback if err.traceback.endswith("\n") else err.traceback + "\n"
                sys.stderr.write("Server side traceback:\n" + tb)
                sys.stderr.flush()
            raise err
        if resp.get("id") != req_id or "result" not in resp:
            raise InternalError("response %r does not answer request %d" % (data[:200], req_id), method=method)
        return resp["result"]


class Method:
    """A remote method or function, called like a local one. Attribute
    access goes one level down: client.Calc is Method("Calc"), and
    client.Calc.Add is Method("Calc.Add")."""

    __slots__ = ("_client", "_name")

    def __init__(self, client, name):
        self._client = client
        self._name = name

    def __call__(self, *args, **kwargs):
        return self._client._call(self._name, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return Method(self._client, self._name + "." + name)

    def __repr__(self):
        return "<simplerpc.Method %s of %r>" % (self._name, self._client)


def _backoff(attempt):
    """The wait after try number attempt: exponential, jittered."""
    d = min(INITIAL_BACKOFF * (2 ** (attempt - 1)), MAX_BACKOFF)
    return d / 2 + random.uniform(0, d / 2)


def _encode(v):
    """Encode what json cannot: bytes as base64 (as Go's []byte travels)."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    raise TypeError("Object of type %s is not JSON serializable" % type(v).__name__)
