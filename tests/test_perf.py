"""The fast paths (issue 7): the sh launcher's decisions, the compiled-rule cache, Jinja-free
string rendering and the compile server. Speed itself is measured by `nox -s bench`, not here;
these tests check that the fast paths decide and compute exactly what the slow ones do."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import BIN, compile_tool, go_env

LAUNCHER_SRC = Path(__file__).resolve().parent.parent / "launcher" / "toolexec-rehab"


def _launcher() -> Path:
    for cand in (BIN, LAUNCHER_SRC):
        if cand.is_file() and cand.read_bytes().startswith(b"#!/bin/sh"):
            return cand
    pytest.skip("no sh launcher installed")


@pytest.fixture
def sandbox(tmp_path):
    """A copy of the launcher whose Python entry only says that it was called, a fake GOROOT
    whose tools print their name, and a module cache."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(_launcher(), bindir / "toolexec-rehab")
    (bindir / "toolexec-rehab-py").write_text("#!/bin/sh\necho PYTHON \"$@\"\n")
    (bindir / "toolexec-rehab-py").chmod(0o755)
    goroot = tmp_path / "goroot"
    tools = goroot / "pkg" / "tool" / "linux_amd64"
    tools.mkdir(parents=True)
    for name in ("compile", "asm", "link"):
        (tools / name).write_text(f"#!/bin/sh\necho TOOL {name} \"$@\"\n")
        (tools / name).chmod(0o755)
    (goroot / "src" / "fmt").mkdir(parents=True)
    (goroot / "src" / "fmt" / "print.go").write_text("package fmt\n")
    modcache = tmp_path / "gopath" / "pkg" / "mod" / "example.com" / "dep@v1.0.0"
    modcache.mkdir(parents=True)
    (modcache / "dep.go").write_text("package dep\n")
    user = tmp_path / "work" / "app"
    user.mkdir(parents=True)
    (user / "main.go").write_text("package main\n")
    objdir = tmp_path / "objdir" / "b001"
    objdir.mkdir(parents=True)

    class S:
        root = tmp_path

        def proc(self, *args, cwd=None, **env):
            e = {k: v for k, v in os.environ.items() if not k.startswith(("REHAB_", "GO"))}
            e.update(GOPATH=str(tmp_path / "gopath"), HOME=str(tmp_path))
            e.update(env)
            return subprocess.run([str(bindir / "toolexec-rehab"), *map(str, args)], capture_output=True, text=True,
                                  env=e, cwd=cwd or user, timeout=30)

        def run(self, *args, cwd=None, **env):
            r = self.proc(*args, cwd=cwd, **env)
            assert r.returncode == 0, r.stderr
            return r.stdout.split()[0]

    s = S()
    s.compile, s.asm = tools / "compile", tools / "asm"
    s.std, s.dep, s.user, s.objdir = goroot / "src" / "fmt" / "print.go", modcache / "dep.go", user / "main.go", objdir
    s.userdir = user
    return s


def _compile(s, *files):
    return [s.compile, "-o", s.objdir / "_pkg_.a", "-p", "x", "-pack", *files]


def test_launcher_execs_other_tools_and_out_of_scope_compiles(sandbox):
    s = sandbox
    assert s.run(s.asm, "-V=full") == "TOOL"
    assert s.run(*_compile(s, s.std)) == "TOOL"
    assert s.run(*_compile(s, s.dep)) == "TOOL"
    assert s.run(*_compile(s, s.std), GOMODCACHE=str(s.root / "elsewhere")) == "TOOL"
    assert s.run(*_compile(s, s.dep), GOMODCACHE=str(s.root / "elsewhere")) == "PYTHON"


def test_launcher_hands_the_rest_to_python(sandbox):
    s = sandbox
    assert s.run("check", "./...") == "PYTHON"
    assert s.run(s.compile, "-V=full") == "PYTHON"
    assert s.run(*_compile(s, s.user)) == "PYTHON"
    assert s.run(*_compile(s, s.std, s.user)) == "PYTHON"
    rsp = s.root / "args.rsp"
    rsp.write_text(f"{s.std}\n")
    assert s.run(s.compile, f"@{rsp}") == "PYTHON"
    vendored = s.userdir / "vendor" / "v.go"
    vendored.parent.mkdir()
    vendored.write_text("package v\n")
    assert s.run(*_compile(s, vendored)) == "PYTHON"  # Python decides about vendor/


@pytest.mark.parametrize("env", [{"REHAB_SCOPE": "all"}, {"REHAB_PACKAGES": "fmt"}, {"REHAB_CONFIG": "/x.yaml"}])
def test_launcher_scope_widening_settings_go_to_python(sandbox, env):
    assert sandbox.run(*_compile(sandbox, sandbox.std), **env) == "PYTHON"
    assert sandbox.run(*_compile(sandbox, sandbox.std), REHAB_SCOPE="user") == "TOOL"


def test_launcher_reads_rehab_yaml_include(sandbox):
    s = sandbox
    cfg = s.root / "work" / ".rehab.yaml"  # above the working directory
    cfg.write_text("rules:\n  unchecked-error: report\n")
    assert s.run(*_compile(s, s.std)) == "TOOL"
    cfg.write_text("packages:\n  include: [fmt]\n")
    assert s.run(*_compile(s, s.std)) == "PYTHON"
    # through a symlink: the physical directory's parents count, as for Python's os.getcwd()
    link = s.root / "elsewhere" / "link"
    link.parent.mkdir()
    link.symlink_to(s.userdir)
    assert s.run(*_compile(s, s.std), cwd=link, PWD=str(link)) == "PYTHON"
    cfg.unlink()
    (link.parent / ".rehab.yaml").write_text("packages:\n  include: [fmt]\n")  # above the link only
    assert s.run(*_compile(s, s.std), cwd=link, PWD=str(link)) == "TOOL"


def test_launcher_follows_line_headers_of_generated_files(sandbox):
    s = sandbox
    gen = s.objdir / "_cgo_gotypes.go"
    gen.write_text("package fmt\n")
    assert s.run(*_compile(s, s.std, gen)) == "TOOL"  # no //line: never analyzed
    cover = s.objdir / "print.cover.go"
    cover.write_text(f"//line {s.std}:1:1\npackage fmt\n")
    assert s.run(*_compile(s, cover)) == "TOOL"
    cover.write_text(f"//line {s.user}:1:1\npackage main\n")
    assert s.run(*_compile(s, cover)) == "PYTHON"
    # cmd/cgo's translation of a file that imports "C": its //line header is on line 3
    head = "// Code generated by cmd/cgo; DO NOT EDIT.\n\n"
    gen.write_text(head + "package fmt\n")
    cgo1 = s.objdir / "print.cgo1.go"
    cgo1.write_text(head + f"//line {s.std}:1:1\npackage fmt\n")
    assert s.run(*_compile(s, gen, cgo1)) == "TOOL"
    cgo1.write_text(head + f"//line {s.user}:1:1\npackage main\n")
    assert s.run(*_compile(s, gen, cgo1)) == "PYTHON"
    not_cgo1 = s.objdir / "_cgo_import.go"
    not_cgo1.write_text(head + f"//line {s.user}:1:1\npackage main\n")
    assert s.run(*_compile(s, gen, not_cgo1)) == "TOOL"


# ------------------------------------------------------------------ speculative compile (launcher)

def _spec_sandbox(s, entry: str, compile_body: str):
    """The sandbox with another fake Python entry and fake compiler."""
    bindir = s.root / "bin"
    (bindir / "toolexec-rehab-py").write_text("#!/bin/sh\n" + entry)
    (s.compile).write_text("#!/bin/sh\n" + compile_body)

    def run(*args, **env):
        return s.proc(*args, LOG=str(s.root / "log"), **env)
    return run


def test_launcher_speculation_relays_the_compile_when_python_says_so(sandbox):
    """An in-scope compile: the launcher starts the compiler at once and asks Python (REHAB_SPEC
    = its pid, a sibling). Status 213 from Python: the compile's own stdout, stderr and status
    are the answer. Any other status is Python's answer, and the compile's output is dropped."""
    s = sandbox
    entry = ('ppid=$(awk \'{print $4}\' /proc/"$REHAB_SPEC"/stat)\n'
             'echo "spec=$REHAB_SPEC sibling=$([ "$ppid" = "$PPID" ] && echo yes)" >> "$LOG"\n'
             ': > "$LOG.go"\nexit "${PYRC:-213}"\n')
    # (it lives until the entry has looked: the launcher's shell reaps an exited background job at once)
    compile_body = ('echo "compile REHAB_SPEC=${REHAB_SPEC:-unset}" >> "$LOG"\necho OUT "$@"\necho ERR >&2\n'
                    'i=0\nwhile [ -e "$LOG.wait" ] && [ ! -e "$LOG.go" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\n'
                    'rm -f "$LOG.go"\nexit 3\n')
    run = _spec_sandbox(s, entry, compile_body)
    (s.root / "log.wait").touch()
    r = run(*_compile(s, s.user))
    assert (r.returncode, r.stdout.split()[:2], r.stderr) == (3, ["OUT", "-o"], "ERR\n"), r
    log = (s.root / "log").read_text()
    assert "sibling=yes" in log and "compile REHAB_SPEC=unset" in log, log
    (s.root / "log").unlink()
    r = run(*_compile(s, s.user), PYRC="5")
    assert (r.returncode, r.stdout, r.stderr) == (5, "", ""), r
    (s.root / "log.wait").unlink()
    # no speculation when it is off, nor for out-of-scope compiles
    (s.root / "log").unlink()
    r = run(*_compile(s, s.user), REHAB_SPECULATE="off", PYRC="0")
    assert r.returncode == 0 and "compile" not in (s.root / "log").read_text()
    (s.root / "log").unlink()
    r = run(*_compile(s, s.std))
    assert r.returncode == 3 and not (s.root / "log").read_text().count("spec=")
    # only in cmd/go's object dirs ($WORK/bNNN): never a file in a directory of the user's
    (s.root / "log").unlink()
    out = s.root / "out"
    out.mkdir()
    r = run(s.compile, "-o", out / "x.a", "-p", "x", "-pack", s.user, PYRC="0")
    assert r.returncode == 0 and "compile" not in (s.root / "log").read_text() and not list(out.iterdir())
    assert sorted(p.name.split(".")[-1] for p in s.objdir.glob("_rehab_spec*")) == ["stderr"] * 2 + ["stdout"] * 2


@pytest.mark.parametrize("native, want", [
    # (the native client's script; what the build sees; whether Python ran, and with the compile alive)
    ("touch \"$3\"; exit 7", (7, "", "", "no python")),                # answered: its status stands
    ("touch \"$3\"; exit 213", (3, "OUT", "ERR\n", "no python")),       # answered: the compile is the answer
    ("exit 215", (5, "", "", "python spec=alive")),                    # not answered: Python, compile untouched
    ("exit 216", (5, "", "", "python spec=unset")),                    # not answered, compile stopped
    ("exit 2", (5, "", "", "python spec=unset")),                      # a crash, no acknowledgement
    ("kill -9 $$", (5, "", "Killed\n", "python spec=unset")),          # killed before it answered (dash says so)
])
def test_launcher_believes_the_native_client_only_with_its_acknowledgement(sandbox, native, want):
    """The launcher's speculate with a native client (toolexec/native.py): only a status given
    after the client acknowledged its answer (a file it creates) stands; 215 leaves the
    compile to Python with the speculative compile running; anything else without the
    acknowledgement stops that compile and has Python compile without it."""
    s = sandbox
    bindir = s.root / "bin"
    # the -S fast path: a Python (here sh) that takes `-S -c CODE SITE-PACKAGES` first
    py = s.root / "python"
    py.write_text('#!/bin/sh\nshift 4\nif [ -n "${REHAB_SPEC:-}" ] && [ -d /proc/"$REHAB_SPEC" ] && '
                  '[ "$(cut -d" " -f3 /proc/"$REHAB_SPEC"/stat)" != Z ]; then st=alive; else st=${REHAB_SPEC:-unset}; fi\n'
                  'echo "python spec=$st" >> "$LOG"\nexit 5\n')
    py.chmod(0o755)
    (bindir / "toolexec-rehab-py").write_text(f"#!{py}\n")
    sp = s.root / "lib" / "python3.99" / "site-packages" / "toolexec_rehab"
    (sp / "native").mkdir(parents=True)
    (sp / "shim.py").write_text("")
    nc = sp / "native" / "rehab-client"
    nc.write_text(f"#!/bin/sh\n{native}\n")
    nc.chmod(0o755)
    # the compile: slow enough to be alive when Python looks
    s.compile.write_text("#!/bin/sh\necho OUT\necho ERR >&2\nsleep 2\nexit 3\n")
    log = s.root / "log"
    log.write_text("")
    r = s.proc(*_compile(s, s.user), LOG=str(log))
    ran = log.read_text().strip() or "no python"
    assert (r.returncode, r.stdout.strip(), r.stderr, ran) == want, r
    r = s.proc(*_compile(s, s.user), LOG=str(log), REHAB_NATIVE_CLIENT="off")  # Python only
    assert r.returncode == 5 and log.read_text().strip().endswith("python spec=alive")


def test_python_failure_with_a_speculative_compile_fails_open(monkeypatch, capsys):
    """An internal error in Python while the launcher's compile runs: that compile is the
    answer (status 213), with a line saying so; without one the error propagates."""
    from toolexec_rehab import shim
    from toolexec_rehab.toolexec import runner, wrap

    def boom(argv, runner=None):
        raise OSError("disk on fire")

    monkeypatch.setattr(wrap, "run_compile", boom)
    monkeypatch.setenv("REHAB_SERVER", "off")
    tool = compile_tool()
    monkeypatch.setenv("REHAB_SPEC", "999999999")
    assert shim.main(["toolexec-rehab", tool, "-o", "/nonexistent/b001/_pkg_.a", "x.go"]) == runner.SPEC_RC
    assert "internal error, compiled as written: OSError: disk on fire" in capsys.readouterr().err
    monkeypatch.delenv("REHAB_SPEC", raising=False)
    with pytest.raises(OSError):  # no speculative compile: nothing can answer for us
        shim.main(["toolexec-rehab", tool, "-o", "/nonexistent/b001/_pkg_.a", "x.go"])


def test_launcher_speculation_passes_on_a_signal(sandbox):
    s = sandbox
    run = _spec_sandbox(s, "exit 213\n", 'kill -TERM $$\nsleep 5\n')
    r = run(*_compile(s, s.user))
    assert r.returncode == -15, r


def test_kill_sh_spec_stops_a_sibling_only(tmp_path):
    """Runner.kill_spec: SIGKILL to the launcher's compile (our sibling) and wait until it is
    gone; a pid that is not a sibling (reaped and reused) is left alone."""
    import sys

    code = ("import os, sys, time; from toolexec_rehab.toolexec.runner import Runner\n"
            "sib, other = int(sys.argv[1]), int(sys.argv[2])\n"
            "r = Runner(other); r.kill_spec(); assert r.spec_pid is None\n"
            "os.kill(other, 0)\n"  # still alive
            "r = Runner(sib); t = time.time(); r.kill_spec()\n"
            "try:\n    st = open(f'/proc/{sib}/stat').read().rsplit(')', 1)[1].split()[0]\n"
            "except FileNotFoundError:\n    st = 'gone'\n"  # the shell reaps it at once
            "print('state', st, round(time.time() - t, 1))\n")
    other = subprocess.Popen(["sleep", "30"])
    try:
        r = subprocess.run(["sh", "-c", f'sleep 30 & sib=$!; {sys.executable} -c "$0" "$sib" {other.pid}; '
                                        'rc=$?; wait "$sib"; echo "wait=$?"; exit $rc', code],
                           capture_output=True, text=True, timeout=20)
    finally:
        other.kill()
        other.wait()
    assert r.returncode == 0, r.stderr
    state, took = r.stdout.split()[1:3]
    assert state in ("Z", "gone") and float(took) < 5 and "wait=137" in r.stdout, r.stdout


def test_speculated_compile_errors_appear_once(tmp_path):
    """A package with no finding that does not compile: the speculative compile's error is the
    build's, once, and the build fails; a package with a fix still gets it (the speculative
    compile is stopped before the rewritten files are compiled to the same -o)."""
    (tmp_path / "go.mod").write_text("module example.com/spec\n\ngo 1.22\n")
    nonce = os.urandom(6).hex()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.go").write_text(f"package bad\n\n// {nonce}\nvar X int = \"no\"\n")
    env = go_env(GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1", XDG_CACHE_HOME=str(tmp_path / "xdg"))
    r = subprocess.run(["go", "build", "./bad"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and r.stderr.count("cannot use \"no\"") == 1, r.stderr
    (tmp_path / "leak").mkdir()
    from helpers import LEAKY

    (tmp_path / "leak" / "p.go").write_text(LEAKY + f"\n// {nonce}\n")
    r = subprocess.run(["go", "build", "./leak"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "REHAB: patched file-not-closed" in r.stderr, r.stderr


# ------------------------------------------------------------------ compiled-rule cache

def test_rule_cache_round_trip_and_invalidation(tmp_path, monkeypatch):
    from toolexec_rehab.paths import builtin_dirs
    from toolexec_rehab.rules import loader

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("REHAB_RULE_CACHE", raising=False)
    pat, tpl = builtin_dirs()
    rules = tmp_path / "patterns"
    shutil.copytree(pat, rules)
    first = loader.load_dir(str(rules), tpl)
    pickles = list((tmp_path / "cache" / "toolexec-rehab" / "rules").glob("*.pickle"))
    assert len(pickles) == 1 and pickles[0].stat().st_mode & 0o077 == 0
    again = loader.load_dir(str(rules), tpl)
    assert [r.rule for r in again] == [r.rule for r in first]
    assert [[(n, p) for n, p, _ in r.conditions] for r in again] == [[(n, p) for n, p, _ in r.conditions]
                                                                      for r in first]
    # an edited rule is a new key: the edit is seen
    y = rules / "file-not-closed.yaml"
    y.write_text(y.read_text().replace("severity: warning", "severity: error"))
    edited = {r.id: r for r in loader.load_dir(str(rules), tpl)}
    assert edited["file-not-closed"].rule.severity == "error"
    assert len(list(pickles[0].parent.glob("*.pickle"))) == 2
    # a broken rule is an error, cache or not
    y.write_text("id: file-not-closed\nsummary: [\n")
    with pytest.raises(loader.RuleError, match=r"file-not-closed.yaml:\d+: invalid YAML"):
        loader.load_dir(str(rules), tpl)
    # a corrupt cache entry is ignored
    for p in pickles[0].parent.glob("*.pickle"):
        p.write_bytes(b"not a pickle")
    y.unlink()
    assert {r.id for r in loader.load_dir(str(rules), tpl)} == {r.id for r in first} - {"file-not-closed"}


def test_string_rendering_without_jinja_matches_jinja():
    from toolexec_rehab.rewrite.render import _string_template, _substitute, render_string

    cases = [("{{ var }}.Body", {"var": "resp"}), ("{{handle}} from {{ callee_text }} leaks", {"handle": "r",
             "callee_text": "db.Query"}), ("{{ var }}", {"var": None}), ("{% if x %}a{% endif %}", {"x": 1}),
             ("{{ a|upper }}", {"a": "q"}), ("lit }} {{ a }}", {"a": "b"}), ("{{ a }}\n", {"a": "b"}),
             ("x\\1{{ a }}", {"a": "\\2"}), ("{{ a }}{# c #}", {"a": "b"}),
             ("{{ a | join(', ') }}", {"a": ["x", 1]}), ("{{a|join('-')}}!", {"a": []}),
             ("{% if a %}({{ b }}){% endif %}", {"a": 0}), ("{% if a %}({{ b }}){% endif %}", {"a": [1], "b": "q"}),
             ("{% if a %}x{% else %}y{% endif %}", {"a": 1}), ("{%- if a %}x{% endif %}", {"a": 1}),
             ("{% if a %}{% if b %}x{% endif %}{% endif %}", {"a": 1, "b": 1}), ("{{ a|join(x) }}", {"a": [], "x": ""})]
    for src, ctx in cases:
        assert render_string(src, ctx) == _string_template(src).render(**ctx), src
    assert _substitute("{{ var }}.Body", {"var": "resp"}) == "resp.Body"
    assert _substitute("{{ a|upper }}", {"a": "q"}) is None and _substitute("{{ var }}", {"var": None}) is None
    assert _substitute("{% if a %}x{% endif %}", {}) is None  # undefined: Jinja's StrictUndefined says so


def test_shipped_messages_render_without_jinja():
    """Every rule message renders on the fast path (no jinja2 import for `check`), exactly as
    Jinja renders it."""
    from toolexec_rehab.rewrite.render import _string_template, _substitute
    from toolexec_rehab.rules.loader import all_rules

    ctxs = [{"leak_lines": []}, {"leak_lines": [12]}, {"leak_lines": [3, 40]}]
    for r in all_rules():
        names = {"var": "v", "handle": "rows", "err": "err", "callee": "database/sql.DB.Query",
                 "callee_text": "db.Query", "type": "*sql.Rows", "deferred": "rows.Close()", "loop": False,
                 "release": "Close"}
        for extra in ctxs:
            ctx = {**names, **extra}
            fast = _substitute(r.rule.message, ctx)
            assert fast is not None and fast == _string_template(r.rule.message).render(**ctx), r.id


def test_cached_rules_need_neither_pydantic_nor_jinja(tmp_path):
    """A process that reads the compiled rules from the cache and analyzes a leak-free package
    imports neither pydantic (the models are frozen plain objects) nor jinja2."""
    import sys

    (tmp_path / "go.mod").write_text("module example.com/q\n\ngo 1.22\n")
    (tmp_path / "q.go").write_text("package q\n\nimport \"os\"\n\nfunc F() { os.Remove(\"x\") }\n")
    code = ("import sys; from toolexec_rehab import pipeline\n"
            "run = pipeline.analyze(['./...'])\n"
            "print(len(run.findings), 'pydantic' in sys.modules, 'jinja2' in sys.modules)\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    first = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert first.stdout.split()[:2] == ["1", "True"], first  # validated from the YAML: pydantic
    assert second.stdout.split() == ["1", "False", "False"], second
    from toolexec_rehab.rules.loader import all_rules

    r = all_rules()[0]
    with pytest.raises(AttributeError):
        r.rule.id = "x"


def test_check_in_two_processes_says_the_same(tmp_path):
    """`check` splits a large input between itself and a forked helper: the same findings,
    ids and fixes as one process, and the same when the helper fails."""
    import json
    import sys

    from helpers import LEAKY

    (tmp_path / "go.mod").write_text("module example.com/big\n\ngo 1.22\n")
    filler = "".join(f"\nfunc Pad{i}(s string) int {{ return len(s) + {i} }}\n" for i in range(400))
    for d in range(3):
        pkg = tmp_path / f"p{d}"
        pkg.mkdir()
        for k in range(6):
            body = LEAKY.replace("func Read(", f"func Read{k}(").replace("package p", f"package p{d}")
            if k:
                body = body.replace('import (\n\t"io"\n\t"os"\n)\n', 'import (\n\t"io"\n\t"os"\n)\n' + filler)
            (pkg / f"f{k}.go").write_text(body)
    assert sum(p.stat().st_size for p in tmp_path.rglob("*.go")) > 192 * 1024
    # (no result cache: an earlier run at the same temp path would give the findings without
    # any analysis, and this test is about the analysis in two processes)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REHAB_")}, "REHAB_RESULT_CACHE": "off"}
    outs = {}
    # failing: the helper exits at once; lost: it takes its files, analyzes them and loses the
    # results (the parent must analyze every file the helper took)
    for mode, extra in (("one", {"REHAB_JOBS": "1"}), ("two", {}), ("failing", {"REHAB_TEST_HELPER_FAIL": "1"}),
                        ("lost", {"REHAB_TEST_HELPER_FAIL": "lost"})):
        code = ("import os, sys\nfrom toolexec_rehab import parallel\n"
                "work = parallel.Helper._work\n"
                "if os.environ.get('REHAB_TEST_HELPER_FAIL') == '1':\n"
                "    parallel.Helper._work = staticmethod(lambda *a: os._exit(3))\n"
                "if os.environ.get('REHAB_TEST_HELPER_FAIL') == 'lost':\n"
                "    parallel.Helper._work = staticmethod(lambda w, *a: work(os.open(os.devnull, os.O_WRONLY), *a))\n"
                "used = []\norig = parallel.Helper.start.__func__\n"
                "parallel.Helper.start = classmethod(lambda c, *a: used.append(orig(c, *a)) or used[-1])\n"
                "from toolexec_rehab.cli import main\nrc = main(['check', '--format', 'json', './...'])\n"
                "print('HELPER', bool(used and used[0]), file=sys.stderr)\nsys.exit(rc)\n")
        r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**env, **extra}, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 1, r.stderr
        assert f"HELPER {mode != 'one'}" in r.stderr, (mode, r.stderr[-300:])
        outs[mode] = json.loads(r.stdout)
    assert len(outs["one"]) == 18 and outs["one"] == outs["two"] == outs["failing"] == outs["lost"]


# ------------------------------------------------------------------ compile server

def test_compile_server_gives_the_same_build(tmp_path):
    """Three builds of a leaky program: server off, first with the server on (starts it, compiles
    here), then served. Same patches, same program behaviour, and the server really served."""
    gocache = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "go.mod").write_text("module example.com/srv\n\ngo 1.22\n")
    src = tmp_path / "main.go"
    body = ('package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n'
            '\tf, err := os.Open(os.Args[0])\n\tif err != nil {\n\t\treturn\n\t}\n'
            '\tb := make([]byte, 4)\n\tf.Read(b)\n\tfmt.Println(b)\n}\n')
    cache = tmp_path / "xdg"
    outs = []
    nonce = os.urandom(8).hex()  # also new against an earlier run at the same temp path (a shared GOCACHE)
    for i, server in enumerate(("off", "on", "on", "on")):
        src.write_text(body + f"\n// build {i} {nonce}\n")  # new content: the package really recompiles
        env = go_env(GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1", GOCACHE=gocache, XDG_CACHE_HOME=str(cache),
                     REHAB_SERVER=server, REHAB_SERVER_IDLE="20", REHAB_SERVER_TRACE=str(tmp_path / f"trace{i}"))
        r = subprocess.run(["go", "build", "-o", str(tmp_path / f"bin{i}"), "."], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        outs.append([x for x in r.stderr.splitlines() if x.startswith("REHAB:")])
        if server == "on" and i == 1:
            import time

            time.sleep(3)  # the server starts in the background
    assert outs[0] and outs[0] == outs[1] == outs[2] == outs[3], outs
    served = [(tmp_path / f"trace{i}").read_text() if (tmp_path / f"trace{i}").exists() else "" for i in range(4)]
    assert not served[0] and "served example.com/srv" in served[2] + served[3], served
    for i in range(4):
        p = subprocess.run([str(tmp_path / f"bin{i}")], capture_output=True, text=True)
        assert p.returncode == 0 and p.stdout.startswith("[")


def test_served_rebuild_parses_only_the_edited_file(tmp_path):
    """Between builds the server parses the files its requests loaded; a rebuild after an
    edit of one file of a three-file package parses that file only (and patches the same)."""
    import time

    gocache = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "go.mod").write_text("module example.com/warm\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text('package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n'
                                      '\tf, err := os.Open(os.Args[0])\n\tif err != nil {\n\t\treturn\n\t}\n'
                                      '\tb := make([]byte, 4)\n\tf.Read(b)\n\tfmt.Println(b, a(), c())\n}\n')
    (tmp_path / "a.go").write_text("package main\n\nfunc a() int { return 1 }\n")
    (tmp_path / "c.go").write_text("package main\n\nfunc c() int { return 2 }\n")
    nonce = os.urandom(8).hex()
    logs, traces = [], []
    for i in range(3):
        with open(tmp_path / "a.go", "a") as fh:
            fh.write(f"\n// build {i} {nonce}\n")  # new content: the package really recompiles
        trace = tmp_path / f"trace{i}"
        env = go_env(GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1", GOCACHE=gocache,
                     XDG_CACHE_HOME=str(tmp_path / "xdg"), REHAB_SERVER="on", REHAB_SERVER_IDLE="20",
                     REHAB_SERVER_TRACE=str(trace))
        r = subprocess.run(["go", "build", "-o", str(tmp_path / "bin"), "."], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        logs.append([x for x in r.stderr.splitlines() if x.startswith("REHAB: patched")])
        traces.append(trace.read_text() if trace.exists() else "")
        time.sleep(3)  # the server starts (first build), then warms its trees when idle
    assert logs[0] and logs[0] == logs[1] == logs[2], logs
    assert "served example.com/warm parsed=1" in traces[2], traces


def test_warm_parses_once_and_reuses_only_identical_bytes(tmp_path):
    from toolexec_rehab.golang import declsum, package

    p = tmp_path / "x.go"
    p.write_text("package x\n\nfunc F() {}\n")
    assert declsum.warm([str(p), str(tmp_path / "missing.go")]) == 1
    before = package.PARSES
    assert package.load_file(str(p)).tree is package.load_file(str(p)).tree and package.PARSES == before
    p.write_text("package x\n\nfunc G() {}\n")
    assert "G" in package.load_file(str(p)).pkgname + package.load_file(str(p)).src.decode()
    assert package.PARSES == before + 1


def test_bare_tool_names_are_run_and_commands_are_ours(sandbox, tmp_path):
    """cmd/go sends `gcc -### -x c -c -` through -toolexec: the launcher and the Python entry
    run the program; our own command names always reach the CLI, even if PATH has them."""
    import argparse

    from toolexec_rehab.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    path = tmp_path / "path"
    path.mkdir()
    for name in [*sub.choices, "fakecc"]:
        (path / name).write_text(f"#!/bin/sh\necho TOOL {name}\n")
        (path / name).chmod(0o755)
    env = {"PATH": f"{path}:{os.environ['PATH']}"}
    assert sandbox.run("fakecc", "-###", "-x", "c", **env) == "TOOL"
    for name in sub.choices:
        assert sandbox.run(name, **env) == "PYTHON", name
    assert sandbox.run("nosuchprogram-xyz", **env) == "PYTHON"
    # the Python entry point decides the same way
    r = subprocess.run([str(BIN.parent / "toolexec-rehab-py"), "fakecc", "-###"], capture_output=True, text=True,
                       env={**os.environ, **env})
    assert r.stdout.strip() == "TOOL fakecc", r
    # the three lists of our command names are the same: the parser's, the Python entry's
    # (shim.COMMANDS, which does not build the parser) and the launcher's case pattern
    from toolexec_rehab import shim
    from toolexec_rehab.cli import _COMMANDS

    assert shim.COMMANDS == {*sub.choices, "help"} == {*_COMMANDS, "help"}
    launcher = (Path(__file__).parent.parent / "launcher" / "toolexec-rehab").read_text()
    case = re.search(r"^'' \| -\* \| \*\.cfg \| \*/\* \| ([a-z| ]+)\) py", launcher, re.M)
    assert case and set(case.group(1).split(" | ")) == shim.COMMANDS


def test_vfull_answer_from_the_launcher_cache_tracks_every_input(tmp_path):
    """`compile -V=full` answered by the sh launcher (from what the server stored) must equal
    the answer computed from scratch after any change of the inputs of our cache-key suffix."""
    import time

    from helpers import compile_tool

    if not (BIN.exists() and BIN.read_bytes().startswith(b"#!/bin/sh")):
        pytest.skip("the installed toolexec-rehab is not the sh launcher")
    tool = compile_tool()
    rules = tmp_path / "myrules"
    (rules / "templates").mkdir(parents=True)
    from toolexec_rehab.paths import builtin_dirs

    pat, tpl = builtin_dirs()
    y = (Path(pat) / "file-not-closed.yaml").read_text().replace("id: file-not-closed", "id: my-rule")
    y = y.replace("- acquires: {}", "- acquires: {resources: [os-file]}")
    (rules / "my-rule.yaml").write_text(y.replace("file-not-closed.go.j2", "my-rule.go.j2"))
    shutil.copy(Path(tpl) / "file-not-closed.go.j2", rules / "templates" / "my-rule.go.j2")
    cache = tmp_path / "xdg"
    base = {**os.environ, "XDG_CACHE_HOME": str(cache), "REHAB_SERVER_IDLE": "20",
            "REHAB_RULE_DIRS": str(rules)}
    base = {k: v for k, v in base.items() if k != "GOFLAGS"}

    def vfull(**env):
        r = subprocess.run([str(BIN), tool, "-V=full"], capture_output=True, text=True, env={**base, **env},
                           cwd=tmp_path, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def fresh(**env):
        return vfull(REHAB_SERVER="off", **env)

    def cached(**env):
        """Ask until the launcher answers from the cache (the server starts in the background)."""
        cf = cache / "toolexec-rehab" / "vfull.cache"
        for _ in range(100):
            before = cf.read_bytes() if cf.exists() else None
            out = vfull(**env)
            if before is not None and cf.exists() and cf.read_bytes() == before and before.endswith(out.encode()):
                return out
            time.sleep(0.1)
        raise AssertionError("the launcher never answered from its cache")

    assert cached() == fresh()
    # a rule file's content changes, its mtime is put back: still seen
    f = rules / "my-rule.yaml"
    st = f.stat()
    f.write_text(f.read_text().replace("severity: warning", "severity: error"))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fresh() != fresh(REHAB_RULES="my-rule")  # the env is part of the answer
    assert vfull() == fresh()
    assert cached() == fresh()
    # a file added to a rule directory
    (rules / "templates" / "extra.go.j2").write_text("x")
    assert vfull() == fresh()
    # an environment variable
    assert cached(REHAB_MODES="my-rule=report") == fresh(REHAB_MODES="my-rule=report") != fresh()
    # a config file appearing at the module root
    (tmp_path / "go.mod").write_text("module example.com/v\n\ngo 1.22\n")
    without = cached()
    assert without == fresh()
    (tmp_path / ".rehab.yaml").write_text("rules:\n  my-rule: report\n")
    assert vfull() == fresh() != without
    assert cached() == fresh()
    # another install (a launcher in another directory, here with a Python entry that only
    # says so) never takes this install's answer: its code and rules may be other ones
    other = tmp_path / "other-install"
    other.mkdir()
    shutil.copy(BIN, other / "toolexec-rehab")
    (other / "toolexec-rehab-py").write_text("#!/bin/sh\necho OTHER-PYTHON\n")
    (other / "toolexec-rehab-py").chmod(0o755)
    r = subprocess.run([str(other / "toolexec-rehab"), tool, "-V=full"], capture_output=True, text=True,
                       env=base, cwd=tmp_path, timeout=60)
    assert r.stdout == "OTHER-PYTHON\n", r
    assert cached() == fresh()  # and this one still answers from its entry


def test_check_served_by_the_server_says_the_same(tmp_path):
    """`check` from a non-terminal goes to the compile server: same output, same exit code."""
    import time

    (tmp_path / "go.mod").write_text("module example.com/chk\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text('package main\n\nimport "os"\n\nfunc main() {\n'
                                      '\tf, err := os.Open("x")\n\tif err != nil {\n\t\treturn\n\t}\n'
                                      '\tb := make([]byte, 4)\n\tf.Read(b)\n}\n')
    trace = tmp_path / "trace"
    env = {**os.environ, "REHAB_SERVER_IDLE": "20", "REHAB_SERVER_TRACE": str(trace)}

    def check(*args, **extra):
        r = subprocess.run([str(BIN), "check", *args], cwd=tmp_path, capture_output=True, text=True,
                           env={**env, **extra}, timeout=120)
        return r.returncode, r.stdout, r.stderr

    local = check("--format", "json", ".", REHAB_SERVER="off")
    assert local[0] == 1 and "file-not-closed" in local[1]
    check(".")  # starts the server if none runs
    time.sleep(3)
    for _ in range(2):
        assert check("--format", "json", ".") == local
    assert check("--rules", "nosuch", ".")[0] == 2
    assert "served" in trace.read_text()
