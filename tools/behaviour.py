"""Plain vs rehab on go_fixtures/behaviour: one line per shape (`python tools/behaviour.py`).

Builds the fixture plainly and through the shim, runs both, and prints per shape: its kind,
the rule involved, build patches (got/want), whether the output is identical (no-patch) or
the leak is gone (leak), and what tests/test_behaviour.py's FAILS_TODAY says. `--lines`
adds both output lines. Exit 1 when a shape's verdict disagrees with FAILS_TODAY (that is,
when the test suite would fail).
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import test_behaviour as tb  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", action="store_true", help="print both output lines of every shape")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="behaviour-") as tmp:
        h = tb.run_harness(Path(tmp))
    stale = 0
    print(f"{'shape':40} {'kind':8} {'rule':23} {'patches':7} verdict")
    for name, (rule, want, counter) in tb.SHAPES.items():
        problems = tb.shape_problems(h, name)
        kind = "no-patch" if counter is None else "leak"
        got = len(h.patches_of(name))
        if counter is None:
            verdict = "identical" if h.plain.get(name) == h.rehab.get(name) else "DIFFERS"
        else:
            c = tb.counter_of(h.rehab.get(name, ""), counter)
            verdict = "leak gone" if c is not None and c[1] == 0 else "LEAK LEFT"
        expected_bad = name in tb.FAILS_TODAY
        note = ""
        if bool(problems) != expected_bad:
            stale += 1
            note = "  <- FAILS_TODAY is out of date"
        print(f"{name:40} {kind:8} {rule:23} {got}/{want:<5} {verdict}{note}")
        if args.lines or problems:
            for p in problems:
                print(f"{'':42}- {p}")
        if args.lines:
            print(f"{'':42}plain: {h.plain.get(name)}\n{'':42}rehab: {h.rehab.get(name)}")
    for p in h.unattributed():
        print(f"patch outside every shape: {p.rule} {p.file}:{p.line}")
    print(", ".join(f"{k} {v:.1f}s" for k, v in h.seconds.items()))
    return 1 if stale or h.unattributed() else 0


if __name__ == "__main__":
    sys.exit(main())
