"""Calls, arguments and results against the Go test server, over JSON-RPC
(http:// URLs); test_native.py runs the same tests natively."""

import contextlib
import io
import unittest

import goserver
import simplerpc
from simplerpc import Client

server = None


def setUpModule():
    global server
    server = goserver.GoServer()


def tearDownModule():
    server.stop()


class CallTest(unittest.TestCase):

    def new_client(self, address, **kwargs):
        return Client(goserver.http(address), **kwargs)
    def setUp(self):
        self.client = self.new_client(server.main)
        self.addCleanup(self.client.close)

    def test_positional(self):
        self.assertEqual(self.client.Calc.Add(1, 2), 3)
        self.assertEqual(self.client.Calc.Div(1, 4), 0.25)

    def test_function(self):
        self.assertEqual(self.client.greet("ada"), "hello, ada")
        # Indexing reaches names that Client attributes would hide.
        self.assertEqual(self.client["greet"]("bob"), "hello, bob")

    def test_results(self):
        self.assertIsNone(self.client.Calc.Nothing())
        self.assertEqual(self.client.Calc.DivMod(7, 2), [3, 1])

    def test_variadic(self):
        self.assertEqual(self.client.Calc.Sum(), 0)
        self.assertEqual(self.client.Calc.Sum(5), 5)
        self.assertEqual(self.client.Calc.Sum(1, 2, 3, 4), 10)
        self.assertEqual(self.client.Calc.Concat("-", "a", "b", "c"), "a-b-c")
        self.assertEqual(self.client.Calc.Concat("-"), "")

    def test_keywords_fill_a_struct(self):
        self.assertEqual(self.client.Calc.Describe(x=1, y=2, Label="p"), "p(1,2)")
        # Field names or json tags, as Go's encoding/json matches them.
        self.assertEqual(self.client.Calc.Describe(X=3, label="q"), "q(3,0)")

    def test_dicts_and_structs(self):
        self.assertEqual(self.client.Calc.Describe({"x": 1, "y": 2, "Label": "d"}), "d(1,2)")
        # The struct's fields by position.
        self.assertEqual(self.client.Calc.Describe(5, 6, "f"), "f(5,6)")
        moved = self.client.Calc.Move({"x": 1, "y": 2, "Label": "m"}, 10, 20)
        self.assertEqual(moved, {"x": 11, "y": 22, "Label": "m"})
        self.assertEqual(self.client.Calc.Total({"a": 1, "b": 2}), 3)
        self.assertEqual(self.client.Calc.Total(a=1, b=2, c=3), 6)

    def test_bytes_travel_as_base64(self):
        self.assertEqual(self.client.Calc.Echo(b"\x00\x01\xff"), "AAH/")

    def test_positional_and_keywords_together(self):
        with self.assertRaises(TypeError) as cm:
            self.client.Calc.Describe(1, y=2)
        self.assertIn("not both", str(cm.exception))

    def test_unencodable_argument(self):
        with self.assertRaises(TypeError):
            self.client.Calc.Add(object(), 1)
        with self.assertRaises(ValueError):
            self.client.Calc.Div(float("nan"), 1)

    def test_private_names_are_not_calls(self):
        with self.assertRaises(AttributeError):
            self.client._nope
        with self.assertRaises(AttributeError):
            self.client.Calc.__wrapped__

    def test_address_must_be_a_tuple(self):
        with self.assertRaises(TypeError):
            Client("127.0.0.1:9000")

    def test_context_manager(self):
        with self.new_client(server.main) as c:
            self.assertEqual(c.Calc.Add(2, 2), 4)
        # A closed client reconnects.
        self.assertEqual(c.Calc.Add(3, 3), 6)
        c.close()


class ErrorTest(unittest.TestCase):

    def new_client(self, address, **kwargs):
        return Client(goserver.http(address), **kwargs)
    def setUp(self):
        self.client = self.new_client(server.main)
        self.addCleanup(self.client.close)

    def test_not_found(self):
        with self.assertRaises(simplerpc.NotFoundError) as cm:
            self.client.Calc.Nope()
        e = cm.exception
        self.assertIsInstance(e, simplerpc.RemoteError)
        self.assertEqual(e.code, "not_found")
        self.assertEqual(e.method, "Calc.Nope")
        self.assertEqual(e.rpc_code, -32601)
        self.assertIn("service Calc has no method Nope", e.message)
        self.assertEqual(str(e), "Calc.Nope: not_found: " + e.message)
        with self.assertRaises(simplerpc.NotFoundError):
            self.client.nope()

    def test_invalid_argument(self):
        with self.assertRaises(simplerpc.InvalidArgumentError) as cm:
            self.client.Calc.Add("x", 1)
        self.assertIn("argument 1", cm.exception.message)
        with self.assertRaises(simplerpc.InvalidArgumentError) as cm:
            self.client.Calc.Add(1)
        self.assertIn("takes 2 arguments", cm.exception.message)
        with self.assertRaises(simplerpc.InvalidArgumentError) as cm:
            self.client.Calc.Add(a=1, b=2)
        self.assertIn("by position", cm.exception.message)

    def test_application_error(self):
        with self.assertRaises(simplerpc.ApplicationError) as cm:
            self.client.Calc.Div(1, 0)
        e = cm.exception
        self.assertEqual(e.code, "application")
        self.assertEqual(e.message, "div(1, 0): division by zero")
        self.assertEqual(e.type, "*fmt.wrapError")
        self.assertEqual(e.name, "calc.div_by_zero")
        self.assertEqual(e.method, "Calc.Div")
        self.assertIn("error chain", e.traceback)

    def test_panic(self):
        with self.assertRaises(simplerpc.InternalError) as cm:
            self.client.Calc.Crash("boom")
        e = cm.exception
        self.assertEqual((e.code, e.message, e.type), ("internal", "boom", "string"))
        self.assertIn("Calc.Crash", e.traceback)

    def test_every_code_has_its_class(self):
        classes = {
            "application": simplerpc.ApplicationError,
            "not_found": simplerpc.NotFoundError,
            "invalid_argument": simplerpc.InvalidArgumentError,
            "internal": simplerpc.InternalError,
            "unavailable": simplerpc.UnavailableError,
            "connection_lost": simplerpc.ConnectionLostError,
            "canceled": simplerpc.CanceledError,
            "deadline_exceeded": simplerpc.DeadlineExceededError,
            "resource_exhausted": simplerpc.ResourceExhaustedError,
            "unauthenticated": simplerpc.UnauthenticatedError,
            "permission_denied": simplerpc.PermissionDeniedError,
        }
        for code, cls in classes.items():
            with self.subTest(code=code):
                with self.assertRaises(cls) as cm:
                    self.client.Coded.Fail(code)
                self.assertEqual(cm.exception.code, code)
                self.assertEqual(cm.exception.message, "failed with " + code)

    def test_no_traceback_without_stack_traces(self):
        with self.new_client(server.limited) as c:
            with self.assertRaises(simplerpc.InternalError) as cm:
                c.Calc.Crash("quiet")
        self.assertIsNone(cm.exception.traceback)
        self.assertIsNone(cm.exception.name)


class DebugTest(unittest.TestCase):

    def new_client(self, address, **kwargs):
        return Client(goserver.http(address), **kwargs)
    def call_crash(self, address, debug):
        stderr = io.StringIO()
        with self.new_client(address, debug=debug) as c, contextlib.redirect_stderr(stderr):
            with self.assertRaises(simplerpc.InternalError):
                c.Calc.Crash("debug me")
            self.assertEqual(c.Calc.Add(1, 1), 2)  # successes print nothing
        return stderr.getvalue()

    def test_debug_prints_the_server_traceback(self):
        out = self.call_crash(server.main, True)
        self.assertTrue(out.startswith("Server side traceback:\n"), out)
        self.assertIn("Calc.Crash", out)
        self.assertIn("goroutine", out)

    def test_silent_without_debug(self):
        self.assertEqual(self.call_crash(server.main, False), "")

    def test_nothing_to_print_without_a_traceback(self):
        self.assertEqual(self.call_crash(server.limited, True), "")


if __name__ == "__main__":
    unittest.main()
