"""End to end: leaks of resources whose types come from dependencies, against a real PostgreSQL.

go_fixtures/depsvc is built twice with `go build -o` (plain, and through the shim with
GOFLAGS=-toolexec=toolexec-rehab REHAB_VERBOSE=1) and both binaries run against the
session's PostgreSQL server. Each scenario of cmd/depsvc calls one leaking function of
internal/store (marked `// LEAK(<rule>)`) on a pool of one connection and prints

    <scenario> <result> | <leak figures>

The figures are what the leak leaves behind once the function has returned: the pool's
connections still in use (database/sql InUse, pgxpool AcquiredConns) and whether the next
query on that pool gets a connection (`ok`) or waits until its context times out (`timeout`):

* tx-not-finished: *sql.Tx from BeginTx, early return without Rollback (lib/pq and pgx's
  database/sql driver)
* resource-not-released: *pgxpool.Conn from pool.Acquire, never Released
* rows-not-closed: pgx.Rows (an interface, Close returns nothing) and *sqlx.Rows (embeds
  *sql.Rows), both returned from inside the rows loop

The plain build must show every leak, the rehab build none; everything left of " | " must be
the same, the build log must name every patch, and the fixture's source tree must be
byte-identical afterwards.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import time
from pathlib import Path

import pytest
from helpers import BIN, digest_diff, go_env, tree_digest

SRC = Path(__file__).resolve().parents[2] / "go_fixtures" / "depsvc"
SCENARIOS = {  # scenario -> (rule, the figure counting connections still out of the pool)
    "tx-early-return-lib-pq": ("tx-not-finished", "inuse"),
    "tx-early-return-pgx-stdlib": ("tx-not-finished", "inuse"),
    "pgxpool-conn-not-released": ("resource-not-released", "acquired"),
    "pgx-rows-early-return": ("rows-not-closed", "acquired"),
    "sqlx-rows-early-return": ("rows-not-closed", "inuse"),
}
PATCHED_RE = re.compile(r"^REHAB: patched (?P<rule>[a-z-]+) defer@ast-node-[0-9a-f]{16} (?P<file>\S+):(?P<line>\d+)\s*$",
                        re.M)
LEAK_MARK_RE = re.compile(r"//\s*LEAK\((?P<rule>[a-z-]+)\)")
LINE_RE = re.compile(r"^(?P<name>\S+) (?P<result>.+?) \| (?P<figures>.+)$")


@dataclasses.dataclass
class Run:
    mode: str
    build_log: str
    stdout: str

    @property
    def scenarios(self) -> dict[str, tuple[str, dict[str, str]]]:
        """scenario -> (result, {figure: value})"""
        out = {}
        for line in self.stdout.splitlines():
            m = LINE_RE.match(line)
            if m:
                figures = dict(kv.split("=", 1) for kv in m["figures"].split())
                out[m["name"]] = (m["result"], figures)
        return out

    @property
    def without_figures(self) -> list[str]:
        return [line.split(" | ", 1)[0] for line in self.stdout.splitlines()]


def build_and_run(mode: str, outdir: Path, dsn: str) -> Run:
    env = {k: v for k, v in go_env(GOWORK="off").items() if not k.startswith("REHAB_")}
    if mode == "rehab":
        env.update(GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1")
    exe = outdir / f"depsvc-{mode}"
    # -buildvcs=false: the fixture sits inside this repo's work tree, where VCS stamping can fail.
    cmd = ["go", "build", "-buildvcs=false", "-o", str(exe), "./cmd/depsvc"]
    t0 = time.monotonic()
    b = subprocess.run(cmd, cwd=SRC, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=600)
    print(f"[{mode}] go build: exit {b.returncode} in {time.monotonic() - t0:.1f}s", flush=True)
    assert b.returncode == 0, f"[{mode}] {' '.join(cmd)} failed:\n{b.stdout}\n{b.stderr}"
    r = subprocess.run([str(exe)], env={**go_env(), "DATABASE_URL": dsn}, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.endswith("done\n"), (
        f"[{mode}] depsvc exit {r.returncode}\n--- stdout ---\n{r.stdout}\n--- stderr ---\n{r.stderr}")
    return Run(mode, b.stdout + b.stderr, r.stdout)


@pytest.fixture(scope="module")
def runs(go, postgres, tmp_path_factory) -> dict:
    if not BIN.is_file():
        pytest.skip(f"toolexec-rehab console script not installed at {BIN}")
    before = tree_digest(SRC)
    outdir = tmp_path_factory.mktemp("depsvc")
    result = {mode: build_and_run(mode, outdir, postgres.dsn) for mode in ("plain", "rehab")}
    result["source_diff"] = digest_diff(before, tree_digest(SRC))
    return result


def show(capsys, runs) -> None:
    with capsys.disabled():
        for mode in ("plain", "rehab"):
            print(f"\ndepsvc, {mode} build:\n" + runs[mode].stdout.rstrip(), flush=True)


def test_plain_build_shows_every_leak(runs, capsys):
    plain = runs["plain"]
    show(capsys, runs)
    got = plain.scenarios
    assert set(got) == set(SCENARIOS), plain.stdout
    for name, (_, held) in SCENARIOS.items():
        _, figures = got[name]
        assert int(figures[held]) > 0, (name, plain.stdout)
        assert figures["next-query"] == "timeout", (name, plain.stdout)
    assert "REHAB:" not in plain.build_log, plain.build_log


def test_rehab_build_shows_no_leak(runs):
    rehab = runs["rehab"]
    got = rehab.scenarios
    assert set(got) == set(SCENARIOS), rehab.stdout
    for name, (_, held) in SCENARIOS.items():
        _, figures = got[name]
        assert int(figures[held]) == 0, (name, rehab.stdout)
        assert figures["next-query"] == "ok", (name, rehab.stdout)


def test_output_differs_only_in_leak_figures(runs):
    plain, rehab = runs["plain"], runs["rehab"]
    assert plain.without_figures == rehab.without_figures, (plain.stdout, rehab.stdout)
    assert {n: set(f) for n, (_, f) in plain.scenarios.items()} == {n: set(f) for n, (_, f) in rehab.scenarios.items()}


def test_rehab_build_log_names_each_patch(runs):
    log = runs["rehab"].build_log
    for rule in sorted({rule for rule, _ in SCENARIOS.values()}):
        assert f"patched {rule}" in log, (rule, log)
    # exactly the marked acquisitions of the scenarios file are patched there
    scen = SRC / "internal" / "store" / "scenarios.go"
    marked = sorted((m["rule"], i) for i, text in enumerate(scen.read_text().splitlines(), 1)
                    if (m := LEAK_MARK_RE.search(text)))
    assert len(marked) == len(SCENARIOS) - 1, marked  # the two tx scenarios share TxAnswer
    patched = sorted((m["rule"], int(m["line"])) for m in PATCHED_RE.finditer(log)
                     if m["file"].endswith("internal/store/scenarios.go"))
    assert patched == marked, log


def test_builds_leave_source_untouched(runs):
    assert runs["source_diff"] == [], f"building depsvc modified {SRC}: {runs['source_diff']}"
