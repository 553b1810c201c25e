"""`toolexec-rehab check` on the real fixture modules.

Every acquisition marked `// LEAK(<rule>)` in go_fixtures/ must be reported,
on that line, with that rule, as fixable; nothing else may be reported (the
already-correct handler in leakysvc included). Exit codes: 1 with findings,
0 clean, 2 on error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

TEXT_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+) \((?P<rule>[a-z-]+)\)$")
JSON_KEYS = {"rule", "file", "line", "column", "end_line", "end_column", "message", "node_id", "fixable"}


LEAK_RULES = "rows-not-closed,stmt-not-closed,body-not-closed,file-not-closed"


def check(rehab_bin: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REHAB_") and k != "GOFLAGS"}
    # the fixtures mark the leaks they plant; other rules (unchecked-error on w.Write, ...) are not in scope here
    cmd = [str(rehab_bin), "check", "--rules", LEAK_RULES, *args]
    print(f"$ (cd {cwd} && {' '.join(cmd)})", flush=True)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("module", ["leakysvc", "paniccheck", "cgopkg"])
def test_check_finds_exactly_the_marked_leaks(rehab_bin, sources, module):
    root = sources.fixtures / module
    expected = sorted((rule, str(f), line) for rule, f, line in sources.markers(root))
    assert expected, f"no LEAK markers in {root}"

    res = check(rehab_bin, "--format", "json", "./...", cwd=root)
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    findings = json.loads(res.stdout)
    assert isinstance(findings, list), res.stdout
    for f in findings:
        assert JSON_KEYS <= f.keys(), f
        assert f["fixable"] is True, f
        assert (f["end_line"], f["end_column"]) >= (f["line"], f["column"]), f
        assert re.fullmatch(r"ast-node-[0-9a-f]{16}", f["node_id"]), f
    got = sorted((f["rule"], str((root / f["file"]).resolve()), f["line"]) for f in findings)
    assert got == expected, json.dumps(findings, indent=1)

    text = check(rehab_bin, "./...", cwd=root)
    assert text.returncode == 1, (text.returncode, text.stdout, text.stderr)
    lines = [ln for ln in text.stdout.splitlines() if ln.strip()]
    parsed = [TEXT_RE.match(ln) for ln in lines]
    assert all(parsed), text.stdout
    got_text = sorted((m["rule"], str((root / m["file"]).resolve()), int(m["line"])) for m in parsed)
    assert got_text == expected, text.stdout


@pytest.mark.parametrize("pkg", ["./internal/store", "./cmd/backend", "./cmd/leakysvc"])
def test_check_clean_packages(rehab_bin, sources, pkg):
    res = check(rehab_bin, pkg, cwd=sources.fixtures / "leakysvc")
    assert res.returncode == 0 and not res.stdout.strip(), (res.returncode, res.stdout, res.stderr)


def test_check_missing_path_is_an_error(rehab_bin, tmp_path):
    res = check(rehab_bin, str(tmp_path / "does-not-exist"), cwd=tmp_path)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
