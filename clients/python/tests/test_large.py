"""Large replies: read straight into the bytes returned (a CBOR reply of
one byte string is split as it is read), by a Client and an AsyncClient
against the Go test server, and by a Client against a fake server
sending crafted replies."""

import asyncio
import random
import struct
import threading
import unittest

import goserver
import simplerpc
from simplerpc import RetryPolicy, _codec, _session
from simplerpc.native import NativeClient
from test_hostile import FakeNativeServer

server = None


def setUpModule():
    global server
    server = goserver.GoServer()


def tearDownModule():
    server.stop()


CODECS = ["json"] + (["cbor"] if _codec.HAVE_CBOR else [])
# Around the client's read buffer, past which a body is read on its own.
SIZES = [_session._READ_CHUNK - 100, _session._READ_CHUNK, _session._READ_CHUNK + 1, (1 << 20) + 7, 8 << 20]


class EchoTest(unittest.TestCase):
    def test_large_echo_is_bytes(self):
        rnd = random.Random(3)
        for codec in CODECS:
            with simplerpc.Client(server.main, codec=codec) as c:
                for n in SIZES:
                    if codec == "json" and n > 1 << 20:
                        continue  # base64 in JSON text: slow, and the same path as 1 MiB
                    data = rnd.randbytes(n)
                    got = c.Calc.Echo(data)
                    self.assertIs(type(got), bytes, (codec, n))
                    self.assertEqual(got, data, (codec, n))
                    self.assertEqual(c.Calc.Add(40, 2), 42)  # the connection reads on after it

    def test_calls_sharing_the_connection(self):
        # A large reply among small ones: each caller gets its own.
        with simplerpc.Client(server.main) as c:
            data = bytes(range(256)) * (4 << 12)
            errors = []

            def small():
                for i in range(200):
                    if c.Calc.Add(i, 1) != i + 1:
                        errors.append(i)

            t = threading.Thread(target=small)
            t.start()
            for _ in range(4):
                if c.Calc.Echo(data) != data:
                    errors.append("echo")
            t.join()
            self.assertEqual(errors, [])


class AsyncEchoTest(unittest.TestCase):
    def test_large_echo_is_bytes(self):
        async def run(codec):
            rnd = random.Random(5)
            async with simplerpc.AsyncClient(server.main, codec=codec) as c:
                for n in SIZES:
                    if codec == "json" and n > 1 << 20:
                        continue
                    data = rnd.randbytes(n)
                    small = [asyncio.ensure_future(c.Calc.Add(i, 1)) for i in range(20)]
                    got = await c.Calc.Echo(data)  # bytes on JSON too: the description says []byte
                    self.assertIs(type(got), bytes, (codec, n))
                    self.assertEqual(got, data, (codec, n))
                    self.assertEqual(await asyncio.gather(*small), [i + 1 for i in range(20)])
                # Two large replies in flight at once.
                a, b = rnd.randbytes(3 << 20), rnd.randbytes((1 << 20) + 3)
                got = await asyncio.gather(c.Calc.Echo(a), c.Calc.Echo(b))
                self.assertEqual(got, [a, b])

        for codec in CODECS:
            asyncio.run(run(codec))


def cbor_bytes_head(n):
    return _codec._cbor_head(2, n)


@unittest.skipUnless(_codec.HAVE_CBOR, "needs cbor2")
class CraftedReplyTest(unittest.TestCase):
    """Replies a server may send that look like one byte string and are
    not: each decodes as cbor2 reads it, or fails as malformed."""

    def call(self, body, flags=0):
        """The result of a call answered with body, by a Client; an
        AsyncClient must get the same (or raise the same)."""
        fake = FakeNativeServer(lambda i: struct.pack(">IBBQ", len(body), 2, flags, i) + body)
        self.addCleanup(fake.close)

        async def acall():
            async with simplerpc.AsyncClient(fake.address, codec="cbor", retry=RetryPolicy(max_attempts=1)) as c:
                c._description = False
                return await c.Calc.Echo(b"x", _timeout=10)

        try:
            with simplerpc.Client(fake.address, codec="cbor", retry=RetryPolicy(max_attempts=1)) as c:
                c._description = False  # the fake server describes nothing
                got = c.Calc.Echo(b"x", _timeout=10)
        except Exception as e:
            with self.assertRaises(type(e)):
                asyncio.run(acall())
            raise
        self.assertEqual(asyncio.run(acall()), got)
        return got

    def test_one_byte_string(self):
        payload = random.Random(1).randbytes(1 << 20)
        got = self.call(b"\x81" + cbor_bytes_head(len(payload)) + payload)
        self.assertIs(type(got), bytes)
        self.assertEqual(got, payload)

    def test_byte_string_then_more(self):
        # [bytes, 7]: not one byte string; cbor2 decodes it.
        payload = b"\x01" * (1 << 20)
        fake_body = b"\x82" + cbor_bytes_head(len(payload)) + payload + b"\x07"
        fake = FakeNativeServer(lambda i: struct.pack(">IBBQ", len(fake_body), 2, 0, i) + fake_body)
        self.addCleanup(fake.close)
        with NativeClient(fake.address, codec="cbor") as c:
            self.assertEqual(c.call("Calc.Echo", b"x"), [payload, 7])

    def test_head_longer_than_the_body(self):
        payload = b"\x02" * (1 << 20)
        with self.assertRaises(simplerpc.InternalError):
            self.call(b"\x81" + cbor_bytes_head(len(payload) + 1) + payload)

    def test_head_shorter_than_the_body(self):
        # Not split: the body goes to cbor2, which reads the first value
        # and, as for any reply, leaves what follows it.
        payload = bytes(range(256)) * (1 << 12)
        self.assertEqual(self.call(b"\x81" + cbor_bytes_head(len(payload) - 1) + payload), payload[:-1])

    def test_large_error_reply(self):
        # Flagged an error: never split; a long message comes through.
        msg = "m" * (1 << 20)
        body = _codec.get("cbor").encode([2, msg, "Calc.Echo", "", "", ""])
        with self.assertRaises(simplerpc.RemoteError) as cm:
            self.call(body, flags=1)
        self.assertIn("mmmm", str(cm.exception))


@unittest.skipUnless(_codec.HAVE_CBOR, "needs cbor2")
class BytesReplyHeadTest(unittest.TestCase):
    def test_against_cbor2(self):
        # Random bodies built near the form bytes_reply_head accepts:
        # whenever it accepts one, cbor2 reads it as [that byte string].
        import cbor2
        rnd = random.Random(11)
        accepted = 0
        for _ in range(3000):
            n = rnd.choice([0, 1, 23, 24, 255, 256, 65535, 65536, rnd.randrange(1 << 12)])
            head = cbor_bytes_head(n)
            if rnd.random() < 0.2:  # a longer head form for the same length (still valid CBOR)
                head = bytes((0x5b,)) + n.to_bytes(8, "big")
            first = rnd.choice([b"\x81", b"\x81", b"\x82", b"\x9f", b"\x80"])
            payload = rnd.randbytes(n + rnd.choice([0, 0, 0, -1, 1]) if n else rnd.choice([0, 1]))
            body = first + head + payload
            if rnd.random() < 0.1:
                body = bytearray(body)
                body[rnd.randrange(len(body))] = rnd.getrandbits(8)
                body = bytes(body)
            k = _codec.bytes_reply_head(body + bytes(_codec.BYTES_REPLY_HEAD), 0, len(body))
            if not k:
                continue
            accepted += 1
            self.assertEqual(cbor2.loads(body), [body[k:]])
        self.assertGreater(accepted, 500)


if __name__ == "__main__":
    unittest.main()
