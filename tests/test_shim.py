"""The -toolexec entry point: passthrough, -V=full, argv model, fail-open."""

import os
import subprocess

from helpers import BIN, compile_tool, go_env, rehab, tree_digest

from toolexec_rehab.toolexec.compileargs import CompileArgs, write_response_file


def _gocache():
    return subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, check=True).stdout.strip()


def _real(tool, *args):
    return subprocess.run([tool, *args], capture_output=True, text=True).stdout


def test_version_full_has_suffix_that_tracks_config():
    tool = compile_tool()
    real = _real(tool, "-V=full").strip()
    a = rehab(tool, "-V=full").stdout.strip()
    b = rehab(tool, "-V=full").stdout.strip()
    c = rehab(tool, "-V=full", env={"REHAB_RULES": "rows-not-closed"}).stdout.strip()
    assert a.startswith(real + " rehab") and a == b
    assert c != a and c.startswith(real + " rehab")
    assert len(a.split()) == len(real.split()) + 1  # cmd/go keys on the whole line


def test_other_tools_pass_through_unchanged():
    asm = os.path.join(os.path.dirname(compile_tool()), "asm")
    r = rehab(asm, "-V=full")
    assert r.returncode == 0 and r.stdout == _real(asm, "-V=full")


def test_response_files_round_trip(tmp_path):
    args = ["-o", "/w/b001/_pkg_.a", "-p", "main", "-trimpath", "/w/b001=>", "-D", "weird\nvalue", "/src/a.go", "/src/b.go"]
    rsp = tmp_path / "args.rsp"
    write_response_file(str(rsp), args)
    ca = CompileArgs.parse(["/go/pkg/tool/linux_amd64/compile", "@" + str(rsp)])
    assert ca.response_file and ca.files == ["/src/a.go", "/src/b.go"]
    assert ca.flag_value("p") == "main" and ca.objdir == "/w/b001" and "weird\nvalue" in ca.flags
    assert ca.goroot == "/go"


def test_build_patches_and_never_touches_tree(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/t\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n'
        '\tf, err := os.Open(os.Args[0])\n\tif err != nil {\n\t\treturn\n\t}\n'
        '\tb := make([]byte, 4)\n\tf.Read(b)\n\tfmt.Println(b)\n'
        '\tif len(os.Args) > 1 {\n\t\tpanic("boom") // line 17\n\t}\n}\n')
    before = tree_digest(tmp_path)
    env = go_env(GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1")
    out = tmp_path.parent / (tmp_path.name + "-bin")
    r = subprocess.run(["go", "build", "-o", str(out), "."], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "REHAB: patched file-not-closed defer@ast-node-" in r.stderr
    assert " ./main.go:9\n" in r.stderr  # cmd/go shortens the package dir to ./
    p = subprocess.run([str(out), "x"], capture_output=True, text=True)
    assert f"{tmp_path}/main.go:17" in p.stderr, p.stderr
    assert tree_digest(tmp_path) == before
    # the same node ID as `check` gives for that line
    import json

    (fd,) = json.loads(rehab("check", "--rules", "file-not-closed", "--format", "json", ".", cwd=tmp_path).stdout)
    assert f"defer@{fd['node_id']} ./main.go:{fd['line']}" in r.stderr


def test_compiler_rejection_falls_back_to_originals(tmp_path):
    """A rule whose fix parses but does not compile: the build still passes, with the original code."""
    import shutil

    from toolexec_rehab.paths import builtin_dirs

    rules = tmp_path / "rules"
    (rules / "templates").mkdir(parents=True)
    pat, _ = builtin_dirs()
    y = open(os.path.join(pat, "file-not-closed.yaml")).read()
    y = y.replace("- acquires: {}", "- acquires: {resources: [os-file]}")
    y = y.replace("id: file-not-closed", "id: bad-fix").replace("file-not-closed.go.j2", "bad-fix.go.j2")
    (rules / "bad-fix.yaml").write_text(y)
    (rules / "templates" / "bad-fix.go.j2").write_text("; defer undefinedCloser({{ var }})")
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/bad\n\ngo 1.22\n")
    (mod / "main.go").write_text(
        'package main\n\nimport "os"\n\nfunc main() {\n\tf, err := os.Open(os.Args[0])\n'
        '\tif err != nil {\n\t\treturn\n\t}\n\tos.Stdout.WriteString(f.Name())\n}\n')
    cache = tmp_path / "xdg"
    env = go_env(GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1", REHAB_RULES="bad-fix",
                 REHAB_RULE_DIRS=str(rules), XDG_CACHE_HOME=str(cache), GOCACHE=_gocache())
    out = tmp_path / "bin"
    r = subprocess.run(["go", "build", "-o", str(out), "."], cwd=mod, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "REHAB: fallback example.com/bad: compiler rejected the rewritten files" in r.stderr
    assert "undefined: undefinedCloser" in (cache / "toolexec-rehab" / "rejections.log").read_text()
    p = subprocess.run([str(out)], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == str(out)
    shutil.rmtree(rules)
