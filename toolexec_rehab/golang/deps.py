"""Types from the module's dependencies: the std table, extended on demand.

:func:`world` gives a :class:`~.stdapi_table.StdAPI` whose package table also answers for
a package outside the main module and std: the first query about it finds the package's
directory at the version the build list selects (:mod:`.modules`: the module cache, a
local replace or vendor/), parses its Go files with our grammar (:mod:`.srcapi`) and adds
the package's entry. Entries of immutable module versions are kept on disk, one file per
package, keyed by module@version, import path, the build configuration that selects the
files, and a digest of our own code: each module version is parsed once per machine.

When a dependency's source is not there (`check` on a module whose dependencies were never
downloaded), the package stays unknown, as it was before this existed, and that is said
once per process. Nothing here raises for a bad module: an unreadable or malformed
package is unknown.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading

from . import buildtags, inputs
from .modules import BuildList, Module
from .stdapi_table import StdAPI

FORMAT = 1  # the on-disk entry's layout (srcapi's output); bump on change
_MAX_FILES = 2000  # a package with more Go files than this is left unknown
_MAX_BYTES = 64 << 20

_lock = threading.Lock()
_worlds: dict[tuple, StdAPI] = {}
_local: dict[tuple, dict | None] = {}  # (dir, stat signature) -> entry: local replaces, vendor/
_missing_said: set[str] = set()
stats = {"parsed": 0, "disk": 0, "missing": 0}  # counters (bench, tests)


_generation = [0]  # refresh() bumps it


def refresh() -> None:
    """A long-lived process (the language server) calls this before an analysis: the
    dependency packages that can change under it (a local replace, vendor/) and those that
    were not there (not downloaded yet) are looked up again at their next use. Module-cache
    versions are immutable and stay."""
    _generation[0] += 1
    _missing_said.clear()


class _Packages(dict):
    """The std packages, plus dependency packages loaded on their first lookup."""

    def __init__(self, std: dict, load, local=None) -> None:
        super().__init__(std)
        self._load = load
        self._local = local  # path -> whether its source can change (not the module cache)
        self._tried: set[str] = set()
        self._std = std.keys()
        self._mutable: set[str] = set()
        self._gen = _generation[0]

    def _renew(self) -> None:
        self._gen = _generation[0]
        for key in self._mutable:
            dict.pop(self, key, None)
        self._mutable.clear()
        self._tried = {k for k in self._tried if dict.get(self, k) is not None}

    def get(self, key, default=None):
        if key not in self._std:
            inputs.note("dep", key)
            if self._gen != _generation[0]:
                self._renew()
        v = dict.get(self, key)
        if v is None and key not in self._tried:
            self._tried.add(key)
            v = self._load(key)
            if v is not None:
                self[key] = v
                if self._local is not None and self._local(key):
                    self._mutable.add(key)
        return default if v is None else v

    def __contains__(self, key) -> bool:
        return self.get(key) is not None


def world(std: StdAPI, start_dir: str | None) -> StdAPI:
    """`std`, extended with the dependencies of the module that holds `start_dir` (std itself
    outside a module). Memoized per build list."""
    bl = BuildList.find(start_dir) if start_dir else None
    if bl is None:
        return std
    key = (id(std), id(bl))
    with _lock:
        w = _worlds.get(key)
        if w is None:
            if len(_worlds) > 32:
                _worlds.clear()
            w = copy.copy(std)
            w._pkgs = _Packages(std._pkgs, lambda path: _load(bl, path), lambda path: _is_local(bl, path))
            w._consts = {}
            w.source = f"{std.source}+deps"
            _worlds[key] = w
        return w


def _load(bl: BuildList, path: str) -> dict | None:
    if not path or "." not in path.split("/", 1)[0] or bl.is_main(path):
        return None
    found = bl.package_dir(path)
    if found is None:
        return None
    mod, pkgdir = found
    if not mod.available:
        _say_missing(mod)
        return None
    ctx = buildtags.current_context()
    if mod.cache_key is None:
        return _load_local(path, pkgdir, ctx)
    cpath = _cache_path(mod, path, ctx)
    if cpath is not None:
        try:
            with open(cpath, "rb") as fh:
                entry = json.loads(fh.read())
            stats["disk"] += 1
            return entry if isinstance(entry, dict) else None
        except (OSError, ValueError):
            pass
    entry = parse_package(path, pkgdir, ctx)
    if entry is not None and cpath is not None:
        from ..paths import write_private

        try:
            write_private(cpath, json.dumps(entry, separators=(",", ":"), sort_keys=True).encode())
        except OSError:
            pass  # no private cache dir: parsed again next time
    return entry


def _is_local(bl: BuildList, path: str) -> bool:
    found = bl.package_dir(path)
    return found is not None and found[0].cache_key is None


def _load_local(path: str, pkgdir: str, ctx) -> dict | None:
    """A package whose directory can change (a local replace, vendor/): memoized in the
    process by the files' stat signature, never kept on disk."""
    try:
        names = sorted(os.listdir(pkgdir))
        sig = tuple((n, st.st_size, st.st_mtime_ns) for n in names if n.endswith(".go")
                    for st in [os.stat(os.path.join(pkgdir, n))])
    except OSError:
        return None
    key = (pkgdir, sig, ctx)
    if key not in _local:
        _local[key] = parse_package(path, pkgdir, ctx)
    return _local[key]


def _say_missing(mod: Module) -> None:
    stats["missing"] += 1
    if mod.path in _missing_said:
        return
    _missing_said.add(mod.path)
    from ..paths import warn_once

    warn_once(f"{mod.path}@{mod.version} is not downloaded: its types are unknown here "
              "(`go mod download` makes them known)")


_OURS: list[tuple[str, str]] = []  # (cache dir, our code digest), once per process


def _cache_path(mod: Module, path: str, ctx) -> str | None:
    from ..paths import cache_dir, code_digest

    try:
        if not _OURS:
            _OURS.append((cache_dir(), code_digest()))
        base, ours = _OURS[0]
    except OSError:
        return None
    h = hashlib.sha256(f"{FORMAT}\0{ours}\0{mod.cache_key}\0{path}\0{ctx!r}".encode()).hexdigest()[:40]
    d = os.path.join(base, "deptypes")
    if d not in _DIRS_OK:
        try:
            from ..paths import private_dir

            private_dir(d)
        except OSError:
            return None
        _DIRS_OK.add(d)
    return os.path.join(d, h + ".json")


_DIRS_OK: set[str] = set()


def parse_package(path: str, pkgdir: str, ctx=None) -> dict | None:
    """The table entry of the package in `pkgdir` (None when it has no Go file we can read)."""
    from .package import load_file
    from .srcapi import package_table

    try:
        names = sorted(os.listdir(pkgdir))
    except OSError:
        return None
    files, total = [], 0
    for n in names:
        fp = os.path.join(pkgdir, n)
        if not n.endswith(".go") or n.endswith("_test.go") or os.path.islink(fp):
            continue
        try:
            if not buildtags.file_matches(fp, ctx):
                continue
            f = load_file(fp)
        except (OSError, buildtags.ConstraintError, ValueError):
            continue
        total += len(f.src)
        files.append(f)
        if len(files) > _MAX_FILES or total > _MAX_BYTES:
            return None
    if not files:
        return None
    stats["parsed"] += 1
    return package_table(path, files)
