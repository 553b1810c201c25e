"""The Go installation in use: GOROOT, else the `go` on PATH (symlinks resolved), else what
`go env GOROOT` says."""

from __future__ import annotations

import os


def go_env_goroot() -> str | None:
    g = os.environ.get("GOROOT")
    if g and os.path.isdir(g):
        return g
    import shutil

    go = shutil.which("go")
    if not go:
        return None
    real = os.path.realpath(go)
    cand = os.path.dirname(os.path.dirname(real))
    if os.path.isdir(os.path.join(cand, "api")):
        return cand
    import subprocess  # here: a go on PATH in its GOROOT (the usual case) runs nothing

    try:
        out = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
