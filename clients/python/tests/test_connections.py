"""Connections of the JSON-RPC over HTTP transport: keep-alive, threads,
retries, timeouts and lost connections, against the Go test server and
small fake servers."""

import socket
import threading
import time
import unittest
from unittest import mock

import goserver
import simplerpc
from simplerpc import Client
from simplerpc import client as client_module

server = None


def setUpModule():
    global server
    server = goserver.GoServer()


def tearDownModule():
    server.stop()


def closed_port():
    """Return an address on which nothing listens."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    addr = s.getsockname()
    s.close()
    return addr


def wait_until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in %ss" % timeout)
        time.sleep(0.005)


class KeepAliveTest(unittest.TestCase):
    def test_sequential_calls_share_one_connection(self):
        with Client(goserver.http(server.main)) as c:
            before = c.Stats.Connections()  # this call opened the connection
            for i in range(50):
                self.assertEqual(c.Calc.Add(i, 1), i + 1)
            self.assertEqual(c.Stats.Connections(), before)
        with Client(goserver.http(server.main)) as other:
            self.assertEqual(other.Stats.Connections(), before + 1)

    def test_threads_share_a_client(self):
        threads, calls = 16, 40
        errors = []
        with Client(goserver.http(server.main)) as c:
            before = c.Stats.Connections()

            def work(t):
                try:
                    for i in range(calls):
                        got = c.Calc.Add(t, i)
                        if got != t + i:
                            errors.append("Add(%d, %d) = %r" % (t, i, got))
                except Exception as e:  # reported below
                    errors.append(repr(e))

            ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(errors, [])
            # At most one connection per concurrent call, kept for reuse.
            self.assertLessEqual(c.Stats.Connections() - before, threads)
            opened = c.Stats.Connections()
            for i in range(10):
                c.Calc.Add(i, i)
            self.assertEqual(c.Stats.Connections(), opened)

    def test_reconnects_when_the_server_closed_an_idle_connection(self):
        # The idle server closes connections idle for 100 ms.
        with Client(goserver.http(server.idle)) as c:
            first = c.Stats.Connections()
            time.sleep(0.5)
            self.assertEqual(c.Calc.Add(1, 2), 3)
            self.assertEqual(c.Stats.Connections(), first + 1)


class RetryTest(unittest.TestCase):
    def test_connection_refused_gives_up_after_ten_attempts(self):
        addr = closed_port()
        attempts = []
        real = socket.create_connection

        def counting(*args, **kwargs):
            attempts.append(args[0])
            return real(*args, **kwargs)

        with mock.patch("socket.create_connection", counting):
            start = time.monotonic()
            with self.assertRaises(ConnectionError) as cm:
                Client(goserver.http(addr)).Calc.Add(1, 2)
            elapsed = time.monotonic() - start
        self.assertEqual(len(attempts), client_module.MAX_ATTEMPTS)
        self.assertEqual(client_module.MAX_ATTEMPTS, 10)
        self.assertIn("after 10 attempts", str(cm.exception))
        self.assertIn("%s:%d" % addr, str(cm.exception))
        self.assertLess(elapsed, 2.0)
        self.assertNotIsInstance(cm.exception, simplerpc.RemoteError)

    def test_unavailable_is_retried_until_the_server_has_room(self):
        with Client(goserver.http(server.limited)) as holder, Client(goserver.http(server.limited)) as c, Client(goserver.http(server.main)) as control:
            held = threading.Thread(target=holder.Gate.Wait)
            held.start()
            wait_until(lambda: control.Gate.Waiting() == 1)
            opener = threading.Timer(0.05, control.Gate.Open)
            opener.start()
            self.assertEqual(c.Calc.Add(1, 2), 3)  # refused, retried, run
            opener.join()
            held.join()

    def test_unavailable_gives_up_after_ten_attempts(self):
        with Client(goserver.http(server.limited)) as holder, Client(goserver.http(server.limited)) as c, Client(goserver.http(server.main)) as control:
            held = threading.Thread(target=holder.Gate.Wait)
            held.start()
            try:
                wait_until(lambda: control.Gate.Waiting() == 1)
                with mock.patch.object(c._transport, "post", wraps=c._transport.post) as post:
                    with self.assertRaises(simplerpc.UnavailableError) as cm:
                        c.Counter.Hit(0)
                self.assertEqual(post.call_count, 10)
                self.assertIn("server busy", cm.exception.message)
                self.assertEqual(cm.exception.rpc_code, -32001)
            finally:
                control.Gate.Open()
                held.join()


class FakeServer:
    """A TCP server that reads one HTTP request per connection and then
    runs handle(conn, request bytes) for it."""

    def __init__(self, handle):
        self.handle = handle
        self.requests = 0
        self.connections = 0
        self.closed = 0  # connections the server has closed
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.02)  # so that serve notices close
        self.address = self.sock.getsockname()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(5)
            self.connections += 1
            with conn:
                while True:
                    req = self.read_request(conn)
                    if req is None:
                        break
                    self.requests += 1
                    if not self.handle(conn, req):
                        break
            self.closed += 1

    @staticmethod
    def read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            body += conn.recv(65536)
        return body

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


def respond(conn, body, close=False):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
                 % (len(body), b"Connection: close\r\n" if close else b"", body))


class LostConnectionTest(unittest.TestCase):
    def test_a_call_that_may_have_run_is_not_resent(self):
        # The server takes the request and drops the connection.
        fake = FakeServer(lambda conn, req: False)
        self.addCleanup(fake.close)
        with Client(goserver.http(fake.address)) as c:
            with self.assertRaises(simplerpc.ConnectionLostError) as cm:
                c.Calc.Add(1, 2)
        self.assertIn("may have run", cm.exception.message)
        self.assertEqual(fake.requests, 1)

    def test_idle_connection_closed_before_sending_is_replaced(self):
        # The server answers one request per connection, then closes it
        # without saying so.
        def once(conn, req):
            respond(conn, b'{"jsonrpc":"2.0","result":3,"id":%d}' % (fake.requests,))
            return False

        fake = FakeServer(once)
        self.addCleanup(fake.close)
        with Client(goserver.http(fake.address)) as c:
            self.assertEqual(c.Calc.Add(1, 2), 3)
            wait_until(lambda: fake.closed == 1)
            time.sleep(0.05)  # the close reaches the client
            self.assertEqual(c.Calc.Add(1, 2), 3)
        self.assertEqual((fake.connections, fake.requests), (2, 2))

    def test_timeout_does_not_resend(self):
        with Client(goserver.http(server.main)) as control:
            before = control.Counter.Count()
        with Client(goserver.http(server.main), timeout=0.2) as c:
            start = time.monotonic()
            with self.assertRaises(simplerpc.DeadlineExceededError):
                c.Counter.Hit(600)
            self.assertLess(time.monotonic() - start, 1.0)
        with Client(goserver.http(server.main)) as control:
            self.assertEqual(control.Counter.Count(), before + 1)

    def test_unexpected_http_response(self):
        fake = FakeServer(lambda conn, req: conn.sendall(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found") and False)
        self.addCleanup(fake.close)
        with Client(goserver.http(fake.address)) as c:
            with self.assertRaises(simplerpc.InternalError) as cm:
                c.Calc.Add(1, 2)
        self.assertIn("404", cm.exception.message)


if __name__ == "__main__":
    unittest.main()
