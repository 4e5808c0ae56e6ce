"""The interop cases (interop.py) against "simplerpc interop-server",
over JSON-RPC and natively, and the native transport's own features."""

import atexit
import io
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import goserver
import interop
import simplerpc
from simplerpc import native

server = None
address = None


def build_command():
    """Build the simplerpc command (cmd/simplerpc) and return its path."""
    tmp = tempfile.mkdtemp(prefix="simplerpc-interop-")
    atexit.register(shutil.rmtree, tmp, True)
    exe = os.path.join(tmp, "simplerpc.exe" if os.name == "nt" else "simplerpc")
    try:
        build = subprocess.run(["go", "build", "-o", exe, "./cmd/simplerpc"],
                               cwd=goserver.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        raise RuntimeError("the tests need Go (the go command) to build the simplerpc command") from None
    if build.returncode != 0:
        raise RuntimeError("go build of cmd/simplerpc failed:\n" + build.stdout.decode(errors="replace"))
    return exe


def setUpModule():
    global server, address
    exe = build_command()
    server = subprocess.Popen([exe, "interop-server", "-addr", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = server.stdout.readline().decode()
    match = re.search(r"listening on (\S+):(\d+)", line)
    if not match:
        tearDownModule()
        raise RuntimeError("interop-server printed %r, not its address" % line)
    address = (match.group(1), int(match.group(2)))


def tearDownModule():
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    server.stdout.close()


class InteropTest(unittest.TestCase):
    def run_cases(self, transport, want_skipped, codec=None):
        target = interop.connect(address, transport, codec)
        self.addCleanup(target.close)
        out = io.StringIO()
        passed, failed, skipped = interop.run(target, interop.CASES, out)
        lines = out.getvalue().splitlines()
        self.assertEqual(failed, 0, out.getvalue())
        self.assertEqual(sorted(l.split(":")[0][len("SKIP "):] for l in lines if l.startswith("SKIP ")),
                         sorted(want_skipped), out.getvalue())
        self.assertEqual(passed, len(interop.CASES) - len(want_skipped))
        self.assertEqual(lines[-1], "%d passed, 0 failed%s" % (passed, ", %d skipped" % skipped if skipped else ""))

    def test_native(self):
        self.run_cases("native", [])

    def test_native_json(self):
        self.run_cases("native", [], codec="json")

    @unittest.skipUnless(simplerpc._codec.HAVE_CBOR, "the cbor2 package is not installed")
    def test_native_cbor(self):
        self.run_cases("native", [], codec="cbor")

    def test_jsonrpc(self):
        self.run_cases("jsonrpc", ["deadline_propagation", "cancel_after_begin"])

    def test_case_lists(self):
        # Python's and Go's suites name the same cases.
        self.assertEqual([n for n, _ in interop.select("all")][-4:],
                         ["big_integers_any", "struct_one_element_prefix", "unknown_named_parameter", "utf8_in_errors"])
        self.assertEqual([n for n, _ in interop.select("bytes,unicode")], ["bytes", "unicode"])
        with self.assertRaises(ValueError):
            interop.select("nope")


class NativeTest(unittest.TestCase):
    def setUp(self):
        self.conn = native.NativeClient(address, timeout=10)
        self.addCleanup(self.conn.close)

    def test_ping(self):
        self.assertLess(self.conn.ping(timeout=5), 5)

    def test_calls_in_flight_answered_in_any_order(self):
        slow = self.conn.start("Interop.Sleep", "python-native-slow", 100)
        quick = self.conn.start("Interop.Int64", 42)
        self.assertEqual(self.conn.wait(quick), [42])
        self.assertEqual(self.conn.wait(slow), [])

    def test_welcome(self):
        self.assertGreater(self.conn.max_body, 0)

    def test_oversized_call_is_not_sent(self):
        with self.assertRaises(simplerpc.ResourceExhaustedError):
            self.conn.call("Interop.Bytes", b"x" * self.conn.max_body)
        self.assertEqual(self.conn.call("Interop.Int64", 7), [7])


if __name__ == "__main__":
    unittest.main()
