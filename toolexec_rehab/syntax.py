"""Tell real syntax errors from tree-sitter grammar gaps.

tree-sitter-go lags the language (e.g. `new(expr)`, generic methods), so a
file it cannot parse may still be valid Go. Only when gofmt (go/parser) also
rejects it is it the user's syntax error; otherwise the file is skipped quietly.
"""

from __future__ import annotations

import os

from .golang import parse as P
from .golang.package import GoFile


def _gofmt() -> str | None:
    goroot = os.environ.get("GOROOT")
    if goroot and os.path.isfile(os.path.join(goroot, "bin", "gofmt")):
        return os.path.join(goroot, "bin", "gofmt")
    import shutil  # here, as subprocess below: only a file tree-sitter could not parse needs gofmt

    return shutil.which("gofmt")


def first_error_point(f: GoFile) -> tuple[int, int]:
    for n in P.descendants(f.root):
        if n.type == "ERROR" or n.is_missing:
            return f.orig_line(n), n.start_point[1] + 1
    return 1, 1


def syntax_errors(f: GoFile) -> list[str]:
    gofmt = _gofmt()
    if gofmt is None:
        line, col = first_error_point(f)
        return [f"{f.origin}:{line}:{col}: cannot parse (and no gofmt to tell if it is valid Go)"]
    import subprocess

    try:
        r = subprocess.run([gofmt, "-e", "-l", f.path], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return [f"{f.origin}:1:1: cannot parse: {e}"]
    if r.returncode == 0:
        return []  # valid Go that our grammar does not know yet
    return [ln for ln in r.stderr.splitlines() if ln.strip()][:10] or [f"{f.origin}:1:1: syntax error"]


def first_syntax_error(src: bytes) -> tuple[int, int, str] | None:
    """For text that tree-sitter could not parse (an editor's buffer, not yet on disk): the
    first error gofmt (go/parser) reports, as (1-based line, 1-based byte column, message);
    None when gofmt accepts it (syntax newer than our grammar)."""
    import re

    gofmt = _gofmt()
    if gofmt is None:
        return None
    import subprocess

    try:
        r = subprocess.run([gofmt, "-e"], input=src, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode == 0:
        return None
    for ln in r.stderr.decode("utf-8", "replace").splitlines():
        m = re.match(r"^<standard input>:(\d+):(\d+): (.*)$", ln)
        if m:
            return int(m.group(1)), int(m.group(2)), m.group(3)
    return 1, 1, "syntax error"
