"""The Client: a simplerpc server's methods as Python attributes."""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
import urllib.parse

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple, Union

from . import _wire, streams
from ._describe import Description
from .errors import (DeadlineExceededError, InternalError, InvalidArgumentError, UnknownNameError, NotRun, NotSent, RemoteError,
                     ResourceExhaustedError, UnavailableError, from_error_object)
from ._callbacks import DEFAULT_LIMIT as DEFAULT_CALLBACKS, DEFAULT_THREADS as DEFAULT_CALLBACK_THREADS, has_callables
from .native import NativeTransport
from .retry import DEFAULT_RETRY, RetryPolicy
from .transport import Transport

__all__ = ["Client", "Method", "Service", "Batch", "MAX_ATTEMPTS", "parse_address"]

# The default number of tries of a call that was not run (RetryPolicy).
MAX_ATTEMPTS = DEFAULT_RETRY.max_attempts

_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "simplerpc-python",
}

if TYPE_CHECKING:
    import ssl

# A server's address: (host, port), or a URL.
Address = Union[Tuple[str, int], str]

_DESCRIBE = "simplerpc.describe"


def parse_address(address: Address) -> Tuple[str, str, int, str]:
    """Return (scheme, host, port, path) for a (host, port) tuple (the
    native protocol) or a URL: simplerpc://host:port (native),
    simplerpcs://host:port (native over TLS), http://host:port/path
    (JSON-RPC over HTTP), https://host:port/path."""
    if isinstance(address, str):
        u = urllib.parse.urlsplit(address)
        if u.scheme not in ("simplerpc", "simplerpcs", "http", "https") or not u.hostname:
            raise TypeError("address must be a (host, port) tuple or a URL (simplerpc://host:port, "
                            "simplerpcs://, http://host:port/path, https://), got %r" % (address,))
        port = u.port or {"http": 80, "https": 443}.get(u.scheme)
        if port is None:
            raise TypeError("the URL %r names no port" % (address,))
        return u.scheme, u.hostname, port, u.path or "/"
    try:
        host, port = address
    except (TypeError, ValueError):
        raise TypeError("address must be a (host, port) tuple or a URL, got %r" % (address,)) from None
    return "simplerpc", host, int(port), "/"


class Client:
    """A simplerpc server's methods, called as Python ones.

    address is a (host, port) tuple or a simplerpc:// URL for the native
    protocol (one multiplexed connection with a resumable session, CBOR
    when the cbor2 package is installed, JSON otherwise), simplerpcs://
    for it over TLS, or an http:// or https:// URL with the handler's path
    for JSON-RPC 2.0 over HTTP (for proxies and plain HTTP setups).

    Attribute access builds a call: client.Calc.Add(1, 2) calls "Calc.Add";
    client.greet("ada") calls a function registered with RegisterFunc;
    client["name"] reaches a name a Client attribute would hide. Keyword
    arguments fill a struct parameter by name. _timeout= and _metadata= in
    a call set that call's timeout (seconds) and metadata (a dict of
    strings, sent as native metadata or HTTP headers).

    Options (keywords only):
        codec: "cbor" or "json" (native protocol; default cbor when cbor2
            is installed).
        timeout: the default timeout of every call, in seconds (None: no
            limit). Natively it travels to the server, whose context ends
            then; a call past it raises DeadlineExceededError and, natively,
            is canceled on the server.
        connect_timeout: bounds dialing and the handshake (default 10 s).
        metadata: a dict sent with every call (a call's _metadata adds to
            it and overrides its keys).
        ssl_context: an ssl.SSLContext: TLS (implied by simplerpcs:// and
            https://, with ssl.create_default_context() then).
        server_hostname: the name the server's certificate must carry (the
            host by default).
        retry: a RetryPolicy for calls that were not run (default: the Go
            client's, 10 attempts from 1 ms to 1 s).
        debug: print "Server side traceback:" and the server's traceback to
            stderr before raising an error that carries one.
        callbacks: run the callables passed among a call's arguments when
            the server calls them back (native protocol; default True).
            False refuses them: the hello does not ask for callbacks, and
            the server's calls of them fail with permission_denied.
        max_callbacks: invocations run at once per connection (default
            256); past it the server's call of a callback fails with
            resource_exhausted, not run.
        callback_threads: the threads of the pool that runs callbacks
            (default 16); invocations past them wait for a thread.

    A Client is safe to share between threads; close() (or a with block)
    closes its connections, and a later call connects again.
    """

    def __init__(self, address: Address, debug: bool = False, timeout: Optional[float] = None, *,
                 codec: Optional[str] = None, connect_timeout: float = 10.0,
                 metadata: Optional[Dict[str, str]] = None, ssl_context: Optional["ssl.SSLContext"] = None,
                 server_hostname: Optional[str] = None, retry: Optional[RetryPolicy] = None,
                 callbacks: bool = True, max_callbacks: int = DEFAULT_CALLBACKS,
                 callback_threads: int = DEFAULT_CALLBACK_THREADS) -> None:
        scheme, host, port, path = parse_address(address)
        if retry is None:
            retry = DEFAULT_RETRY
        if not isinstance(retry, RetryPolicy):
            raise TypeError("retry must be a RetryPolicy, not %r" % (retry,))
        if ssl_context is None and scheme in ("simplerpcs", "https"):
            import ssl
            ssl_context = ssl.create_default_context()
        self._address = (host, port)
        self._scheme = scheme
        self._debug = bool(debug)
        self._timeout = timeout
        self._metadata = _check_metadata(metadata) if metadata else None
        self._retry = retry
        self._native = scheme.startswith("simplerpc")
        self._transport: Any
        if self._native:
            self._transport = NativeTransport(host, port, codec=codec, ssl_context=ssl_context,
                                              server_hostname=server_hostname, connect_timeout=connect_timeout,
                                              retry=retry, callbacks=callbacks, max_callbacks=max_callbacks,
                                              callback_threads=callback_threads)
        else:
            if codec not in (None, "json"):
                raise ValueError("JSON-RPC over HTTP carries JSON only")
            self._transport = Transport(host, port, timeout, path=path, ssl_context=ssl_context,
                                        connect_timeout=connect_timeout, server_hostname=server_hostname)
        self._ids = itertools.count(1)
        self._names: Dict[str, Any] = {}  # name -> Service or Method, made once
        self._names_mu = threading.Lock()
        # A Description once fetched; False when the server has none.
        self._description: Union[None, bool, Description] = None
        self._describe_mu = threading.Lock()

    # ---- names ------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> Any:
        obj = self._names.get(name)
        if obj is None:
            service, dot, meth = name.partition(".")
            if dot:
                obj = self[service][meth]
            else:
                obj = Service(self, name)
            with self._names_mu:
                obj = self._names.setdefault(name, obj)
        return obj

    def __dir__(self):
        d = self.describe()
        names = list(d.services) + list(d.functions) if d is not None else []
        return sorted(set(names) | {"close", "describe", "batch", "notify"})

    def describe(self, refresh: bool = False, timeout: Optional[float] = None,
                 _for_call: bool = False) -> Optional[Description]:
        """The server's description (services, methods, Go signatures),
        fetched once; None when the server does not describe itself."""
        if self._description is not None and not refresh:
            return self._description if isinstance(self._description, Description) else None
        with self._describe_mu:
            if self._description is None or refresh:
                try:
                    self._description = Description(self._call_once(_DESCRIBE, (), {}, timeout, self._metadata))
                except ConnectionError:
                    if _for_call:  # the call itself could not be sent either
                        raise
                    return None
                except (UnavailableError, DeadlineExceededError):
                    return None  # not now: asked again later
                except Exception:  # introspection off, or an answer this client cannot read
                    self._description = False
        return self._description if isinstance(self._description, Description) else None

    def _check_name(self, name):
        """Raise NotFoundError, with a hint, for a name the server's
        description (if already fetched) does not hold."""
        d = self._description
        if not d:
            return
        hint = d.missing(name)
        if hint:
            raise UnknownNameError(hint, method=name)

    # ---- calls ------------------------------------------------------------

    def _call(self, method, args, kwargs):
        """Call method (a Method) with args or kwargs; return its result."""
        timeout = kwargs.pop("_timeout", self._timeout) if kwargs else self._timeout
        metadata = kwargs.pop("_metadata", None) if kwargs else None
        if args and kwargs:
            raise TypeError("%s: pass arguments by position or by name, not both" % method.name)
        if self._description is None and self._native:
            self.describe(timeout=timeout, _for_call=True)  # once: names are checked, results typed, streams told
        stream = None
        d = self._description
        if d:
            # What the description says of the name, looked up once per
            # description (a name it does not hold raises every time).
            plan = method.plan
            if plan is None or plan[0] is not d:
                self._check_name(method.name)
                entry = d.entry(method.name)
                plan = method.plan = (d, entry.get("stream") if entry is not None else None)
            stream = plan[1]
        if self._metadata:
            metadata = dict(self._metadata, **_check_metadata(metadata)) if metadata else self._metadata
        elif metadata:
            metadata = _check_metadata(metadata)
        if stream:
            return self._stream(method.name, method.prefix, stream, args, kwargs, timeout, metadata)
        return self._call_once(method.name, args, kwargs, timeout, metadata, method.prefix)

    # ---- streams ----------------------------------------------------------

    def _stream(self, name, prefix, spec, args, kwargs, timeout, metadata):
        """Call a method that streams (spec: its description's stream
        member): an iterator of the server's items, or the results of a
        client stream."""
        kind = spec.get("kind")
        if not self._native:
            raise InvalidArgumentError("%s streams (a %s stream): streams need the native protocol (a (host, port) "
                                       "address or a simplerpc:// URL); JSON-RPC over HTTP carries none"
                                       % (name, kind), method=name)
        source = None
        if kind in ("client", "bidi"):
            if kwargs or not args:
                raise TypeError("%s takes a stream: pass an iterable of its items as the last argument" % name)
            source = args[-1]
            args = args[:-1]
            try:
                source = iter(source)
            except TypeError:
                raise TypeError("%s takes a stream as its last argument: an iterable, not %s"
                                % (name, type(source).__name__)) from None
        deadline = None if timeout is None else time.monotonic() + timeout
        s, c = self._open_stream(name, prefix, [kwargs] if kwargs else list(args), timeout, deadline, metadata,
                                 kind == "server")
        codec = self._transport.codec
        d = self._description
        if c.done and not c.stream.opened:
            streams.finish(c, codec)  # the method failed before its stream started: raises
        max_body = c.conn.max_body if c.conn is not None else _wire.MAX_REPLY
        if kind == "client":
            results = streams.client_stream(s, c, codec, source, deadline, max_body)
            convert = d.converter(name) if d else None
            if convert is not None:
                results = convert(results)
            return results[0] if len(results) == 1 else (results or None)
        item = d.item_converter(name) if d else None
        if kind == "bidi":
            return streams.bidi_stream(s, c, codec, source, deadline, max_body, item)
        return streams.Stream(s, c, codec, item, deadline)

    def _open_stream(self, name, prefix, args, timeout, deadline, metadata, end):
        """Open a stream, retrying while it was not run."""
        policy = self._retry
        attempt = 0
        while True:
            attempt += 1
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                s, c = self._transport.open_stream(name, prefix, args, remaining, metadata, end)
                if c.done and not c.stream.opened and (c.error is not None or c.flags & _wire.FLAG_ERROR):
                    try:
                        streams.finish(c, self._transport.codec)
                    except UnavailableError:  # refused, not run: again
                        raise
                    except RemoteError as e:
                        self._print_traceback(e)
                        raise
                return s, c
            except NotSent as e:
                if attempt >= policy.max_attempts:
                    raise ConnectionError("simplerpc: cannot reach %s:%d after %d attempts: %s"
                                          % (self._address + (attempt, e.cause))) from e.cause
                err = e
            except NotRun as e:
                if attempt >= policy.max_attempts:
                    raise UnavailableError("%s (after %d attempts)" % (e, attempt), method=name) from None
                err = e
            except UnavailableError as e:
                if attempt >= policy.max_attempts:
                    raise
                err = e
            wait = policy.backoff(attempt)
            if deadline is not None and time.monotonic() + wait >= deadline:
                if isinstance(err, UnavailableError):
                    raise err
                raise DeadlineExceededError("the stream was not opened before its deadline: %s" % err, method=name)
            time.sleep(wait)

    def _call_once(self, name, args, kwargs, timeout, metadata, prefix=None):
        """Make a call, retrying it while it was not run."""
        deadline = None if timeout is None else time.monotonic() + timeout
        policy = self._retry
        attempt = 0
        while True:
            attempt += 1
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                if self._native:
                    if prefix is None:
                        prefix = _wire.method_prefix(name)
                    results = self._transport.call(name, prefix, [kwargs] if kwargs else args, remaining, metadata)
                    if self._description:
                        convert = self._description.converter(name)
                        if convert is not None:
                            results = convert(results)
                    return results[0] if len(results) == 1 else (results or None)
                return self._post(name, args, kwargs, remaining, metadata)
            except NotSent as e:
                if attempt >= policy.max_attempts:
                    raise ConnectionError("simplerpc: cannot reach %s:%d after %d attempts: %s"
                                          % (self._address + (attempt, e.cause))) from e.cause
                err = e
            except NotRun as e:
                if attempt >= policy.max_attempts:
                    raise UnavailableError("%s (after %d attempts)" % (e, attempt), method=name) from None
                err = e
            except UnavailableError as e:
                if attempt >= policy.max_attempts:
                    self._print_traceback(e)
                    raise
                err = e
            except DeadlineExceededError:
                raise
            except RemoteError as e:
                self._print_traceback(e)
                raise
            wait = policy.backoff(attempt)
            if deadline is not None and time.monotonic() + wait >= deadline:
                if isinstance(err, UnavailableError):
                    raise err
                raise DeadlineExceededError("the call was not run before its deadline: %s" % err, method=name)
            time.sleep(wait)

    def _print_traceback(self, err):
        if self._debug and err.traceback:
            tb = err.traceback if err.traceback.endswith("\n") else err.traceback + "\n"
            sys.stderr.write("Server side traceback:\n" + tb)
            sys.stderr.flush()

    def _post(self, name, args, kwargs, timeout, metadata, notify=False):
        """One JSON-RPC attempt."""
        _no_callables(name, args, kwargs)
        req_id = None if notify else next(self._ids)
        request = {"jsonrpc": "2.0", "method": name, "params": kwargs if kwargs else list(args)}
        if not notify:
            request["id"] = req_id
        body = _json_body(request)
        headers = dict(_HEADERS, **metadata) if metadata else _HEADERS
        status, reason, data = self._transport.post(body, headers, name, timeout=timeout)
        if notify:
            if status not in (200, 204):
                raise InternalError("unexpected HTTP response %d %s to a notification" % (status, reason), method=name)
            return None
        return _result(name, req_id, status, reason, data, _one_response)

    def notify(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Call the method called name and do not wait for its result
        (errors are not reported). Over HTTP it is a JSON-RPC
        notification; natively the call is sent and its reply dropped."""
        metadata = kwargs.pop("_metadata", None)
        if args and kwargs:
            raise TypeError("%s: pass arguments by position or by name, not both" % name)
        if self._metadata:
            metadata = dict(self._metadata, **(metadata or {}))
        if self._native:
            s, c = self._transport.start(name, _wire.method_prefix(name), [kwargs] if kwargs else args, None, metadata)
            s.forget_quietly(c)
            return
        self._post(name, args, kwargs, self._timeout, metadata, notify=True)

    def batch(self) -> "Batch":
        """A Batch: calls queued in it are sent together when it ends (one
        write natively, one JSON-RPC batch over HTTP).

            with client.batch() as b:
                x = b.Calc.Add(1, 2)
                y = b.Calc.Div(1, 0)
            x.result()    # 3
            y.result()    # raises ApplicationError
        """
        return Batch(self)

    def close(self) -> None:
        """Close the client's connections. A later call reconnects."""
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._native:
            return "<simplerpc.Client %s://%s:%d>" % ((self._scheme,) + self._address)
        return "<simplerpc.Client %s://%s:%d%s>" % ((self._scheme,) + self._address + (self._transport.path,))


class Service:
    """A registered service (client.Calc), or a function's name before it
    is called. Attribute access gives its methods; dir() and help() show
    them, from the server's description."""

    def __init__(self, client, name):
        self._client = client
        self._name = name
        self._methods = {}
        self.prefix = None
        self.name = name
        self.plan = None  # (description, its stream member) once called: Client._call

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name):
        m = self._methods.get(name)
        if m is None:
            full = self._name + "." + name
            self._client._check_name(full)
            m = self._methods.setdefault(name, Method(self._client, full))
        return m

    def __call__(self, *args, **kwargs):
        # A function registered with RegisterFunc.
        if self.prefix is None:
            self.prefix = _wire.method_prefix(self._name)
        return self._client._call(self, args, kwargs)

    def __dir__(self):
        d = self._client.describe()
        return sorted(d.methods_of(self._name)) if d is not None else []

    @property
    def __doc__(self):
        d = self._client.describe()
        return d.service_doc(self._name) if d is not None else "simplerpc service or function %s" % self._name

    def __repr__(self):
        return "<simplerpc.Service %s of %r>" % (self._name, self._client)


class Method:
    """A remote method, called like a local one: client.Calc.Add(1, 2).
    help() shows its Go signature, from the server's description."""

    __slots__ = ("_client", "name", "prefix", "plan")

    def __init__(self, client, name):
        self._client = client
        self.name = name
        self.prefix = _wire.method_prefix(name)
        self.plan = None  # (description, its stream member) once called: Client._call

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._client._call(self, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError("%s is a method: it has no attribute %s" % (self.name, name))

    @property
    def __doc__(self):
        d = self._client.describe()
        return d.method_doc(self.name) if d is not None else "simplerpc method %s" % self.name

    @property
    def __signature__(self):
        d = self._client.describe()
        return d.signature(self.name) if d is not None else None

    def __repr__(self):
        return "<simplerpc.Method %s of %r>" % (self.name, self._client)


class Batch:
    """Calls queued to be sent together (Client.batch). Each call returns
    a Pending; the batch is sent when the with block ends, or by send()."""

    def __init__(self, client):
        self._client = client
        self._queued = []

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _BatchName(self, name)

    def __getitem__(self, name):
        return _BatchName(self, name)

    def _add(self, name, args, kwargs):
        metadata = kwargs.pop("_metadata", None)
        timeout = kwargs.pop("_timeout", self._client._timeout)
        if args and kwargs:
            raise TypeError("%s: pass arguments by position or by name, not both" % name)
        self._client._check_name(name)
        d = self._client.describe() if self._client._native else self._client._description
        if d and ((d.entry(name) or {}).get("stream")):
            raise TypeError("%s streams: a stream is called alone, not in a batch" % name)
        if self._client._metadata:
            metadata = dict(self._client._metadata, **(metadata or {}))
        p = Pending(name)
        self._queued.append((p, name, args, kwargs, timeout, metadata))
        return p

    def send(self) -> None:
        """Send the queued calls and wait for their results."""
        queued, self._queued = self._queued, []
        if not queued:
            return
        c = self._client
        if c._native:
            outs = c._transport.call_many([(name, _wire.method_prefix(name), [kw] if kw else args, t, md)
                                           for _, name, args, kw, t, md in queued])
            for (p, name, args, kw, t, md), out in zip(queued, outs):
                if isinstance(out, (NotSent, NotRun)) or isinstance(out, UnavailableError):
                    try:  # not run: made again alone, with the retry policy
                        p._set(c._call_once(name, args, kw, t, md), None)
                    except Exception as e:
                        p._set(None, e)
                elif isinstance(out, Exception):
                    p._set(None, out)
                else:
                    p._set(out[0] if len(out) == 1 else (out or None), None)
            return
        requests = []
        ids = {}
        for p, name, args, kw, t, md in queued:
            rid = next(c._ids)
            ids[rid] = p
            _no_callables(name, args, kw)
            requests.append({"jsonrpc": "2.0", "method": name, "params": kw if kw else list(args), "id": rid})
        md = queued[0][5]
        headers = dict(_HEADERS, **md) if md else _HEADERS
        try:
            status, reason, data = c._transport.post(_json_body(requests), headers, "batch", timeout=queued[0][4])
            responses = _result("batch", None, status, reason, data, _many_responses)
        except Exception as e:
            for p in ids.values():
                p._set(None, e)
            return
        for resp in responses:
            p = ids.pop(resp.get("id"), None) if isinstance(resp, dict) else None
            if p is None:
                continue
            try:
                p._set(_one_response(p.method, resp.get("id"), resp), None)
            except Exception as e:
                p._set(None, e)
        for p in ids.values():
            p._set(None, InternalError("the batch response has no answer for this call", method=p.method))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.send()


class _BatchName:
    __slots__ = ("_batch", "_name")

    def __init__(self, batch, name):
        self._batch = batch
        self._name = name

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _BatchName(self._batch, self._name + "." + name)

    def __call__(self, *args, **kwargs):
        return self._batch._add(self._name, args, kwargs)


class Pending:
    """The result of a call in a Batch, once the batch is sent."""

    __slots__ = ("method", "_done", "_value", "_error")

    def __init__(self, method):
        self.method = method
        self._done = False
        self._value = None
        self._error = None

    def _set(self, value, error):
        self._done, self._value, self._error = True, value, error

    def result(self) -> Any:
        """The call's result, or raise its error."""
        if not self._done:
            raise RuntimeError("the batch holding %s has not been sent" % self.method)
        if self._error is not None:
            raise self._error
        return self._value

    def __repr__(self):
        return "<simplerpc.Pending %s%s>" % (self.method, "" if self._done else " (not sent)")


def _check_metadata(md):
    if not isinstance(md, dict):
        raise TypeError("metadata must be a dict of strings, not %r" % (md,))
    for k, v in md.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError("metadata keys and values are strings: %r: %r" % (k, v))
    return md


def _json_default(v):
    from ._codec import _json_default as enc
    return enc(v)


def _json_body(obj, _enc=json.JSONEncoder(default=_json_default, allow_nan=False, separators=(",", ":")).encode):
    return _enc(obj).encode("utf-8")


def _result(method, req_id, status, reason, data, extract):
    """The decoded response, or raise the error the HTTP answer means."""
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
    return extract(method, req_id, resp, data)


def _one_response(method, req_id, resp, data=b""):
    if not isinstance(resp, dict) or resp.get("jsonrpc") != "2.0":
        raise InternalError("malformed JSON-RPC response: %r" % (data[:200] or resp,), method=method)
    if resp.get("error") is not None:
        raise from_error_object(resp["error"], method)
    if resp.get("id") != req_id or "result" not in resp:
        raise InternalError("response %r does not answer request %d" % (data[:200] or resp, req_id), method=method)
    return resp["result"]


def _many_responses(method, req_id, resp, data):
    if isinstance(resp, dict) and resp.get("error") is not None:
        raise from_error_object(resp["error"], method)
    if not isinstance(resp, list):
        raise InternalError("malformed JSON-RPC batch response: %r" % (data[:200],), method=method)
    return resp


def _no_callables(name, args, kwargs):
    """Refuse a callable argument over JSON-RPC, before anything is sent."""
    values = list(args) + (list(kwargs.values()) if kwargs else [])
    if has_callables(values):
        raise InvalidArgumentError("%s: a callable argument is a callback, and callbacks need the native protocol "
                                   "(a (host, port) address or a simplerpc:// URL); JSON-RPC over HTTP carries none: "
                                   "not sent" % name, method=name)
