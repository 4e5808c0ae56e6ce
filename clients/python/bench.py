"""Benchmark: the Python client against Python RPC libraries, measured in
one run, interleaved.

    python3 clients/python/bench.py            # 3 rounds of 1.5 s per figure
    python3 clients/python/bench.py --smoke    # 1 short round (CI)
    python3 clients/python/bench.py --echo 12  # the echo alone, with CPU times and page faults

Every round measures, one after another, Add(40, 2) called by:
  - simplerpc natively (CBOR, and JSON) and over JSON-RPC/HTTP, against the
    Go test server (tests/server, built with the go command);
  - Pyro4 and RPyC (Debian python3-pyro4, python3-rpyc), and the original
    module's design — a pickled call on a new connection per call —, with
    their servers in a separate Python process;
one thread at a time (calls/s and the median latency, p50), 8 threads
(calls/s; natively one shared client, for the others a proxy or
connection per thread), and, natively, 64 asyncio tasks on one
AsyncClient. Then the items/s of a server stream of integers
(Streams.Count), natively on a Client and on an AsyncClient, against the
sequential calls/s of the same codec. Then the p50 of a call during which
the server calls a Python callable back once (Jobs.Once), alternated with
Add(40, 2) on the same Client. Then a 16 MiB - 1 KiB bytes echo natively (CBOR; 12 MiB -
1 KiB with JSON when cbor2 is missing) against a
raw-socket copy of the same bytes to a Python echo server that, as a
server answering a call must, reads the whole message before it sends
it back; beside each time, the CPU time this process spent on it
(time.process_time), which moves less with the machine's load. The figures
printed are medians over the rounds; ratios compare figures of this run
only.
"""

import argparse
import asyncio
import json
import os
import pickle
import socket
import socketserver
import statistics
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "tests"))

import simplerpc  # noqa: E402
from simplerpc import _codec  # noqa: E402

# A call's body must stay within the server's 16 MiB: with CBOR the bytes
# travel as they are, with JSON (no cbor2) as base64, a third larger.
ECHO_SIZE = (16 << 20) - 1024 if _codec.HAVE_CBOR else (12 << 20) - 1024


# ---- peers (run in their own process with --peers) -------------------------


class Calc:
    """The object every peer serves."""

    def Add(self, a, b):
        return a + b


def _pickle_server():
    """The original module's design: one pickled call per connection."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            name, args = pickle.load(self.rfile)
            result = getattr(Calc(), name)(*args)
            self.wfile.write(pickle.dumps(result))

    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address


def _echo_server():
    """A raw socket echo of whole messages: it reads a 4-byte length and
    that many bytes, then writes them back, as any request and reply must
    (the reply cannot start before the request has arrived)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)

    def serve(c):
        with c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                head = _recv_exactly(c, 4)
                if head is None:
                    return
                (n,) = struct.unpack(">I", head)
                msg = _recv_exactly(c, n)
                if msg is None:
                    return
                c.sendall(msg)

    def accept():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return ls.getsockname()


def _recv_exactly(sock, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if not k:
            return None
        got += k
    return buf


def serve_peers():
    addrs = {"pickle": _pickle_server(), "echo": _echo_server()}
    try:
        import Pyro4

        Pyro4.config.SOCK_NODELAY = True  # as every other peer here: no Nagle delay

        @Pyro4.expose
        class PyroCalc:
            def Add(self, a, b):
                return a + b

        daemon = Pyro4.Daemon(host="127.0.0.1")
        addrs["pyro4"] = str(daemon.register(PyroCalc(), "calc"))
        threading.Thread(target=daemon.requestLoop, daemon=True).start()
    except ImportError:
        pass
    try:
        import rpyc
        from rpyc.utils.server import ThreadedServer

        class RPyCCalc(rpyc.Service):
            def exposed_Add(self, a, b):
                return a + b

        ts = ThreadedServer(RPyCCalc, hostname="127.0.0.1", port=0, protocol_config={"allow_public_attrs": True})
        addrs["rpyc"] = ("127.0.0.1", ts.port)
        threading.Thread(target=ts.start, daemon=True).start()
    except ImportError:
        pass
    print(json.dumps(addrs), flush=True)
    sys.stdin.read()  # until the parent closes it


# ---- clients ----------------------------------------------------------------


def pickle_call(addr, name, *args):
    with socket.create_connection(addr) as s:
        s.sendall(pickle.dumps((name, args)))
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return pickle.loads(data)


class Target:
    """One system under test: new() returns a client's Add, called as
    f.call(a, b), with f.close() to close the client. shared: whether
    threads share one client."""

    def __init__(self, name, new, shared=False):
        self.name = name
        self.new = new
        self.shared = shared


def targets(go, peers):
    out = []
    for codec in ("cbor", "json"):
        if codec == "cbor" and not _codec.HAVE_CBOR:
            continue

        def new(codec=codec):
            c = simplerpc.Client(go.main, codec=codec)
            return _Closing(c.Calc.Add, c.close)

        out.append(Target("simplerpc native %s" % codec.upper(), new, shared=True))

    def new_http():
        c = simplerpc.Client("http://%s:%d/" % go.main)
        return _Closing(c.Calc.Add, c.close)

    out.append(Target("simplerpc JSON-RPC/HTTP", new_http, shared=True))
    if "pyro4" in peers:
        import Pyro4

        Pyro4.config.SOCK_NODELAY = True

        def new_pyro():
            p = Pyro4.Proxy(peers["pyro4"])
            p._pyroBind()
            return _Closing(p.Add, p._pyroRelease)

        out.append(Target("Pyro4", new_pyro))
    if "rpyc" in peers:
        import rpyc

        def new_rpyc():
            conn = rpyc.connect(*peers["rpyc"])
            return _Closing(conn.root.Add, conn.close)

        out.append(Target("RPyC", new_rpyc))
    addr = tuple(peers["pickle"])
    out.append(Target("pickle, new connection per call",
                      lambda: _Closing(lambda a, b: pickle_call(addr, "Add", a, b), lambda: None), shared=True))
    return out


class _Closing:
    """A client's Add, callable, and how to close the client."""

    __slots__ = ("call", "close")

    def __init__(self, f, close):
        self.call = f
        self.close = close


# ---- measuring --------------------------------------------------------------


def sequential(f, duration):
    """Calls/s and the p50 latency (µs) of calls made one after another."""
    f = f.call
    lat = []
    clock = time.perf_counter_ns
    end = time.monotonic() + duration
    start = clock()
    while time.monotonic() < end:
        t0 = clock()
        if f(40, 2) != 42:
            raise AssertionError("Add(40, 2) went wrong")
        lat.append(clock() - t0)
    elapsed = (clock() - start) / 1e9
    return len(lat) / elapsed, statistics.median(lat) / 1e3


def threaded(target, n, duration):
    """Calls/s of n threads calling at once."""
    shared = target.new() if target.shared else None
    fs = [shared or target.new() for _ in range(n)]
    counts = [0] * n
    stop = threading.Event()
    barrier = threading.Barrier(n + 1)

    def work(i):
        f = fs[i].call
        barrier.wait()
        k = 0
        while not stop.is_set():
            f(40, 2)
            k += 1
        counts[i] = k

    ts = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(duration)
    stop.set()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - start
    for f in [shared] if shared is not None else fs:
        f.close()
    return sum(counts) / elapsed


def asyncio_tasks(address, codec, n, duration):
    """Calls/s of n asyncio tasks sharing one AsyncClient."""

    async def run():
        async with simplerpc.AsyncClient(address, codec=codec) as c:
            await c.Calc.Add(40, 2)
            stop = False
            counts = [0] * n

            async def work(i):
                k = 0
                while not stop:
                    await c.Calc.Add(40, 2)
                    k += 1
                counts[i] = k

            tasks = [asyncio.ensure_future(work(i)) for i in range(n)]
            start = time.perf_counter()
            await asyncio.sleep(duration)
            stop = True
            await asyncio.gather(*tasks)
            return sum(counts) / (time.perf_counter() - start)

    return asyncio.run(run())


def raw_copy(sock, data):
    """Seconds to send data to the echo server, whole, and read it back,
    and the CPU seconds this process spent on it."""
    cpu, start = time.process_time(), time.perf_counter()
    sock.sendall(struct.pack(">I", len(data)))
    sock.sendall(data)
    got = _recv_exactly(sock, len(data))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if got != data:
        raise AssertionError("the echo came back different")
    return elapsed, cpu


def native_echo(client, data):
    """raw_copy's figures for an echo of data by Calc.Echo."""
    cpu, start = time.process_time(), time.perf_counter()
    got = client.Calc.Echo(data)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if got != data:
        raise AssertionError("the echo came back different")
    return elapsed, cpu


def _cpu_seconds(pid):
    """The CPU time of the live threads of process pid (Linux's /proc), or
    None where it cannot be read."""
    try:
        total = 0
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        return None


def _faults_of(pid):
    """The minor page faults of process pid so far (Linux's /proc), or
    None where they cannot be read."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            # The fields after the command name, which is in parentheses:
            # minflt is the tenth field of the line, the eighth after it.
            return int(f.read().rpartition(")")[2].split()[7])
    except (OSError, ValueError, IndexError):
        return None


def echo_costs(go, peer_proc, peers, n):
    """n native echoes, each after a raw copy, with what each cost: wall
    time, this process's CPU time and page faults, and the CPU time of
    the server that answered (the Go server, or the echo peer)."""
    import resource

    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    data = os.urandom(ECHO_SIZE)
    out = {"native": [], "raw": []}
    with simplerpc.Client(go.main) as client, socket.create_connection(tuple(peers["echo"])) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.Calc.Echo(b"warm up")
        for _ in range(n):
            for name, run, target, pid in (("raw", raw_copy, sock, peer_proc.pid),
                                           ("native", native_echo, client, go._proc.pid)):
                f0, s0, p0 = faults(), _cpu_seconds(pid), _faults_of(pid)
                wall, cpu = run(target, data)
                f1, s1, p1 = faults(), _cpu_seconds(pid), _faults_of(pid)
                out[name].append((wall, cpu, f1 - f0, None if s0 is None or s1 is None else s1 - s0,
                                  None if p0 is None or p1 is None else p1 - p0))
    med = statistics.median
    lines = ["%d echoes of %d bytes (native %s), each after a raw copy of the same bytes; medians per echo:" % (
        n, ECHO_SIZE, "CBOR" if _codec.HAVE_CBOR else "JSON")]
    for name, server in (("native", "Go server"), ("raw", "echo peer")):
        v = out[name]
        srv = [x[3] for x in v if x[3] is not None]
        srvf = [x[4] for x in v if x[4] is not None]
        lines.append("%-6s wall %.1f ms; this process CPU %.1f ms, %d page faults; %s CPU %s, %s page faults" % (
            name, med(x[0] for x in v) * 1e3, med(x[1] for x in v) * 1e3, med(x[2] for x in v), server,
            "%.1f ms" % (med(srv) * 1e3) if srv else "unknown", "%d" % med(srvf) if srvf else "unknown"))
    lines.append("wall time, native / raw: %.2f×" % (med(x[0] for x in out["native"]) / med(x[0] for x in out["raw"])))
    return lines


# ---- the run ----------------------------------------------------------------


def stream_items(address, codec, duration):
    """Items/s of Streams.Count streams (10,000 integers each) read one
    after another by one Client."""
    with simplerpc.Client(address, codec=codec) as c:
        list(c.Streams.Count(10))  # connected, described
        n = 0
        start = time.perf_counter()
        while time.perf_counter() - start < duration:
            for _ in c.Streams.Count(10000):
                n += 1
        return n / (time.perf_counter() - start)


def async_stream_items(address, codec, duration):
    """Items/s of Streams.Count streams on one AsyncClient."""
    async def run():
        async with simplerpc.AsyncClient(address, codec=codec) as c:
            [x async for x in await c.Streams.Count(10)]
            n = 0
            start = time.perf_counter()
            while time.perf_counter() - start < duration:
                async for _ in await c.Streams.Count(10000):
                    n += 1
            return n / (time.perf_counter() - start)
    return asyncio.run(run())


def callback_calls(address, codec, duration):
    """The p50 latency (µs) of Jobs.Once(x, f) — a call during which the
    server calls f back once — and of Add(40, 2), alternated call by call
    on one Client."""
    with simplerpc.Client(address, codec=codec) as c:
        once, add = c.Jobs.Once, c.Calc.Add
        f = (lambda x: x + 1)
        once(1, f)  # connected, described, the callback pool started
        lat_cb, lat_add = [], []
        clock = time.perf_counter_ns
        end = time.monotonic() + duration
        while time.monotonic() < end:
            t0 = clock()
            if once(41, f) != 42:
                raise AssertionError("Once(41, f) went wrong")
            t1 = clock()
            if add(40, 2) != 42:
                raise AssertionError("Add(40, 2) went wrong")
            lat_cb.append(t1 - t0)
            lat_add.append(clock() - t1)
        return statistics.median(lat_cb) / 1e3, statistics.median(lat_add) / 1e3


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="one short round, to check the benchmark runs")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=1.5, help="seconds per figure")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--tasks", type=int, default=64)
    p.add_argument("--echo", type=int, metavar="N",
                   help="only the echo: N echoes, each after a raw copy, with their CPU time and page faults")
    p.add_argument("--peers", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.peers:
        serve_peers()
        return 0
    if args.smoke:
        args.rounds, args.duration = 1, 0.2

    import goserver

    go = goserver.GoServer()
    peer_proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--peers"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        peers = json.loads(peer_proc.stdout.readline())
        if args.echo:
            print("\n".join(echo_costs(go, peer_proc, peers, args.echo)))
            return 0
        ts = targets(go, peers)
        seq = {t.name: [] for t in ts}
        par = {t.name: [] for t in ts}
        aio = {c: [] for c in ("cbor", "json") if c != "cbor" or _codec.HAVE_CBOR}
        echo, raw = [], []
        streamed = {c: [] for c in aio}
        astreamed = {c: [] for c in aio}
        called_back = {c: [] for c in aio}
        data = os.urandom(ECHO_SIZE)
        echo_client = simplerpc.Client(go.main)
        echo_client.Calc.Echo(b"warm up")
        raw_sock = socket.create_connection(tuple(peers["echo"]))
        raw_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for r in range(args.rounds):
            for t in ts:
                f = t.new()
                f.call(40, 2)  # connected
                seq[t.name].append(sequential(f, args.duration))
                f.close()
                par[t.name].append(threaded(t, args.threads, args.duration))
            for codec in aio:
                aio[codec].append(asyncio_tasks(go.main, codec, args.tasks, args.duration))
            for codec in aio:
                streamed[codec].append(stream_items(go.main, codec, args.duration))
                astreamed[codec].append(async_stream_items(go.main, codec, args.duration))
            for codec in aio:
                called_back[codec].append(callback_calls(go.main, codec, args.duration))
            for _ in range(1 if args.smoke else 3):
                raw.append(raw_copy(raw_sock, data))
                echo.append(native_echo(echo_client, data))
            print("round %d of %d done" % (r + 1, args.rounds), file=sys.stderr)
        echo_client.close()
        raw_sock.close()
    finally:
        peer_proc.stdin.close()
        peer_proc.wait(10)
        go.stop()

    med = statistics.median
    pyro_par = med(par["Pyro4"]) if "Pyro4" in par else None
    pyro_seq = med([s[0] for s in seq["Pyro4"]]) if "Pyro4" in seq else None
    lines = ["Add(40, 2), %d round(s) of %.1f s per figure, medians; Python %s, cbor2 %s" % (
        args.rounds, args.duration, sys.version.split()[0], "yes" if _codec.HAVE_CBOR else "no"), "",
        "| client | sequential calls/s | p50 µs | %d threads calls/s | seq. vs Pyro4 | threads vs Pyro4 |" % args.threads,
        "|---|---:|---:|---:|---:|---:|"]
    for t in ts:
        s_cps = med([s[0] for s in seq[t.name]])
        s_p50 = med([s[1] for s in seq[t.name]])
        p_cps = med(par[t.name])
        lines.append("| %s | %.0f | %.0f | %.0f | %s | %s |" % (
            t.name, s_cps, s_p50, p_cps,
            "%.2f×" % (s_cps / pyro_seq) if pyro_seq else "—",
            "%.2f×" % (p_cps / pyro_par) if pyro_par else "—"))
    lines.append("")
    for codec, v in aio.items():
        lines.append("asyncio, %d tasks, native %s: %.0f calls/s%s" % (
            args.tasks, codec.upper(), med(v),
            " (%.2f× Pyro4's %d-thread figure)" % (med(v) / pyro_par, args.threads) if pyro_par else ""))
    for codec in aio:
        calls = med([s[0] for s in seq["simplerpc native " + codec.upper()]])
        lines.append("server stream of integers, native %s: %.0f items/s (%.2f× its sequential Add calls/s); "
                     "on an AsyncClient: %.0f items/s" % (codec.upper(), med(streamed[codec]),
                                                         med(streamed[codec]) / calls, med(astreamed[codec])))
    for codec in aio:
        cb_p50 = med([v[0] for v in called_back[codec]])
        add_p50 = med([v[1] for v in called_back[codec]])
        lines.append("a call with one callback (Jobs.Once), native %s: p50 %.0f µs; Add(40, 2) alternated with it: "
                     "p50 %.0f µs (%.2f×)" % (codec.upper(), cb_p50, add_p50, cb_p50 / add_p50))
    echo_s, raw_s = med([e[0] for e in echo]), med([r[0] for r in raw])
    lines.append("%d-byte echo, native %s: %.1f ms (client CPU %.1f ms); raw socket copy of the same bytes (sent whole, "
                 "then sent back): %.1f ms (client CPU %.1f ms) (%.2f×)" % (
                     ECHO_SIZE, "CBOR" if _codec.HAVE_CBOR else "JSON", echo_s * 1e3, med([e[1] for e in echo]) * 1e3,
                     raw_s * 1e3, med([r[1] for r in raw]) * 1e3, echo_s / raw_s))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
