"""What a misbehaving server can do with callbacks (PROTOCOL.md §13): a
callback frame on a connection that did not grant them, a malformed one,
a slot or a call the client never passed. The client gives the
connection up, or answers without running anything — it never runs a
callable it was not asked to, crashes or hangs. Also random input to the
callback frame parsers."""

import random
import socket
import struct
import threading
import unittest

import simplerpc
from simplerpc import RetryPolicy, _codec, _wire
from test_hostile import WELCOME, _recv

# A welcome granting streams and callbacks.
WELCOME_CALLBACKS = b"SRPC\x01\x00\x06" + struct.pack(">I", 16 << 20)


def callback(call_id, slot, inv, settled, args=b"[]", timeout=0):
    body = _wire.uvarint(slot) + _wire.uvarint(inv) + _wire.uvarint(settled) + _wire.uvarint(timeout) + args
    return struct.pack(">IBBQ", len(body), _wire.CALLBACK, 0, call_id) + body


class ScriptedServer:
    """Accepts one connection, answers the hello with welcome, reads the
    first call, then runs script(conn, call id), which sends frames and
    reads what the client answers."""

    def __init__(self, script, welcome=WELCOME_CALLBACKS):
        self.script = script
        self.welcome = welcome
        self.hello_flags = None
        self.error = None
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(5)
        self.address = self.sock.getsockname()
        self.thread = threading.Thread(target=self.serve)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        finally:
            self.sock.close()  # one connection: a reconnect is refused at once
        with conn:
            conn.settimeout(5)
            try:
                head = _recv(conn, 7)
                self.hello_flags = head[5]
                _recv(conn, head[6] + (16 if head[5] & 1 else 0))
                conn.sendall(self.welcome)
                size, _, _, call_id = struct.unpack(">IBBQ", _recv(conn, 14))
                _recv(conn, size)
                self.script(conn, call_id)
                conn.recv(1)  # until the client hangs up
            except OSError:
                pass
            except Exception as e:  # an assertion of the script: reported by the test
                self.error = e

    def close(self):
        self.thread.join(10)


def read_frame(conn):
    size, kind, flags, frame_id = struct.unpack(">IBBQ", _recv(conn, 14))
    return kind, flags, frame_id, _recv(conn, size)


def reply(call_id, results=b"[7]"):
    return struct.pack(">IBBQ", len(results), _wire.REPLY, 0, call_id) + results


class HostileCallbackTest(unittest.TestCase):
    def run_script(self, script, welcome=WELCOME_CALLBACKS, callable_=None, **kwargs):
        fake = ScriptedServer(script, welcome)
        ran = []
        try:
            with simplerpc.Client(fake.address, codec="json", retry=RetryPolicy(max_attempts=1), **kwargs) as c:
                c._description = False  # the fake server describes nothing
                got = c.Jobs.Once(1, callable_ or (lambda x: ran.append(x)), _timeout=10)
        finally:
            fake.close()
            if fake.error is not None:
                raise fake.error
        return got, ran, fake

    def test_hello_asks_for_callbacks(self):
        got, _, fake = self.run_script(lambda conn, i: conn.sendall(reply(i)))
        self.assertEqual(got, 7)
        self.assertTrue(fake.hello_flags & _wire.HELLO_CALLBACKS)

    def test_callback_without_the_grant_closes_the_connection(self):
        # A client that refuses callbacks sends the slots; a server that
        # calls back anyway breaks the protocol, whatever its welcome says.
        ran = []
        for welcome in (WELCOME_CALLBACKS, b"SRPC\x01\x00\x02" + struct.pack(">I", 16 << 20)):
            with self.subTest(welcome=welcome), self.assertRaises(simplerpc.ConnectionLostError):
                self.run_script(lambda conn, i: conn.sendall(callback(i, 0, 1, 0, b"[5]")), welcome,
                                lambda x: ran.append(x), callbacks=False)
        self.assertEqual(ran, [])

    def test_server_without_callbacks_is_not_sent_the_call(self):
        welcome = b"SRPC\x01\x00\x02" + struct.pack(">I", 16 << 20)
        with self.assertRaises(simplerpc.NotFoundError) as cm:
            self.run_script(lambda conn, i: conn.sendall(reply(i)), welcome)
        self.assertIn("takes no callbacks", cm.exception.message)

    def test_malformed_callback_closes_the_connection(self):
        ran = []
        for bad in (callback(0, 0, 1, 1), callback(0, 0, 0, 0), struct.pack(">IBBQ", 1, _wire.CALLBACK, 0, 0) + b"\x80",
                    struct.pack(">IBBQ", 0, _wire.CALLBACK_CANCEL, 0, 0)):
            with self.subTest(frame=bad), self.assertRaises(simplerpc.ConnectionLostError):
                self.run_script(lambda conn, i: conn.sendall(bad[:6] + struct.pack(">Q", i) + bad[14:]),
                                callable_=lambda x: ran.append(x))
        self.assertEqual(ran, [])

    def test_slot_and_call_not_passed_are_refused(self):
        def script(conn, i):
            conn.sendall(callback(i, 3, 1, 0, b"[5]") + callback(i + 100, 0, 1, 0, b"[5]"))
            answers = {}
            for _ in range(2):
                kind, flags, frame_id, body = read_frame(conn)
                assert kind == _wire.CALLBACK_REPLY and flags == _wire.FLAG_ERROR, (kind, flags)
                inv, pos = _wire.parse_uvarint(body, 0)
                answers[frame_id] = (inv, _codec.get("json").decode(body[pos:]))
            assert answers[i][1][0] == 3 and "no callback 3" in answers[i][1][1], answers  # invalid_argument
            assert answers[i + 100][1][0] == 5, answers  # unavailable: no such call
            assert answers[i + 100][1][5] == "simplerpc.callback_expired", answers
            conn.sendall(reply(i))

        got, ran, _ = self.run_script(script)
        self.assertEqual(got, 7)
        self.assertEqual(ran, [])

    def test_repeated_invocation_runs_once(self):
        def script(conn, i):
            conn.sendall(callback(i, 0, 1, 0, b"[5]"))
            kind, _, _, first = read_frame(conn)
            assert kind == _wire.CALLBACK_REPLY, kind
            conn.sendall(callback(i, 0, 1, 0, b"[5]"))  # the same again: the kept reply, not run
            kind, _, _, again = read_frame(conn)
            assert again == first, (again, first)
            conn.sendall(callback(i, 0, 2, 1, b"[6]"))  # settles 1
            read_frame(conn)
            conn.sendall(callback(i, 0, 1, 0, b"[5]") + reply(i))  # at or below settled: dropped

        got, ran, _ = self.run_script(script)
        self.assertEqual(got, 7)
        self.assertEqual(ran, [5, 6])


    def test_invocation_past_its_timeout_is_not_run(self):
        # A timeout of 1 µs has passed when a pool thread takes the
        # invocation: it answers deadline_exceeded without running it.
        def script(conn, i):
            conn.sendall(callback(i, 0, 1, 0, b"[5]", timeout=1))
            kind, flags, _, body = read_frame(conn)
            assert kind == _wire.CALLBACK_REPLY and flags == _wire.FLAG_ERROR, (kind, flags)
            _, pos = _wire.parse_uvarint(body, 0)
            obj = _codec.get("json").decode(body[pos:])
            assert obj[0] == 8 and "not run" in obj[1], obj  # deadline_exceeded
            conn.sendall(reply(i))

        got, ran, _ = self.run_script(script)
        self.assertEqual(got, 7)
        self.assertEqual(ran, [])

class CallbackParserFuzzTest(unittest.TestCase):
    def test_random_callback_bodies(self):
        rng = random.Random(13)
        for _ in range(5000):
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(24)))
            try:
                slot, inv, settled, timeout, pos = _wire.parse_callback(body)
            except _wire.ProtocolError:
                continue
            self.assertGreater(inv, settled)
            self.assertLess(max(slot, inv, settled), 1 << 64)
            self.assertLessEqual(pos, len(body))
            self.assertTrue(timeout is None or timeout > 0)
        for _ in range(2000):
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12)))
            try:
                self.assertGreater(_wire.parse_invocation(body), 0)
            except _wire.ProtocolError:
                pass


if __name__ == "__main__":
    unittest.main()
