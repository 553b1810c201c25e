"""The shim under the go command's real modes: build, run, test -cover, vet,
-trimpath, -race, cgo and -mod=vendor.

Every test runs twice, plain and through toolexec-rehab, on a fresh copy of a
fixture module (a fresh absolute path means a fresh build-cache key for the
fixture's own packages, so the compiler and the shim really run; std stays
cached). A command that passes plain must pass through the shim, and the
rehab half also checks that the leak was really fixed (descriptor counts) and
that positions still name the original file and line.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

PANIC_MARK = "// PANIC-HERE"
EXPECTED_LEAKED = {"plain": 10, "rehab": 0}  # fixtures leak 10 files per run


def run_bin(argv: list, *, expect_rc: int = 0, env: dict | None = None) -> subprocess.CompletedProcess:
    print(f"$ {' '.join(map(str, argv))}", flush=True)
    cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120,
                        stdin=subprocess.DEVNULL, env=env)
    assert cp.returncode == expect_rc, (
        f"{argv} exited {cp.returncode}, want {expect_rc}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}")
    return cp


def leaked_fds(output: str) -> int:
    m = re.search(r"leaked_fds=(-?\d+)", output)
    assert m, f"no leaked_fds line in:\n{output}"
    return int(m[1])


def frame_re(file: str, line: int) -> re.Pattern:
    """A goroutine trace frame line: TAB file:line [+0xPC]."""
    return re.compile(rf"^\t{re.escape(file)}:{line}(?: \+0x[0-9a-f]+)?$", re.M)


def assert_patches(res, cwd: Path, expected: list[tuple[str, Path, int]]) -> None:
    """The REHAB_VERBOSE lines name exactly the expected (rule, file, line) triples.

    cmd/go shortens paths under the working directory to ./rel, so relative
    names are resolved against cwd before comparing.
    """
    got = sorted((p["rule"], (cwd / p["file"]).resolve(), p["line"]) for p in res.patches)
    assert got == sorted(expected), f"patch lines differ from the LEAK markers:\n{res.describe()}"


@pytest.fixture
def paniccheck(sources) -> Path:
    return sources.copy("paniccheck")


def panic_line(src: Path, sources) -> int:
    return sources.line_of(src / "main.go", PANIC_MARK)


def test_build_run_and_panic_positions(go, mode, paniccheck, sources):
    src = paniccheck
    with sources.untouched(src):
        res = go.run(["build", "-o", f"{src.parent / 'bin'}/", "."], cwd=src, mode=mode,
                     env={"REHAB_VERBOSE": "1"} if mode == "rehab" else None)
    if mode == "rehab":
        assert_patches(res, src, sources.markers(src))
    else:
        assert not res.patches
    exe = src.parent / "bin" / "paniccheck"

    out = run_bin([exe])
    assert leaked_fds(out.stdout) == EXPECTED_LEAKED[mode], out.stdout

    crash = run_bin([exe, "panic"], expect_rc=2)
    assert "panic: assignment to entry in nil map" in crash.stderr, crash.stderr
    line = panic_line(src, sources)
    assert frame_re(str(src / "main.go"), line).search(crash.stderr), (
        f"trace does not name {src / 'main.go'}:{line}:\n{crash.stderr}")
    assert "go-build" not in crash.stderr and "/b001/" not in crash.stderr, crash.stderr


def test_build_trimpath(go, mode, paniccheck, sources):
    src = paniccheck
    with sources.untouched(src):
        go.run(["build", "-trimpath", "-o", f"{src.parent / 'bin'}/", "."], cwd=src, mode=mode)
    exe = src.parent / "bin" / "paniccheck"
    out = run_bin([exe])
    assert leaked_fds(out.stdout) == EXPECTED_LEAKED[mode], out.stdout

    crash = run_bin([exe, "panic"], expect_rc=2)
    line = panic_line(src, sources)
    # -trimpath names main-module files by module path, never by a temp dir.
    assert frame_re("example.com/paniccheck/main.go", line).search(crash.stderr), crash.stderr
    for bad in (str(src), "go-build", "$WORK", "/b001/"):
        assert bad not in crash.stderr, (bad, crash.stderr)


def _coverage(res) -> float:
    m = re.search(r"coverage: ([0-9.]+)% of statements", res.stdout)
    assert m, f"no coverage reported:\n{res.describe()}"
    return float(m[1])


def test_test_cover(go, mode, paniccheck, sources):
    src = paniccheck
    cmd = ["test", "-count=1", "-cover", "-v", "./..."]
    with sources.untouched(src):
        res = go.run(cmd, cwd=src, mode=mode)
    assert re.search(r"^ok\s+example\.com/paniccheck\s", res.stdout, re.M), res.describe()
    cov = _coverage(res)
    assert cov > 0
    # The test variant of the package ("p [p.test]", instrumented by cover)
    # is what the shim patched: TestLeakReport logs how many files leaked.
    assert leaked_fds(res.stdout) == {"plain": 3, "rehab": 0}[mode], res.stdout
    if mode == "rehab":
        # Coverage is computed from the original source: the inserted defer
        # must neither add statements nor move counters.
        plain = go.run(cmd, cwd=src, mode="plain")
        assert cov == _coverage(plain), (cov, _coverage(plain))


def test_vet(go, mode, paniccheck, sources):
    with sources.untouched(paniccheck):
        res = go.run(["vet", "./..."], cwd=paniccheck, mode=mode)
    assert "REHAB" not in res.stderr, res.describe()


def test_build_race(go, mode, paniccheck, sources, have_cgo):
    if not have_cgo:
        pytest.skip("-race needs cgo and a C compiler")
    src = paniccheck
    with sources.untouched(src):
        go.run(["build", "-race", "-o", f"{src.parent / 'bin'}/", "."], cwd=src, mode=mode,
               env={"CGO_ENABLED": "1"})
    exe = src.parent / "bin" / "paniccheck"
    out = run_bin([exe])
    assert leaked_fds(out.stdout) == EXPECTED_LEAKED[mode], out.stdout
    crash = run_bin([exe, "panic"], expect_rc=2)
    assert frame_re(str(src / "main.go"), panic_line(src, sources)).search(crash.stderr), crash.stderr


def test_cgo_package(go, mode, sources, have_cgo):
    """cgo packages get fixes: a plain Go file of a cgo package (native/files.go) as before, and
    the files that import "C" (native/native.go, and cmd/cgomain/main.go, a package of cgo
    files only), which cmd/go compiles as cgo's translations ($WORK/bNNN/x.cgo1.go). Each
    leak is patched at the user's file:line, the programs leak nothing, and a panic after
    the patched line and after a C call cgo wrote on fewer lines names the user's line."""
    if not have_cgo:
        pytest.skip("cgo needs a C compiler")
    src = sources.copy("cgopkg")
    with sources.untouched(src):
        res = go.run(["build", "-o", f"{src.parent / 'bin'}/", "./cmd/..."], cwd=src, mode=mode,
                     env={"CGO_ENABLED": "1",
                          **({"REHAB_VERBOSE": "1", "REHAB_SERVER": "off"} if mode == "rehab" else {})})
    if mode == "rehab":
        assert_patches(res, src, sources.markers(src))
        assert {p["file"] for p in res.patches} >= {"native/native.go", "cmd/cgomain/main.go"}, res.describe()
    else:
        assert not res.patches
    out = run_bin([src.parent / "bin" / "cgopkg"])
    assert "checksum_ok=true" in out.stdout, out.stdout
    assert leaked_fds(out.stdout) == EXPECTED_LEAKED[mode], out.stdout
    exe = src.parent / "bin" / "cgomain"
    out = run_bin([exe])
    assert "fallback_ok=true" in out.stdout, out.stdout
    assert leaked_fds(out.stdout) == EXPECTED_LEAKED[mode], out.stdout
    crash = run_bin([exe, "panic"], expect_rc=2)
    main_go = src / "cmd" / "cgomain" / "main.go"
    assert frame_re(str(main_go), sources.line_of(main_go, PANIC_MARK)).search(crash.stderr), crash.stderr
    assert "go-build" not in crash.stderr and "cgo1" not in crash.stderr, crash.stderr


def test_cgo_package_test_and_cover(go, mode, sources, have_cgo):
    """The test variant of a cgo package is patched too (native/native_test.go counts what
    SumFile, in the cgo file, leaks). Under -cover cgo translates the cover tool's file,
    which the shim leaves alone: the cgo file compiles as it is, the coverage is the same."""
    if not have_cgo:
        pytest.skip("cgo needs a C compiler")
    src = sources.copy("cgopkg")
    env = {"CGO_ENABLED": "1", **({"REHAB_SERVER": "off"} if mode == "rehab" else {})}
    with sources.untouched(src):
        res = go.run(["test", "-count=1", "-v", "./native"], cwd=src, mode=mode, env=env)
        assert leaked_fds(res.stdout) == {"plain": 3, "rehab": 0}[mode], res.describe()
        res = go.run(["test", "-count=1", "-cover", "-v", "./native"], cwd=src, mode=mode, env=env)
    assert leaked_fds(res.stdout) == 3, res.describe()
    if mode == "rehab":
        plain = go.run(["test", "-count=1", "-cover", "-v", "./native"], cwd=src, mode="plain", env=env)
        assert _coverage(res) == _coverage(plain), (res.describe(), plain.describe())


def test_cgo_package_vet(go, rehab_bin, sources, have_cgo):
    """`go vet -vettool` hands the tool cgo's files ($WORK/bNNN/x.cgo1.go in vet.cfg's
    GoFiles): the leaks in the cgo files are reported at the user's file:line all the same."""
    if not have_cgo:
        pytest.skip("cgo needs a C compiler")
    src = sources.copy("cgopkg")
    with sources.untouched(src):
        res = go.run(["vet", f"-vettool={rehab_bin}", "-file-not-closed", "./..."], cwd=src, mode="plain",
                     env={"CGO_ENABLED": "1"}, check=False)
    assert res.returncode == 1, res.describe()
    vet_re = re.compile(r"^(?P<file>\S+\.go):(?P<line>\d+):\d+: .* \((?P<rule>[a-z-]+)\)$", re.M)
    got = sorted((m["rule"], (src / m["file"]).resolve(), int(m["line"])) for m in vet_re.finditer(res.stderr))
    assert got == sorted(sources.markers(src)), res.describe()
    assert "go-build" not in res.stderr and "cgo1" not in res.stderr, res.describe()


@pytest.fixture(scope="module")
def vendored_leakysvc(go, sources) -> Path:
    """A copy of leakysvc with its dependencies vendored (made once, plain)."""
    src = sources.copy("leakysvc")
    go.run(["mod", "vendor"], cwd=src, mode="plain")
    assert (src / "vendor" / "modules.txt").is_file()
    assert (src / "vendor" / "github.com" / "lib" / "pq").is_dir()
    return src


def test_vendored_module(go, mode, vendored_leakysvc, sources):
    src = vendored_leakysvc
    bindir = src.parent / f"bin-{mode}"
    with sources.untouched(src):
        res = go.run(["build", "-mod=vendor", "-o", f"{bindir}/", "./..."], cwd=src, mode=mode,
                     env={"REHAB_VERBOSE": "1"} if mode == "rehab" else None)
    for name in ("leakysvc", "backend"):
        assert (bindir / name).is_file(), name
    # The binary starts: -h prints the flag usage.
    usage = subprocess.run([str(bindir / "leakysvc"), "-h"], capture_output=True, text=True, timeout=30)
    assert "-dsn" in usage.stderr, usage.stderr
    if mode == "rehab":
        # The user's packages are patched; vendored dependencies are not.
        assert_patches(res, src, sources.markers(src))
        assert not any("vendor/" in p["file"] for p in res.patches), res.describe()
