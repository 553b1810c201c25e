"""The accuracy targets over the shapes ported from other analyzers' public test suites
(testdata/ported, tools/ported.py): recall >= 0.90 and precision >= 0.95 in total. The
tree uses sqlx and pgx, whose types are read from the module cache: downloaded first."""

import importlib.util
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ported():
    spec = importlib.util.spec_from_file_location("rehab_ported", os.path.join(ROOT, "tools", "ported.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(shutil.which("go") is None, reason="the go command is not installed")
def test_ported_suites_meet_the_accuracy_targets():
    ported = _ported()
    r = subprocess.run(["go", "mod", "download"], cwd=ported.TREE, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    from toolexec_rehab.analysis import Analyzer, go_env_goroot
    from toolexec_rehab.rules.loader import all_rules

    analyzer = Analyzer(go_env_goroot(), rules=[x for x in all_rules() if x.rule.enabled], source=True)
    names = sorted(n for n in os.listdir(ported.TREE) if os.path.isdir(os.path.join(ported.TREE, n)))
    rows = {n: ported.score(n, analyzer) for n in names}
    assert set(rows) >= {"bodyclose", "sqlclosecheck", "errcheck", "forgetclose", "lostcancel", "httpresponse",
                         "sa5001"}
    pos = sum(x["positives"] for x in rows.values())
    found = sum(x["found"] for x in rows.values())
    fps = sum(len(x["false_positives"]) for x in rows.values())
    recall, precision = found / pos, found / (found + fps)
    detail = {n: (x["found"], x["positives"], len(x["false_positives"])) for n, x in rows.items()}
    assert recall >= 0.90 and precision >= 0.95, (recall, precision, detail)
    # the third-party driver shapes are found through the types read from the module cache
    sqlx = [m for m in rows["sqlclosecheck"]["missed"] if "sqlxpgx" in m[0]]
    assert not sqlx, sqlx
