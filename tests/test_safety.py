"""Safety: templates render in a sandbox, rule and config files load without running code,
and our temp and cache files are private (0600 files, 0700 directories)."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from helpers import BIN, go_env, rehab

from toolexec_rehab.paths import builtin_dirs

LEAK = ('package main\n\nimport "os"\n\nfunc main() {\n\tf, err := os.Open(os.Args[0])\n\tif err != nil {\n'
        '\t\treturn\n\t}\n\tb := make([]byte, 1)\n\tf.Read(b)\n}\n')


def _rule_dir(tmp_path, template: str):
    d = tmp_path / "rules"
    (d / "templates").mkdir(parents=True)
    pat, _ = builtin_dirs()
    y = open(os.path.join(pat, "file-not-closed.yaml")).read()
    (d / "evil.yaml").write_text(y.replace("id: file-not-closed", "id: evil")
                                 .replace("file-not-closed.go.j2", "evil.go.j2")
                                 .replace("- acquires: {}", "- acquires: {resources: [os-file]}"))
    (d / "templates" / "evil.go.j2").write_text(template)
    return d


def _module(tmp_path):
    m = tmp_path / "m"
    m.mkdir()
    (m / "go.mod").write_text("module example.com/s\n\ngo 1.22\n")
    (m / "main.go").write_text(LEAK)
    return m


@pytest.mark.parametrize("template,what", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "SecurityError"),
    ("{{ handle.__class__ }}", "SecurityError"),
    ("{{ cycler.__init__.__globals__.os.system('touch PWNED') }}", "SecurityError|UndefinedError"),
    ("{{ nosuch }}", "UndefinedError"),
])
def test_templates_render_in_a_sandbox(tmp_path, template, what):
    """A template reaching for Python internals is refused; nothing is executed. The broken
    rule breaks only itself (issue 16, item 4): its finding is reported without a fix, with
    a warning naming the template and line, and another rule's fix in the same file stands."""
    import re

    rules = _rule_dir(tmp_path, template)
    m = _module(tmp_path)
    (m / "main.go").write_text(LEAK_AND_CANCEL)
    env = {"REHAB_RULE_DIRS": str(rules), "REHAB_SERVER": "off"}
    r = rehab("check", "--format", "json", "--rules", "evil,lost-cancel", ".", cwd=m, env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"warning: {rules}/templates/evil.go.j2:1: template error" in r.stderr and re.search(what, r.stderr)
    import json

    found = {f["rule"]: f for f in json.loads(r.stdout)}
    assert not found["evil"]["fixable"] and "template error" in found["evil"]["why_no_fix"]
    assert found["lost-cancel"]["fixable"], found
    r = rehab("fix", "--diff", "--rules", "evil,lost-cancel", ".", cwd=m, env=env)
    assert r.returncode in (0, 1) and f"{rules}/templates/evil.go.j2:1: template error" in r.stderr, r.stderr
    assert "+\tdefer cancel()" in r.stdout and "f.Close" not in r.stdout, r.stdout
    assert not (m / "PWNED").exists() and not (tmp_path / "PWNED").exists()


LEAK_AND_CANCEL = ('package main\n\nimport (\n\t"context"\n\t"os"\n)\n\nfunc main() {\n'
                   '\tf, err := os.Open(os.Args[0])\n\tif err != nil {\n\t\treturn\n\t}\n'
                   '\tb := make([]byte, 1)\n\tf.Read(b)\n'
                   '\tctx, _ := context.WithCancel(context.Background())\n\t_ = ctx\n}\n')


def test_sandboxed_render_in_a_build_breaks_only_its_rule(tmp_path):
    """In a build the same template error costs only that rule's fix: the other rule's fix
    in the same file is compiled in, and the warning names the template's file:line."""
    rules = _rule_dir(tmp_path, "{{ ''.__class__ }}")
    m = _module(tmp_path)
    (m / "main.go").write_text(LEAK_AND_CANCEL)
    gocache = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, env=go_env()).stdout.strip()
    # REHAB_RULE_DIRS is part of the cache key: check only the compile of our package, by hand
    env = go_env(REHAB_RULE_DIRS=str(rules), REHAB_RULES="evil,lost-cancel", XDG_CACHE_HOME=str(tmp_path / "xdg"),
                 GOCACHE=gocache, TOOLEXEC_IMPORTPATH="example.com/s", REHAB_VERBOSE="1", REHAB_SERVER="off")
    from helpers import compile_tool

    (tmp_path / "obj").mkdir()
    out = tmp_path / "obj" / "_pkg_.a"  # the objdir: apart from the sources, as in $WORK/bNNN
    importcfg = tmp_path / "importcfg"
    exp = subprocess.run(["go", "list", "-export", "-f", "{{.Export}}", "os"], capture_output=True, text=True,
                         env=go_env(), check=True).stdout.strip()
    ctx = subprocess.run(["go", "list", "-export", "-f", "{{.Export}}", "context"], capture_output=True, text=True,
                         env=go_env(), check=True).stdout.strip()
    importcfg.write_text(f"packagefile os={exp}\npackagefile context={ctx}\n")
    r = subprocess.run([str(BIN), compile_tool(), "-o", str(out), "-p", "main", "-importcfg", str(importcfg),
                        "-pack", str(m / "main.go")], env=env, capture_output=True, text=True, cwd=m)
    assert r.returncode == 0, r.stdout + r.stderr
    assert out.exists() and r.stdout == ""
    assert "evil.go.j2:1: template error: SecurityError" in r.stderr and "rule evil" in r.stderr, r.stderr
    patched = [ln for ln in r.stderr.splitlines() if ln.startswith("REHAB: patched")]
    assert len(patched) == 1 and "lost-cancel" in patched[0], r.stderr
    log = tmp_path / "xdg" / "toolexec-rehab" / "rejections.log"
    assert not log.exists() or "internal error" not in log.read_text()


@pytest.mark.parametrize("payload", [
    '!!python/object/apply:os.system ["touch {pwn}"]',
    '!!python/object/new:os.system ["touch {pwn}"]',
    '!!python/name:os.system',
])
def test_rule_and_config_files_load_without_running_code(tmp_path, payload):
    pwn = tmp_path / "PWNED"
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x.yaml").write_text(f"id: x\nsummary: {payload.format(pwn=pwn)}\n")
    r = rehab("rules", "list", env={"REHAB_RULE_DIRS": str(rules)})
    assert r.returncode == 2 and f"{rules}/x.yaml:2" in r.stderr and "Traceback" not in r.stderr, r.stderr
    m = _module(tmp_path)
    (m / ".rehab.yaml").write_text(f"fix: {payload.format(pwn=pwn)}\n")
    c = rehab("check", ".", cwd=m)
    assert c.returncode == 2 and ".rehab.yaml" in c.stderr and "Traceback" not in c.stderr, c.stderr
    assert not pwn.exists()


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_build_temp_files_are_private(tmp_path):
    """The overlay under $WORK/bNNN/rehab: directory 0700, files 0600; our cache dir 0700 and
    its files 0600 (the rejections log, the rules cache)."""
    m = _module(tmp_path)
    (m / "main.go").write_text(LEAK.replace("func main() {", "var nonce = \"%s\"\n\nfunc main() {" % tmp_path.name))
    work = tmp_path / "gotmp"
    work.mkdir()
    env = go_env(GOFLAGS=f"-toolexec={BIN}", TMPDIR=str(work), XDG_CACHE_HOME=str(tmp_path / "xdg"),
                 GOCACHE=subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True,
                                        env=go_env()).stdout.strip())
    r = subprocess.run(["go", "build", "-work", "-o", str(tmp_path / "bin"), "."], cwd=m, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    overlays = list(work.glob("go-build*/b*/rehab"))
    assert overlays, r.stderr
    for d in overlays:
        assert _mode(d) == 0o700
        files = list(d.iterdir())
        assert files and all(_mode(f) == 0o600 for f in files), [(f, oct(_mode(f))) for f in files]
    cache = tmp_path / "xdg" / "toolexec-rehab"
    if cache.exists():
        for p in [cache, *cache.rglob("*")]:
            assert _mode(p) == (0o700 if p.is_dir() else 0o600), (p, oct(_mode(p)))


@pytest.mark.parametrize("loosen", ["file", "dir"])
def test_rules_cache_is_never_unpickled_when_others_could_write_it(tmp_path, loosen):
    """The compiled-rule cache is a pickle (loading one runs code): a cache file that is
    group/world-writable, or sits in such a directory, is ignored and the rules load from
    their YAML."""
    import pickle

    xdg = tmp_path / "xdg"
    env = {"XDG_CACHE_HOME": str(xdg)}
    first = rehab("rules", "list", env=env)
    assert first.returncode == 0, first.stderr
    caches = list((xdg / "toolexec-rehab" / "rules").glob("*.pickle"))
    assert caches
    pwn = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {pwn}",))

    for c in caches:
        c.write_bytes(pickle.dumps(Evil()))
        if loosen == "file":
            c.chmod(0o666)
    if loosen == "dir":
        caches[0].parent.chmod(0o777)
    again = rehab("rules", "list", env=env)
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr
    assert not pwn.exists()


def test_a_rule_that_raises_breaks_only_itself(tmp_path):
    """A condition that raises on some code costs that rule's findings in that file, with a
    warning naming the rule's file:line; the other rules' findings stand."""
    from toolexec_rehab.analysis import Analyzer, PackageInput, build_packages, go_env_goroot
    from toolexec_rehab.rules.loader import all_rules

    m = _module(tmp_path)
    (m / "main.go").write_text(LEAK_AND_CANCEL)

    def boom(pass_, match, params):
        raise KeyError("surprise")

    rules = []
    for lr in all_rules():
        if lr.id == "file-not-closed":
            name, params, _ = lr.conditions[-1]
            lr = lr.replace(conditions=[*lr.conditions[:-1], (name, params, boom)])
        if lr.id in ("file-not-closed", "lost-cancel"):
            rules.append(lr)
    analyzer = Analyzer(go_env_goroot(), rules=rules)
    (pkg,) = build_packages(PackageInput(str(m), [str(m / "main.go")]))
    found = analyzer.analyze(pkg)
    assert [f.rule for f in found] == ["lost-cancel"]
    (w,) = analyzer.engine.warnings
    assert "file-not-closed.yaml:" in w and "rule file-not-closed failed on" in w and "KeyError" in w, w
