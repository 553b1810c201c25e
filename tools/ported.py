#!/usr/bin/env python3
"""How much of other Go analyzers' public test suites we find (testdata/ported).

testdata/ported/<analyzer>/ holds the shapes of one analyzer's testdata, written afresh, with
`// want "<our rule regexp>"` on each line that analyzer reports. Per analyzer: positives (want
lines), negative shapes (documented funcs without a want), found, missed, false positives
(our findings on lines without a want, counting only the rules that the dir's wants name),
recall and precision.

    python tools/ported.py [--list] [--json FILE]

Exit 0, or 2 when the tree cannot be analysed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from analysistest import wants  # noqa: E402 - the `// want` parser the testdata tests use

TREE = os.path.join(ROOT, "testdata", "ported")
RULE_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")
FUNC = re.compile(r"^(func\b|var \w+ = func\b)")


def negatives(path: str, want_lines: set[int]) -> int:
    """Top-level funcs with a doc comment and no want line inside: the negative shapes."""
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    count = 0
    for i, text in enumerate(lines):
        if not FUNC.match(text) or i == 0 or not lines[i - 1].startswith("//"):
            continue
        end = next((j for j in range(i, len(lines)) if lines[j] == "}" or lines[j].startswith("func")
                    and j > i), len(lines) - 1)
        if not any(i + 1 <= ln <= end + 1 for ln in want_lines):
            count += 1
    return count


def analyse(directory: str, analyzer) -> list:
    from toolexec_rehab.analysis import build_packages, expand_patterns

    out = []
    for inp in expand_patterns([directory]):
        for pkg in build_packages(inp):
            bad = [f.path for f in pkg.files if f.has_error]
            if bad:
                raise RuntimeError(f"syntax errors in {', '.join(bad)}")
            out.extend(analyzer.analyze(pkg))
    return out


def score(name: str, analyzer) -> dict:
    d = os.path.join(TREE, name)
    files = sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".go"))
    expected = [(f, ln, rx) for f in files for ln, rx in wants(f)]
    want_lines = {(f, ln) for f, ln, _ in expected}
    rules = {r for _, _, rx in expected for r in RULE_ID.findall(rx)}
    findings = analyse(d, analyzer)
    missed = [(f, ln, rx) for f, ln, rx in expected
              if not any(fd.origin == f and fd.line == ln and re.search(rx, f"{fd.message} ({fd.rule})")
                         for fd in findings)]
    fps = sorted({(fd.origin, fd.line, f"{fd.message} ({fd.rule})") for fd in findings
                  if fd.rule in rules and (fd.origin, fd.line) not in want_lines})
    neg = sum(negatives(f, {ln for g, ln in want_lines if g == f}) for f in files)
    return {"analyzer": name, "positives": len(expected), "negatives": neg,
            "found": len(expected) - len(missed), "missed": missed, "false_positives": fps,
            "rules": sorted(rules)}


def ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="FILE", help="write the figures to FILE")
    ap.add_argument("--list", action="store_true", help="print each missed positive and each false positive")
    args = ap.parse_args(argv)
    if not os.path.isdir(TREE):
        print(f"ported.py: {TREE}: no such directory", file=sys.stderr)
        return 2
    try:
        from toolexec_rehab.analysis import Analyzer, go_env_goroot
        from toolexec_rehab.rules.loader import all_rules

        analyzer = Analyzer(go_env_goroot(), rules=[r for r in all_rules() if r.rule.enabled], source=True)
        names = sorted(n for n in os.listdir(TREE) if os.path.isdir(os.path.join(TREE, n)))
        rows = [score(n, analyzer) for n in names]
    except Exception as e:  # noqa: BLE001 - any failure to analyse the tree is exit 2
        print(f"ported.py: cannot analyse {TREE}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2

    head = f"{'analyzer':14} {'pos':>4} {'neg':>4} {'found':>5} {'missed':>6} {'false+':>6} {'recall':>7} {'precision':>9}"
    print(head)
    print("-" * len(head))
    tot = {"positives": 0, "negatives": 0, "found": 0, "fp": 0}
    summary = []
    for r in rows:
        fp = len(r["false_positives"])
        rec, prec = ratio(r["found"], r["positives"]), ratio(r["found"], r["found"] + fp)
        print(f"{r['analyzer']:14} {r['positives']:4} {r['negatives']:4} {r['found']:5} {len(r['missed']):6} "
              f"{fp:6} {rec:7.1%} {prec:9.1%}")
        for k in ("positives", "negatives", "found"):
            tot[k] += r[k]
        tot["fp"] += fp
        summary.append({"analyzer": r["analyzer"], "positives": r["positives"], "negatives": r["negatives"],
                        "found": r["found"], "missed": len(r["missed"]), "false_positives": fp,
                        "recall": round(rec, 4), "precision": round(prec, 4), "rules": r["rules"],
                        "missed_at": [f"{os.path.relpath(f, ROOT)}:{ln}" for f, ln, _ in r["missed"]],
                        "false_positives_at": [f"{os.path.relpath(f, ROOT)}:{ln}" for f, ln, _ in
                                               r["false_positives"]]})
    rec, prec = ratio(tot["found"], tot["positives"]), ratio(tot["found"], tot["found"] + tot["fp"])
    print("-" * len(head))
    print(f"{'total':14} {tot['positives']:4} {tot['negatives']:4} {tot['found']:5} "
          f"{tot['positives'] - tot['found']:6} {tot['fp']:6} {rec:7.1%} {prec:9.1%}")

    if args.list:
        for r in rows:
            for f, ln, rx in r["missed"]:
                print(f"{os.path.relpath(f, ROOT)}:{ln}: missed ({r['analyzer']}): want {rx!r}")
            for f, ln, text in r["false_positives"]:
                print(f"{os.path.relpath(f, ROOT)}:{ln}: false positive ({r['analyzer']}): {text}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"analyzers": summary, "total": {
                "positives": tot["positives"], "negatives": tot["negatives"], "found": tot["found"],
                "missed": tot["positives"] - tot["found"], "false_positives": tot["fp"],
                "recall": round(rec, 4), "precision": round(prec, 4)}}, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
