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


def rules_digest() -> str:
    """Hash of the shipped rule and template files: part of the build cache key."""
    h = hashlib.sha256()
    for d in builtin_dirs():
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
