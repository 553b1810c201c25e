"""Time the analysis of one package in process, as a build or `check` runs it (no process
start, no imports, no parse in the figure): the probe used for the speed work in the
closing notes and BENCH.md's "where the time goes".

    python tools/perfprobe.py DIR [--mode build|check] [--tests] [--reps N]

--mode build: the fix-mode rules a build runs, only the findings it patches (the screen of
acquire.fixable_screen on); check: every enabled rule, for the source. Prints the minimum
and the median over N fresh analyses (new files, new analyzer; the process-wide std API
table and catalogue stay loaded, as in a served request).
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--mode", choices=("build", "check"), default="build")
    ap.add_argument("--tests", action="store_true", help="include the package's _test.go files")
    ap.add_argument("--reps", type=int, default=25)
    args = ap.parse_args()
    sys.setrecursionlimit(10000)
    from toolexec_rehab.analysis import Analyzer, _load, go_env_goroot
    from toolexec_rehab.config import load_config
    from toolexec_rehab.golang import types
    from toolexec_rehab.golang.package import Package
    from toolexec_rehab.pipeline import select_rules

    os.chdir(args.dir)
    build = args.mode == "build"
    rules, modes = select_rules(load_config(), None, fix_only=build)
    paths = sorted(p for p in glob.glob(os.path.join(os.path.abspath(args.dir), "*.go"))
                   if args.tests or not p.endswith("_test.go"))
    if not paths:
        sys.exit(f"{args.dir}: no .go files")
    goroot = go_env_goroot()
    times, found = [], []
    for _ in range(args.reps):
        files = [_load(p) for p in paths]
        analyzer = Analyzer(goroot, rules=rules, modes=modes, source=not build, fixable_only=build)
        types._MODULE_PACKAGES.clear()
        t = time.perf_counter()
        found = analyzer.analyze(Package(files))
        times.append(time.perf_counter() - t)
    print(f"{args.mode}: {len(paths)} files, min {min(times) * 1000:.1f} ms, "
          f"median {statistics.median(times) * 1000:.1f} ms over {args.reps}; findings {len(found)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
