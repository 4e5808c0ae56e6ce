"""What a misbehaving server can do to the client: frames that break the
protocol, random bytes, a reply over the limit. The client must give the
connection up (and fail the call) — never crash, hang, or grow without
bound. Also random input to the pure frame and codec parsers."""

import random
import socket
import struct
import threading
import unittest

import simplerpc
from simplerpc import RetryPolicy, _codec, _wire

WELCOME = b"SRPC\x01\x00\x00" + struct.pack(">I", 16 << 20)


class FakeNativeServer:
    """Accepts connections, answers the hello with welcome, reads the
    first call frame and then sends what answer(call id) returns."""

    def __init__(self, answer, welcome=WELCOME):
        self.answer = answer
        self.welcome = welcome
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.address = self.sock.getsockname()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve)
        self.thread.start()

    def serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    head = _recv(conn, 7)
                    _recv(conn, head[6] + (16 if head[5] & 1 else 0))
                    conn.sendall(self.welcome)
                    size, _, _, call_id = struct.unpack(">IBBQ", _recv(conn, 14))
                    _recv(conn, size)
                    conn.sendall(self.answer(call_id))
                    conn.recv(1)  # until the client hangs up
                except OSError:
                    pass

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


def _recv(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise OSError("closed")
        buf += chunk
    return buf


class HostileServerTest(unittest.TestCase):
    def call_fails(self, answer):
        fake = FakeNativeServer(answer)
        self.addCleanup(fake.close)
        with simplerpc.Client(fake.address, codec="json", retry=RetryPolicy(max_attempts=2)) as c:
            c._description = False  # the fake server describes nothing
            with self.assertRaises((simplerpc.ConnectionLostError, simplerpc.InternalError)) as cm:
                c.Calc.Add(1, 2, _timeout=10)
        return cm.exception

    def test_unknown_frame_kind(self):
        self.call_fails(lambda i: struct.pack(">IBBQ", 0, 9, 0, i))

    def test_reserved_flags(self):
        self.call_fails(lambda i: struct.pack(">IBBQ", 2, 2, 0x80, i) + b"[]")

    def test_ping_with_a_body(self):
        self.call_fails(lambda i: struct.pack(">IBBQ", 1, 4, 0, 0) + b"x")

    def test_frame_over_the_limit_is_not_read(self):
        # 4 GiB announced: the client refuses it without allocating.
        self.call_fails(lambda i: struct.pack(">IBBQ", 0xFFFFFFFF, 2, 0, i))

    def test_malformed_reply_body(self):
        e = self.call_fails(lambda i: struct.pack(">IBBQ", 3, 2, 0, i) + b"[1,")
        self.assertIsInstance(e, simplerpc.InternalError)

    def test_malformed_error_object(self):
        e = self.call_fails(lambda i: struct.pack(">IBBQ", 4, 2, 1, i) + b'["x"]')
        self.assertIsInstance(e, simplerpc.InternalError)

    def test_random_bytes(self):
        rnd = random.Random(7)
        for _ in range(5):
            junk = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 200)))
            fake = FakeNativeServer(lambda i, junk=junk: junk)
            try:
                with simplerpc.Client(fake.address, codec="json", retry=RetryPolicy(max_attempts=2)) as c:
                    c._description = False
                    try:
                        c.Calc.Add(1, 2, _timeout=1)
                    except (simplerpc.RemoteError, ConnectionError):
                        pass  # any failure of the call; nothing else
            finally:
                fake.close()


class ParserTest(unittest.TestCase):
    def test_parse_header_on_random_bytes(self):
        rnd = random.Random(1)
        for _ in range(20000):
            b = bytes(rnd.getrandbits(8) for _ in range(14))
            try:
                size, kind, flags, _ = _wire.parse_header(b, 0, 1 << 20)
            except _wire.ProtocolError:
                continue
            self.assertLessEqual(size, 1 << 20)
            self.assertIn(kind, (_wire.REPLY, _wire.PING, _wire.PONG, _wire.GOAWAY))

    def test_welcome_on_random_bytes(self):
        rnd = random.Random(2)
        for _ in range(2000):
            b = b"SRPC" + bytes(rnd.getrandbits(8) for _ in range(7))
            status, resumed, max_body = _wire.parse_welcome(b)
            self.assertTrue(0 <= status < 256 and 0 <= max_body < 1 << 32)
        with self.assertRaises(_wire.ProtocolError):
            _wire.parse_welcome(b"HTTP/1.1 40")

    @unittest.skipUnless(_codec.HAVE_CBOR, "the cbor2 package is not installed")
    def test_byte_string_fast_path_on_random_bodies(self):
        rnd = random.Random(3)
        big = bytes(70000)
        good = _codec._cbor2.dumps([big, big[:100000]])
        self.assertEqual(_codec.CBOR.decode(good), [big, big[:100000]])
        for _ in range(3000):
            b = bytearray(good)
            for _ in range(rnd.randrange(1, 4)):
                b[rnd.randrange(0, 12)] = rnd.getrandbits(8)
            del b[rnd.randrange(len(b) - 10, len(b) + 1):]
            try:
                out = _codec._cbor_split_bytes(bytes(b))
            except IndexError:
                self.fail("the fast path read past the body: %r" % bytes(b[:12]))
            if out is not None:  # a well-formed array of byte strings, wholly within the body
                self.assertEqual(sum(len(x) for x in out) <= len(b), True)

    @unittest.skipUnless(_codec.HAVE_CBOR, "the cbor2 package is not installed")
    def test_flat_cbor_reads_as_cbor2_reads(self):
        # The hand-written encoder of plain scalars against cbor2's decoder.
        rnd = random.Random(4)
        pick = [lambda: rnd.randrange(-(1 << 64), 1 << 64), lambda: rnd.randrange(0, 300), lambda: rnd.random() * 1e9,
                lambda: "".join(chr(rnd.randrange(1, 0x2FFF)) for _ in range(rnd.randrange(0, 40))),
                lambda: bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 300))),
                lambda: rnd.choice([None, True, False])]
        for _ in range(3000):
            args = tuple(rnd.choice(pick)() for _ in range(rnd.randrange(0, 30)))
            enc = _codec._cbor_flat(args)
            self.assertIsNotNone(enc)
            self.assertEqual(_codec._cbor2.loads(enc), list(args))
        self.assertIsNone(_codec._cbor_flat((1 << 64,)))
        # The decoder's fast path for one integer, against cbor2's.
        for v in (0, 23, 24, 255, 256, 65535, 65536, 1 << 32, (1 << 64) - 1, -1, -24, -25, -(1 << 64)):
            enc = _codec._cbor2.dumps([v])
            self.assertEqual(_codec.CBOR.decode(enc), [v])
            self.assertEqual(_codec.CBOR.decode(enc), _codec._cbor2.loads(enc))
        self.assertIsNone(_codec._cbor_flat(([1],)))

    def test_uvarint(self):
        for n in (0, 1, 127, 128, 300, 2**63, 2**64 - 1):
            enc = _wire.uvarint(n)
            v, shift = 0, 0
            for byte in enc:
                v |= (byte & 0x7F) << shift
                shift += 7
            self.assertEqual(v, n)
            self.assertLessEqual(len(enc), 10)


if __name__ == "__main__":
    unittest.main()
