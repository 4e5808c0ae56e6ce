"""AsyncClient against the Go test server: calls and errors on both
codecs, tasks sharing one connection, cancellation reaching the server,
sessions resumed through the fault proxy, TLS, metadata, HTTP."""

import asyncio
import datetime
import ssl
import unittest

import goserver
import simplerpc
from simplerpc import AsyncClient, _codec

server = None


def setUpModule():
    global server
    server = goserver.GoServer()


def tearDownModule():
    server.stop()


CODECS = ["json"] + (["cbor"] if _codec.HAVE_CBOR else [])


async def until(cond, timeout=5.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await cond():
        if loop.time() > end:
            raise AssertionError("condition not met in %ss" % timeout)
        await asyncio.sleep(0.005)


class AsyncTest(unittest.IsolatedAsyncioTestCase):
    async def test_calls_and_errors(self):
        for codec in CODECS:
            with self.subTest(codec=codec):
                async with AsyncClient(server.main, codec=codec) as c:
                    self.assertEqual(await c.Calc.Add(1, 2), 3)
                    self.assertEqual(await c.Calc.DivMod(7, 2), [3, 1])
                    self.assertIsNone(await c.Calc.Nothing())
                    self.assertEqual(await c.Calc.Describe(x=1, y=2, Label="p"), "p(1,2)")
                    self.assertEqual(await c.greet("ada"), "hello, ada")
                    self.assertEqual(await c.Calc.Any(2**100), 2**100)
                    got = await c.Calc.Echo(b"\x00\xff")
                    self.assertEqual((got, type(got)), (b"\x00\xff", bytes))
                    got = await c.Calc.Div(4, 2)
                    self.assertEqual((got, type(got)), (2.0, float))
                    t0 = datetime.datetime(2021, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)
                    self.assertEqual(await c.Calc.Later(t0, 1500), t0 + datetime.timedelta(microseconds=1))
                    t = datetime.datetime(2020, 2, 29, tzinfo=datetime.timezone.utc)
                    self.assertEqual(await c.Calc.Year(t), 2020)
                    with self.assertRaises(simplerpc.ApplicationError) as cm:
                        await c.Calc.Div(1, 0)
                    self.assertEqual(cm.exception.name, "calc.div_by_zero")
                    with self.assertRaises(simplerpc.InternalError):
                        await c.Calc.Crash("boom")
                    with self.assertRaises(simplerpc.NotFoundError):
                        await c.Calc.Nope()

    async def test_describe_checks_names(self):
        async with AsyncClient(server.main) as c:
            self.assertIsNotNone(await c.describe())
            self.assertIn("Add", dir(c.Calc))
            self.assertIn("Calc", dir(c))
            with self.assertRaises(simplerpc.NotFoundError) as cm:
                c.Calc.Ad
            self.assertIn("did you mean Add?", cm.exception.message)

    async def test_tasks_share_one_connection(self):
        async with AsyncClient(server.main) as c:
            before = await c.Stats.Connections()
            got = await asyncio.gather(*(c.Calc.Add(i, i) for i in range(500)))
            self.assertEqual(got, [2 * i for i in range(500)])
            self.assertEqual(await c.Stats.Connections(), before)

    async def test_timeout_and_cancel_reach_the_server(self):
        async with AsyncClient(server.main) as c, AsyncClient(server.main) as control:
            with self.assertRaises(simplerpc.DeadlineExceededError):
                await c.Gate.Wait(_timeout=0.2)
            await until(lambda: _eq(control.Gate.Waiting(), 0))
            task = asyncio.ensure_future(c.Gate.Wait())
            await until(lambda: _eq(control.Gate.Waiting(), 1))
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            await until(lambda: _eq(control.Gate.Waiting(), 0))
            self.assertEqual(await c.Calc.Add(1, 1), 2)

    async def test_resume_through_the_fault_proxy(self):
        async with AsyncClient(server.proxied) as c, AsyncClient(server.main) as control:
            before = await control.Counter.Count()
            call = asyncio.ensure_future(c.Counter.Hit(400))
            await until(lambda: _eq(control.Counter.Count(), before + 1))
            self.assertGreaterEqual(await control.Fault.Reset(), 1)
            self.assertEqual(await asyncio.wait_for(call, 10), before + 1)
            self.assertEqual(await control.Counter.Count(), before + 1)
            self.assertEqual(await c.Calc.Add(2, 2), 4)

    async def test_graceful_restart(self):
        async with AsyncClient(server.restart) as c, AsyncClient(server.main) as control:
            before = await c.Counter.Count()
            call = asyncio.ensure_future(c.Counter.Hit(300))
            await until(lambda: _eq(control.Counter.Count(), before + 1))
            await control.Restart.Now()
            self.assertEqual(await asyncio.wait_for(call, 10), before + 1)
            self.assertEqual(await c.Calc.Add(1, 2), 3)  # a new session on the new server
            self.assertEqual(await c.Stats.Connections(), 1)

    async def test_hostile_server(self):
        import test_hostile

        for answer in (lambda i: b"\x00\x00\x00\x00\x09\x00" + i.to_bytes(8, "big"),  # kind 9
                       lambda i: b"\xff\xff\xff\xff\x02\x00" + i.to_bytes(8, "big"),  # 4 GiB
                       lambda i: b"\x00\x00\x00\x03\x02\x00" + i.to_bytes(8, "big") + b"[1,"):
            fake = test_hostile.FakeNativeServer(answer)
            try:
                async with AsyncClient(fake.address, codec="json", retry=simplerpc.RetryPolicy(max_attempts=2)) as c:
                    c._description = False
                    with self.assertRaises((simplerpc.ConnectionLostError, simplerpc.InternalError)):
                        await c.Calc.Add(1, 2, _timeout=10)
            finally:
                # Not in the loop's thread: the client's hang-up, which the
                # fake server waits for, needs the loop to run.
                await asyncio.get_running_loop().run_in_executor(None, fake.close)

    async def test_tls_metadata_http(self):
        ctx = ssl.create_default_context(cadata=server.ca)
        async with AsyncClient("simplerpcs://127.0.0.1:%d" % server.tls[1], ssl_context=ctx,
                               metadata={"x-a": "1"}) as c:
            self.assertEqual(await c.Echo.Metadata("x-a", "x-b", _metadata={"x-b": "2"}), {"x-a": "1", "x-b": "2"})
        async with AsyncClient(goserver.http(server.main)) as h:
            self.assertEqual(await h.Calc.Add(1, 2), 3)
            self.assertEqual(await h.Echo.Metadata("x-c", _metadata={"x-c": "3"}), {"x-c": "3"})


async def _eq(aw, want):
    return await aw == want


if __name__ == "__main__":
    unittest.main()
