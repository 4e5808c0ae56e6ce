"""Streams (PROTOCOL.md §12) against the Go test server, on both codecs:
server streams as iterators, client streams from iterables, bidi; their
errors, cancellation (break, close, garbage collection, timeout,
KeyboardInterrupt, task cancellation), flow control, sharing one
connection with calls, threads and asyncio tasks, and a connection reset
mid-stream. The server's Streams service (tests/server/streams.go)
counts what its iterators do, which is how the tests see the server's
side."""

import asyncio
import datetime
import gc
import queue
import signal
import threading
import time
import unittest

import goserver
import simplerpc
from simplerpc import AsyncClient, Client, _codec, _wire

server = None


def setUpModule():
    global server
    server = goserver.GoServer()


def tearDownModule():
    server.stop()


CODECS = ["json"] + (["cbor"] if _codec.HAVE_CBOR else [])

BLOB = 4096


def blobs_per_window(codec):
    """How many items of Blobs(n, BLOB) a sender may send into a window:
    it sends while the cost sent is below the window (an item costs its
    encoding and 32)."""
    cost = len(_codec.get(codec).encode_item(bytes(BLOB))) + _wire.ITEM_OVERHEAD
    return -(-_wire.STREAM_WINDOW // cost)


def wait_until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in %ss" % timeout)
        time.sleep(0.005)


class _Streams:
    codec = None

    def setUp(self):
        self.client = Client(server.main, codec=self.codec, timeout=30)
        self.control = Client(server.main, timeout=30)
        self.addCleanup(self.client.close)
        self.addCleanup(self.control.close)

    def assert_no_stream_runs(self):
        wait_until(lambda: self.control.Streams.Running() == 0)

    # ---- server streams -----------------------------------------------------

    def test_items_in_order(self):
        self.assertEqual(list(self.client.Streams.Count(5000)), list(range(5000)))
        self.assertEqual(list(self.client.Streams.Count(0)), [])

    def test_items_are_typed_by_the_description(self):
        t = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
        got = list(self.client.Streams.Stamp(t, 3))
        self.assertEqual(got, [t + datetime.timedelta(seconds=i) for i in range(3)])
        blobs = list(self.client.Streams.Blobs(3, 10))
        self.assertEqual(blobs, [bytes([i]) * 10 for i in range(3)])

    def test_break_cancels_the_servers_iterator(self):
        canceled = self.control.Streams.Canceled()
        for i in self.client.Streams.Count(10 ** 9):
            if i == 10:
                break
        self.assert_no_stream_runs()
        self.assertEqual(self.control.Streams.Canceled(), canceled + 1)
        self.assertEqual(self.client.Calc.Add(1, 2), 3)  # the connection goes on

    def test_close_and_garbage_collection_cancel(self):
        canceled = self.control.Streams.Canceled()
        with self.client.Streams.Count(10 ** 9) as s:
            self.assertEqual(next(s), 0)
        self.assert_no_stream_runs()
        s = self.client.Streams.Count(10 ** 9)
        self.assertEqual(next(s), 0)
        del s
        gc.collect()
        self.assert_no_stream_runs()
        self.assertEqual(self.control.Streams.Canceled(), canceled + 2)

    def test_error_mid_stream(self):
        s = self.client.Streams.Failing(3, False)
        self.assertEqual([next(s) for _ in range(3)], ["item 0", "item 1", "item 2"])
        with self.assertRaises(simplerpc.ApplicationError) as cm:
            next(s)
        self.assertIn("the stream broke", cm.exception.message)
        self.assertEqual(cm.exception.method, "Streams.Failing")
        with self.assertRaises(StopIteration):
            next(s)

    def test_registered_error_mid_stream(self):
        class DivByZero(simplerpc.ApplicationError):
            pass

        simplerpc.register_error("calc.div_by_zero", DivByZero)
        self.addCleanup(simplerpc.errors.REGISTERED.pop, "calc.div_by_zero", None)
        got = []
        with self.assertRaises(DivByZero) as cm:
            for item in self.client.Streams.Failing(2, True):
                got.append(item)
        self.assertEqual(got, ["item 0", "item 1"])
        self.assertEqual(cm.exception.name, "calc.div_by_zero")

    def test_error_before_the_stream_starts_raises_at_the_call(self):
        with self.assertRaises(simplerpc.ApplicationError) as cm:
            self.client.Streams.Open("missing")
        self.assertIn('no stream "missing"', cm.exception.message)
        self.assertEqual(list(self.client.Streams.Open("ok")), ["ok"] * 3)

    def test_bad_arguments_raise_at_the_call(self):
        with self.assertRaises(simplerpc.InvalidArgumentError):
            self.client.Streams.Count("many")

    def test_timeout_ends_the_stream(self):
        got = []
        with self.assertRaises(simplerpc.DeadlineExceededError):
            for i in self.client.Streams.Slow(100, 100, _timeout=0.35):
                got.append(i)
        self.assertEqual(got, list(range(len(got))))
        self.assertLess(len(got), 100)
        self.assert_no_stream_runs()

    def test_keyboard_interrupt_cancels(self):
        if threading.current_thread() is not threading.main_thread():
            self.skipTest("signals reach the main thread only")
        canceled = self.control.Streams.Canceled()
        s = self.client.Streams.Slow(10, 60000)
        self.assertEqual(next(s), 0)

        def interrupt(signum, frame):
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGALRM, interrupt)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with self.assertRaises(KeyboardInterrupt):
                next(s)  # waits a minute for the next item
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        self.assert_no_stream_runs()
        self.assertEqual(self.control.Streams.Canceled(), canceled + 1)
        self.assertEqual(self.client.Calc.Add(2, 2), 4)

    def test_stream_bigger_than_the_message_limit(self):
        # 20 items of 1 MiB: 20 MiB, over the server's 16 MiB limit on a
        # message; each item is under it.
        n = 0
        for i, b in enumerate(self.client.Streams.Blobs(20, 1 << 20)):
            self.assertEqual((len(b), b[:1], b[-1:]), (1 << 20, bytes([i]), bytes([i])))
            n += 1
        self.assertEqual(n, 20)
        chunks = (bytes([i % 256]) * (1 << 20) for i in range(20))
        self.assertEqual(self.client.Streams.Upload("big", 0, chunks), ["big", 20, 20 << 20])

    # ---- flow control -------------------------------------------------------

    def test_stalled_consumer_holds_the_producer_to_a_window(self):
        produced = self.control.Streams.Produced()
        s = self.client.Streams.Blobs(1000, BLOB)
        self.assertEqual(next(s), b"\x00" * BLOB)
        window = blobs_per_window(self.codec)
        wait_until(lambda: self.control.Streams.Produced() - produced >= window)
        time.sleep(0.3)  # the producer would run on, were it not held
        ahead = self.control.Streams.Produced() - produced
        # The window's items, and one the producer yielded that waits for
        # room.
        self.assertLessEqual(ahead, window + 1)
        # Consuming lets it go on, to the end, in order.
        rest = list(s)
        self.assertEqual(len(rest), 999)
        self.assertEqual([b[0] for b in rest[:300]], [i % 256 for i in range(1, 301)])

    def test_call_beside_a_stalled_stream(self):
        stalled = self.client.Streams.Blobs(1000, BLOB)
        self.assertEqual(len(next(stalled)), BLOB)
        time.sleep(0.1)  # the window's worth arrives and waits
        self.assertEqual(self.client.Calc.Add(1, 2), 3)
        got = []
        t = threading.Thread(target=lambda: got.append(self.client.Calc.Add(3, 4)))
        t.start()
        t.join(10)
        self.assertEqual(got, [7])
        self.assertEqual(list(self.client.Streams.Count(3000)), list(range(3000)))
        stalled.close()
        self.assert_no_stream_runs()

    def test_client_never_sends_past_the_window(self):
        # The server consumes a chunk every 2 ms: the client must wait for
        # its window frames, or the server closes the connection (§8).
        chunks = (bytes([i % 256]) * 8192 for i in range(300))
        self.assertEqual(self.client.Streams.Upload("slow", 2, chunks), ["slow", 300, 300 * 8192])

    # ---- client and bidi streams --------------------------------------------

    def test_client_stream_of_1000_chunks(self):
        chunks = [("chunk %04d" % i).encode() for i in range(1000)]
        self.assertEqual(self.client.Streams.Upload("f", 0, chunks), ["f", 1000, sum(map(len, chunks))])
        self.assertEqual(self.client.Streams.Sum(iter(range(1000))), 499500)
        self.assertEqual(self.client.Streams.Sum([]), 0)

    def test_client_stream_error_from_the_server(self):
        def nums():
            yield 1
            yield -1
            while True:  # the server stops the stream: no more are taken
                yield 2

        with self.assertRaises(simplerpc.ApplicationError) as cm:
            self.client.Streams.Sum(nums())
        self.assertIn("negative number -1", cm.exception.message)

    def test_client_stream_error_from_the_iterable_cancels(self):
        def nums():
            yield 1
            raise ValueError("no more")

        with self.assertRaises(ValueError):
            self.client.Streams.Sum(nums())
        self.assertEqual(self.client.Streams.Sum([1, 2]), 3)

    def test_item_over_the_message_limit_is_not_sent(self):
        limit = self.client._transport.max_body()
        with self.assertRaises(simplerpc.ResourceExhaustedError):
            self.client.Streams.Upload("huge", 0, [b"ok", bytes(limit + 1)])
        self.assertEqual(self.client.Streams.Upload("after", 0, [b"ok"]), ["after", 1, 2])

    def test_stream_argument_must_be_iterable(self):
        with self.assertRaises(TypeError):
            self.client.Streams.Sum(5)
        with self.assertRaises(TypeError):
            self.client.Streams.Sum()

    def test_bidi_echo(self):
        words = ["w%d" % i for i in range(500)]
        self.assertEqual(list(self.client.Streams.Echo("> ", words)), ["> " + w for w in words])

    def test_bidi_conversation(self):
        # Each question is sent once the answer to the one before is in:
        # the input runs beside the output.
        q = queue.Queue()
        q.put("first")

        def questions():
            while True:
                v = q.get(timeout=10)
                if v is None:
                    return
                yield v

        answers = []
        for a in self.client.Streams.Echo("re: ", questions()):
            answers.append(a)
            q.put(None if len(answers) == 5 else "q%d" % len(answers))
        self.assertEqual(answers, ["re: first", "re: q1", "re: q2", "re: q3", "re: q4"])

    def test_bidi_break_cancels(self):
        endless = ("x" for _ in iter(int, 1))
        s = self.client.Streams.Echo("", endless)
        self.assertEqual(next(s), "x")
        self.assertEqual(self.control.Streams.Running(), 1)
        sender = s._sender
        s.close()
        self.assert_no_stream_runs()  # the server's Echo ended
        sender.join(5)  # and the thread sending the endless input with it
        self.assertFalse(sender.is_alive())
        self.assertEqual(self.client.Calc.Add(1, 1), 2)

    # ---- sharing ------------------------------------------------------------

    def test_threads_share_one_connection(self):
        errors = []

        def stream(n):
            try:
                got = list(self.client.Streams.Count(n))
                if got != list(range(n)):
                    errors.append("stream of %d: %d items, out of order" % (n, len(got)))
                if self.client.Calc.Add(n, 1) != n + 1:
                    errors.append("call")
                if self.client.Streams.Sum(range(n)) != n * (n - 1) // 2:
                    errors.append("sum")
            except Exception as e:
                errors.append(repr(e))

        before = self.control.Stats.Connections()
        threads = [threading.Thread(target=stream, args=(1000 + 100 * i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(self.control.Stats.Connections() - before, 1)  # the client's one connection

    # ---- transports ---------------------------------------------------------

    def test_http_says_streams_need_the_native_protocol(self):
        with Client(goserver.http(server.main)) as c:
            with self.assertRaises(simplerpc.InvalidArgumentError) as cm:
                c.Streams.Count(3)
            self.assertIn("native protocol", cm.exception.message)
            self.assertIsNotNone(c.describe())
            with self.assertRaises(simplerpc.InvalidArgumentError) as cm:
                c.Streams.Count(3)  # known from the description: not sent
            self.assertIn("streams need the native protocol", cm.exception.message)

    def test_streams_are_not_batched(self):
        with self.assertRaises(TypeError):
            with self.client.batch() as b:
                b.Streams.Count(3)

    def test_help_shows_the_go_signature(self):
        doc = self.client.Streams.Echo.__doc__
        self.assertIn("Echo(string, iter.Seq2[string,error]) iter.Seq2[string,error]", doc)
        self.assertIn("iterable", doc)
        self.assertIn("Count", dir(self.client.Streams))
        sig = str(self.client.Streams.Upload.__signature__)
        self.assertIn("Iterable[[]uint8]", sig)
        self.assertIn("Iterator[int]", str(self.client.Streams.Count.__signature__))


class StreamsResetTest(unittest.TestCase):
    def test_reset_mid_stream_is_connection_lost_and_not_sent_again(self):
        with Client(server.proxied, timeout=30) as c, Client(server.main, timeout=30) as control:
            s = c.Streams.Slow(1000, 20)
            self.assertEqual(next(s), 0)
            self.assertGreaterEqual(control.Fault.Reset(), 1)
            with self.assertRaises(simplerpc.ConnectionLostError) as cm:
                for _ in range(1000):
                    next(s)
            self.assertIn("not resumed", cm.exception.message)
            # The server keeps the stream for a resume of the session; the
            # connection that resumes it cancels the stream instead.
            self.assertEqual(c.Calc.Add(1, 2), 3)  # the client goes on, on a new connection
            wait_until(lambda: control.Streams.Running() == 0)
            time.sleep(0.2)
            self.assertEqual(control.Streams.Running(), 0)  # the stream was not sent again

    def test_reset_with_a_stalled_stream_and_a_call(self):
        with Client(server.proxied, timeout=30) as c, Client(server.main, timeout=30) as control:
            stalled = c.Streams.Blobs(1000, BLOB)
            next(stalled)
            got = []
            t = threading.Thread(target=lambda: got.append(c.Counter.Hit(300)))
            t.start()
            time.sleep(0.1)
            control.Fault.Reset()
            t.join(10)
            self.assertEqual(len(got), 1)  # the call is resumed on a new connection
            with self.assertRaises(simplerpc.ConnectionLostError):
                list(stalled)


class StreamsShutdownTest(unittest.TestCase):
    def test_a_graceful_shutdown_lets_a_stream_finish(self):
        with Client(server.restart, timeout=30) as c, Client(server.main, timeout=30) as control:
            s = c.Streams.Slow(6, 100)
            self.assertEqual(next(s), 0)
            restarted = []
            t = threading.Thread(target=lambda: restarted.append(control.Restart.Now()))
            t.start()  # the go-away reaches the client while the stream runs
            self.assertEqual(list(s), [1, 2, 3, 4, 5])
            t.join(10)
            self.assertEqual(restarted, [None])
            self.assertEqual(c.Calc.Add(1, 2), 3)  # on the new server


class _AsyncStreams:
    codec = None

    def arun(self, coro):
        return asyncio.run(asyncio.wait_for(coro, 60))

    def test_async_items_calls_and_tasks(self):
        async def main():
            async with AsyncClient(server.main, codec=self.codec, timeout=30) as c:
                self.assertEqual([x async for x in await c.Streams.Count(3000)], list(range(3000)))

                async def one(n):
                    got = [x async for x in await c.Streams.Count(n)]
                    return got == list(range(n)) and await c.Calc.Add(n, 1) == n + 1

                self.assertEqual(await asyncio.gather(*(one(500 + i) for i in range(8))), [True] * 8)

                async def numbers():
                    for i in range(1000):
                        yield i
                        if i % 100 == 0:
                            await asyncio.sleep(0)

                self.assertEqual(await c.Streams.Sum(numbers()), 499500)
                self.assertEqual(await c.Streams.Sum(range(10)), 45)
                chunks = [b"c" * 100] * 1000
                self.assertEqual(await c.Streams.Upload("f", 0, chunks), ["f", 1000, 100000])
                words = ["w%d" % i for i in range(300)]
                self.assertEqual([x async for x in await c.Streams.Echo("> ", words)], ["> " + w for w in words])
        self.arun(main())

    def test_async_errors(self):
        async def main():
            async with AsyncClient(server.main, codec=self.codec, timeout=30) as c:
                with self.assertRaises(simplerpc.ApplicationError):
                    await c.Streams.Open("missing")
                s = await c.Streams.Failing(2, False)
                got = []
                with self.assertRaises(simplerpc.ApplicationError):
                    async for x in s:
                        got.append(x)
                self.assertEqual(got, ["item 0", "item 1"])
        self.arun(main())

    def test_async_break_and_task_cancel_cancel_the_stream(self):
        async def main():
            async with AsyncClient(server.main, codec=self.codec, timeout=30) as c, \
                    AsyncClient(server.main, timeout=30) as control:
                canceled = await control.Streams.Canceled()
                async with await c.Streams.Count(10 ** 9) as s:
                    async for i in s:
                        if i == 5:
                            break

                async def consume():
                    async for _ in await c.Streams.Slow(10, 60000):
                        pass

                task = asyncio.ensure_future(consume())
                while await control.Streams.Running() < 1:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
                for _ in range(500):
                    if await control.Streams.Running() == 0:
                        break
                    await asyncio.sleep(0.01)
                self.assertEqual(await control.Streams.Running(), 0)
                self.assertEqual(await control.Streams.Canceled(), canceled + 2)
                self.assertEqual(await c.Calc.Add(1, 2), 3)
        self.arun(main())

    def test_async_timeout_ends_the_stream(self):
        async def main():
            async with AsyncClient(server.main, codec=self.codec, timeout=30) as c, \
                    AsyncClient(server.main, timeout=30) as control:
                got = []
                with self.assertRaises(simplerpc.DeadlineExceededError):
                    async for i in await c.Streams.Slow(100, 100, _timeout=0.35):
                        got.append(i)
                self.assertEqual(got, list(range(len(got))))
                self.assertLess(len(got), 100)
                for _ in range(500):
                    if await control.Streams.Running() == 0:
                        break
                    await asyncio.sleep(0.01)
                self.assertEqual(await control.Streams.Running(), 0)
        self.arun(main())

    def test_async_stalled_stream_beside_calls(self):
        async def main():
            async with AsyncClient(server.main, codec=self.codec, timeout=30) as c, \
                    AsyncClient(server.main, timeout=30) as control:
                produced = await control.Streams.Produced()
                stalled = await c.Streams.Blobs(1000, BLOB)
                self.assertEqual(len(await stalled.__anext__()), BLOB)
                await asyncio.sleep(0.3)
                self.assertLessEqual(await control.Streams.Produced() - produced, blobs_per_window(self.codec) + 1)
                self.assertEqual(await asyncio.gather(*(c.Calc.Add(i, i) for i in range(20))),
                                 [2 * i for i in range(20)])
                rest = [b async for b in stalled]
                self.assertEqual(len(rest), 999)
        self.arun(main())

    def test_async_reset_mid_stream(self):
        async def main():
            async with AsyncClient(server.proxied, codec=self.codec, timeout=30) as c, \
                    AsyncClient(server.main, timeout=30) as control:
                s = await c.Streams.Slow(1000, 20)
                self.assertEqual(await s.__anext__(), 0)
                self.assertGreaterEqual(await control.Fault.Reset(), 1)
                with self.assertRaises(simplerpc.ConnectionLostError):
                    async for _ in s:
                        pass
                self.assertEqual(await c.Calc.Add(1, 2), 3)
        self.arun(main())


class ThreadsAndAsyncioTest(unittest.TestCase):
    def test_threads_and_an_event_loop_stream_at_once(self):
        errors = []
        with Client(server.main, timeout=30) as c:
            def in_thread(n):
                try:
                    if list(c.Streams.Count(n)) != list(range(n)):
                        errors.append("thread stream %d" % n)
                except Exception as e:
                    errors.append(repr(e))

            async def in_loop():
                async with AsyncClient(server.main, timeout=30) as ac:
                    async def one(n):
                        return [x async for x in await ac.Streams.Count(n)] == list(range(n))
                    return await asyncio.gather(*(one(800 + i) for i in range(6)))

            threads = [threading.Thread(target=in_thread, args=(1000 + i,)) for i in range(4)]
            for t in threads:
                t.start()
            self.assertEqual(asyncio.run(in_loop()), [True] * 6)
            for t in threads:
                t.join(30)
        self.assertEqual(errors, [])


def _classes():
    out = {}
    for codec in CODECS:
        name = codec.upper()
        out["Streams" + name + "Test"] = type("Streams" + name + "Test", (_Streams, unittest.TestCase),
                                              {"codec": codec})
        out["AsyncStreams" + name + "Test"] = type("AsyncStreams" + name + "Test",
                                                   (_AsyncStreams, unittest.TestCase), {"codec": codec})
    return out


globals().update(_classes())

if __name__ == "__main__":
    unittest.main()
