#!/usr/bin/env python3
"""A/B of two test binaries by CPU time per call.

Runs each benchmark of BASE and NEW (test binaries built with go test -c)
for a fixed number of iterations, the two alternated and the first of
each round alternating too, and reports the user + system CPU time per
op of each: on a shared machine this moves far less with other work
than wall time does.

Usage: scripts/abcpu.py BASE.test NEW.test ROUNDS 'BenchmarkRegexp=N' ...
Example: scripts/abcpu.py /tmp/base.test /tmp/new.test 16 'BenchmarkCall$/cbor=100000'
"""
import resource
import statistics
import subprocess
import sys


def cpu_ns_per_op(binary, bench, n):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([binary, "-test.run", "^$", "-test.bench", bench, "-test.benchtime", f"{n}x"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / n * 1e9


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    base, new, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    benches = [(a.rsplit("=", 1)[0], int(a.rsplit("=", 1)[1])) for a in sys.argv[4:]]
    res = {}
    for r in range(rounds):
        for name, n in benches:
            order = [("base", base), ("new", new)]
            if r % 2:
                order.reverse()
            for label, binary in order:
                res.setdefault(name, {}).setdefault(label, []).append(cpu_ns_per_op(binary, name, n))
        print(f"round {r + 1} of {rounds} done", file=sys.stderr, flush=True)
    for name, d in res.items():
        b, nw = statistics.median(d["base"]), statistics.median(d["new"])
        paired = statistics.median(x / y for x, y in zip(d["new"], d["base"]))
        print(f"{name}: CPU ns/op base {b:.0f}, new {nw:.0f}: new/base {nw / b:.3f} "
              f"(median of paired ratios {paired:.3f}, n={len(d['base'])})")


if __name__ == "__main__":
    main()
