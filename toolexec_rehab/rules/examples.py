"""Run a rule's own examples: `before` must be reported, and fixed into `after`.

Used by `rules validate DIR` (a user's rule directory) and by the test suite (the shipped rules).
"""

from __future__ import annotations

import os
import tempfile
import textwrap

HEADER = """package p

import (
\t"context"
\t"database/sql"
\t"fmt"
\t"io"
\t"net/http"
\t"os"
\t"time"
)

var _ = fmt.Sprint
var _ = time.Second
var _ = io.EOF
var _ = http.Get
var _ = os.Open

"""


def _indent(text: str) -> str:
    return textwrap.indent(textwrap.dedent(text).rstrip("\n"), "\t", lambda line: True)


def run_example(lr, ex, analyzer=None) -> str | None:
    """None when the example holds, else what went wrong."""
    from ..golang import stdapi
    from ..golang.goroot import go_env_goroot
    from ..golang.package import Package, load_file
    from .engine import Engine, apply_fixes

    src = HEADER + ex.signature + " {\n" + _indent(ex.before) + "\n}\n"
    # examples show the fix as `fix --diff` does (source mode: suggestions included)
    an = analyzer or Engine([lr], stdapi.load(go_env_goroot()), modes={lr.id: "fix"}, source=True)
    with tempfile.TemporaryDirectory(prefix="rehab-example-") as d:
        path = os.path.join(d, "p.go")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(src)
        gf = load_file(path)
        if gf.has_error:
            return "`before` does not parse as the body of the example's signature"
        findings = an.analyze(Package([gf]))
        got_rules = [f.rule for f in findings]
        if got_rules != [lr.id]:
            return f"expected one {lr.id} finding, got {got_rules or 'none'}"
        res = apply_fixes(gf, findings)
        if ex.after is None:
            return None if res.new_src is None else "example has no `after` but the rule fixed it"
        if res.new_src is None:
            return f"not fixed: {findings[0].why_no_fix or 'the fix was rejected'}"
        got = res.new_src.decode()[len(HEADER) + len(ex.signature) + 3:].rsplit("\n}\n", 1)[0]
        want = _indent(ex.after)
        if [ln.rstrip() for ln in got.splitlines()] != [ln.rstrip() for ln in want.splitlines()]:
            return "the fix differs from `after`:\n" + got
    return None


def check_examples(rules) -> list[str]:
    """`file:line: rule: example NAME: problem` for every failing example; rules without examples too."""
    from .schema import yaml_line_of

    out = []
    for lr in rules:
        with open(lr.path, encoding="utf-8") as fh:
            text = fh.read()
        if not lr.rule.examples:
            out.append(f"{lr.path}:1: {lr.id}: no examples (each rule documents itself with at least one)")
        for ex in lr.rule.examples:
            err = run_example(lr, ex)
            if err:
                line = yaml_line_of(text, ("examples",)) or 1
                out.append(f"{lr.path}:{line}: {lr.id}: example {ex.name or '(unnamed)'}: {err}")
    return out
