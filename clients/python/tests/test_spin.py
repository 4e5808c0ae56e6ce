"""Polling for a reply before sleeping for it (simplerpc/_spin.py): the
tuner's choice, the poll itself, and calls made while polling — plain,
timed out, and through a connection broken mid-call."""

import socket
import threading
import time
import unittest
from unittest import mock

import goserver
import simplerpc
from simplerpc import _codec, _spin

server = None


def setUpModule():
    global server
    server = goserver.GoServer()


def tearDownModule():
    server.stop()


CODECS = ["json"] + (["cbor"] if _codec.HAVE_CBOR else [])


def feed(t, polled, blocked):
    """Run one probe of t with the wait times given for its polled and
    its blocked calls; return what it chose."""
    for _ in range(_spin.PROBE):
        p = t.poll()
        t.took(p, polled if p else blocked)
    return t.on


class TunerTest(unittest.TestCase):
    def test_a_probe_alternates(self):
        t = _spin.Tuner()
        seen = []
        for _ in range(_spin.PROBE):
            seen.append(t.poll())
            t.took(seen[-1], 1e-5)
        self.assertEqual(seen.count(True), _spin.PROBE // 2)
        self.assertEqual(seen.count(False), _spin.PROBE // 2)

    def test_polling_is_kept_when_faster(self):
        t = _spin.Tuner()
        self.assertTrue(feed(t, 20e-6, 60e-6))
        for _ in range(_spin.HOLD):
            self.assertTrue(t.poll())
            t.took(True, 1.0)  # held: not measured until the next probe
        self.assertFalse(feed(t, 60e-6, 20e-6))  # the next probe decides again
        self.assertFalse(t.poll())

    def test_blocking_is_kept_when_polling_gains_little(self):
        # A server slower than SPIN: both wait alike; blocking spends no CPU.
        self.assertFalse(feed(_spin.Tuner(), 950e-6, 1000e-6))
        self.assertFalse(feed(_spin.Tuner(), 60e-6, 20e-6))

    def test_an_outlier_does_not_decide(self):
        t = _spin.Tuner()
        for i in range(_spin.PROBE):
            p = t.poll()
            t.took(p, (0.5 if i == 0 else 20e-6) if p else 60e-6)  # one polled call preempted
        self.assertTrue(t.on)


class PollTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b = socket.socketpair()
        self.addCleanup(self.a.close)
        self.addCleanup(self.b.close)

    def test_bytes_waiting(self):
        self.b.sendall(b"hello")
        buf = bytearray(16)
        self.assertEqual(_spin.poll_recv(self.a, memoryview(buf)), 5)
        self.assertEqual(bytes(buf[:5]), b"hello")

    def test_bytes_arriving_while_polling(self):
        buf = bytearray(16)
        with mock.patch.object(_spin, "SPIN", 5.0):
            t = threading.Timer(0.05, self.b.sendall, (b"late",))
            t.start()
            self.addCleanup(t.join)
            self.assertEqual(_spin.poll_recv(self.a, memoryview(buf)), 4)
        self.assertEqual(bytes(buf[:4]), b"late")

    def test_nothing_within_spin(self):
        start = time.monotonic()
        self.assertIsNone(_spin.poll_recv(self.a, memoryview(bytearray(16))))
        self.assertLess(time.monotonic() - start, 5.0)  # returned, did not block

    def test_end_of_stream(self):
        self.b.close()
        self.assertEqual(_spin.poll_recv(self.a, memoryview(bytearray(16))), 0)

    def test_only_plain_sockets(self):
        self.assertTrue(_spin.usable(self.a))
        self.assertFalse(_spin.usable(object()))


class _Always(_spin.Tuner):
    """A tuner that always polls."""

    def poll(self):
        return True


class _Never(_spin.Tuner):
    def poll(self):
        return False


class CallsTest(unittest.TestCase):
    """Calls of a client whose connections always poll, or never."""

    def client(self, tuner, address=None, codec=None):
        c = simplerpc.Client(address or server.main, codec=codec)
        self.addCleanup(c.close)
        self.assertEqual(c.Calc.Add(1, 1), 2)
        conn = c._transport._session.conn
        self.assertIsInstance(conn.spin, _spin.Tuner)  # a plain socket: tuned
        conn.spin = tuner
        return c

    def test_sequential_calls(self):
        for codec in CODECS:
            for tuner in (_Always(), _Never(), _spin.Tuner()):
                with self.subTest(codec=codec, tuner=type(tuner).__name__):
                    c = self.client(tuner, codec=codec)
                    for i in range(3 * _spin.PROBE):
                        self.assertEqual(c.Calc.Add(i, 2), i + 2)

    def test_a_slow_reply_polled_for(self):
        # The poll runs out; the caller blocks for the rest.
        c = self.client(_Always())
        self.assertIsNone(c.Calc.Sleep(20))
        self.assertEqual(c.Calc.Add(2, 2), 4)

    def test_timeout_while_polling(self):
        c = self.client(_Always())
        with mock.patch.object(_spin, "SPIN", 0.5):
            with self.assertRaises(simplerpc.DeadlineExceededError):
                c.Calc.Sleep(5000, _timeout=0.1)
        self.assertEqual(c.Calc.Add(2, 3), 5)

    def test_connection_broken_mid_call_while_polling(self):
        c = self.client(_Always(), server.proxied)
        with simplerpc.Client(server.main) as control:
            before = control.Counter.Count()
            got = []
            t = threading.Thread(target=lambda: got.append(c.Counter.Hit(400)))
            t.start()
            deadline = time.monotonic() + 5
            while control.Counter.Count() != before + 1:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.005)
            self.assertGreaterEqual(control.Fault.Reset(), 1)
            t.join(10)
            self.assertEqual(got, [before + 1])  # answered once, on the resumed session
            self.assertEqual(control.Counter.Count(), before + 1)
            self.assertEqual(c.Calc.Add(1, 1), 2)

    def test_tls_connections_are_not_polled(self):
        import ssl

        ctx = ssl.create_default_context(cadata=server.ca)
        with simplerpc.Client("simplerpcs://127.0.0.1:%d" % server.tls[1], ssl_context=ctx) as c:
            self.assertEqual(c.Calc.Add(1, 2), 3)
            self.assertIsNone(c._transport._session.conn.spin)


if __name__ == "__main__":
    unittest.main()
