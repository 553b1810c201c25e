#!/usr/bin/env python3
"""Cost of one marker call when nothing traces it (ns per call), with `go test -bench`.

The marker file is the one instrumented builds add (rendered from templates/runtime/markers.go.j2);
the benchmark calls `_rehabAcquire(id, p)` with a *os.File, as the instrumented code does, and
subtracts a loop that does the same work without the call.

    python tools/bench_marker.py [--count N] [--benchtime 1s]

Prints one line: `marker_ns_per_call=<x> (go version, GOARCH, cpu, raw ns/op of both loops)`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BENCH = """package main

import (
	"os"
	"testing"
)

var sink *os.File

func BenchmarkBaseline(b *testing.B) {
	f := os.Stdin
	for i := 0; i < b.N; i++ {
		sink = f
	}
}

func BenchmarkMarker(b *testing.B) {
	f := os.Stdin
	for i := 0; i < b.N; i++ {
		sink = f
		_rehabAcquire(0x9636339bb38a2c96, f)
	}
}
"""

MAIN = "package main\n\nfunc main() {}\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--benchtime", default="1s")
    args = ap.parse_args()
    from toolexec_rehab.runtime.instrument import Site, marker_file

    with tempfile.TemporaryDirectory(prefix="rehab-bench-marker-") as d:
        with open(os.path.join(d, "go.mod"), "w") as fh:
            fh.write("module example.com/benchmarker\n\ngo 1.21\n")
        with open(os.path.join(d, "main.go"), "w") as fh:
            fh.write(MAIN)
        with open(os.path.join(d, "marker_test.go"), "w") as fh:
            fh.write(BENCH)
        site = Site("ast-node-9636339bb38a2c96", "file-not-closed", os.path.join(d, "main.go"), 1)
        with open(os.path.join(d, "zz_rehab_markers.go"), "wb") as fh:
            fh.write(marker_file("main", [site]))
        env = {k: v for k, v in os.environ.items() if not k.startswith("REHAB_") and k != "GOFLAGS"}
        env["GOTOOLCHAIN"] = "local"
        r = subprocess.run(["go", "test", "-run", "^$", "-bench", ".", "-benchtime", args.benchtime,
                            "-count", str(args.count)], cwd=d, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout + r.stderr, file=sys.stderr)
            return 2
    ns: dict[str, list[float]] = {}
    for m in re.finditer(r"^Benchmark(\w+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op", r.stdout, re.M):
        ns.setdefault(m[1], []).append(float(m[2]))
    cpu = next((x.split(":", 1)[1].strip() for x in r.stdout.splitlines() if x.startswith("cpu:")), "?")
    base, mark = statistics.median(ns["Baseline"]), statistics.median(ns["Marker"])
    goversion = subprocess.run(["go", "env", "GOVERSION", "GOARCH"], capture_output=True, text=True,
                               env=env).stdout.split()
    # one line (tools/bench.py reports the last line): the figure, then its context
    print(f"marker_ns_per_call={max(0.0, mark - base):.2f} ({' '.join(goversion)}, cpu {cpu}, median of "
          f"{args.count} x {args.benchtime}: marker loop {mark:.2f} ns/op, baseline loop {base:.2f} ns/op, "
          f"no tracer attached)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
