"""`fix --write` writes only into files the current build compiles (issue 16, item 5): a file
that GOOS/GOARCH/-tags exclude is checked but left as it is, and said; under the user's -tags
(GOFLAGS) a tagged file is fixed, and what is written compiles with those tags."""

import subprocess

from helpers import go_env, rehab

LEAK = """\
package g

import "os"

func {name}(p string) error {{
	f, err := os.Open(p)
	if err != nil {{
		return err
	}}
	_ = f
	return nil
}}
"""


def _module(tmp_path):
    (tmp_path / "go.mod").write_text("module g\n\ngo 1.22\n")
    (tmp_path / "a.go").write_text(LEAK.format(name="A"))
    (tmp_path / "b_windows.go").write_text(LEAK.format(name="B"))
    (tmp_path / "c.go").write_text("//go:build special\n\n" + LEAK.format(name="C"))
    return {p.name: p.read_bytes() for p in tmp_path.glob("*.go")}


def test_excluded_files_are_checked_not_written(tmp_path):
    before = _module(tmp_path)
    env = {"REHAB_SERVER": "off", "GOOS": "linux", "GOARCH": "amd64"}
    check = rehab("check", "a.go", "b_windows.go", "c.go", cwd=tmp_path, env=env)
    assert check.returncode == 1 and check.stdout.count("(file-not-closed)") == 3, check.stdout
    r = rehab("fix", "--write", "a.go", "b_windows.go", "c.go", cwd=tmp_path, env=env)
    assert r.returncode in (0, 1), r.stderr
    after = {p.name: p.read_bytes() for p in tmp_path.glob("*.go")}
    assert after["a.go"] != before["a.go"] and b"defer f.Close()" in after["a.go"]
    assert after["b_windows.go"] == before["b_windows.go"] and after["c.go"] == before["c.go"]
    for name in ("b_windows.go", "c.go"):
        assert f"{name}: not fixed: the build for linux/amd64 does not compile this file" in r.stderr, r.stderr


def test_the_users_tags_select_and_verify(tmp_path):
    before = _module(tmp_path)
    env = {"REHAB_SERVER": "off", "GOFLAGS": "-tags=special"}
    r = rehab("fix", "--write", "./...", cwd=tmp_path, env=env)
    assert r.returncode in (0, 1), r.stderr
    after = {p.name: p.read_bytes() for p in tmp_path.glob("*.go")}
    assert b"defer f.Close()" in after["c.go"] and b"defer f.Close()" in after["a.go"]
    assert after["b_windows.go"] == before["b_windows.go"]
    b = subprocess.run(["go", "vet", "-tags", "special", "./..."], cwd=tmp_path, env=go_env(), capture_output=True,
                       text=True, timeout=300)
    assert b.returncode == 0, b.stderr
