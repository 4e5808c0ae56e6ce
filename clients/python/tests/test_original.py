"""The README's side-by-side example: the client of a program moved from
the original module, run against the Go test server, and the package on
the standard library alone."""

import contextlib
import io
import os
import re
import subprocess
import sys
import unittest

import goserver

server = None
HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, "..", "README.md")


def setUpModule():
    global server
    server = goserver.GoServer()


def tearDownModule():
    server.stop()


def readme_client():
    """The simplerpc client of the README's "From the original module"."""
    text = open(README, encoding="utf-8").read()
    section = text[text.index("## From the original module"):]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return [b for b in blocks if "import simplerpc" in b][0]


class OriginalTest(unittest.TestCase):
    def test_readme_client_runs(self):
        # The test server's Calc has the same Add and a Div failing on zero.
        code = readme_client().replace('("127.0.0.1", 9000)', repr(server.main))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})
        self.assertEqual(out.getvalue(), "42\nno\n")

    def test_standard_library_alone(self):
        # With cbor2 not importable the client speaks JSON natively.
        code = ("import sys; sys.modules['cbor2'] = None; sys.path.insert(0, %r); import simplerpc; "
                "c = simplerpc.Client(%r); print(c._transport.codec.name, c.Calc.Add(40, 2), c.Calc.Echo(b'ab'))"
                % (os.path.join(HERE, ".."), server.main))
        out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertEqual(out.stdout.decode(), "json 42 b'ab'\n")


if __name__ == "__main__":
    unittest.main()
