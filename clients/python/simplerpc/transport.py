"""HTTP/1.1 keep-alive connections to one server, shared by threads.

A call takes an idle connection from the pool (or opens one), sends its
request, reads the response and gives the connection back. Calls from one
thread after another reuse one connection; calls running at the same time
in several threads each get their own.
"""

import http.client
import select
import socket
import threading
import time

from .errors import ConnectionLostError, DeadlineExceededError, NotSent

__all__ = ["NotSent", "Transport"]

# A pooled connection idle for longer is closed rather than reused, so the
# client seldom races a server closing it (simplerpc servers close idle
# connections after 2 minutes).
IDLE_LIMIT = 30.0

# The most idle connections kept.
MAX_IDLE = 16


class Transport:
    """Posts JSON-RPC requests to host:port over pooled connections."""

    def __init__(self, host, port, timeout=None, path="/", ssl_context=None, connect_timeout=None,
                 server_hostname=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.path = path
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout if connect_timeout is not None else timeout
        self.server_hostname = server_hostname
        self._lock = threading.Lock()
        self._idle = []  # [(connection, idle since)], most recent last
        self._generation = 0  # bumped by close(): older connections are not pooled again

    def post(self, body, headers, method, timeout=None):
        """Send body and return (status, reason, response body). timeout
        (seconds) bounds this request's waits, the transport's when None.

        Raises NotSent when the request was not delivered whole (it cannot
        have run), DeadlineExceededError when the timeout passed, and
        ConnectionLostError when the connection broke after the request
        was sent (it may have run).
        """
        with self._lock:
            generation = self._generation
        conn = self._take()
        if conn.sock is None:
            try:
                conn.timeout = self.connect_timeout
                conn.connect()
            except OSError as e:
                conn.close()
                raise NotSent(e) from e
        wait = timeout if timeout is not None else self.timeout
        conn.sock.settimeout(wait)
        conn.timeout = wait
        try:
            conn.request("POST", self.path, body, headers)
        except socket.timeout as e:
            conn.close()
            raise DeadlineExceededError("timed out sending the request (timeout %ss)" % wait,
                                        method=method) from e
        except (OSError, http.client.HTTPException) as e:
            # The server closed the connection before taking the whole
            # request, so it has not run it.
            conn.close()
            raise NotSent(e) from e
        try:
            resp = conn.getresponse()
            data = resp.read()
        except socket.timeout as e:
            conn.close()
            raise DeadlineExceededError("no response within the timeout of %ss; the call may have run" % wait,
                                        method=method) from e
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise ConnectionLostError("connection to %s:%d lost after the request was sent; the call may have run: %s"
                                      % (self.host, self.port, _describe(e)), method=method) from e
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        else:
            self._give_back(conn, generation)
        return resp.status, resp.reason, data

    def close(self):
        """Close the idle connections. Connections in use are closed when
        their calls end. The transport stays usable: later calls connect
        anew."""
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()

    def _take(self):
        """Return a usable idle connection, or a new unconnected one."""
        stale = []
        conn = None
        with self._lock:
            now = time.monotonic()
            while self._idle:
                c, since = self._idle.pop()
                if now - since < IDLE_LIMIT and not _dropped(c.sock):
                    conn = c
                    break
                stale.append(c)
        for c in stale:
            c.close()
        if conn is None:
            if self.ssl_context is not None:
                conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                   context=self.ssl_context)
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return conn

    def _give_back(self, conn, generation):
        with self._lock:
            if generation == self._generation and len(self._idle) < MAX_IDLE:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()


def _dropped(sock):
    """Report whether an idle connection's socket is unusable: closed by
    the server (readable at end of file) or holding unexpected bytes."""
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):  # select.select fails for descriptors past 1023
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


def _describe(e):
    text = str(e)
    return "%s: %s" % (type(e).__name__, text) if text else type(e).__name__
