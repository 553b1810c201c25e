"""What an analysis read beyond its package's own files: the other packages of the main
module it resolved names in, and the dependency packages it asked the type tables about
(found or not). The result cache (resultcache.py) keeps them with a package's findings and
checks them again before it reuses those findings; a lookup anywhere else costs one test of
a global."""

from __future__ import annotations

_current: set[tuple[str, str]] | None = None


def begin() -> set[tuple[str, str]]:
    """Start recording (what was recorded so far is dropped); the set that fills."""
    global _current
    _current = set()
    return _current


def end() -> set[tuple[str, str]]:
    """Stop recording; what was recorded since begin()."""
    global _current
    got, _current = _current or set(), None
    return got


def note(kind: str, what: str) -> None:
    """("mod", import path): a package of the main module; ("dep", import path): a package
    outside it and std."""
    if _current is not None:
        _current.add((kind, what))
