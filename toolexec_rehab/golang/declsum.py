"""Digests of the main module's declarations, for the compile result cache (toolexec/wrap.py).

A compile's analysis reads other packages of the main module to resolve names
(types.Resolver.module_package), and records what it read: (import path, table, key)
(golang/inputs.consult). Before the result is kept, and again before it is reused, each read
is digested here from the package's files: the declaration the key finds (its text, where it
starts, and its file's name, package clause and imports, which give its names their meaning),
"absent", or for "*" the table's names. So appending a function to a package that a hundred
others import leaves their results valid: none of them read the new name.

Both sides use one function over a file (file_summary) and one merge (the tables of
package.Package, a later file's declaration winning, as Package builds them), so the digest
kept and the digest checked agree by construction. A file's summary is kept here by path
and stat (size, mtime, ctime, inode, device): the compile server computes them between
requests (toolexec/server.py) and its forked requests check a package with a stat per file.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time

from ..paths import os_bytes
from .package import TABLES, GoFile, Package, load_file

_MEMO: dict[str, tuple[tuple, int, dict | None]] = {}  # path -> (stat key, hash of its bytes, summary; None: a syntax error)
_MEMO_MAX = 20000  # files; past it the memo starts again
_MERGED: dict[str, tuple[tuple, dict]] = {}  # package dir -> (the (name, summary) pairs merged, their table)
_MERGED_MAX = 4000  # packages
NONE = b"none"  # the digest of ("pkg", "") for a path that is no package of the module (module_package: None)
ABSENT = b"-"


def _h(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=12)
    for p in parts:
        h.update(p)
        h.update(b"\0")
    return h.digest()


def file_summary(gf: GoFile) -> dict:
    """(table, key) -> digest of the declaration this file puts in Package's tables."""
    salt = _h(os_bytes(gf.origin), os_bytes(gf.pkgname), os_bytes(repr(sorted(gf.imports.items()))),
              os_bytes(str(gf.line_offset)))
    pk = Package([gf])
    out = {}
    for kind in TABLES:
        for key, v in dict.items(getattr(pk, kind)):
            node, extra = v if kind == "vars" else (v, 0)
            out[(kind, key)] = _h(salt, os_bytes(f"{kind} {key!r} {extra} {node.start_point}"),
                                  gf.src[node.start_byte:node.end_byte])
    return out


def _merge(named: list[tuple[str, dict]]) -> dict:
    """A package's table from its files' summaries, in the order module_package reads them."""
    if not named:
        return {("pkg", ""): NONE}
    out: dict = {}
    for _, s in named:
        out.update(s)
    for kind in TABLES:
        keys = sorted(repr(k) for (t, k) in out if t == kind)
        out[(kind, "*")] = _h(*(os_bytes(k) for k in keys))
    out[("pkg", "")] = _h(*(os_bytes(n) for n, _ in named))
    return out


def from_files(files: list[GoFile] | None) -> dict:
    """The table of a package as an analysis loaded it (its files without syntax errors;
    None: module_package found no package): each file's summary from the bytes the analysis
    read (the memo's when it holds those bytes' summary)."""
    named = []
    for f in files or ():
        got = _MEMO.get(f.path)
        named.append((os.path.basename(f.path),
                      got[2] if got is not None and got[1] == hash(f.src) and got[2] is not None else file_summary(f)))
    return _merge(named)


RACY = 2.0  # seconds: a file modified this recently is not kept by stat (see remember)


def _stat_key(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None  # a FIFO or a device named x.go: never opened here (the server's loop would wait on it)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def remember(path: str, gf: GoFile | None = None, key: tuple | None = None) -> dict | None:
    """path's summary now (from the memo while the file's stat is unchanged), None for a file
    with a syntax error; raises OSError for one that cannot be read. gf, key: the file as read
    just now, and its stat from before the read."""
    if key is None:
        key = _stat_key(path)
    if key is None:
        raise OSError(path)
    got = _MEMO.get(path)
    if got is not None and got[0] == key:
        return got[2]
    if gf is None:
        gf = load_file(path)
    summary = None if gf.has_error else file_summary(gf)
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.clear()
    # kept by stat unless it changed while it was read, or was modified so recently that a
    # rewrite of the same size could still come within the clock's tick (git's "racy" rule)
    if _stat_key(path) == key and time.time() - key[1] / 1e9 > RACY:
        _MEMO[path] = (key, hash(gf.src), summary)
    return summary


def current(root: str, modpath: str, path: str) -> dict:
    """The table of the module's package `path` as module_package would load it now."""
    if path != modpath and not path.startswith(modpath + "/"):
        return {("pkg", ""): NONE}
    d = os.path.join(root, path[len(modpath):].lstrip("/"))
    try:
        names = sorted(n for n in os.listdir(d) if n.endswith(".go") and not n.endswith("_test.go"))
        named = [(n, remember(os.path.join(d, n))) for n in names]
    except OSError:
        return {("pkg", ""): NONE}
    named = [(n, s) for n, s in named if s is not None]
    # The server checks the same packages for request after request (a hundred importers of
    # one package): their table is merged again only when a file's summary is another object
    # (a file changed, came or went). The pairs kept hold the summaries, so no id is reused.
    got = _MERGED.get(d)
    if got is not None and len(got[0]) == len(named) and all(
            a[0] == b[0] and a[1] is b[1] for a, b in zip(got[0], named, strict=True)):
        return got[1]
    table = _merge(named)
    if len(_MERGED) >= _MERGED_MAX:
        _MERGED.clear()
    _MERGED[d] = (tuple(named), table)
    return table


def digest(table: dict, keys) -> str:
    """One digest of the keys' declarations in a package's table."""
    return _h(*(os_bytes(repr(k)) + b"=" + table.get(k, ABSENT) for k in sorted(keys, key=repr))).hex()


def warm(paths, max_file: int = 1 << 20) -> int:
    """The compile server, between requests: parse the Go files its requests loaded into the
    parse memo (a forked request then parses only what changed) and keep the summaries of
    those a compile's result may be checked against, each file read and parsed once.
    Unreadable or large files are left out; the number read."""
    from .package import LOADED

    n = 0
    for path in paths:
        key = _stat_key(path)
        if key is None or key[0] > max_file:
            continue
        try:
            with open(path, "rb") as fh:
                src = fh.read(max_file + 1)
        except OSError:
            continue
        if len(src) > max_file:
            continue
        n += 1
        gf = load_file(path, src)  # (the tree is kept in the parse memo if there is room)
        if path.endswith(".go") and not path.endswith("_test.go"):
            try:
                remember(path, gf, key)  # (a no-op while the memo's stat matches)
            except (OSError, ValueError):
                pass
    LOADED.clear()
    return n
