"""The fast paths (issue 7): the sh launcher's decisions, the compiled-rule cache, Jinja-free
string rendering and the compile server. Speed itself is measured by `nox -s bench`, not here;
these tests check that the fast paths decide and compute exactly what the slow ones do."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import BIN, go_env

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

        def run(self, *args, cwd=None, **env):
            e = {k: v for k, v in os.environ.items() if not k.startswith(("REHAB_", "GO"))}
            e.update(GOPATH=str(tmp_path / "gopath"), HOME=str(tmp_path))
            e.update(env)
            r = subprocess.run([str(bindir / "toolexec-rehab"), *map(str, args)], capture_output=True, text=True,
                               env=e, cwd=cwd or user, timeout=30)
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
             ("x\\1{{ a }}", {"a": "\\2"}), ("{{ a }}{# c #}", {"a": "b"})]
    for src, ctx in cases:
        assert render_string(src, ctx) == _string_template(src).render(**ctx), src
    assert _substitute("{{ var }}.Body", {"var": "resp"}) == "resp.Body"
    assert _substitute("{{ a|upper }}", {"a": "q"}) is None and _substitute("{{ var }}", {"var": None}) is None


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
    assert fresh() != fresh(REHAB_RULES="x")  # the env is part of the answer
    assert vfull() == fresh()
    assert cached() == fresh()
    # a file added to a rule directory
    (rules / "templates" / "extra.go.j2").write_text("x")
    assert vfull() == fresh()
    # an environment variable
    assert cached(REHAB_MODES="my-rule=report") == fresh(REHAB_MODES="my-rule=report") != fresh()
    # a config file appearing above the working directory
    (tmp_path / ".rehab.yaml").write_text("rules:\n  my-rule: report\n")
    assert vfull() == fresh()
    assert cached() == fresh()


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
