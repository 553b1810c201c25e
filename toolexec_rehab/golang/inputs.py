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
    got, _current = (set() if _current is None else _current), None
    return got


def note(kind: str, what: str) -> None:
    """("mod", import path): a package of the main module; ("dep", import path): a package
    outside it and std."""
    if _current is not None:
        _current.add((kind, what))


# A compile's finer record (toolexec/wrap.py: the compile result cache): which declarations of
# the main module's other packages the analysis read, by (import path, kind, key), kind one of
# Package's tables ("types", "funcs", "methods", "vars"; key "*": the table's names, iterated),
# or "pkg" (the package's files). golang/declsum.py digests each one the same way before the
# result is kept and before it is reused: a package that gained a function keeps the results
# of the packages that did not read it. Exact only in a process that analyzes one package and
# builds the module's resolvers for it (a compile): a resolver built for an earlier package
# would answer from its memos without reading.
_consults: set[tuple[str, str, object]] | None = None


def begin_consults() -> set[tuple[str, str, object]]:
    global _consults
    _consults = set()
    return _consults


def end_consults() -> set[tuple[str, str, object]]:
    global _consults
    got, _consults = (set() if _consults is None else _consults), None
    return got


def consulting() -> bool:
    return _consults is not None


def consult(path: str, kind: str, key) -> None:
    if _consults is not None:
        _consults.add((path, kind, key))
