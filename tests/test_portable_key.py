"""The build-cache key (`compile -V=full`'s suffix) and what rehab embeds in a program do not
depend on where the checkout, HOME or the config directory are (README "CI: a shared build
cache"; the builds themselves: tests/integration/test_shared_cache.py)."""

from __future__ import annotations

import os

import pytest

from toolexec_rehab import config
from toolexec_rehab.toolexec import wrap
from toolexec_rehab.toolexec.compileargs import CompileArgs

TRIM = "-trimpath=/src/co/mod/pkg=>example.com/mod/pkg;/tmp/go-build1/b007=>"


@pytest.mark.parametrize("path, want", [
    ("/src/co/mod/pkg/a.go", "example.com/mod/pkg/a.go"),
    ("/src/co/mod/pkg/sub/b.go", "example.com/mod/pkg/sub/b.go"),
    ("/tmp/go-build1/b007/rehab/a.go", "rehab/a.go"),
    ("/src/co/mod/pkgx/a.go", "/src/co/mod/pkgx/a.go"),  # a prefix only at a path boundary
    ("/elsewhere/a.go", "/elsewhere/a.go"),
    ("/src/co/mod/pkg", "example.com/mod/pkg"),
])
def test_trimmed_applies_the_compilers_rewrites(path, want):
    ca = CompileArgs.parse(["compile", "-o", "/tmp/go-build1/b007/_pkg_.a", TRIM, "-p", "example.com/mod/pkg", "a.go"])
    assert ca.trimmed(path) == want


def test_trimmed_without_trimpath_and_with_a_bare_prefix():
    assert CompileArgs.parse(["compile", "-p", "p", "a.go"]).trimmed("/x/a.go") == "/x/a.go"
    ca = CompileArgs.parse(["compile", "-trimpath", "/w/b001", "a.go"])
    assert ca.trimmed("/w/b001/x.go") == "x.go"


def _checkout(base, home_text: str, repo_text: str):
    """A module with a .rehab.yaml, a HOME with a user config; returns (module dir, env)."""
    mod = base / "some" / "where" / "mod"
    mod.mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/mod\n\ngo 1.22\n")
    (mod / ".rehab.yaml").write_text(repo_text)
    home = base / "home"
    cfg = home / ".config" / "toolexec-rehab"
    cfg.mkdir(parents=True, mode=0o700)
    (cfg / "config.yaml").write_text(home_text)
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "REHAB_RULE_DIRS": "", "REHAB_AUDIT_LOG": str(mod / ".rehab" / "audit.jsonl")}
    return mod, env


def _digest(monkeypatch, mod, env) -> str:
    for k in [k for k in os.environ if k.startswith("REHAB_") or k == "XDG_CONFIG_HOME"]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(mod)
    config._cache.clear()  # as the compile server does per request
    try:
        return wrap.config_digest()
    finally:
        config._cache.clear()


def test_the_key_is_the_same_in_two_checkouts(tmp_path, monkeypatch):
    repo, user = "rules:\n  lost-cancel: on\n", "rules:\n  file-not-closed: fix\n"
    a = _checkout(tmp_path / "a", user, repo)
    b = _checkout(tmp_path / "runner-b" / "deeper", user, repo)
    assert _digest(monkeypatch, *a) == _digest(monkeypatch, *b)
    # ... and still follows what the files say
    c = _checkout(tmp_path / "c", user, "rules:\n  lost-cancel: off\n")
    assert _digest(monkeypatch, *c) != _digest(monkeypatch, *a)
    d = _checkout(tmp_path / "d", "rules:\n  file-not-closed: report\n", repo)
    assert _digest(monkeypatch, *d) != _digest(monkeypatch, *a)


def test_portable_path(tmp_path, monkeypatch):
    mod = tmp_path / "co" / "mod"
    (mod / "sub").mkdir(parents=True)
    (mod / "go.mod").write_text("module m\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    cwd = str(mod / "sub")
    assert wrap.portable_path(str(mod / ".rehab.yaml"), cwd) == "$MODULE/.rehab.yaml"
    assert wrap.portable_path(str(tmp_path / "cfg" / "toolexec-rehab" / "config.yaml"), cwd) == \
        "$CONFIG/toolexec-rehab/config.yaml"
    assert wrap.portable_path(str(tmp_path / "home" / "rules"), cwd) == "$HOME/rules"
    assert wrap.portable_path("/etc/rehab.yaml", cwd) == "/etc/rehab.yaml"
    assert wrap.portable_path("rel/rules", cwd) == "rel/rules"
    monkeypatch.chdir(mod)
    assert wrap.portable_setting("REHAB_CONFIG", "off") == "off"
    assert wrap.portable_setting("REHAB_RULE_DIRS", f"{mod}/r1:{tmp_path}/home/r2") == "$MODULE/r1:$HOME/r2"
    assert wrap.portable_setting("REHAB_RULES", "/not/a/path") == "/not/a/path"
