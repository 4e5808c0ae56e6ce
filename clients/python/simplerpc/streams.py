"""Streams of the native protocol (PROTOCOL.md §12) for the Client.

A method whose description has a stream member is called as a stream:

    for line in client.Logs.Tail("app.log"):       # the server streams
        print(line)
    n = client.Store.Upload("f", chunks)           # the client streams: any iterable
    for answer in client.Chat.Talk(questions):     # both
        ...

A server's stream is a Stream: an iterator of its items. Leaving it early
(break, close(), its garbage collection, a timeout, KeyboardInterrupt)
cancels the stream on the server. The stream's error raises from the
iterator as the exception a call raises; an error before the stream
starts raises at the call.

Ownership: the Stream of a bidirectional method owns the thread that
sends the caller's iterable; the thread ends when the iterable does, or
at the next item once the stream is over. The iterable is the caller's:
one that blocks forever holds that thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator, Callable, Iterable, Iterator, Optional

from . import _session
from .errors import CanceledError, InternalError, NotRun, ResourceExhaustedError, UnavailableError

__all__ = ["Stream", "AsyncStream"]


class Stream(Iterator[Any]):
    """The items a server streams, as an iterator (one pass). close()
    cancels the stream if it is still running; so does a with block's
    end, and the iterator's garbage collection."""

    def __init__(self, session: Any, call: Any, codec: Any, convert: Optional[Callable[[Any], Any]],
                 deadline: Optional[float]) -> None:
        self._s = session
        self._c = call
        self._codec = codec
        self._convert = convert
        self._deadline = deadline
        self._over = False
        self._input_error: Optional[BaseException] = None  # what the caller's iterable raised (bidi)
        self._sender: Optional[threading.Thread] = None

    @property
    def method(self) -> str:
        """The method streaming."""
        return self._c.method

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> Any:
        if self._over:
            raise StopIteration
        try:
            body = self._s.next_item(self._c, self._deadline)
        except BaseException:  # the deadline, KeyboardInterrupt: the server is told
            self.close()
            raise
        if body is None:
            self._over = True
            finish(self._c, self._codec, self._input_error)
            raise StopIteration
        try:
            value = self._codec.decode(body)
        except Exception as e:
            self.close()
            raise InternalError("malformed stream item (%d bytes): %s" % (len(body), e), method=self.method) from None
        return value if self._convert is None else self._convert(value)

    def close(self) -> None:
        """Cancel the stream on the server, unless it is over."""
        if not self._over:
            self._over = True
            self._s.cancel_stream(self._c)

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_over", True):
            self._over = True
            try:
                self._s.cancel_stream(self._c, blocking=False)
            except Exception:  # at interpreter exit: the connection goes with it
                pass

    def __repr__(self) -> str:
        return "<simplerpc.Stream %s%s>" % (self.method, " (over)" if self._over else "")


def finish(c: Any, codec: Any, input_error: Optional[BaseException] = None) -> Any:
    """The results of a stream that is over, or raise its error."""
    if input_error is not None and isinstance(c.error, CanceledError):
        raise input_error
    try:
        return _session.result(c, codec.decode)
    except NotRun:
        raise UnavailableError("the server shut down before the stream ended", method=c.method) from None


def send_all(s: Any, c: Any, codec: Any, source: Iterable[Any], deadline: Optional[float], waiter: Any,
             max_body: int) -> None:
    """Send the items of source on c's stream, honoring its window, then
    end the client's half. Stops early when the stream is over."""
    for value in source:
        body = codec.encode_item(value)
        if len(body) > max_body:
            raise ResourceExhaustedError("a stream item of %d bytes is over the server's limit of %d"
                                         % (len(body), max_body), method=c.method)
        if not s.send_item(c, body, deadline, waiter):
            return
    s.end_stream(c)


def client_stream(s: Any, c: Any, codec: Any, source: Iterable[Any], deadline: Optional[float],
                  max_body: int) -> Any:
    """Send source on a client stream from this thread and return the
    method's results (as decoded)."""
    try:
        send_all(s, c, codec, source, deadline, c, max_body)
        while s.next_item(c, deadline) is not None:
            pass  # a client stream yields no items: dropped
    except BaseException:
        s.cancel_stream(c)
        raise
    return finish(c, codec)


def bidi_stream(s: Any, c: Any, codec: Any, source: Iterable[Any], deadline: Optional[float], max_body: int,
                convert: Optional[Callable[[Any], Any]]) -> Stream:
    """A Stream of the server's items, with a thread of its own sending
    source."""
    stream = Stream(s, c, codec, convert, deadline)
    waiter = s.sender(c)

    def run() -> None:
        try:
            send_all(s, c, codec, source, deadline, waiter, max_body)
        except BaseException as e:  # the caller's iterable failed, or the deadline passed: the stream ends
            stream._input_error = e
            s.cancel_stream(c)

    t = threading.Thread(target=run, name="simplerpc stream %s" % c.method, daemon=True)
    stream._sender = t
    t.start()
    return stream


# ---- asyncio ----------------------------------------------------------------


class AsyncStream(AsyncIterator[Any]):
    """The items a server streams, for AsyncClient: an async iterator
    (one pass). aclose() cancels the stream if it is still running; so
    do an async with block's end, the task's cancellation while it waits,
    and the iterator's garbage collection."""

    def __init__(self, session: Any, call: Any, codec: Any, convert: Optional[Callable[[Any], Any]],
                 deadline: Optional[float]) -> None:
        self._s = session
        self._c = call
        self._codec = codec
        self._convert = convert
        self._deadline = deadline
        self._over = False
        self._input_error: Optional[BaseException] = None
        self._sender: Optional["asyncio.Task[None]"] = None

    @property
    def method(self) -> str:
        """The method streaming."""
        return self._c.method

    def __aiter__(self) -> "AsyncStream":
        return self

    async def __anext__(self) -> Any:
        if self._over:
            raise StopAsyncIteration
        try:
            body = await self._s.next_item(self._c, self._deadline)
        except BaseException:  # the deadline, the task canceled: the server is told
            self._cancel()
            raise
        if body is None:
            self._over = True
            if self._sender is not None and self._input_error is None and not self._sender.done():
                self._sender.cancel()
            finish(self._c, self._codec, self._input_error)
            raise StopAsyncIteration
        try:
            value = self._codec.decode(body)
        except Exception as e:
            self._cancel()
            raise InternalError("malformed stream item (%d bytes): %s" % (len(body), e), method=self.method) from None
        return value if self._convert is None else self._convert(value)

    def _cancel(self) -> None:
        if not self._over:
            self._over = True
            self._s.cancel_stream(self._c)
        if self._sender is not None and not self._sender.done():
            self._sender.cancel()

    async def aclose(self) -> None:
        """Cancel the stream on the server, unless it is over."""
        self._cancel()
        if self._sender is not None:
            await asyncio.gather(self._sender, return_exceptions=True)

    async def __aenter__(self) -> "AsyncStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def __del__(self) -> None:
        if not getattr(self, "_over", True):
            self._over = True
            try:
                self._s.loop.call_soon_threadsafe(self._s.cancel_stream, self._c)
            except RuntimeError:  # the loop is closed: so is the connection
                pass

    def __repr__(self) -> str:
        return "<simplerpc.AsyncStream %s%s>" % (self.method, " (over)" if self._over else "")


async def _asend_all(s: Any, c: Any, codec: Any, source: Any, deadline: Optional[float], max_body: int) -> None:
    """Send the items of source (an iterable or an async iterable) on c's
    stream, honoring its window, then end the client's half."""
    async def one(value: Any) -> bool:
        body = codec.encode_item(value)
        if len(body) > max_body:
            raise ResourceExhaustedError("a stream item of %d bytes is over the server's limit of %d"
                                         % (len(body), max_body), method=c.method)
        return bool(await s.send_item(c, body, deadline))

    if hasattr(source, "__aiter__"):
        async for value in source:
            if not await one(value):
                return
    else:
        for value in source:
            if not await one(value):
                return
    s.end_stream(c)


async def async_client_stream(s: Any, c: Any, codec: Any, source: Any, deadline: Optional[float],
                              max_body: int) -> Any:
    """Send source on a client stream and return the method's results."""
    try:
        await _asend_all(s, c, codec, source, deadline, max_body)
        while await s.next_item(c, deadline) is not None:
            pass  # a client stream yields no items: dropped
    except BaseException:
        s.cancel_stream(c)
        raise
    return finish(c, codec)


def async_bidi_stream(s: Any, c: Any, codec: Any, source: Any, deadline: Optional[float], max_body: int,
                      convert: Optional[Callable[[Any], Any]]) -> AsyncStream:
    """An AsyncStream of the server's items, with a task of its own (which
    it owns) sending source."""
    stream = AsyncStream(s, c, codec, convert, deadline)

    async def run() -> None:
        try:
            await _asend_all(s, c, codec, source, deadline, max_body)
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # the caller's iterable failed, or the deadline passed: the stream ends
            stream._input_error = e
            s.cancel_stream(c)

    stream._sender = s.loop.create_task(run())
    return stream
