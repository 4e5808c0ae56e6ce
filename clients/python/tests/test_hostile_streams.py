"""What a misbehaving server can do to a stream: send past the window,
send window counts that go back, end a stream with an item, send stream
frames on a connection without streams. The client gives the connection
up with an error that says why, and the stream raises
ConnectionLostError; nothing hangs. Also random input to the window
parser."""

import asyncio
import random
import socket
import struct
import threading
import unittest

import simplerpc
from simplerpc import AsyncClient, Client, RetryPolicy, _wire
from simplerpc._describe import Description
from test_hostile import WELCOME, FakeNativeServer, _recv

# A welcome that grants streams.
STREAMS_WELCOME = WELCOME[:6] + bytes((_wire.WELCOME_STREAMS,)) + WELCOME[7:]

# What the fake server describes: one server stream.
DESCRIPTION = Description({"services": [{"name": "S", "methods": [
    {"name": "S.Tail", "signature": "func() iter.Seq2[string,error]", "params": [], "results": [],
     "stream": {"kind": "server", "yields": {"go": "string"}}},
    {"name": "S.Other", "signature": "func()", "params": [], "results": []}]}]})

ITEM = b'"' + b"x" * 998 + b'"'  # a JSON text of 1000 bytes


def items(call_id, n):
    return b"".join(_wire.item(call_id, ITEM) for _ in range(n))


def window_going_back(call_id):
    return _wire.window(call_id, 0, 0) + _wire.window(call_id, 5, 500) + _wire.window(call_id, 1, 100)


def item_flagged_end(call_id):
    return _wire.window(call_id, 0, 0) + _wire.item(call_id, ITEM) + _wire.item_end(call_id)


class StreamServer:
    """A fake server for one connection: it opens the stream the first
    call asks for, reads calls until it has calls of them, then sends
    what answer(their ids...) returns, and reads on until the client
    hangs up (so that it closes with nothing unread: no reset)."""

    def __init__(self, answer, calls=2):
        self.answer = answer
        self.calls = calls
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.address = self.sock.getsockname()
        self.thread = threading.Thread(target=self.serve)
        self.thread.start()

    def serve(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(5)
            try:
                head = _recv(conn, 7)
                _recv(conn, head[6] + (16 if head[5] & 1 else 0))
                conn.sendall(STREAMS_WELCOME)
                ids = []
                while len(ids) < self.calls:
                    size, kind, _, frame_id = struct.unpack(">IBBQ", _recv(conn, 14))
                    _recv(conn, size)
                    if kind == _wire.CALL:
                        ids.append(frame_id)
                        if len(ids) == 1:
                            conn.sendall(_wire.window(frame_id, 0, 0))
                conn.sendall(self.answer(*ids))
                while conn.recv(1 << 16):
                    pass
            except OSError:
                pass

    def close(self):
        self.thread.join(5)
        self.sock.close()


class HostileStreamTest(unittest.TestCase):
    def test_server_past_the_window_of_a_stalled_stream(self):
        # The stream is not consumed while a call beside it reads: the
        # server's items past the window break the connection.
        fake = StreamServer(lambda stream, call: items(stream, _wire.STREAM_WINDOW // (len(ITEM) + 32) + 2))
        self.addCleanup(fake.close)
        with Client(fake.address, codec="json", timeout=10, retry=RetryPolicy(max_attempts=1)) as c:
            c._description = DESCRIPTION
            s = c.S.Tail()
            with self.assertRaises((simplerpc.ConnectionLostError, ConnectionError)):
                c.S.Other(_timeout=5)
            got = 0
            with self.assertRaises(simplerpc.ConnectionLostError) as cm:
                for _ in s:
                    got += 1
            self.assertIn("past its window", cm.exception.message)
            # What arrived within the window (plus the one item a sender may
            # send while below it) was delivered first.
            self.assertLessEqual(got * (len(ITEM) + 32), _wire.STREAM_WINDOW + len(ITEM) + 32)
            self.assertGreater(got * (len(ITEM) + 32), _wire.STREAM_WINDOW - len(ITEM) - 32)

    def stream_fails(self, answer, welcome=STREAMS_WELCOME):
        fake = FakeNativeServer(answer, welcome)
        self.addCleanup(fake.close)
        with Client(fake.address, codec="json", timeout=10, retry=RetryPolicy(max_attempts=2)) as c:
            c._description = DESCRIPTION
            got = 0
            with self.assertRaises(simplerpc.ConnectionLostError) as cm:
                for item in c.S.Tail():
                    self.assertEqual(item, ITEM[1:-1].decode())
                    got += 1
        return cm.exception, got

    def test_window_counts_going_back(self):
        e, _ = self.stream_fails(window_going_back)
        self.assertIn("went back", e.message)

    def test_server_ending_its_half_with_an_item(self):
        e, _ = self.stream_fails(item_flagged_end)
        self.assertIn("item frame with flags", e.message)

    def test_server_without_streams(self):
        fake = FakeNativeServer(lambda i: b"")
        self.addCleanup(fake.close)
        with Client(fake.address, codec="json", timeout=10) as c:
            c._description = DESCRIPTION
            with self.assertRaises(simplerpc.NotFoundError) as cm:
                c.S.Tail()
            self.assertIn("takes no streams", cm.exception.message)

    def test_async_server_past_the_window(self):
        fake = StreamServer(lambda stream: items(stream, _wire.STREAM_WINDOW // (len(ITEM) + 32) + 2), calls=1)
        self.addCleanup(fake.close)

        async def main():
            async with AsyncClient(fake.address, codec="json", timeout=10,
                                   retry=RetryPolicy(max_attempts=2)) as c:
                c._description = DESCRIPTION
                s = await c.S.Tail()
                await asyncio.sleep(0.3)  # stalled: everything arrives, nothing is consumed
                with self.assertRaises(simplerpc.ConnectionLostError) as cm:
                    async for _ in s:
                        pass
                return cm.exception

        e = asyncio.run(asyncio.wait_for(main(), 30))
        self.assertIn("past its window", e.message)


class WindowParserTest(unittest.TestCase):
    def test_parse_window_on_random_bytes(self):
        rnd = random.Random(5)
        last = (0, 0)
        for _ in range(5000):
            body = bytes(rnd.getrandbits(8) for _ in range(16))
            try:
                items, cost = _wire.parse_window(body, last)
            except _wire.ProtocolError:
                continue
            self.assertTrue(items >= last[0] and cost >= last[1])
            last = (items, cost) if rnd.random() < 0.01 else last
        self.assertEqual(_wire.parse_window(_wire.window(1, 7, 9)[14:], (0, 0)), (7, 9))

    def test_stream_headers_on_random_bytes(self):
        rnd = random.Random(6)
        for _ in range(20000):
            b = bytes(rnd.getrandbits(8) for _ in range(14))
            try:
                size, kind, flags, _ = _wire.parse_header(b, 0, 1 << 20, True)
            except _wire.ProtocolError:
                continue
            if kind == _wire.WINDOW:
                self.assertEqual((size, flags), (16, 0))
            elif kind == _wire.ITEM:
                self.assertEqual(flags, 0)
            else:
                self.assertIn(kind, (_wire.REPLY, _wire.PING, _wire.PONG, _wire.GOAWAY))
        # Without streams granted, stream frames are violations.
        for frame in (_wire.window(1, 0, 0), _wire.item(1, b"1")):
            with self.assertRaises(_wire.ProtocolError):
                _wire.parse_header(frame, 0, 1 << 20)
        header = struct.pack(">IBBQ", 15, _wire.WINDOW, 0, 1)
        with self.assertRaises(_wire.ProtocolError):
            _wire.parse_header(header, 0, 1 << 20, True)


if __name__ == "__main__":
    unittest.main()
