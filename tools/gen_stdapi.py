#!/usr/bin/env python3
"""Regenerate toolexec_rehab/data/stdapi.json from a GOROOT's api/go1*.txt files.

Usage: python tools/gen_stdapi.py [--goroot DIR] [--out FILE] [--check]

--goroot defaults to $GOROOT, then `go env GOROOT`, then /usr/local/go.
--check exits 1 if the output file differs from what would be generated.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolexec_rehab.golang import stdapi


def default_goroot() -> str:
    env = os.environ.get("GOROOT")
    if env:
        return env
    go = shutil.which("go")
    if go:
        try:
            out = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, check=True, timeout=60)
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return "/usr/local/go"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--goroot", default=None)
    ap.add_argument("--out", default=str(stdapi.shipped_path()))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    goroot = args.goroot or default_goroot()
    data = stdapi.parse_goroot(goroot)
    text = stdapi.dump_table(data)
    out = Path(args.out)
    if args.check:
        try:
            current = out.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            print(f"{out} is out of date for {goroot} ({data['version']})", file=sys.stderr)
            return 1
        print(f"{out} is up to date ({data['version']})")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    n_pkgs = len(data["pkgs"])
    print(f"wrote {out}: {data['version']}, {n_pkgs} packages, {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
