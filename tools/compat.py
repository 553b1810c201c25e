#!/usr/bin/env python3
"""Run the integration tests on the installed Go and on older Go minor versions.

Each older toolchain is selected with GOTOOLCHAIN=<version>, which makes the go command
download it through the module proxy (golang.org/toolchain) into GOMODCACHE. The tests then
run with that toolchain's bin/ first on PATH (and GOTOOLCHAIN=local, which the tests set
themselves), so every `go build`/`go test`/`go vet` in them, and the compile tool behind
the shim, is that version.

    python tools/compat.py [--go local,go1.25.14,go1.24.13] [-- pytest args]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = "local,go1.25.14,go1.24.13"


def toolchain_root(version: str) -> tuple[str, str]:
    """(GOROOT, `go version` line) of a toolchain; downloads it through the proxy if needed."""
    env = dict(os.environ, GOTOOLCHAIN=version)
    env.pop("GOROOT", None)
    env.pop("GOFLAGS", None)
    v = subprocess.run(["go", "version"], env=env, capture_output=True, text=True, timeout=1800, cwd="/")
    if v.returncode != 0:
        raise RuntimeError(f"GOTOOLCHAIN={version} go version: {v.stderr.strip()}")
    root = subprocess.run(["go", "env", "GOROOT"], env=env, capture_output=True, text=True, timeout=300,
                          cwd="/", check=True).stdout.strip()
    return root, v.stdout.strip()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--go", default=os.environ.get("REHAB_COMPAT_GO", DEFAULT),
                   help=f"comma-separated GOTOOLCHAIN values (default {DEFAULT})")
    p.add_argument("--tests", default="integration", help="test paths, relative to tests/")
    args = p.parse_args(argv)
    rows = []
    for version in [x.strip() for x in args.go.split(",") if x.strip()]:
        t0 = time.monotonic()
        try:
            goroot, line = toolchain_root(version)
        except (RuntimeError, subprocess.SubprocessError) as e:
            rows.append((version, "-", "ERROR", str(e)[:200], 0.0))
            continue
        print(f"== {version}: {line} ({goroot})", flush=True)
        junit = Path(os.environ.get("TMPDIR", "/tmp")) / f"rehab-compat-{os.getpid()}-{version}.xml"
        env = dict(os.environ, PATH=f"{goroot}/bin{os.pathsep}{os.environ.get('PATH', '')}", GOTOOLCHAIN="local")
        env.pop("GOROOT", None)
        env.pop("GOFLAGS", None)
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--junitxml={junit}",
               *args.tests.split(","), *extra]
        rc = subprocess.run(cmd, cwd=ROOT / "tests", env=env).returncode
        counts = "no report"
        try:
            suite = ET.parse(junit).getroot()
            suite = suite if suite.tag == "testsuite" else suite[0]
            n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
            passed = n["tests"] - n["failures"] - n["errors"] - n["skipped"]
            counts = f"{passed} passed, {n['failures']} failed, {n['errors']} errors, {n['skipped']} skipped"
            junit.unlink()
        except (OSError, ET.ParseError, IndexError):
            pass
        rows.append((version, line.split()[2] if len(line.split()) > 2 else line, "ok" if rc == 0 else "FAIL",
                     counts, time.monotonic() - t0))
    print("\nGOTOOLCHAIN  go version   result  tests                                             secs")
    for version, gv, res, counts, secs in rows:
        print(f"{version:<12} {gv:<12} {res:<7} {counts:<49} {secs:.0f}")
    return 0 if rows and all(r[2] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
