"""Per-rule accuracy on the project's testdata: cases, recall, false positives (`nox -s accuracy`).

A case is a `// want` line; a false positive is a report on a line without one.
Exit 1 when a rule misses the targets (recall >= 95%, false positives <= 2% of its reports).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import analysistest  # noqa: E402

from toolexec_rehab.analysis import go_env_goroot  # noqa: E402


def main() -> int:
    stats = analysistest.accuracy(os.path.join(ROOT, "testdata", "src"), go_env_goroot())
    print(f"{'rule':24} {'cases':>5} {'found':>5} {'missed':>6} {'false+':>6} {'recall':>7} {'fp rate':>7}")
    ok = True
    tot = {"cases": 0, "tp": 0, "fn": 0, "fp": 0}
    for rule, r in sorted(stats.items()):
        recall = r["tp"] / r["cases"] if r["cases"] else 1.0
        reports = r["tp"] + r["fp"]
        fpr = r["fp"] / reports if reports else 0.0
        ok &= recall >= 0.95 and fpr <= 0.02
        for k in tot:
            tot[k] += r[k]
        print(f"{rule:24} {r['cases']:5} {r['tp']:5} {r['fn']:6} {r['fp']:6} {recall:7.1%} {fpr:7.1%}")
    recall = tot["tp"] / tot["cases"] if tot["cases"] else 1.0
    reports = tot["tp"] + tot["fp"]
    print(f"{'all':24} {tot['cases']:5} {tot['tp']:5} {tot['fn']:6} {tot['fp']:6} {recall:7.1%} "
          f"{(tot['fp'] / reports if reports else 0):7.1%}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
