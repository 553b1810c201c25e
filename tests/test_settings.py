"""One settings module: every REHAB_* variable, one boolean parser, the README's table."""

from __future__ import annotations

import os
import re

import pytest
from helpers import rehab

from toolexec_rehab import settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "toolexec_rehab")


def test_readme_table_is_the_settings_module():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    m = re.search(r"<!-- settings-table:[^>]*-->\n(.*?)\n<!-- end settings-table -->", readme, re.S)
    assert m, "README has no settings table"
    assert m.group(1) == settings.markdown_table(), "regenerate: python -c 'from toolexec_rehab.settings " \
        "import markdown_table; print(markdown_table())'"


def test_every_variable_the_code_reads_is_registered():
    """A REHAB_* name anywhere in our code (or the launcher) is in the table: nothing is
    parsed on the side."""
    names = set()
    for top, _dirs, files in os.walk(PKG):
        for name in files:
            if name.endswith(".py"):
                names |= set(re.findall(r"\bREHAB_[A-Z_]+\b", open(os.path.join(top, name)).read()))
    names |= set(re.findall(r"\bREHAB_[A-Z_]+\b", open(os.path.join(ROOT, "launcher", "toolexec-rehab")).read()))
    names -= {"REHAB_SITES_V"}  # a marker in the instrumented binary, not a setting
    assert names - set(settings.VARS) == set()


def test_no_other_boolean_parser():
    """The old per-module parsers (`in ("off", "0", "no", "false")` and friends) are gone."""
    offenders = []
    for top, _dirs, files in os.walk(PKG):
        for name in files:
            if name.endswith(".py") and name != "settings.py":
                text = open(os.path.join(top, name)).read()
                if re.search(r"""["']off["'],\s*["']0["']|["']0["'],\s*["']false["']|_FALSE\s*=|_OFF\s*=""", text):
                    offenders.append(name)
    assert offenders == ["vettool.py"], offenders  # vettool parses go's flag syntax (-rule=false), not settings


@pytest.mark.parametrize("name,value", [("REHAB_VERBOSE", "maybe"), ("REHAB_SPECULATE", "2"),
                                        ("REHAB_JOBS", "zero"), ("REHAB_SERVER_IDLE", "-5"),
                                        ("REHAB_REPO_RULES", "sometimes")])
def test_every_command_rejects_a_bad_value(tmp_path, name, value):
    r = rehab("rules", "list", env={name: value})
    assert r.returncode == 2 and name in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_internal_errors_exit_3_without_a_traceback(monkeypatch, capsys):
    from toolexec_rehab import cli

    def boom(args):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli, "cmd_rules", boom)
    monkeypatch.delenv("REHAB_DEBUG", raising=False)
    assert cli.main(["rules", "list"]) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaboom" in err and "Traceback" not in err and "REHAB_DEBUG=1" in err
    monkeypatch.setenv("REHAB_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["rules", "list"])
