"""The interop cases (docs/interop.md), written again in Python.

Runs every case against a server of the interop service ("simplerpc
interop-server") with the Python client over JSON-RPC (an http:// URL),
or with simplerpc.native over the native protocol, and prints, as
"simplerpc interop-client" does, one line per case:

    PASS name
    FAIL name: reason
    SKIP name: reason      (a case the Python transport cannot express yet)

then "N passed, M failed" (and ", K skipped"). It exits with status 1 if
any case failed.

    python3 clients/python/tests/interop.py --addr 127.0.0.1:7070 --transport native [--codec json]
    python3 clients/python/tests/interop.py --addr 127.0.0.1:7070 --transport jsonrpc --case big_integers_any
"""

import argparse
import base64
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import simplerpc  # noqa: E402
from simplerpc import native  # noqa: E402
from simplerpc.errors import RPC_CODES  # noqa: E402

SERVICE = "Interop"
REQUEST_SIZE = 271828
RESPONSE_SIZE = 314159
MAX_INT64 = 2**63 - 1
MIN_INT64 = -(2**63)
MAX_UINT64 = 2**64 - 1

# The JSON-RPC code of each simplerpc code.
JSONRPC_CODES = {name: code for code, name in RPC_CODES.items() if code not in (-32700, -32600)}


class Skip(Exception):
    """The case cannot be expressed with this transport yet."""


class Failure(Exception):
    """The case failed."""


def m(name):
    return SERVICE + "." + name


# ---- Targets ---------------------------------------------------------------


class NativeTarget:
    """The server reached by simplerpc.native, with the codec asked for
    (cbor when the cbor2 package is installed, else json)."""

    transport = "native"

    def __init__(self, address, codec=None):
        self.conn = native.NativeClient(address, timeout=15, codec=codec)

    def call(self, method, *args, n=1, timeout=None, metadata=None):
        results = self.conn.call(method, *args, timeout=timeout, metadata=metadata)
        if len(results) != n:
            raise Failure("%s: %d results %r, want %d" % (method, len(results), results, n))
        return results

    def call_named(self, method, fields, n=1):
        # Named arguments are one map, the call's only argument.
        return self.call(method, fields, n=n)

    def start(self, method, *args):
        return self.conn.start(method, *args)

    def cancel(self, call_id):
        self.conn.cancel(call_id)

    def close(self):
        self.conn.close()


class JSONRPCTarget:
    """The server reached by simplerpc.Client (JSON-RPC over HTTP)."""

    transport = "jsonrpc"

    def __init__(self, address):
        self.address = address
        self.client = simplerpc.Client("http://%s:%d/" % tuple(address), timeout=15)

    def call(self, method, *args, n=1, timeout=None, metadata=None):
        # Metadata travels as HTTP headers. JSON-RPC carries no deadline:
        # past the timeout the client gives up and hangs up.
        opts = {}
        if metadata:
            opts["_metadata"] = metadata
        if timeout is not None:
            opts["_timeout"] = timeout
        return self._shape(method, self.client[method](*args, **opts), n)

    def call_named(self, method, fields, n=1):
        # Keywords travel as the "params" object; an empty one only as the
        # struct itself, [{}], since the client sends no keywords as [].
        result = self.client[method](**fields) if fields else self.client[method](fields)
        return self._shape(method, result, n)

    @staticmethod
    def _shape(method, result, n):
        """A JSON-RPC result as a list of n results: null for none, the
        value for one, an array for several (docs/jsonrpc.md)."""
        if n == 0:
            if result is not None:
                raise Failure("%s: result %r, want null" % (method, result))
            return []
        if n == 1:
            return [result]
        if not isinstance(result, list) or len(result) != n:
            raise Failure("%s: result %r, want an array of %d" % (method, result, n))
        return result

    def start(self, method, *args):
        raise Skip("the Python JSON-RPC client cannot cancel a call in progress")

    def cancel(self, call_id):
        raise Skip("the Python JSON-RPC client cannot cancel a call in progress")

    def close(self):
        self.client.close()


# ---- Checks ----------------------------------------------------------------


def want_error(target, fn, method, code):
    """Run fn, which must raise the RemoteError of code for method."""
    try:
        fn()
    except simplerpc.RemoteError as e:
        if e.code != code:
            raise Failure("%s: code %s, want %s (%s)" % (method, e.code, code, e)) from None
        if e.method != method:
            raise Failure("%s: the error names the method %r" % (method, e.method)) from None
        if target.transport == "jsonrpc" and e.rpc_code is not None and e.rpc_code != JSONRPC_CODES[code]:
            raise Failure("%s: JSON-RPC code %d for %s, want %d" % (method, e.rpc_code, code, JSONRPC_CODES[code])) from None
        return e
    raise Failure("%s succeeded, want a failure with code %s" % (method, code))


def unbytes(s):
    """A []byte result: a byte string in CBOR, a base64 string in JSON."""
    if isinstance(s, bytes):
        return s
    if not isinstance(s, str):
        raise Failure("a []byte result is %r, not a base64 string" % (s,))
    return base64.b64decode(s, validate=True)


def pattern(n):
    return bytes(i % 251 for i in range(n))


def expect(cond, fmt, *args):
    if not cond:
        raise Failure(fmt % args)


# ---- Cases -----------------------------------------------------------------


def empty_unary(t):
    t.call(m("Empty"), n=0)


def large_unary(t):
    (got,) = t.call(m("Large"), pattern(REQUEST_SIZE), RESPONSE_SIZE)
    got = unbytes(got)
    expect(got == pattern(RESPONSE_SIZE), "reply of %d bytes is not the %d-byte pattern", len(got), RESPONSE_SIZE)


def status_code_and_message(t):
    for code in ("application", "permission_denied", "unauthenticated", "resource_exhausted", "invalid_argument"):
        msg = "interop: failed with " + code
        e = want_error(t, lambda: t.call(m("Fail"), code, msg, n=0), m("Fail"), code)
        expect(e.message == msg, "%s error: message %r, want %r", code, e.message, msg)


def error_details(t):
    e = want_error(t, lambda: t.call(m("FailDetail"), "quota", 1500, ["a", "β"], n=0), m("FailDetail"), "application")
    expect(e.name == "interop.detail" and e.message == "interop detail: quota" and e.type == "*interop.DetailError",
           "error named %r, message %r, type %r", e.name, e.message, e.type)
    want = {"reason": "quota", "retryAfterMs": 1500, "fields": ["a", "β"]}
    expect(e.detail == want, "detail %r, want %r", e.detail, want)


def registered_error(t):
    e = want_error(t, lambda: t.call(m("FailRegistered"), "warming up", n=0), m("FailRegistered"), "application")
    expect(e.name == "interop.not_ready" and e.message == "warming up: interop: not ready",
           "error named %r with message %r", e.name, e.message)


def unimplemented_method(t):
    for name in (m("NoSuchMethod"), "NoSuchService.Empty", "no_such_function"):
        want_error(t, lambda: t.call(name, n=0), name, "not_found")


def invalid_arguments(t):
    for method, args in ((m("Int64"), ("not a number",)), (m("Int64"), (1, 2)), (m("Int64"), ()), (m("Empty"), (1,))):
        want_error(t, lambda: t.call(method, *args), method, "invalid_argument")


def panic(t):
    e = want_error(t, lambda: t.call(m("Panic"), "interop boom"), m("Panic"), "internal")
    expect("interop boom" in e.message, "message %r lacks the panic value", e.message)


def deadline_propagation(t):
    if t.transport == "jsonrpc":
        raise Skip("JSON-RPC over HTTP carries no deadline (docs/jsonrpc.md)")
    (none,) = t.call(m("Deadline"))
    expect(none == -1, "a call without a deadline sees %r ms left, want -1", none)
    (left,) = t.call(m("Deadline"), timeout=5)
    expect(0 < left <= 5000, "a call with 5s to go sees %r ms left, want 1..5000", left)


def timeout_on_sleeping_server(t):
    tok = secrets.token_hex(8)
    start = time.monotonic()
    want_error(t, lambda: t.call(m("Sleep"), tok, 10000, n=0, timeout=0.2), m("Sleep"), "deadline_exceeded")
    took = time.monotonic() - start
    expect(took < 2, "the call returned %.2fs after its 0.2s timeout", took)
    (st,) = t.call(m("Await"), tok, "deadline_exceeded|canceled", 3000)
    expect(st in ("deadline_exceeded", "canceled"), "the sleeping call is %r on the server", st)


def cancel_after_begin(t):
    tok = secrets.token_hex(8)
    call_id = t.start(m("Sleep"), tok, 10000)
    (st,) = t.call(m("Await"), tok, "running", 3000)
    expect(st == "running", "the call is %r on the server 3s after it was sent", st)
    t.cancel(call_id)
    (st,) = t.call(m("Await"), tok, "canceled", 3000)
    expect(st == "canceled", "the canceled call is %r on the server", st)


def metadata_echo(t):
    md = {"x-interop-one": "1", "X-Interop-Mixed-Case": "Value With Spaces"}
    (got,) = t.call(m("Metadata"), "X-Interop-One", "x-interop-mixed-case", "x-interop-absent", metadata=md)
    want = {"x-interop-one": "1", "x-interop-mixed-case": "Value With Spaces"}
    expect(got == want, "echoed %r, want %r", got, want)


def point(x=0, y=0, label=""):
    return {"x": x, "y": y, "label": label}


def struct_by_name(t):
    for what, fields, want in (("json tags", {"x": 1, "y": -2, "label": "p"}, point(1, -2, "p")),
                               ("field names", {"X": 3, "Label": "q"}, point(3, 0, "q")),
                               ("no fields", {}, point())):
        (got,) = t.call_named(m("Point"), fields)
        expect(got == want, "%s: %r, want %r", what, got, want)


def struct_by_position(t):
    (got,) = t.call(m("Point"), 1, -2, "p")
    expect(got == point(1, -2, "p"), "all fields: %r", got)
    (got,) = t.call(m("Point"), 4, 5)
    expect(got == point(4, 5), "a two-field prefix: %r", got)
    want_error(t, lambda: t.call(m("Point"), 1, 2, "p", "extra"), m("Point"), "invalid_argument")


def big_integers(t):
    for v in (MAX_INT64, MIN_INT64, 2**53 + 1, -(2**53 + 1), 0, -1):
        (got,) = t.call(m("Int64"), v)
        expect(got == v and type(got) is int, "Int64(%d) = %r", v, got)
    for v in (MAX_UINT64, 2**63 + 1):
        (got,) = t.call(m("Uint64"), v)
        expect(got == v and type(got) is int, "Uint64(%d) = %r", v, got)
    want_error(t, lambda: t.call(m("Int64"), MAX_UINT64), m("Int64"), "invalid_argument")


def byte_strings(t):
    for b in (bytes(range(256)), b"", b"\x00", b"\xff" * 1000):
        (got,) = t.call(m("Bytes"), b)
        got = unbytes(got) if got is not None else b""
        expect(got == b, "Bytes(%d bytes) returned %d bytes, not the same", len(b), len(got))


UNICODE_SAMPLES = (
    "héllo, wörld",
    "日本語のテキスト",
    "emoji 🌍🎉 and 𝄞 (outside the BMP)",
    "nul \x00 inside",
    "e\u0301 (combining) שלום (right to left)",
    "\u2028\u2029 line separators, \ufeff BOM",
    "",
)


def unicode_strings(t):
    for s in UNICODE_SAMPLES:
        got, runes = t.call(m("Unicode"), s, n=2)
        expect(got == s and runes == len(s), "Unicode(%r) = %r, %r; want it back with %d code points", s, got, runes, len(s))


# The argument and error rules (docs/types.md, docs/interop.md).

def big_integers_any(t):
    for v in (2**53 + 1, MIN_INT64, MAX_INT64, MAX_UINT64):
        (got,) = t.call(m("Any"), v)
        expect(got == v and type(got) is int, "Any(%d) = %r, want exactly %d", v, got, v)


def struct_one_element_prefix(t):
    (got,) = t.call(m("Point"), 7)
    expect(got == point(7), "a one-field prefix: %r", got)


def unknown_named_parameter(t):
    want_error(t, lambda: t.call_named(m("Point"), {"x": 1, "z": 2}), m("Point"), "invalid_argument")


def utf8_in_errors(t):
    # Python decodes every message as UTF-8 (the JSON codec and JSON-RPC
    # are UTF-8), so a message arriving at all is valid; what is checked
    # is the text.
    want_error(t, lambda: t.call(m("Int64"), "é" * 300), m("Int64"), "invalid_argument")
    e = want_error(t, lambda: t.call(m("FailText"), "?bad byte first", 255, n=0), m("FailText"), "application")
    expect(e.message == "\ufffdbad byte first", "message %r, want %r", e.message, "\ufffdbad byte first")


CASES = [
    ("empty_unary", empty_unary),
    ("large_unary", large_unary),
    ("status_code_and_message", status_code_and_message),
    ("error_details", error_details),
    ("registered_error", registered_error),
    ("unimplemented_method", unimplemented_method),
    ("invalid_arguments", invalid_arguments),
    ("panic", panic),
    ("deadline_propagation", deadline_propagation),
    ("timeout_on_sleeping_server", timeout_on_sleeping_server),
    ("cancel_after_begin", cancel_after_begin),
    ("metadata_echo", metadata_echo),
    ("struct_by_name", struct_by_name),
    ("struct_by_position", struct_by_position),
    ("big_integers", big_integers),
    ("bytes", byte_strings),
    ("unicode", unicode_strings),
    ("big_integers_any", big_integers_any),
    ("struct_one_element_prefix", struct_one_element_prefix),
    ("unknown_named_parameter", unknown_named_parameter),
    ("utf8_in_errors", utf8_in_errors),
]


def select(which):
    """The cases "all" or a comma-separated list names."""
    if which in ("all", ""):
        return CASES
    known = dict(CASES)
    out = []
    for name in which.split(","):
        name = name.strip()
        if name not in known:
            raise ValueError("no interop case %r (the cases: %s; or all)" % (name, ", ".join(known)))
        out.append((name, known[name]))
    return out


def run(target, cases, out=sys.stdout):
    """Run cases against target, print a line each and the summary, and
    return (passed, failed, skipped)."""
    passed = failed = skipped = 0
    for name, case in cases:
        try:
            case(target)
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (name, e), file=out)
        except Exception as e:  # a case fails on any error, and the run goes on
            failed += 1
            reason = str(e) if isinstance(e, (Failure, simplerpc.RemoteError)) else "%s: %s" % (type(e).__name__, e)
            print("FAIL %s: %s" % (name, reason.replace("\n", "\\n")), file=out)
        else:
            passed += 1
            print("PASS %s" % name, file=out)
    summary = "%d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % skipped
    print(summary, file=out)
    out.flush()
    return passed, failed, skipped


def connect(address, transport, codec=None):
    if transport == "native":
        return NativeTarget(address, codec)
    if transport == "jsonrpc":
        return JSONRPCTarget(address)
    raise ValueError("transport must be native or jsonrpc, not %r" % (transport,))


def main(argv=None):
    p = argparse.ArgumentParser(description="Run the interop cases (docs/interop.md) against an interop server.")
    p.add_argument("--addr", required=True, help="the interop server's host:port")
    p.add_argument("--transport", default="native", choices=("native", "jsonrpc"))
    p.add_argument("--codec", default=None, choices=("cbor", "json"),
                   help="the native codec (default: cbor when the cbor2 package is installed, else json)")
    p.add_argument("--case", default="all", help="all, a case's name, or names separated by commas")
    args = p.parse_args(argv)
    try:
        cases = select(args.case)
    except ValueError as e:
        p.error(str(e))
    host, _, port = args.addr.rpartition(":")
    target = connect((host, int(port)), args.transport, args.codec)
    try:
        _, failed, _ = run(target, cases)
    finally:
        target.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
