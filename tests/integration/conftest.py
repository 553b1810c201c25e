"""Shared fixtures for the integration tests.

These tests drive the real Go toolchain (and, for the service test, a real
PostgreSQL server) against the modules in go_fixtures/. Each scenario runs
twice: "plain" (no -toolexec) and "rehab" (GOFLAGS=-toolexec=toolexec-rehab).
The plain halves need only Go; the rehab halves skip until the
toolexec-rehab console script is installed next to the running Python.

Helpers are handed to tests as fixtures (not imported), so the tests work
under any pytest import mode.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import pytest
from helpers import digest_diff, tree_digest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "go_fixtures"
MODES = ("plain", "rehab")
RULES = ("rows-not-closed", "body-not-closed", "file-not-closed")

# REHAB_VERBOSE=1 makes the shim print one such line per patch on stderr.
VERBOSE_RE = re.compile(
    r"^REHAB: patched (?P<rule>[a-z-]+) defer@ast-node-(?P<node>[0-9a-f]{16}) (?P<file>.+):(?P<line>\d+)\s*$",
    re.M,
)
# Fixtures mark each leaking acquisition with a trailing "// LEAK(<rule>)".
LEAK_MARK_RE = re.compile(r"//\s*LEAK\((?P<rule>[a-z-]+)\)")


# --------------------------------------------------------------------------
# toolexec-rehab


def rehab_path() -> Path:
    """Where the console script must be: next to the running interpreter."""
    return Path(sys.executable).parent / "toolexec-rehab"


@pytest.fixture(scope="session")
def rehab_bin() -> Path:
    path = rehab_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"toolexec-rehab console script not installed at {path} (pip install -e . into this venv)")
    if any(c.isspace() for c in str(path)):
        pytest.skip(f"GOFLAGS cannot carry a -toolexec path with whitespace: {path}")
    return path


@pytest.fixture(params=MODES)
def mode(request) -> str:
    """Parametrizes a test over plain and rehab builds; rehab skips if the tool is missing."""
    if request.param == "rehab":
        request.getfixturevalue("rehab_bin")
    return request.param


# --------------------------------------------------------------------------
# Go toolchain


@dataclasses.dataclass
class Result:
    cmd: list[str]
    cwd: Path
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"$ (cd {self.cwd} && {shlex.join(self.cmd)})\n"
            f"exit status {self.returncode}\n"
            f"--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-6000:]}"
        )

    @property
    def patches(self) -> list[dict]:
        """The REHAB_VERBOSE patch lines in stderr, parsed."""
        return [
            {**m.groupdict(), "line": int(m["line"])} for m in VERBOSE_RE.finditer(self.stderr)
        ]


class Go:
    """Runs go commands in plain or rehab mode with an explicit environment."""

    def __init__(self, exe: Path):
        self.exe = exe

    def env(self, mode: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        # Drop variables that would leak an outer build's or the developer's
        # configuration (REHAB_RULES, REHAB_FIX, ...) into ours.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("REHAB_")
               and k not in ("GOFLAGS", "GOOS", "GOARCH", "GOWORK", "TOOLEXEC_IMPORTPATH")}
        env["GOTOOLCHAIN"] = "local"
        env["GOWORK"] = "off"
        env["PATH"] = f"{self.exe.parent}{os.pathsep}{env.get('PATH', '')}"
        # -buildvcs=false in both modes: the fixtures sit inside this repo's
        # work tree, where VCS stamping can fail (e.g. before the first
        # commit). Setting GOFLAGS overrides any GOFLAGS from `go env -w`.
        flags = ["-buildvcs=false"]
        if mode == "rehab":
            flags.append(f"-toolexec={rehab_path()}")
        elif mode != "plain":
            raise ValueError(f"unknown mode {mode!r}")
        env["GOFLAGS"] = " ".join(flags)
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        mode: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 900,
        check: bool = True,
    ) -> Result:
        cmd = [str(self.exe), *map(str, args)]
        full_env = self.env(mode, env)
        shown = f"GOFLAGS={shlex.quote(full_env['GOFLAGS'])}"
        if env:
            shown += " " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        print(f"[{mode}] $ (cd {cwd} && {shown} {shlex.join(['go', *cmd[1:]])})", flush=True)
        t0 = time.monotonic()
        cp = subprocess.run(
            cmd, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout,
        )
        res = Result(cmd, cwd, cp.returncode, cp.stdout, cp.stderr)
        print(f"    exit {cp.returncode} in {time.monotonic() - t0:.1f}s", flush=True)
        if check and cp.returncode != 0:
            raise AssertionError(f"go command failed in {mode} mode:\n{res.describe()}")
        return res


def _find_go() -> Path | None:
    found = shutil.which("go")
    if found:
        return Path(found)
    for cand in (Path(os.environ.get("GOROOT", "/usr/local/go")) / "bin" / "go", Path("/usr/local/go/bin/go")):
        if cand.is_file():
            return cand
    return None


@pytest.fixture(scope="session")
def go() -> Go:
    exe = _find_go()
    if exe is None:
        pytest.skip("the go command is not installed")
    return Go(exe)


@pytest.fixture(scope="session")
def have_cgo(go: Go) -> bool:
    cp = subprocess.run([str(go.exe), "env", "CGO_ENABLED", "CC"], capture_output=True, text=True,
                        env=go.env("plain"), timeout=60)
    lines = cp.stdout.split()
    return cp.returncode == 0 and lines[:1] == ["1"] and len(lines) > 1 and shutil.which(lines[1]) is not None


# --------------------------------------------------------------------------
# Source trees


@contextlib.contextmanager
def assert_untouched(root: Path) -> Iterator[None]:
    """Fail if anything under root is added, removed or modified inside the block."""
    before = tree_digest(root)
    yield
    diff = digest_diff(before, tree_digest(root))
    assert not diff, f"source tree {root} was modified: {diff}"


class Sources:
    """Source-tree helpers handed to tests as the `sources` fixture."""

    fixtures = FIXTURES
    digest = staticmethod(tree_digest)
    diff = staticmethod(digest_diff)
    untouched = staticmethod(assert_untouched)

    def __init__(self, tmp_path_factory: pytest.TempPathFactory):
        self._tmp = tmp_path_factory

    def copy(self, name: str) -> Path:
        """A fresh copy of go_fixtures/<name> in a new temporary directory.

        A fresh absolute path also means a fresh build-cache key for the
        copy's own packages, so the compiler (and the shim) really run.
        """
        dst = self._tmp.mktemp(name) / name
        shutil.copytree(FIXTURES / name, dst)
        return dst

    @staticmethod
    def markers(root: Path) -> list[tuple[str, Path, int]]:
        """(rule, absolute file, line) of every LEAK(...) marker under root, skipping vendor/."""
        found = []
        for p in sorted(root.rglob("*.go")):
            if "vendor" in p.relative_to(root).parts:
                continue
            for i, text in enumerate(p.read_text().splitlines(), 1):
                m = LEAK_MARK_RE.search(text)
                if m:
                    found.append((m["rule"], p.resolve(), i))
        return found

    @staticmethod
    def line_of(path: Path, marker: str) -> int:
        """The 1-based line of the only line in path containing marker."""
        hits = [i for i, text in enumerate(path.read_text().splitlines(), 1) if marker in text]
        assert len(hits) == 1, f"marker {marker!r} found {len(hits)} times in {path}"
        return hits[0]

    @staticmethod
    def err_check_end(path: Path, acquire_line: int) -> int:
        """Line of the `}` closing the `if err != nil {` that follows acquire_line."""
        lines = path.read_text().splitlines()
        assert lines[acquire_line].strip().startswith("if err != nil"), (path, acquire_line)
        depth = 0
        for i in range(acquire_line, len(lines)):
            depth += lines[i].count("{") - lines[i].count("}")
            if depth == 0:
                return i + 1
        raise AssertionError(f"unbalanced braces after {path}:{acquire_line}")


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> Sources:
    return Sources(tmp_path_factory)


@pytest.fixture(scope="session", autouse=True)
def go_fixtures_untouched() -> Iterator[None]:
    """No integration test may modify go_fixtures/ (the tool must never write sources)."""
    before = tree_digest(FIXTURES)
    yield
    diff = digest_diff(before, tree_digest(FIXTURES))
    assert not diff, f"go_fixtures/ was modified during the test session: {diff}"


# --------------------------------------------------------------------------
# PostgreSQL


def _load_pgserver():
    path = REPO / "tests" / "pgserver.py"
    spec = importlib.util.spec_from_file_location("rehab_tests_pgserver", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses needs the module registered
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the session; yields a pgserver.PgServer (use .dsn)."""
    pgserver = _load_pgserver()
    try:
        cm = pgserver.running()
        server = cm.__enter__()
    except pgserver.PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def ebpf(request):
    """Skip (printing the reason, also without -rs) unless bpftrace can attach uprobes here."""
    from toolexec_rehab.runtime import trace as T

    try:
        T.check_platform()
        T.check_privileges()
        T.find_bpftrace()
        T.check_tracefs()
    except T.TraceError as e:
        capman = request.config.pluginmanager.getplugin("capturemanager")
        with capman.global_and_fixture_disabled():
            print(f"\nSKIP runtime trace tests: {e}", file=sys.stderr, flush=True)
        pytest.skip(str(e))
