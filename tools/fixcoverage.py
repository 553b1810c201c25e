#!/usr/bin/env python3
"""Fix coverage on testdata: per rule, the true positives (findings on `// want` lines) and how
many of them a build fixes (`python tools/fixcoverage.py [REPO]`, one JSON line and a total).

The issue that introduced the ownership model asked for this figure before and after a change
that may make fixes more cautious: run it with each install on its own checkout."""

import json
import os
import sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(root, "tests"))

import analysistest as A  # noqa: E402

from toolexec_rehab.analysis import Analyzer, PackageInput, build_packages, go_env_goroot  # noqa: E402
from toolexec_rehab.rules.loader import all_rules  # noqa: E402


def main() -> int:
    src = os.path.join(root, "testdata", "src")
    per: dict[str, list[int]] = {}
    for pkg in sorted(os.listdir(src)):
        d = os.path.join(src, pkg)
        if not os.path.isdir(d):
            continue
        rules = [r for r in all_rules() if r.rule.enabled or r.id in A.OPT_IN.get(pkg, [])]
        an = Analyzer(go_env_goroot(), rules=rules)  # a build's fixes
        files = sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".go"))
        wants = {(f, ln) for f in files for ln, _ in A.wants(f)}
        for p in build_packages(PackageInput(d, files)):
            for fd in an.analyze(p):
                if (fd.path, fd.line) in wants:
                    row = per.setdefault(fd.rule, [0, 0])
                    row[0] += 1
                    row[1] += int(fd.fixable)
    print(json.dumps(per, sort_keys=True))
    tp, fx = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
    print(f"true positives {tp}, fixable in a build {fx} ({100 * fx / max(tp, 1):.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
