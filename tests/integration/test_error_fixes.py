"""Error fixes never change control flow in a build (issue: safe fixes, item 7).

A program that drops errors on purpose - a schema migration whose first step fails on a
fresh database, a best-effort cleanup - is built plainly and through the shim with every
error rule in fix mode (unchecked-error=fix, error-wrap enabled). Both binaries print the
same and exit the same: the unchecked-error fix only records the dropped error (a stderr
line with REHAB_LOG_DROPPED=1, a count in `trace`), and error-wrap is never a build patch.
In the source the `return err` form is a suggestion: `fix --write` applies it only with
--suggestions.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

MIGRATE = """package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

var applied []string

// migrate fails on a fresh database (nothing to upgrade from): the caller drops
// that error on purpose and goes on to create the schema.
func migrate(step int) error {
	if step == 1 {
		return errors.New("schema_version does not exist")
	}
	applied = append(applied, "step"+strconv.Itoa(step))
	return nil
}

func cleanup(path string) error {
	return os.Remove(path)
}

func setup(tmp string) error {
	migrate(1)
	migrate(2)
	cleanup(tmp)
	applied = append(applied, "schema")
	return nil
}

func parse(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	return n, nil
}

func main() {
	if err := setup("/nonexistent/rehab-test"); err != nil {
		fmt.Println("setup failed:", err)
		os.Exit(1)
	}
	_, err := parse("x")
	var ne *strconv.NumError
	fmt.Println(applied, errors.As(err, &ne), err)
}
"""

DROPPED_RE = re.compile(r"^toolexec-rehab: dropped error \((ast-node-[0-9a-f]{16})\): (.*)$", re.M)


@pytest.fixture
def prog(tmp_path):
    src = tmp_path / "migrate"
    src.mkdir()
    (src / "go.mod").write_text("module example.com/migrate\n\ngo 1.22\n")
    (src / "main.go").write_text(MIGRATE)
    return src


ALL_FIX = {"REHAB_MODES": "unchecked-error=fix", "REHAB_RULES": "unchecked-error,error-wrap,file-not-closed",
           "REHAB_VERBOSE": "1"}


def test_a_build_records_dropped_errors_and_changes_nothing_else(go, rehab_bin, prog, tmp_path):
    plain = go.run(["build", "-o", str(tmp_path / "plain.bin"), "."], cwd=prog, mode="plain")
    assert plain.returncode == 0
    built = go.run(["build", "-o", str(tmp_path / "rehab.bin"), "."], cwd=prog, mode="rehab",
                   env={**ALL_FIX, "REHAB_LOG_DROPPED": "1"})
    patched = re.findall(r"^REHAB: patched (\S+) ", built.stderr, re.M)
    # the three dropped calls are recorded; error-wrap (return err from strconv.Atoi) is not a build patch
    assert sorted(patched) == ["unchecked-error"] * 3, built.stderr
    p = subprocess.run([str(tmp_path / "plain.bin")], capture_output=True, text=True, timeout=60)
    r = subprocess.run([str(tmp_path / "rehab.bin")], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (p.returncode, p.stdout) == (0, "[step2 schema] true strconv.Atoi: "
                                                                       "parsing \"x\": invalid syntax\n")
    assert p.stderr == ""
    got = DROPPED_RE.findall(r.stderr)
    assert [m for _, m in got] == ["schema_version does not exist",
                                   "remove /nonexistent/rehab-test: no such file or directory"], r.stderr
    # the ids are check's ids for those lines
    c = subprocess.run([str(rehab_bin), "check", "--format", "json", "."], cwd=prog, capture_output=True,
                       text=True, timeout=120)
    ids = {f["line"]: f["node_id"] for f in json.loads(c.stdout) if f["rule"] == "unchecked-error"}
    lines = MIGRATE.splitlines()
    want = [ids[lines.index("\tmigrate(1)") + 1], ids[lines.index("\tcleanup(tmp)") + 1]]
    assert [i for i, _ in got] == want
    # without REHAB_LOG_DROPPED: not a byte more on stderr
    go.run(["build", "-o", str(tmp_path / "quiet.bin"), "."], cwd=prog, mode="rehab", env=ALL_FIX)
    q = subprocess.run([str(tmp_path / "quiet.bin")], capture_output=True, text=True, timeout=60)
    assert (q.returncode, q.stdout, q.stderr) == (p.returncode, p.stdout, "")


def test_the_return_err_form_is_a_suggestion(rehab_bin, prog):
    env_extra = {"REHAB_MODES": "unchecked-error=fix"}
    import os

    env = {**os.environ, **env_extra}
    before = (prog / "main.go").read_text()
    d = subprocess.run([str(rehab_bin), "fix", "--diff", "."], cwd=prog, env=env, capture_output=True, text=True)
    assert d.returncode == 1 and "+\t\treturn err" in d.stdout, d.stdout + d.stderr
    w = subprocess.run([str(rehab_bin), "fix", "--write", "."], cwd=prog, env=env, capture_output=True, text=True)
    assert w.returncode == 0, w.stderr
    assert "3 suggestion(s) not applied" in w.stderr and "--suggestions" in w.stderr, w.stderr
    assert (prog / "main.go").read_text() == before
    j = subprocess.run([str(rehab_bin), "check", "--format", "json", "."], cwd=prog, env=env, capture_output=True,
                       text=True)
    assert {f["suggestion"] for f in json.loads(j.stdout) if f["rule"] == "unchecked-error"} == {True}
    w = subprocess.run([str(rehab_bin), "fix", "--write", "--suggestions", "."], cwd=prog, env=env,
                       capture_output=True, text=True)
    assert w.returncode == 0, w.stderr
    assert (prog / "main.go").read_text().count("return err") == 4  # parse's own, and three new


def test_trace_counts_dropped_errors(ebpf, go, rehab_bin, prog, tmp_path):
    go.run(["build", "-o", str(tmp_path / "rehab.bin"), "."], cwd=prog, mode="rehab", env=ALL_FIX)
    r = subprocess.run([str(rehab_bin), "trace", "--json", "-o", str(tmp_path / "t.json"), "--",
                        str(tmp_path / "rehab.bin")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr  # dropped errors are not leaks
    assert "[step2 schema] true" in r.stdout
    sites = {x["line"]: x for x in json.loads((tmp_path / "t.json").read_text())["sites"]}
    lines = MIGRATE.splitlines()
    assert {ln: s["dropped"] for ln, s in sites.items()} == {
        lines.index("\tmigrate(1)") + 1: 1, lines.index("\tmigrate(2)") + 1: 0, lines.index("\tcleanup(tmp)") + 1: 1}
