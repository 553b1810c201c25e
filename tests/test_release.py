"""A rule names its release (issue 16, item 6): the `resource` condition's `release` is
whatever method releases the value (Stop, Release, Rollback), the path analysis counts it,
and one finding inserts one release, also when a rule's template releases with a method
the analysis does not count (`fix` re-analyses its output up to four times)."""

import textwrap

import pytest
from helpers import rehab

RULE = """\
id: ticker-stopped
summary: A ticker that is never stopped keeps its timer alive.
rationale: A *time.Ticker that is not stopped is not collected until it is stopped.
severity: warning
mode: fix
changes_behavior: false
message: "{{ handle }} from {{ callee_text }} is not stopped on every path"
match:
  query: |
    (short_var_declaration right: (expression_list (call_expression) @call))
  conditions:
    - callee: {any_of: [time.NewTicker]}
    - resource: {type: "*time.Ticker", err_index: null%s}
    - leaks: {}
fix:
  template: ticker-stopped.go.j2
  placement: after-error-check
  effect: the ticker is stopped when the function returns
examples:
  - name: a ticker never stopped
    before: |
      t := time.NewTicker(time.Second)
      <-t.C
    after: |
      t := time.NewTicker(time.Second); defer t.Stop()
      <-t.C
"""

CODE = """\
package g

import "time"

func tick(n int) int {
	t := time.NewTicker(time.Millisecond)
	c := 0
	for range t.C {
		c++
		if c == n {
			return c
		}
	}
	return c
}

func stopped(n int) int {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	<-t.C
	return n
}

func main() { println(tick(3), stopped(1)) }
"""


def _setup(tmp_path, release: str):
    rules = tmp_path / "rules"
    (rules / "templates").mkdir(parents=True)
    (rules / "ticker-stopped.yaml").write_text(RULE % release)
    (rules / "templates" / "ticker-stopped.go.j2").write_text("; defer {{ handle }}.Stop()\n")
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module g\n\ngo 1.22\n")
    (mod / "main.go").write_text(CODE.replace("package g", "package main"))
    return rules, mod


@pytest.mark.parametrize("release", [", release: [Stop]", ""])
def test_one_finding_inserts_one_release(tmp_path, release):
    rules, mod = _setup(tmp_path, release)
    env = {"REHAB_RULE_DIRS": str(rules), "REHAB_SERVER": "off"}
    assert rehab("rules", "validate", str(rules)).returncode == 0
    check = rehab("check", "--rules", "ticker-stopped", ".", cwd=mod, env=env)
    found = [ln for ln in check.stdout.splitlines() if "(ticker-stopped)" in ln]
    # with `release: [Stop]` the deferred Stop of stopped() counts; without it, it does not
    assert [ln.split(":")[1] for ln in found] == (["6"] if release else ["6", "18"]), check.stdout
    diff = rehab("fix", "--diff", "--rules", "ticker-stopped", ".", cwd=mod, env=env).stdout
    added = [ln for ln in diff.splitlines() if ln.startswith("+\t")]
    assert added == ["+\tdefer t.Stop()"] * len(found), diff


def test_a_build_stops_the_ticker_once(tmp_path):
    """The same rule in a real build through the shim: one patch, and the program runs."""
    import subprocess

    from helpers import BIN, go_env

    rules, mod = _setup(tmp_path, ", release: [Stop]")
    env = go_env(GOFLAGS=f"-toolexec={BIN}", REHAB_RULE_DIRS=str(rules), REHAB_RULES="ticker-stopped",
                 REHAB_SERVER="off", REHAB_VERBOSE="1")
    r = subprocess.run(["go", "build", "-o", str(tmp_path / "bin"), "."], cwd=mod, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    patched = [ln for ln in r.stderr.splitlines() if ln.startswith("REHAB: patched")]
    assert len(patched) == 1 and "main.go:6" in patched[0], r.stderr
    out = subprocess.run([str(tmp_path / "bin")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "3 1", out
    assert textwrap.dedent(CODE).replace("package g", "package main") == (mod / "main.go").read_text()
