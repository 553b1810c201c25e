"""Where our own files live. Imports nothing heavy: the -V=full path uses it."""

from __future__ import annotations

import hashlib
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def builtin_dirs() -> tuple[str, str]:
    """patterns/ and templates/ shipped in the wheel, or at the repo top in a checkout."""
    for base in (_HERE, os.path.dirname(_HERE)):
        p, t = os.path.join(base, "patterns"), os.path.join(base, "templates")
        if os.path.isdir(p) and os.path.isdir(t):
            return p, t
    raise FileNotFoundError(f"{_HERE}: no patterns/ directory found (broken install?)")


def extra_rule_dirs() -> list[tuple[str, str]]:
    """User rule directories from REHAB_RULE_DIRS (os.pathsep-separated) and the config's
    rule_dirs: (patterns, templates) pairs.

    A directory holds <rule>.yaml files and either a templates/ subdirectory or
    the templates themselves.
    """
    from .config import load_config

    out = []
    dirs = list(filter(None, os.environ.get("REHAB_RULE_DIRS", "").split(os.pathsep)))
    dirs += [d for d in load_config().rule_dirs if d not in dirs]
    for d in dirs:
        d = os.path.abspath(d)
        t = os.path.join(d, "templates")
        out.append((d, t if os.path.isdir(t) else d))
    return out


def find_upward(start: str, name: str, want_file: bool = True) -> str | None:
    """The nearest directory at or above `start` that holds `name` (a regular file, or with
    want_file=False anything: a .git may be a directory or a file)."""
    d = os.path.abspath(start)
    while True:
        p = os.path.join(d, name)
        if os.path.isfile(p) if want_file else os.path.exists(p):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def rules_digest() -> str:
    """Hash of the shipped and user rule and template files: part of the build cache key."""
    h = hashlib.sha256()
    dirs = list(builtin_dirs())
    for p, t in extra_rule_dirs():
        dirs += [p, t]
    for d in dirs:
        hash_dir(h, d)  # flat: templates/runtime/ is the instrumenter's, not a rule's
    return h.hexdigest()


def hash_dir(h, d: str, recursive: bool = False) -> None:
    """Feed the names (relative to d) and contents of d's files into hashlib object h."""
    if not os.path.isdir(d):
        h.update(f"missing {d}\0".encode())
        return
    for root, dirs, files in os.walk(d):
        dirs[:] = sorted(dirs) if recursive else []
        for name in sorted(files):
            fp = os.path.join(root, name)
            if not os.path.isfile(fp):  # a dangling link, a fifo
                continue
            with open(fp, "rb") as fh:
                h.update(f"{os.path.relpath(fp, d)}\0".encode() + fh.read() + b"\0")


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(base, "toolexec-rehab")
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def write_private(path: str, data: bytes) -> None:
    """Write atomically (temp file 0600 in the same directory, then rename): never half-written."""
    import tempfile

    d = os.path.dirname(path) or "."
    os.makedirs(d, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
