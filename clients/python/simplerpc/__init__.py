"""Python client for simplerpc servers.

    import simplerpc

    client = simplerpc.Client(("127.0.0.1", 9000))
    client.Calc.Add(1, 2)         # 3: the Go method Calc.Add
    client.Calc.Area(w=3, h=4)    # 12: keyword arguments fill a struct
    client.greet("ada")           # a function registered with RegisterFunc

    for line in client.Logs.Tail("app.log"):   # a server stream: an iterator
        print(line)

    async with simplerpc.AsyncClient(("127.0.0.1", 9000)) as ac:
        await ac.Calc.Add(1, 2)

A (host, port) address speaks the native protocol: one multiplexed
connection per client with a resumable session, CBOR when the cbor2
package is installed and JSON otherwise; "http://host:port/path" speaks
JSON-RPC 2.0 over HTTP. Server errors raise RemoteError subclasses
(NotFoundError, ApplicationError, or the classes given to register_error);
a server that cannot be reached raises ConnectionError. See README.md.
"""


from .aio import AsyncClient
from .client import Batch, Client, Method, Pending, Service
from .retry import RetryPolicy
from .streams import AsyncStream, Stream
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
    "Stream",
    "AsyncStream",
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
