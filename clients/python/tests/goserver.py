"""Builds and runs the Go test server (tests/server), for setUpModule.

The binary is built once per test run, into a temporary directory removed
at exit; each test module runs a server process of its own.
"""

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
# The root of the Go module that holds tests/server.
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

_build_lock = threading.Lock()
_exe = None


def _build():
    """Build the server once and return the executable's path."""
    global _exe
    with _build_lock:
        if _exe is None:
            tmp = tempfile.mkdtemp(prefix="simplerpc-test-")
            atexit.register(shutil.rmtree, tmp, True)
            exe = os.path.join(tmp, "server.exe" if os.name == "nt" else "server")
            try:
                build = subprocess.run(["go", "build", "-o", exe, "./clients/python/tests/server"],
                                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            except FileNotFoundError:
                raise RuntimeError("the tests need Go (the go command) to build their server") from None
            if build.returncode != 0:
                raise RuntimeError("go build of the test server failed:\n" + build.stdout.decode(errors="replace"))
            _exe = exe
        return _exe


class GoServer:
    """The running server. main, limited, idle, proxied, tls and restart are
    (host, port) addresses, ca the PEM of the TLS server's CA: see
    tests/server/main.go."""

    def __init__(self):
        self._proc = subprocess.Popen([_build()], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self._proc.stdout.readline()
        try:
            addrs = json.loads(line)
        except ValueError:
            self.stop()
            raise RuntimeError("the test server printed %r, not its addresses" % (line,)) from None
        self.main = _address(addrs["main"])
        self.limited = _address(addrs["limited"])
        self.idle = _address(addrs["idle"])
        self.proxied = _address(addrs["proxied"])
        self.tls = _address(addrs["tls"])
        self.ca = addrs["ca"]
        self.restart = _address(addrs["restart"])

    def stop(self):
        """Shut the server down (it exits when its stdin closes)."""
        try:
            self._proc.stdin.close()
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        finally:
            self._proc.stdout.close()


def _address(hostport):
    host, _, port = hostport.rpartition(":")
    return (host, int(port))


def http(address):
    """The http:// URL of a (host, port) address: JSON-RPC over HTTP."""
    return "http://%s:%d/" % tuple(address)
