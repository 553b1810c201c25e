"""End to end: a real HTTP service that leaks, built plain and through the shim.

go_fixtures/leakysvc is built twice (plain and with -toolexec=toolexec-rehab)
and run against a real PostgreSQL server and a real backend over loopback.
The plain build must visibly leak (pool exhausted, stranded connections and
goroutines, open descriptors); the rehab build must not. The fixture's source
tree must be byte-identical afterwards.

The service runs with GOGC=off so that leaked *os.File values are not
finalized by a collection during the measurement.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

N = 20  # requests per leaking endpoint
MAX_OPEN_CONNS = 3  # db.SetMaxOpenConns in go_fixtures/leakysvc/internal/store
REQUEST_TIMEOUT = 5.0
LEAKING = ("/users", "/proxy", "/file")
SEED_USERS = 5
BACKEND_BODY_HEAD = b"0123456789abcdef"


# --------------------------------------------------------------------------
# processes and HTTP


@dataclasses.dataclass
class Proc:
    popen: subprocess.Popen
    addr: str
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@contextlib.contextmanager
def spawn(argv: list[str], workdir: Path, name: str, env: dict | None = None) -> Iterator[Proc]:
    """Start argv, wait for its "listening HOST:PORT" line, and always kill it."""
    out, log = workdir / f"{name}.stdout", workdir / f"{name}.stderr"
    print(f"$ {' '.join(argv)}", flush=True)
    with open(out, "wb") as fout, open(log, "wb") as ferr:
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fout, stderr=ferr,
                                 env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + 20
        addr = None
        while addr is None:
            m = re.match(r"listening (\S+)\n", out.read_text())
            if m:
                addr = m[1]
            elif popen.poll() is not None:
                raise AssertionError(f"{name} exited with {popen.returncode} before listening:\n"
                                     f"{log.read_text(errors='replace')}")
            elif time.monotonic() > deadline:
                raise AssertionError(f"{name} did not print its address within 20s:\n"
                                     f"{log.read_text(errors='replace')}")
            else:
                time.sleep(0.02)
        yield Proc(popen, addr, log)
    finally:
        if popen.poll() is None:
            popen.kill()
        popen.wait(timeout=10)


def get(url: str) -> tuple[int | None, bytes]:
    """(status, body); status None when the request failed below HTTP."""
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return None, str(exc).encode()


def stats(base: str) -> dict:
    status, body = get(base + "/debug/stats")
    assert status == 200, (status, body)
    return json.loads(body)


def settled_stats(base: str, limit: float = 3.0) -> dict:
    """Stats once two snapshots 50ms apart agree (connections wind down asynchronously)."""
    deadline = time.monotonic() + limit
    prev = stats(base)
    while time.monotonic() < deadline:
        time.sleep(0.05)
        cur = stats(base)
        if cur == prev:
            return cur
        prev = cur
    return prev


# --------------------------------------------------------------------------
# the scenario


@dataclasses.dataclass
class Outcome:
    mode: str
    baseline: dict
    after: dict[str, dict]  # endpoint -> settled stats after its N requests
    failures: dict[str, int]  # endpoint -> non-200 responses
    statuses: dict[str, dict]  # endpoint -> {status: count}
    bad_bodies: dict[str, int]  # endpoint -> 200 responses with an unexpected body
    all_users_before: tuple[int | None, bytes]
    all_users_after: tuple[int | None, bytes]

    def delta(self, endpoint: str, key: str) -> int:
        order = ["baseline", *LEAKING]
        prev = order[order.index(endpoint) - 1]
        before = self.baseline if prev == "baseline" else self.after[prev]
        return self.after[endpoint][key] - before[key]

    @property
    def final(self) -> dict:
        return self.after[LEAKING[-1]]


def check_body(endpoint: str, body: bytes) -> bool:
    if endpoint == "/users":
        return re.fullmatch(rb"1 \w+\n", body) is not None
    if endpoint == "/proxy":
        return body == BACKEND_BODY_HEAD
    return body.startswith(b"leakysvc data file")


def run_scenario(go, mode: str, src: Path, workdir: Path, dsn: str) -> Outcome:
    bindir = workdir / "bin"
    go.run(["build", "-o", f"{bindir}/", "./cmd/leakysvc", "./cmd/backend"], cwd=src, mode=mode)
    datafile = workdir / "data.txt"
    datafile.write_text("leakysvc data file\n" + "x" * 4096 + "\n")

    with spawn([str(bindir / "backend"), "-addr", "127.0.0.1:0"], workdir, "backend") as backend, \
         spawn([str(bindir / "leakysvc"), "-addr", "127.0.0.1:0", "-dsn", dsn,
                "-backend", f"http://{backend.addr}", "-datafile", str(datafile)],
               workdir, "leakysvc", env={"GOGC": "off"}) as svc:
        base = f"http://{svc.addr}"
        try:
            all_before = get(base + "/users/all")
            baseline = settled_stats(base)
            after, failures, statuses, bad = {}, {}, {}, {}
            for endpoint in LEAKING:
                counts: dict = {}
                nbad = 0
                for _ in range(N):
                    status, body = get(base + endpoint)
                    counts[status] = counts.get(status, 0) + 1
                    if status == 200 and not check_body(endpoint, body):
                        nbad += 1
                statuses[endpoint] = counts
                failures[endpoint] = N - counts.get(200, 0)
                bad[endpoint] = nbad
                after[endpoint] = settled_stats(base)
            all_after = get(base + "/users/all")
        except BaseException:
            print(f"--- leakysvc log ---\n{svc.tail()}\n--- backend log ---\n{backend.tail()}")
            raise
        assert svc.popen.poll() is None, f"leakysvc died:\n{svc.tail()}"
    return Outcome(mode, baseline, after, failures, statuses, bad, all_before, all_after)


def table(outcomes: list[Outcome]) -> str:
    rows = [("build", "phase", "failures", "db_in_use", "db_open", "goroutines", "open_fds")]
    for o in outcomes:
        b = o.baseline
        rows.append((o.mode, "baseline", "-", b["db_in_use"], b["db_open"], b["goroutines"], b["open_fds"]))
        for ep in LEAKING:
            s = o.after[ep]
            rows.append((o.mode, f"after {N}x {ep}", o.failures[ep], s["db_in_use"], s["db_open"],
                         f"{s['goroutines']} ({o.delta(ep, 'goroutines'):+d})",
                         f"{s['open_fds']} ({o.delta(ep, 'open_fds'):+d})"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def leakysvc_src(sources) -> Iterator[tuple[Path, dict]]:
    """The in-repo fixture and its digest, taken before anything is built."""
    src = sources.fixtures / "leakysvc"
    yield src, sources.digest(src)


@pytest.fixture(scope="module")
def scenario(go, postgres, leakysvc_src, tmp_path_factory):
    """scenario(mode) -> Outcome, run at most once per mode."""
    src, _ = leakysvc_src
    cache: dict[str, Outcome] = {}

    def get_outcome(mode: str) -> Outcome:
        if mode not in cache:
            cache[mode] = run_scenario(go, mode, src, tmp_path_factory.mktemp(f"leakysvc-{mode}"), postgres.dsn)
        return cache[mode]

    return get_outcome


def report(capsys, text: str) -> None:
    with capsys.disabled():
        print("\n" + text, flush=True)


# --------------------------------------------------------------------------
# tests


def test_plain_build_leaks(scenario, capsys):
    o = scenario("plain")
    report(capsys, "leakysvc, plain build:\n" + table([o]))

    # The correct handler works while the pool is healthy.
    status, body = o.all_users_before
    assert status == 200 and body.count(b"\n") == SEED_USERS, o.all_users_before

    # /users pins one pooled connection per request: after MAX_OPEN_CONNS
    # requests the pool is exhausted and every further request gets 503.
    assert o.after["/users"]["db_in_use"] == MAX_OPEN_CONNS, o.after
    assert o.failures["/users"] >= N - MAX_OPEN_CONNS, o.statuses
    assert set(o.statuses["/users"]) <= {200, 503}, o.statuses
    # ...which now also takes the correct handler down.
    assert o.all_users_after[0] == 503, o.all_users_after

    # /proxy strands a keep-alive connection (readLoop + writeLoop) per call.
    assert o.failures["/proxy"] == 0, o.statuses
    assert o.delta("/proxy", "goroutines") >= N // 2, table([o])
    assert o.delta("/proxy", "open_fds") >= N // 2, table([o])

    # /file keeps every descriptor open (no GC runs: GOGC=off).
    assert o.failures["/file"] == 0, o.statuses
    assert o.delta("/file", "open_fds") >= N // 2, table([o])
    assert not any(o.bad_bodies.values()), o.bad_bodies


def test_rehab_build_does_not_leak(scenario, rehab_bin, capsys):
    o = scenario("rehab")
    plain = scenario("plain")
    report(capsys, "leakysvc, plain vs rehab build:\n" + table([plain, o]))

    assert o.failures == {ep: 0 for ep in LEAKING}, o.statuses
    assert not any(o.bad_bodies.values()), o.bad_bodies
    for ep in LEAKING:
        assert o.after[ep]["db_in_use"] == 0, (ep, o.after)
    # The already-correct handler keeps working, before and after the load.
    for status, body in (o.all_users_before, o.all_users_after):
        assert status == 200 and body.count(b"\n") == SEED_USERS, (status, body)

    b, f = o.baseline, o.final
    assert f["goroutines"] - b["goroutines"] <= 3, table([o])
    # Idle pool connections (at most MAX_OPEN_CONNS) may legitimately stay open.
    idle_growth = max(0, f["db_open"] - b["db_open"])
    assert f["open_fds"] - b["open_fds"] <= idle_growth + 3, table([o])


def test_rehab_build_leaves_source_untouched(scenario, rehab_bin, leakysvc_src, sources):
    scenario("rehab")  # make sure the rehab build has happened
    src, before = leakysvc_src
    diff = sources.diff(before, sources.digest(src))
    assert not diff, f"toolexec-rehab modified the user's source tree: {diff}"
