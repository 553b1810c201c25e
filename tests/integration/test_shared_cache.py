"""One Go build cache shared by two machines (README "CI: a shared build cache").

Two checkouts of the same module at different paths stand in for two CI runners: each has
its own HOME, TMPDIR (so its own $WORK), XDG_CACHE_HOME (its own toolexec-rehab cache),
XDG_RUNTIME_DIR (its own compile server), XDG_CONFIG_HOME, Python hash seed and a
user config file of the same contents; the module carries a `.rehab.yaml`. Only GOCACHE,
fresh for this module, is shared. Runner A builds with `-trimpath -toolexec`, and rehab
patches the module's leaks (the patched objects are what goes into the cache). Then:

- runner B's identical build recompiles nothing: `go build -x` shows no compile, cgo or C
  compiler run (runner A's `-x` shows them, so the check can see one);
- the two binaries are byte-identical;
- the shared objects are the patched ones: the binaries leak nothing, and a plain
  `-trimpath` build (same cache) is a different binary that leaks.

Modules: go_fixtures/paniccheck (pure Go; also instrumented, REHAB_INSTRUMENT, whose
markers and sites table of file names go into the program) and go_fixtures/cgopkg (a cgo
package whose cgo file and plain file are both patched, and a main package of cgo files
only). Each configuration costs one build of the std packages it needs into the fresh
GOCACHE (~10 s on 2 cores).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

# a compile (or cgo, or C compiler) run that `go build -x` prints; not the -V=full probe
TOOL_RUN_RE = re.compile(r"^.*/pkg/tool/[^/\s]+/(?P<tool>compile|cgo)\s(?!-V=full).*$|^(?:\S+=\S+\s+)*gcc\s.*$", re.M)
REPO_CONFIG = "rules:\n  lost-cancel: on\n"
USER_CONFIG = "rules:\n  file-not-closed: fix\n"

CASES = {
    # name -> (module, build targets, binaries, settings of both runners)
    "paniccheck": ("paniccheck", ["."], ["paniccheck"], {}),
    "cgopkg": ("cgopkg", ["./cmd/..."], ["cgopkg", "cgomain"], {}),
    # markers and a sites table (file names) go into the program
    "paniccheck-instrumented": ("paniccheck", ["."], ["paniccheck"], {"REHAB_INSTRUMENT": "1"}),
}


class Runner:
    """One CI runner: a checkout at its own path, its own HOME, TMPDIR and XDG dirs."""

    def __init__(self, base: Path, checkout: str, module: str, seed: str):
        self.base = base
        self.src = base / checkout / module
        self.home = base / "home"
        self.bin = base / "bin"
        self.seed = seed
        for d in ("home", "tmp", "cache", "run", "home/.config/toolexec-rehab"):
            (base / d).mkdir(parents=True, exist_ok=True)
        for d in ("run", "home/.config/toolexec-rehab"):
            os.chmod(base / d, 0o700)
        (base / "home/.config/toolexec-rehab/config.yaml").write_text(USER_CONFIG)
        shutil.copytree(Path(__file__).resolve().parents[2] / "go_fixtures" / module, self.src)
        (self.src / ".rehab.yaml").write_text(REPO_CONFIG)

    def env(self, gocache: Path) -> dict[str, str]:
        return {
            "HOME": str(self.home), "TMPDIR": str(self.base / "tmp"),
            "XDG_CACHE_HOME": str(self.base / "cache"), "XDG_RUNTIME_DIR": str(self.base / "run"),
            "XDG_CONFIG_HOME": str(self.home / ".config"), "GOCACHE": str(gocache),
            "GOPATH": str(self.home / "go"), "GOMODCACHE": str(self.home / "go" / "pkg" / "mod"),
            "GOPROXY": "off", "CGO_ENABLED": "1", "PYTHONHASHSEED": self.seed,
            "REHAB_VERBOSE": "1",  # keyed: the same on both runners
            "REHAB_SERVER_IDLE": "30",
        }


def tool_runs(stderr: str) -> list[str]:
    return [m[0] for m in TOOL_RUN_RE.finditer(stderr)]


def leaked(exe: Path) -> int:
    cp = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, (exe, cp.stdout, cp.stderr)
    m = re.search(r"leaked_fds=(-?\d+)", cp.stdout)
    assert m, cp.stdout
    return int(m[1])


@pytest.fixture(scope="module")
def shared_gocache(tmp_path_factory) -> Path:
    """A fresh GOCACHE, shared by both runners (and both modules: the second reuses std)."""
    return tmp_path_factory.mktemp("shared-gocache")


@pytest.mark.parametrize("case", list(CASES))
def test_second_runner_recompiles_nothing_and_links_the_same_binary(
        go, rehab_bin, have_cgo, sources, tmp_path, shared_gocache, case):
    module, targets, exes, settings = CASES[case]
    if module == "cgopkg" and not have_cgo:
        pytest.skip("cgo needs a C compiler")
    a = Runner(tmp_path / "runner-a", "work/checkout", module, seed="1")
    b = Runner(tmp_path / "r-b", "srv/ci/builds/job-4711/src", module, seed="2")
    assert len(str(a.src)) != len(str(b.src))

    ra = go.run(["build", "-x", "-trimpath", "-o", f"{a.bin}/", *targets], cwd=a.src, mode="rehab",
                env={**a.env(shared_gocache), **settings})
    # rehab patched the module's leaks (the LEAK markers) in runner A's build
    got = sorted((p["rule"], (a.src / p["file"]).resolve(), p["line"]) for p in ra.patches)
    assert got and got == sorted(sources.markers(a.src)), ra.describe()
    mine = re.compile(rf"\s-p (?:main|example\.com/{module}(?:/\S*)?)\s")
    runs_a = [r for r in tool_runs(ra.stderr) if mine.search(r)]
    assert runs_a, f"runner A's -x shows no compile of the module:\n{ra.describe()}"

    rb = go.run(["build", "-x", "-trimpath", "-o", f"{b.bin}/", *targets], cwd=b.src, mode="rehab",
                env={**b.env(shared_gocache), **settings})
    runs_b = tool_runs(rb.stderr)
    assert not runs_b, "runner B recompiled:\n" + "\n".join(runs_b[:10]) + f"\n{rb.describe()}"
    assert "REHAB: patched" in rb.stderr, rb.describe()  # the cached compile's output, replayed

    for exe in exes:
        bin_a, bin_b = (a.bin / exe).read_bytes(), (b.bin / exe).read_bytes()
        assert bin_a == bin_b, f"{exe}: runner A's and runner B's binaries differ"
        for path in (str(a.src), str(b.src), str(a.home), str(b.home), str(a.base), str(b.base)):
            assert path.encode() not in bin_a, f"{exe} embeds {path}"
        assert leaked(b.bin / exe) == 0
        if settings.get("REHAB_INSTRUMENT"):  # the sites table names files by import path
            from toolexec_rehab.runtime.instrument import parse_sites_tables

            files = {s.file for s in parse_sites_tables(bin_b).values()}
            assert files == {f"example.com/{module}/main.go"}, files

    # not vacuous: the same build without rehab (same cache, -trimpath) links another binary
    plain_bin = tmp_path / "plain-bin"
    go.run(["build", "-trimpath", "-o", f"{plain_bin}/", *targets], cwd=b.src, mode="plain",
           env={k: v for k, v in b.env(shared_gocache).items() if not k.startswith("REHAB_")})
    for exe in exes:
        assert (plain_bin / exe).read_bytes() != (b.bin / exe).read_bytes(), exe
        assert leaked(plain_bin / exe) == 10

    # each runner had its own rehab state: runner B never analyzed anything (no compile
    # reached it but `compile -V=full`), runner A's server socket is in runner A's runtime dir
    assert sorted(os.listdir(a.base / "run" / "toolexec-rehab")), "runner A started no compile server"
    assert not (b.base / "cache" / "toolexec-rehab" / "rejections.log").exists()
