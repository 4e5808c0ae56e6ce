"""The exceptions a call raises.

Every failure of a call that reached a server, and every failure after a
request may have been sent, raises a RemoteError: an instance of the
subclass for its simplerpc code (NotFoundError, ApplicationError, ...).
A server that cannot be reached raises the built-in ConnectionError.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = [
    "register_error",
    "RemoteError",
    "ApplicationError",
    "NotFoundError",
    "UnknownNameError",
    "InvalidArgumentError",
    "InternalError",
    "UnavailableError",
    "ConnectionLostError",
    "CanceledError",
    "DeadlineExceededError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "PermissionDeniedError",
]


class RemoteError(Exception):
    """A call failed.

    Attributes:
        code: the simplerpc code's name, e.g. "application", "not_found".
        message: the error text, or the panic value.
        type: the Go type of the server-side error or panic value, or None.
        traceback: the server-side traceback, or None. Servers send one
            only when started with WithStackTraces(true).
        method: the called method, "Service.Method" or a function name.
        name: the name the server registered the error under, or None.
        detail: the fields of a registered error type's value, or None.
        rpc_code: the JSON-RPC error code (-32000 ...), or None for a
            failure seen by the client itself.
    """

    code = None

    def __init__(self, message: str, code: Optional[str] = None, type: Optional[str] = None,
                 traceback: Optional[str] = None, method: Optional[str] = None, name: Optional[str] = None,
                 detail: Any = None, rpc_code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.type = type or None
        self.traceback = traceback or None
        self.method = method or None
        self.name = name or None
        self.detail = detail
        self.rpc_code = rpc_code

    def __str__(self):
        if self.method:
            return "%s: %s: %s" % (self.method, self.code, self.message)
        return "%s: %s" % (self.code, self.message)

    def __repr__(self):
        return "%s(%r, code=%r, method=%r)" % (type(self).__name__, self.message, self.code, self.method)


class ApplicationError(RemoteError):
    """The method ran and returned an error."""

    code = "application"


class NotFoundError(RemoteError):
    """No such service, method or function."""

    code = "not_found"


class UnknownNameError(NotFoundError, AttributeError):  # type: ignore[misc]
    """A name the server's description does not hold, caught before any
    call; also an AttributeError, so hasattr() and completion work."""


class InvalidArgumentError(RemoteError):
    """The arguments do not fit the method's parameters, or the request
    was malformed."""

    code = "invalid_argument"


class InternalError(RemoteError):
    """The method panicked (message: the panic value), or the server's
    answer made no sense."""

    code = "internal"


class UnavailableError(RemoteError):
    """The call was not run: the server was busy or shutting down. The
    client already retried it."""

    code = "unavailable"


class ConnectionLostError(RemoteError):
    """The connection broke after the request was sent: the call may or
    may not have run, so it was not retried."""

    code = "connection_lost"


class CanceledError(RemoteError):
    """The call was canceled."""

    code = "canceled"


class DeadlineExceededError(RemoteError):
    """The call's deadline passed: the client's timeout, or a deadline on
    the server. The call may or may not have run."""

    code = "deadline_exceeded"


class ResourceExhaustedError(RemoteError):
    """A message exceeded the server's size limit."""

    code = "resource_exhausted"


class UnauthenticatedError(RemoteError):
    """The caller did not prove who it is."""

    code = "unauthenticated"


class PermissionDeniedError(RemoteError):
    """The caller may not make this call."""

    code = "permission_denied"


# The exception class of each simplerpc code.
CLASSES = {cls.code: cls for cls in (
    ApplicationError, NotFoundError, InvalidArgumentError, InternalError,
    UnavailableError, ConnectionLostError, CanceledError, DeadlineExceededError,
    ResourceExhaustedError, UnauthenticatedError, PermissionDeniedError,
)}

# The simplerpc code of each JSON-RPC error code, for error objects that
# carry no data (errors about the request itself, or another server).
RPC_CODES = {
    -32700: "invalid_argument",  # parse error
    -32600: "invalid_argument",  # invalid request
    -32601: "not_found",
    -32602: "invalid_argument",
    -32603: "internal",
    -32000: "application",
    -32001: "unavailable",
    -32002: "resource_exhausted",
    -32003: "canceled",
    -32004: "deadline_exceeded",
    -32005: "unauthenticated",
    -32006: "permission_denied",
    -32007: "connection_lost",
}


# The exception class of each registered error name (register_error).
REGISTERED = {}


def register_error(name: str, cls: type) -> None:
    """Raise cls for every error the server registered under name (with
    Go's simplerpc.RegisterError or RegisterErrorType):

        class OutOfStock(simplerpc.ApplicationError): pass
        simplerpc.register_error("shop.out_of_stock", OutOfStock)

    cls must be a subclass of RemoteError (usually of ApplicationError, the
    code such errors travel with); it is built with the same arguments as
    RemoteError. Registering a name again replaces its class."""
    if not isinstance(name, str) or not name:
        raise TypeError("the error name must be a non-empty string")
    if not (isinstance(cls, type) and issubclass(cls, RemoteError)):
        raise TypeError("register_error needs a subclass of simplerpc.RemoteError, not %r" % (cls,))
    REGISTERED[name] = cls


def new_error(code, message, **attrs):
    """Return the RemoteError subclass instance for code (or for the
    registered name in attrs)."""
    name = attrs.get("name")
    if name and name in REGISTERED:
        cls = REGISTERED[name]
        err = cls(message, **attrs)
        if type(err).code is None or type(err).code != code:
            err.code = code
        return err
    cls = CLASSES.get(code)
    if cls is None:
        return RemoteError(message, code=code, **attrs)
    return cls(message, **attrs)


def from_error_object(obj, method):
    """Build the exception for a JSON-RPC error object."""
    if not isinstance(obj, dict):
        return InternalError("malformed error object: %r" % (obj,), method=method)
    rpc_code = obj.get("code")
    message = obj.get("message")
    if not isinstance(message, str):
        message = str(message)
    data = obj.get("data")
    if not isinstance(data, dict):
        data = {}
    code = data.get("code")
    if not isinstance(code, str) or not code:
        code = RPC_CODES.get(rpc_code, "application")
    return new_error(
        code, message,
        type=_text(data.get("type")),
        traceback=_text(data.get("stack")),
        method=_text(data.get("method")) or method,
        name=_text(data.get("name")),
        detail=data.get("detail"),
        rpc_code=rpc_code if isinstance(rpc_code, int) else None,
    )


def _text(v):
    return v if isinstance(v, str) and v else None


class NotSent(Exception):
    """No connection could be made, or the request did not reach the
    server whole: the call was not run, and may be retried. cause is the
    socket error. (Internal: the client retries, then raises the built-in
    ConnectionError.)"""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


class NotRun(Exception):
    """The server promised the call was not run (a final go-away, or a
    session going away): it may be sent again. (Internal: the client
    retries it.)"""
