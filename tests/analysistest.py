"""The analysistest convention: `// want "regexp"` on offending lines, `.go.golden` for fixes."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from toolexec_rehab.analysis import Analyzer, PackageInput, build_packages

WANT_RE = re.compile(r'//\s*want\s+((?:"(?:[^"\\]|\\.)*"\s*)+)')
STR_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class Result:
    missing: list  # (file, line, regexp) expected but not reported
    unexpected: list  # (file, line, text) reported but not expected
    matched: int
    golden_diffs: list  # (file, expected path) where the fixed source differs
    findings: list


def wants(path: str) -> list[tuple[int, str]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            m = WANT_RE.search(line)
            if m:
                for s in STR_RE.findall(m.group(1)):
                    out.append((i, s.encode().decode("unicode_escape")))
    return out


def fixed_source(gf, findings) -> bytes:
    """The file as `fix --write` writes it (laid out for the source, gofmt'd when the file was
    gofmt-clean): what a golden holds."""
    from toolexec_rehab.pipeline import fixed_files, source_form

    ffs = fixed_files([x for x in findings if x.path == gf.path], {gf.path: gf})
    return source_form(ffs[0]) if ffs else gf.src


def run(analyzer: Analyzer, pkgdir: str, check_golden: bool = True) -> Result:
    files = sorted(os.path.join(pkgdir, n) for n in os.listdir(pkgdir) if n.endswith(".go"))
    expected = {(f, ln, rx) for f in files for ln, rx in wants(f)}
    findings = []
    golden_diffs = []
    for pkg in build_packages(PackageInput(pkgdir, files)):
        fs = analyzer.analyze(pkg)
        findings.extend(fs)
        if check_golden:
            for gf in pkg.files:
                new = fixed_source(gf, fs)
                golden = gf.path + ".golden"
                if os.path.exists(golden):
                    with open(golden, "rb") as fh:
                        if fh.read() != new:
                            golden_diffs.append((gf.path, golden))
                elif new != gf.src:
                    golden_diffs.append((gf.path, "(no golden file, but fixes were applied)"))
    unexpected = []
    matched = 0
    remaining = set(expected)
    for fd in findings:
        text = f"{fd.message} ({fd.rule})"
        hit = next((e for e in sorted(remaining) if e[0] == fd.path and e[1] == fd.line and re.search(e[2], text)), None)
        if hit:
            remaining.discard(hit)
            matched += 1
        else:
            unexpected.append((fd.path, fd.line, text))
    return Result(sorted(remaining), unexpected, matched, golden_diffs, findings)


# Opt-in rules are exercised only where their testdata lives.
OPT_IN = {"errwrap": ["error-wrap"]}
# Rules exercised only in their own package (rule id -> package); none today: every rule's
# findings in the other rules' testdata carry a `// want` there too.
HOME: dict[str, str] = {}
# Report-mode rules whose suggested fix the package's goldens show.
FIX_MODES = {"rowserr": {"rows-err-not-checked": "fix"}}


def analyzer_for(pkg: str, goroot: str | None):
    from toolexec_rehab.rules.loader import all_rules

    rules = [r for r in all_rules() if (r.rule.enabled or r.id in OPT_IN.get(pkg, []))
             and HOME.get(r.id, pkg) == pkg]
    # goldens are the suggested fixes, as in analysistest
    return Analyzer(goroot, rules=rules, modes=FIX_MODES.get(pkg), source=True)


def accuracy(src_root: str, goroot: str | None) -> dict:
    """Per rule: expected cases, true/false positives and misses over every testdata package."""
    stats: dict[str, dict[str, int]] = {}

    def row(rule):
        return stats.setdefault(rule, {"cases": 0, "tp": 0, "fn": 0, "fp": 0})

    rule_re = re.compile(r"\(([a-z0-9-]+)\)$")
    for pkg in sorted(os.listdir(src_root)):
        d = os.path.join(src_root, pkg)
        if not os.path.isdir(d):
            continue
        res = run(analyzer_for(pkg, goroot), d, check_golden=False)
        for f in sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".go")):
            for _, rx in wants(f):
                row(rx)["cases"] += 1
        for _f, _ln, rx in res.missing:
            row(rx)["fn"] += 1
        for _f, _ln, text in res.unexpected:
            m = rule_re.search(text)
            row(m.group(1) if m else "?")["fp"] += 1
    for r in stats.values():
        r["tp"] = r["cases"] - r["fn"]
    return stats
