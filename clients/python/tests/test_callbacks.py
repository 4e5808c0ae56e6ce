"""Callbacks (PROTOCOL.md §13) against the Go test server's Jobs service
(tests/server/callbacks.go): Python callables passed among a native
call's arguments, called back by the server, on both codecs, with Client
and AsyncClient — results, errors both ways, concurrency, timeouts and
cancel, limits, refusal, expiry, JSON-RPC, and a session resumed through
the fault proxy with an invocation in flight."""

import asyncio
import threading
import time
import unittest

import goserver
import simplerpc
from simplerpc import AsyncClient, Client, _codec

server = None


def setUpModule():
    global server
    server = goserver.GoServer()


def tearDownModule():
    server.stop()


CODECS = ["json"] + (["cbor"] if _codec.HAVE_CBOR else [])


def wait_until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in %ss" % timeout)
        time.sleep(0.005)


class DivByZero(simplerpc.ApplicationError):
    pass


class SyncCallbackTest(unittest.TestCase):
    def setUp(self):
        simplerpc.register_error("calc.div_by_zero", DivByZero)

    def clients(self, **kwargs):
        """A client on each codec, closed at the end of the test."""
        out = []
        for codec in CODECS:
            c = Client(server.main, codec=codec, **kwargs)
            self.addCleanup(c.close)
            out.append(c)
        return out

    def test_progress(self):
        for c in self.clients():
            got = []
            self.assertEqual(c.Jobs.Run(3, lambda done, total: got.append((done, total))), 30)
            self.assertEqual(got, [(1, 3), (2, 3), (3, 3)])

    def test_results(self):
        for c in self.clients():
            self.assertEqual(c.Jobs.Map([1, 2, 3], lambda x: x * x), [1, 4, 9])
            self.assertEqual(c.Jobs.Pair("a", lambda s: (s + "b", 7)), "ab/7")  # a tuple is several results

    def test_callback_calls_the_server(self):
        # A callable may call through the same client while the call that
        # passed it waits: the pool thread's call shares the connection.
        for c in self.clients():
            self.assertEqual(c.Jobs.Map([1, 2], lambda x: c.Calc.Add(x, 10)), [11, 12])

    def test_errors_reach_the_server(self):
        def boom():
            raise KeyError("k")

        def app():
            raise simplerpc.ApplicationError("no such job")

        def registered():
            raise DivByZero("division by zero")

        for c in self.clients():
            got = c.Jobs.Inspect(boom)
            self.assertTrue(got.startswith("internal||false|"), got)  # an unexpected exception is internal
            self.assertIn("KeyError", got)
            self.assertEqual(c.Jobs.Inspect(app), "application||false|no such job")
            # A registered class travels with its name: errors.Is matches
            # the server's registered sentinel.
            self.assertEqual(c.Jobs.Inspect(registered), "application|calc.div_by_zero|true|division by zero")
            self.assertEqual(c.Jobs.Inspect(lambda: None), "ok")

    def test_errors_come_back_to_the_caller(self):
        def fail(x):
            if x == 2:
                raise DivByZero("division by zero")
            return x

        for c in self.clients():
            with self.assertRaises(DivByZero) as cm:
                c.Jobs.Map([1, 2, 3], fail)
            self.assertIn("mapping 2", cm.exception.message)
            self.assertEqual(c.Calc.Add(1, 2), 3)  # the client goes on

    def test_unencodable_result(self):
        for c in self.clients():
            # The server's method wraps its callback's error: the caller
            # sees it as the method's.
            with self.assertRaises(simplerpc.ApplicationError) as cm:
                c.Jobs.Map([1], lambda x: object())
            self.assertIn("internal: the callback's results could not be encoded", cm.exception.message)

    def test_concurrent_invocations(self):
        threads = set()
        lock = threading.Lock()

        def f(i):
            with lock:
                threads.add(threading.get_ident())
            time.sleep(0.02)
            return i

        for c in self.clients():
            threads.clear()
            self.assertEqual(c.Jobs.Parallel(32, f), sum(range(32)))
            self.assertGreater(len(threads), 1)
            self.assertNotIn(threading.get_ident(), threads)  # the pool runs them, not the caller

    def test_timeout_of_an_invocation(self):
        # A sync callable cannot be interrupted: the server gives up at the
        # invocation's deadline, the late reply is dropped, and the client
        # goes on.
        for c in self.clients():
            before = c.Jobs.Canceled()
            self.assertEqual(c.Jobs.Slow(50, lambda: time.sleep(0.3)), "deadline_exceeded")
            self.assertEqual(c.Jobs.Canceled(), before + 1)
            self.assertEqual(c.Calc.Add(2, 2), 4)

    def test_limit(self):
        gate = threading.Event()

        def f(i):
            gate.wait(5)
            return i

        for c in self.clients(max_callbacks=2, callback_threads=2):
            gate.clear()
            timer = threading.Timer(0.3, gate.set)
            timer.start()
            try:
                with self.assertRaises(simplerpc.ResourceExhaustedError) as cm:
                    c.Jobs.Parallel(8, f)
                self.assertIn("at most 2 callbacks", cm.exception.message)
            finally:
                timer.cancel()
                gate.set()

    def test_refused(self):
        ran = []
        for c in self.clients(callbacks=False):
            got = c.Jobs.Inspect(lambda: ran.append(1))
            self.assertEqual(got, "permission_denied||false|simplerpc: the client takes no callbacks")
        self.assertEqual(ran, [])

    def test_expired(self):
        ran = []
        for c in self.clients():
            c.Jobs.Keep(lambda: ran.append(1))
            got = c.Jobs.CallKept()
            self.assertTrue(got.startswith("unavailable|"), got)
            self.assertIn("callback used after its call returned", got)
        self.assertEqual(ran, [])

    def test_jsonrpc_refuses_callables(self):
        with Client(goserver.http(server.main)) as c:
            with self.assertRaises(simplerpc.InvalidArgumentError) as cm:
                c.Jobs.Run(1, lambda done, total: None)
            self.assertIn("native protocol", cm.exception.message)
            with self.assertRaises(simplerpc.InvalidArgumentError):
                with c.batch() as b:
                    b.Jobs.Run(1, lambda done, total: None)

    def test_resumed_connection_runs_an_invocation_once(self):
        for codec in CODECS:
            with self.subTest(codec=codec), Client(server.proxied, codec=codec) as c, \
                    Client(server.main) as control:
                self.assertEqual(c.Calc.Add(0, 0), 0)  # connected
                runs = []
                started = threading.Event()

                def f(x):
                    runs.append(x)
                    started.set()
                    time.sleep(0.4)  # the connection breaks meanwhile
                    return x * 3

                got = []
                t = threading.Thread(target=lambda: got.append(c.Jobs.Once(7, f)))
                t.start()
                self.assertTrue(started.wait(5))
                self.assertGreaterEqual(control.Fault.Reset(), 1)
                t.join(15)
                self.assertFalse(t.is_alive())
                self.assertEqual(got, [21])  # answered, with the reply of the one run
                self.assertEqual(runs, [7])
                self.assertEqual(c.Jobs.Map([1, 2], lambda x: -x), [-1, -2])


    def test_reply_lost_with_its_connection_is_sent_again(self):
        # The invocation answers while the proxy forwards nothing, so its
        # reply is lost with the connection; on the resumed one the server
        # sends the callback again, and the client answers it with the
        # reply it kept, without running the callable again.
        for codec in CODECS:
            with self.subTest(codec=codec), Client(server.proxied, codec=codec) as c, \
                    Client(server.main) as control:
                self.assertEqual(c.Calc.Add(0, 0), 0)
                runs = []
                started, silenced = threading.Event(), threading.Event()

                def f(x):
                    runs.append(x)
                    started.set()
                    silenced.wait(5)
                    return x + 100

                got = []
                t = threading.Thread(target=lambda: got.append(c.Jobs.Once(9, f)))
                t.start()
                self.assertTrue(started.wait(5))
                self.assertGreaterEqual(control.Fault.Silence(), 1)
                silenced.set()
                time.sleep(0.2)  # the reply goes into the silent connection
                self.assertGreaterEqual(control.Fault.Reset(), 1)
                t.join(15)
                self.assertFalse(t.is_alive())
                self.assertEqual(got, [109])
                self.assertEqual(runs, [9])

class AsyncCallbackTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        simplerpc.register_error("calc.div_by_zero", DivByZero)

    async def test_plain_and_coroutine_callables(self):
        for codec in CODECS:
            async with AsyncClient(server.main, codec=codec) as c:
                got = []
                self.assertEqual(await c.Jobs.Run(3, lambda done, total: got.append((done, total))), 30)
                self.assertEqual(got, [(1, 3), (2, 3), (3, 3)])

                async def square(x):
                    await asyncio.sleep(0.005)
                    return x * x

                self.assertEqual(await c.Jobs.Map([1, 2, 3], square), [1, 4, 9])
                self.assertEqual(await c.Jobs.Parallel(32, square), sum(i * i for i in range(32)))

                async def through(x):
                    return await c.Calc.Add(x, 10)  # the same client, while the call waits

                self.assertEqual(await c.Jobs.Map([1, 2], through), [11, 12])

    async def test_errors_both_ways(self):
        async def registered():
            raise DivByZero("division by zero")

        async def fail(x):
            raise simplerpc.ApplicationError("bad %d" % x)

        for codec in CODECS:
            async with AsyncClient(server.main, codec=codec) as c:
                self.assertEqual(await c.Jobs.Inspect(registered),
                                 "application|calc.div_by_zero|true|division by zero")
                got = await c.Jobs.Inspect(lambda: [][1])
                self.assertTrue(got.startswith("internal||false|IndexError"), got)
                with self.assertRaises(simplerpc.ApplicationError) as cm:
                    await c.Jobs.Map([4], fail)
                self.assertIn("bad 4", cm.exception.message)

    async def test_timeout_cancels_the_task(self):
        for codec in CODECS:
            async with AsyncClient(server.main, codec=codec) as c:
                canceled = asyncio.Event()

                async def slow():
                    try:
                        await asyncio.sleep(5)
                    except asyncio.CancelledError:
                        canceled.set()
                        raise

                start = time.monotonic()
                self.assertEqual(await c.Jobs.Slow(50, slow), "deadline_exceeded")
                await asyncio.wait_for(canceled.wait(), 5)
                self.assertLess(time.monotonic() - start, 3)
                self.assertEqual(await c.Calc.Add(1, 1), 2)

    async def test_refused_and_limited(self):
        async with AsyncClient(server.main, callbacks=False) as c:
            got = await c.Jobs.Inspect(lambda: None)
            self.assertEqual(got, "permission_denied||false|simplerpc: the client takes no callbacks")
        async with AsyncClient(server.main, max_callbacks=2) as c:
            async def slow(i):
                await asyncio.sleep(0.2)
                return i

            with self.assertRaises(simplerpc.ResourceExhaustedError):
                await c.Jobs.Parallel(8, slow)

    async def test_jsonrpc_refuses_callables(self):
        async with AsyncClient(goserver.http(server.main)) as c:
            with self.assertRaises(simplerpc.InvalidArgumentError):
                await c.Jobs.Run(1, lambda done, total: None)

    async def test_resumed_connection_runs_an_invocation_once(self):
        for codec in CODECS:
            async with AsyncClient(server.proxied, codec=codec) as c, AsyncClient(server.main) as control:
                self.assertEqual(await c.Calc.Add(0, 0), 0)
                runs = []
                started = asyncio.Event()

                async def f(x):
                    runs.append(x)
                    started.set()
                    await asyncio.sleep(0.4)
                    return x * 3

                call = asyncio.ensure_future(c.Jobs.Once(5, f))
                await asyncio.wait_for(started.wait(), 5)
                self.assertGreaterEqual(await control.Fault.Reset(), 1)
                self.assertEqual(await asyncio.wait_for(call, 15), 15)
                self.assertEqual(runs, [5])


if __name__ == "__main__":
    unittest.main()
