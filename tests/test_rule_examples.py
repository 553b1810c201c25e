"""Every rule's YAML examples: `before` is reported, and fixed into `after`."""

import textwrap

import pytest

from toolexec_rehab.analysis import Analyzer, go_env_goroot
from toolexec_rehab.golang.package import Package, load_file
from toolexec_rehab.rules.engine import apply_fixes
from toolexec_rehab.rules.loader import all_rules

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

CASES = [(lr, ex) for lr in all_rules() for ex in lr.rule.examples]


@pytest.mark.parametrize("lr,ex", CASES, ids=[f"{lr.id}:{ex.name}" for lr, ex in CASES])
def test_example(lr, ex, tmp_path):
    body = textwrap.indent(textwrap.dedent(ex.before).rstrip("\n"), "\t", lambda line: True)
    src = HEADER + ex.signature + " {\n" + body + "\n}\n"
    path = tmp_path / "p.go"
    path.write_text(src)
    an = Analyzer(go_env_goroot(), rules=[lr], modes={lr.id: "fix"})  # examples show the (opt-in) fix
    gf = load_file(str(path))
    findings = an.analyze(Package([gf]))
    assert [f.rule for f in findings] == [lr.id], src
    res = apply_fixes(gf, findings)
    if ex.after is None:
        assert res.new_src is None
        return
    assert res.new_src is not None, findings[0].why_no_fix
    got = res.new_src.decode()[len(HEADER) + len(ex.signature) + 3:].rsplit("\n}\n", 1)[0]
    want = textwrap.indent(textwrap.dedent(ex.after).rstrip("\n"), "\t", lambda line: True)
    assert [ln.rstrip() for ln in got.splitlines()] == [ln.rstrip() for ln in want.splitlines()]


def test_every_rule_has_an_example():
    assert all(lr.rule.examples for lr in all_rules())
