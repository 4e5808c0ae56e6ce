"""Python client for simplerpc servers.

    from simplerpc import Client

    client = Client(("127.0.0.1", 9000))
    client.Calc.Add(1, 2)         # 3: the Go method Calc.Add
    client.Calc.Area(w=3, h=4)    # 12: keyword arguments fill a struct
    client.greet("ada")           # a function registered with RegisterFunc

It speaks JSON-RPC 2.0 over HTTP/1.1 to the server's port, keeping
connections alive, and uses the standard library only. Server errors raise
RemoteError subclasses (NotFoundError, ApplicationError, ...); a server
that cannot be reached raises ConnectionError.
"""

from .aio import AsyncClient
from .client import Batch, Client, Method, Pending, Service
from .retry import RetryPolicy
from .errors import (
    register_error,
    ApplicationError,
    CanceledError,
    ConnectionLostError,
    DeadlineExceededError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    UnknownNameError,
    PermissionDeniedError,
    RemoteError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)

__version__ = "0.2.0"

__all__ = [
    "Client",
    "AsyncClient",
    "RetryPolicy",
    "register_error",
    "Method",
    "Service",
    "Batch",
    "Pending",
    "RemoteError",
    "ApplicationError",
    "CanceledError",
    "ConnectionLostError",
    "DeadlineExceededError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "UnknownNameError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
]
