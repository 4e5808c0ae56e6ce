"""The native transport against the Go test server: the call tests of
test_calls.py again on both codecs, then what only the native protocol
does — one connection shared by threads, sessions resumed through the
fault proxy, cancel on timeout and KeyboardInterrupt, TLS, metadata,
types, batches, the server's description."""

import datetime
import signal
import socket
import ssl
import threading
import time
import unittest
from unittest import mock

import goserver
import simplerpc
import test_calls
from simplerpc import Client, RetryPolicy, _codec

server = None


def setUpModule():
    global server
    server = test_calls.server = goserver.GoServer()


def tearDownModule():
    server.stop()


CODECS = ["json"] + (["cbor"] if _codec.HAVE_CBOR else [])


def wait_until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in %ss" % timeout)
        time.sleep(0.005)


class _Native:
    """The call tests, natively. Where the native answer differs from
    JSON-RPC's by design, the test is written again below."""

    codec = None

    def new_client(self, address, **kwargs):
        return Client(address, codec=self.codec, **kwargs)


class _NativeCalls(_Native):
    def test_bytes_travel_as_base64(self):
        # Natively, bytes stay bytes on both codecs: CBOR carries byte
        # strings, and with JSON the description says the result is a
        # []byte.
        self.assertEqual(self.client.Calc.Echo(b"\x00\x01\xff"), b"\x00\x01\xff")

    def test_unencodable_argument(self):
        with self.assertRaises(TypeError):
            self.client.Calc.Add(object(), 1)
        if self.codec == "json":
            with self.assertRaises(ValueError):
                self.client.Calc.Div(float("nan"), 1)

    def test_floats_stay_floats(self):
        got = self.client.Calc.Div(4, 2)
        self.assertEqual((got, type(got)), (2.0, float))

    def test_datetime(self):
        t = datetime.datetime(2021, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)
        self.assertEqual(self.client.Calc.Year(t), 2021)
        later = self.client.Calc.Later(t, 1500)  # + 1.5 µs, as a time.Duration
        self.assertEqual(later, t + datetime.timedelta(microseconds=1))
        # A naive datetime is taken as UTC.
        self.assertEqual(self.client.Calc.Later(t.replace(tzinfo=None), 0), t)

    def test_big_integers_through_any(self):
        for v in (2**53 + 1, 2**64 - 1, -(2**63), 2**100, -(2**70)):
            got = self.client.Calc.Any(v)
            self.assertEqual((got, type(got)), (v, int))


class _NativeErrors(_Native):
    def test_not_found(self):
        # The client checks names against the server's description, so a
        # misspelt name fails before any call, with a hint.
        with self.assertRaises(simplerpc.NotFoundError) as cm:
            self.client.Calc.Nope()
        self.assertEqual(cm.exception.method, "Calc.Nope")
        self.assertIn("service Calc has no method Nope", cm.exception.message)
        with self.assertRaises(simplerpc.NotFoundError) as cm:
            self.client.Calc.Ad(1, 2)
        self.assertIn("did you mean Add?", cm.exception.message)
        with self.assertRaises(simplerpc.NotFoundError) as cm:
            self.client.Calk.Add(1, 2)
        self.assertIn("no service Calk (did you mean Calc?)", cm.exception.message)
        with self.assertRaises(simplerpc.NotFoundError):
            self.client.nope()

    def test_not_found_from_the_server(self):
        c = self.new_client(server.main)
        self.addCleanup(c.close)
        c._description = False  # as for a server with introspection off
        with self.assertRaises(simplerpc.NotFoundError) as cm:
            c.Calc.Nope()
        self.assertIn("service Calc has no method Nope", cm.exception.message)
        self.assertIsNone(cm.exception.rpc_code)

    def test_invalid_argument(self):
        with self.assertRaises(simplerpc.InvalidArgumentError) as cm:
            self.client.Calc.Add("x", 1)
        self.assertIn("argument 1", cm.exception.message)
        with self.assertRaises(simplerpc.InvalidArgumentError) as cm:
            self.client.Calc.Add(1)
        self.assertIn("takes 2 arguments", cm.exception.message)
        # Keywords are one map: natively a single argument.
        with self.assertRaises(simplerpc.InvalidArgumentError) as cm:
            self.client.Calc.Add(a=1, b=2)
        self.assertIn("got 1", cm.exception.message)

    def test_registered_error_class(self):
        class DivByZero(simplerpc.ApplicationError):
            pass

        simplerpc.register_error("calc.div_by_zero", DivByZero)
        self.addCleanup(simplerpc.errors.REGISTERED.pop, "calc.div_by_zero", None)
        with self.assertRaises(DivByZero) as cm:
            self.client.Calc.Div(1, 0)
        self.assertIsInstance(cm.exception, simplerpc.ApplicationError)
        self.assertEqual((cm.exception.code, cm.exception.name), ("application", "calc.div_by_zero"))
        with self.assertRaises(TypeError):
            simplerpc.register_error("x", ValueError)


def _codec_classes():
    out = {}
    for codec in CODECS:
        for base, name in ((test_calls.CallTest, "Calls"), (test_calls.ErrorTest, "Errors"),
                           (test_calls.DebugTest, "Debug")):
            mixin = {"Calls": _NativeCalls, "Errors": _NativeErrors, "Debug": _Native}[name]
            cls_name = "Native%s%sTest" % (codec.upper(), name)
            out[cls_name] = type(cls_name, (mixin, base), {"codec": codec})
    return out


globals().update(_codec_classes())


class SharingTest(unittest.TestCase):
    def test_threads_share_one_connection(self):
        threads, calls = 16, 50
        errors = []
        with Client(server.main) as c:
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
            self.assertEqual(c.Stats.Connections(), before)

    def test_calls_queued_behind_a_write_go_with_it(self):
        # While one thread writes, calls from others are queued and the
        # writer sends them all as it lets go: each is answered, a
        # notification queued so is run, and a call forgotten (its
        # timeout, a cancel) before it went is never sent.
        with Client(server.main) as c, Client(server.main) as control:
            c.Calc.Add(0, 0)  # connected
            s = c._transport.session()
            before = control.Counter.Count()
            got = []
            s.wmu.acquire()  # a write in progress
            try:
                ts = [threading.Thread(target=lambda i=i: got.append(c.Calc.Add(i, 1))) for i in range(4)]
                for t in ts:
                    t.start()
                wait_until(lambda: len(s.sendq) == 4)
                c.notify("Counter.Hit", 0)
                forgotten = c._transport.start("Counter.Hit", simplerpc._wire.method_prefix("Counter.Hit"), [0],
                                               None, None)[1]
                s.forget(forgotten)
                self.assertEqual(len(s.sendq), 6)
                self.assertEqual(got, [])  # nothing went yet
            finally:
                s._unlock_w()
            for t in ts:
                t.join(5)
            self.assertEqual(sorted(got), [1, 2, 3, 4])
            self.assertEqual(len(s.sendq), 0)
            wait_until(lambda: control.Counter.Count() == before + 1)  # the notification
            c.Calc.Add(0, 0)  # a round trip after the queue went: a forgotten call would have run by now
            time.sleep(0.1)
            self.assertEqual(control.Counter.Count(), before + 1)

    def test_interrupted_shared_write_loses_no_call(self):
        # A KeyboardInterrupt in the thread writing the queued calls of
        # others reaches that thread alone: the write lock is let go, the
        # connection given up, and the calls it was writing are sent
        # again on the session's next connection, answered once.
        with Client(server.main) as c:
            c.Calc.Add(0, 0)  # connected
            s = c._transport.session()
            got = []
            s.wmu.acquire()
            t = threading.Thread(target=lambda: got.append(c.Calc.Add(1, 2)))
            t.start()
            wait_until(lambda: len(s.sendq) == 1)
            real = simplerpc._wire.sendall
            calls = []

            def interrupted(sock, data):
                calls.append(data)
                if len(calls) == 1:
                    raise KeyboardInterrupt
                real(sock, data)

            with mock.patch.object(simplerpc._wire, "sendall", interrupted):
                with self.assertRaises(KeyboardInterrupt):
                    s._unlock_w()
            self.assertTrue(s.wmu.acquire(False))  # let go
            s._unlock_w()
            t.join(10)
            self.assertEqual(got, [3])
            self.assertEqual(c.Calc.Add(2, 2), 4)

    def test_slow_call_does_not_hold_back_others(self):
        # Calls on the one connection are answered while a slow call on
        # it is still running.
        with Client(server.main) as c, Client(server.main) as control:
            before = control.Gate.Waiting()
            slow = threading.Thread(target=c.Gate.Wait)
            slow.start()
            wait_until(lambda: control.Gate.Waiting() == before + 1)
            for i in range(20):
                self.assertEqual(c.Calc.Add(i, 1), i + 1)
            self.assertTrue(slow.is_alive())
            control.Gate.Open()
            slow.join()

    def test_many_calls_are_acknowledged(self):
        # More replies than one ack covers: the session keeps working.
        with Client(server.main) as c:
            for i in range(300):
                self.assertEqual(c.Calc.Add(i, i), 2 * i)


class CancelTest(unittest.TestCase):
    def test_timeout_cancels_on_the_server(self):
        with Client(server.main) as c, Client(server.main) as control:
            start = time.monotonic()
            with self.assertRaises(simplerpc.DeadlineExceededError):
                c.Gate.Wait(_timeout=0.2)
            self.assertLess(time.monotonic() - start, 1.0)
            wait_until(lambda: control.Gate.Waiting() == 0)
            self.assertEqual(c.Calc.Add(1, 2), 3)  # the connection goes on

    def test_client_timeout_default(self):
        with Client(server.main, timeout=0.1) as c:
            with self.assertRaises(simplerpc.DeadlineExceededError):
                c.Calc.Sleep(5000)
            self.assertEqual(c.Calc.Sleep(0, _timeout=None), None)

    def test_keyboard_interrupt_cancels(self):
        if threading.current_thread() is not threading.main_thread():
            self.skipTest("signals reach the main thread only")
        with Client(server.main) as c, Client(server.main) as control:
            self.assertEqual(c.Calc.Add(0, 0), 0)  # connected, described

            def interrupt(signum, frame):
                raise KeyboardInterrupt

            old = signal.signal(signal.SIGALRM, interrupt)
            try:
                signal.setitimer(signal.ITIMER_REAL, 0.2)
                with self.assertRaises(KeyboardInterrupt):
                    c.Gate.Wait()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
            wait_until(lambda: control.Gate.Waiting() == 0)
            self.assertEqual(c.Calc.Add(2, 2), 4)


class ResumeTest(unittest.TestCase):
    def test_connection_broken_mid_call_is_answered_once(self):
        with Client(server.proxied) as c, Client(server.main) as control:
            before = control.Counter.Count()
            got = []
            t = threading.Thread(target=lambda: got.append(c.Counter.Hit(400)))
            t.start()
            wait_until(lambda: control.Counter.Count() == before + 1)
            self.assertGreaterEqual(control.Fault.Reset(), 1)  # RST while the call runs
            t.join(10)
            self.assertEqual(got, [before + 1])  # its own reply, from the one run
            self.assertEqual(control.Counter.Count(), before + 1)
            self.assertEqual(c.Calc.Add(1, 1), 2)

    def test_keepalive_notices_a_silent_connection(self):
        # The connection goes silent both ways without closing (a peer
        # that vanished): the waiting caller pings it, hears nothing, gives
        # it up and resumes the session on a new connection.
        from simplerpc import _session

        with mock.patch.object(_session, "KEEPALIVE_INTERVAL", 0.3), \
                mock.patch.object(_session, "KEEPALIVE_TIMEOUT", 0.3):
            with Client(server.proxied) as c, Client(server.main) as control:
                self.assertEqual(c.Calc.Add(1, 1), 2)
                before = control.Counter.Count()
                got = []
                t = threading.Thread(target=lambda: got.append(c.Counter.Hit(1500)))
                t.start()
                wait_until(lambda: control.Counter.Count() == before + 1)
                self.assertGreaterEqual(control.Fault.Silence(), 1)
                t.join(15)
                self.assertEqual(got, [before + 1])
                self.assertEqual(control.Counter.Count(), before + 1)

    def test_broken_idle_connection_is_replaced(self):
        with Client(server.proxied) as c, Client(server.main) as control:
            self.assertEqual(c.Calc.Add(1, 2), 3)
            control.Fault.Reset()
            time.sleep(0.05)
            self.assertEqual(c.Calc.Add(2, 3), 5)

    def test_many_calls_in_flight_survive_a_break(self):
        with Client(server.proxied) as c, Client(server.main) as control:
            results = {}

            def work(i):
                results[i] = c.Calc.Sleep(200) is None and c.Calc.Add(i, 1)

            ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
            for t in ts:
                t.start()
            time.sleep(0.1)
            control.Fault.Reset()
            for t in ts:
                t.join(10)
            self.assertEqual(results, {i: i + 1 for i in range(8)})


class UnavailableTest(unittest.TestCase):
    def test_refused_calls_are_retried_until_the_server_has_room(self):
        # limited runs one call at a time: a second is refused as
        # unavailable (not run) and retried.
        with Client(server.limited) as holder, Client(server.limited) as c, Client(server.main) as control:
            self.assertEqual(c.Calc.Add(0, 0), 0)  # connected and described before the gate closes
            held = threading.Thread(target=holder.Gate.Wait)
            held.start()
            wait_until(lambda: control.Gate.Waiting() == 1)
            before = control.Counter.Count()
            opener = threading.Timer(0.05, control.Gate.Open)
            opener.start()
            self.assertEqual(c.Counter.Hit(0), before + 1)  # refused, retried, run once
            opener.join()
            held.join()
            self.assertEqual(control.Counter.Count(), before + 1)

    def test_gives_up_after_the_policy(self):
        with Client(server.limited) as holder, Client(server.main) as control:
            c = Client(server.limited, retry=RetryPolicy(max_attempts=3, initial_backoff=0.001))
            self.addCleanup(c.close)
            self.assertEqual(c.Calc.Add(0, 0), 0)
            held = threading.Thread(target=holder.Gate.Wait)
            held.start()
            try:
                wait_until(lambda: control.Gate.Waiting() == 1)
                before = control.Counter.Count()
                with mock.patch.object(c._transport, "call", wraps=c._transport.call) as call:
                    with self.assertRaises(simplerpc.UnavailableError):
                        c.Counter.Hit(0)
                self.assertEqual(call.call_count, 3)
                self.assertEqual(control.Counter.Count(), before)
            finally:
                control.Gate.Open()
                held.join()


class HTTPFeaturesTest(unittest.TestCase):
    """What the native tests above check, over JSON-RPC/HTTP."""

    def test_describe_registered_errors_retry(self):
        with Client(goserver.http(server.main)) as c:
            self.assertIn("Add", dir(c.Calc))
            with self.assertRaises(simplerpc.UnknownNameError) as cm:
                c.Calc.Ad(1, 2)
            self.assertIn("did you mean Add?", cm.exception.message)

            class DivByZero(simplerpc.ApplicationError):
                pass

            simplerpc.register_error("calc.div_by_zero", DivByZero)
            self.addCleanup(simplerpc.errors.REGISTERED.pop, "calc.div_by_zero", None)
            with self.assertRaises(DivByZero):
                c.Calc.Div(1, 0)
        attempts = []
        real = socket.create_connection

        def counting(*args, **kwargs):
            attempts.append(args[0])
            return real(*args, **kwargs)

        with mock.patch("socket.create_connection", counting):
            with self.assertRaises(ConnectionError):
                Client(goserver.http(RetryTest.closed_port(None)), retry=RetryPolicy(max_attempts=3)).Calc.Add(1, 2)
        self.assertEqual(len(attempts), 3)

    def test_url_path(self):
        # The client posts to the URL's path (a handler mounted at /rpc).
        import http.server
        import json

        seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                seen.append((self.path, req["method"], self.headers.get("authorization")))
                body = json.dumps({"jsonrpc": "2.0", "result": 3, "id": req["id"]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        t = threading.Thread(target=httpd.serve_forever)
        t.start()
        try:
            with Client("http://127.0.0.1:%d/rpc" % httpd.server_address[1]) as c:
                self.assertEqual(c.Calc.Add(1, 2, _metadata={"authorization": "Bearer t"}), 3)
        finally:
            httpd.shutdown()
            httpd.server_close()
            t.join()
        self.assertEqual(seen, [("/rpc", "Calc.Add", "Bearer t")])


class GoAwayTest(unittest.TestCase):
    def test_graceful_restart(self):
        # The call in flight is answered by the old server (which sends
        # go-away, finishes it, then a final go-away); later calls go to
        # a new session on the new server.
        with Client(server.restart) as c, Client(server.main) as control:
            before = c.Counter.Count()
            got = []
            t = threading.Thread(target=lambda: got.append(c.Counter.Hit(300)))
            t.start()
            wait_until(lambda: control.Counter.Count() == before + 1)
            control.Restart.Now()
            t.join(10)
            self.assertEqual(got, [before + 1])
            self.assertEqual(c.Calc.Add(1, 2), 3)
            self.assertEqual(control.Counter.Count(), before + 1)
            # One connection to the new server (a new listener, counting
            # from zero): the new session's.
            self.assertEqual(c.Stats.Connections(), 1)


class Forwarder:
    """A TCP forwarder to the server that can go away: stop() closes its
    listener and every connection through it."""

    def __init__(self, target):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.ls.settimeout(0.05)
        self.address = self.ls.getsockname()
        self.target = target
        self.socks = []
        self.pipes = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.accept)
        self.thread.start()

    def accept(self):
        while not self.stopped.is_set():
            try:
                a, _ = self.ls.accept()
            except socket.timeout:
                continue
            b = socket.create_connection(self.target)
            self.socks += [a, b]
            for src, dst in ((a, b), (b, a)):
                p = threading.Thread(target=_pump, args=(src, dst))
                p.start()
                self.pipes.append(p)
        self.ls.close()

    def stop(self):
        self.stopped.set()
        self.thread.join(5)
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for p in self.pipes:
            p.join(5)


class SessionLostTest(unittest.TestCase):
    def test_no_new_connection_within_the_policy_loses_the_call(self):
        fwd = Forwarder(server.main)
        self.addCleanup(fwd.stop)
        with Client(fwd.address, retry=RetryPolicy(max_attempts=3)) as c, Client(server.main) as control:
            self.assertEqual(c.Calc.Add(1, 1), 2)
            before = control.Counter.Count()
            errors = []

            def call():
                try:
                    c.Counter.Hit(300)
                except Exception as e:  # checked below
                    errors.append(e)

            t = threading.Thread(target=call)
            t.start()
            wait_until(lambda: control.Counter.Count() == before + 1)
            start = time.monotonic()
            fwd.stop()  # the connection breaks and nothing listens any more
            t.join(10)
            self.assertLess(time.monotonic() - start, 5)
            self.assertEqual(len(errors), 1)
            self.assertIsInstance(errors[0], simplerpc.ConnectionLostError)
            self.assertIn("no new one could be made", errors[0].message)


class RetryTest(unittest.TestCase):
    def closed_port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        addr = s.getsockname()
        s.close()
        return addr

    def test_policy_bounds_the_attempts(self):
        attempts = []
        real = socket.create_connection

        def counting(*args, **kwargs):
            attempts.append(args[0])
            return real(*args, **kwargs)

        with mock.patch("socket.create_connection", counting):
            with self.assertRaises(ConnectionError) as cm:
                Client(self.closed_port(), retry=RetryPolicy(max_attempts=3)).Calc.Add(1, 2)
        self.assertEqual(len(attempts), 3)
        self.assertIn("after 3 attempts", str(cm.exception))

    def test_defaults_are_the_go_clients(self):
        self.assertEqual(RetryPolicy(), RetryPolicy(max_attempts=10, initial_backoff=0.001, max_backoff=1.0))
        p = RetryPolicy(initial_backoff=0.1, max_backoff=0.3)
        for attempt, top in ((1, 0.1), (2, 0.2), (3, 0.3), (8, 0.3)):
            d = p.backoff(attempt)
            self.assertTrue(top / 2 <= d <= top, (attempt, d))
        with self.assertRaises(ValueError):
            RetryPolicy(max_attempts=0)

    def test_server_that_comes_up_later(self):
        # A listener that accepts nothing for 0.7 s, then forwards to the
        # server: with a policy of 20 attempts the first call waits for it.
        addr = self.closed_port()
        stop = threading.Event()

        def forward():
            time.sleep(0.7)
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(addr)
            ls.listen(4)
            ls.settimeout(0.05)
            pipes = []
            while not stop.is_set():
                try:
                    a, _ = ls.accept()
                except socket.timeout:
                    continue
                b = socket.create_connection(server.main)
                for src, dst in ((a, b), (b, a)):
                    p = threading.Thread(target=_pump, args=(src, dst), daemon=True)
                    p.start()
                    pipes.append((p, src))
            for p, s in pipes:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                p.join(5)
            ls.close()

        f = threading.Thread(target=forward)
        f.start()
        try:
            with Client(addr, retry=RetryPolicy(max_attempts=20)) as c:
                self.assertEqual(c.Calc.Add(40, 2), 42)
        finally:
            stop.set()
            f.join(10)


def _pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        src.close()


class TLSTest(unittest.TestCase):
    def context(self):
        ctx = ssl.create_default_context(cadata=server.ca)
        return ctx

    def test_native_over_tls(self):
        with Client("simplerpcs://127.0.0.1:%d" % server.tls[1], ssl_context=self.context()) as c:
            self.assertEqual(c.Calc.Add(1, 2), 3)
            self.assertEqual(c.Calc.Echo(b"x" * 300000), b"x" * 300000)
            errors = []

            def work(t):
                try:
                    for i in range(30):
                        if c.Calc.Add(t, i) != t + i:
                            errors.append((t, i))
                except Exception as e:  # reported below
                    errors.append(repr(e))

            ts = [threading.Thread(target=work, args=(t,)) for t in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(errors, [])

    def test_https(self):
        with Client("https://127.0.0.1:%d/" % server.tls[1], ssl_context=self.context()) as c:
            self.assertEqual(c.Calc.Add(1, 2), 3)

    def test_untrusted_certificate_is_refused(self):
        with self.assertRaises(ConnectionError):
            Client("simplerpcs://127.0.0.1:%d" % server.tls[1], retry=RetryPolicy(max_attempts=1)).Calc.Add(1, 2)

    def test_plain_hello_to_a_tls_server(self):
        with self.assertRaises(ConnectionError) as cm:
            Client(server.tls, retry=RetryPolicy(max_attempts=1)).Calc.Add(1, 2)
        self.assertIn("TLS required", str(cm.exception))


class MetadataTest(unittest.TestCase):
    def test_per_call_and_per_client(self):
        for address in (server.main, goserver.http(server.main)):
            with self.subTest(address=address):
                with Client(address, metadata={"authorization": "Bearer t", "x-a": "1"}) as c:
                    got = c.Echo.Metadata("authorization", "x-a", "x-b", _metadata={"x-a": "2", "X-B": "3"})
                    self.assertEqual(got, {"authorization": "Bearer t", "x-a": "2", "x-b": "3"})
                    self.assertEqual(c.Echo.Metadata("x-b"), {"x-b": ""})
        with self.assertRaises(TypeError):
            Client(server.main, metadata={"a": 1})


class BatchTest(unittest.TestCase):
    def test_batch_and_notify(self):
        for address in (server.main, goserver.http(server.main)):
            with self.subTest(address=address), Client(address) as c:
                with c.batch() as b:
                    x = b.Calc.Add(1, 2)
                    y = b.Calc.Div(1, 0)
                    z = b.greet("ada")
                    with self.assertRaises(RuntimeError):
                        x.result()
                self.assertEqual(x.result(), 3)
                self.assertEqual(z.result(), "hello, ada")
                with self.assertRaises(simplerpc.ApplicationError):
                    y.result()
                before = c.Counter.Count()
                c.notify("Counter.Hit", 0)
                wait_until(lambda: c.Counter.Count() == before + 1)


class LimitsTest(unittest.TestCase):
    def test_call_over_the_servers_limit_is_not_sent(self):
        with Client(server.main) as c:
            big = b"x" * (16 << 20)
            with self.assertRaises(simplerpc.ResourceExhaustedError):
                c.Calc.Echo(big)
            self.assertEqual(c.Calc.Add(1, 1), 2)

    def test_large_reply(self):
        with Client(server.main) as c:
            data = bytes(range(256)) * (8 << 12)  # 8 MiB
            self.assertEqual(c.Calc.Echo(data), data)


class DescribeTest(unittest.TestCase):
    def test_dir_and_help(self):
        with Client(server.main) as c:
            self.assertIn("Calc", dir(c))
            self.assertIn("greet", dir(c))
            self.assertIn("Add", dir(c.Calc))
            self.assertIn("Add(int, int) int", c.Calc.Add.__doc__)
            self.assertIn("Add(int, int) int", c.Calc.__doc__)
            self.assertEqual(str(c.Calc.Add.__signature__), "(arg0: 'int', arg1: 'int', /) -> 'int'")
            self.assertEqual(str(c.Calc.Sum.__signature__), "(*arg0: 'int') -> 'int'")


if __name__ == "__main__":
    unittest.main()
