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


def rules_digest() -> str:
    """Hash of the shipped and user rule and template files: part of the build cache key."""
    h = hashlib.sha256()
    dirs = list(builtin_dirs())
    for p, t in extra_rule_dirs():
        dirs += [p, t]
    for d in dirs:
        if not os.path.isdir(d):
            h.update(f"missing {d}\0".encode())
            continue
        for name in sorted(os.listdir(d)):
            fp = os.path.join(d, name)
            if os.path.isfile(fp):
                h.update(name.encode() + b"\0")
                with open(fp, "rb") as fh:
                    h.update(fh.read())
    return h.hexdigest()


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
