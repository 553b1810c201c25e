"""Go standard library API table (types of funcs, methods, fields, vars, consts).

The table is derived from the ``$GOROOT/api/go1*.txt`` files that ship with
every Go distribution (minus ``api/except.txt``; ``api/next/`` is ignored).
It lets a syntax-only analyzer answer questions such as "what does
``http.Get`` return?" without running the Go type checker.

Canonical type strings
----------------------
Every type is a string with *full import paths* as qualifiers::

    *net/http.Response   io.ReadCloser   []string   map[string][]string
    func(net/http.ResponseWriter, *net/http.Request)   ...interface{}

* Builtin types stay unqualified (``error``, ``string``, ``int``, ...).
* ``uint8`` is spelled ``byte`` (the api files always print ``uint8``; the
  two are identical in Go and ``[]byte`` is by far the common spelling).
  ``rune`` is printed as ``int32`` by the api files and is left that way;
  ``any`` is printed as ``interface{}``.  Use :func:`types_identical` to
  compare types modulo these aliases.
* Type parameters of generic funcs/types appear as ``$0``, ``$1``, ...
  (as in the api files).  When a method or field is looked up on an
  instantiated type (``*sync/atomic.Pointer[main.T]``) the type arguments
  are substituted into the answer.
* Untyped constants have types ``untyped int``, ``untyped string``, ...

Entry points: :func:`load` (memoized) and the :class:`StdAPI` class.

This module loads, caches and memoizes tables, and re-exports the public names of
``stdapi_canon`` (canonical type strings, the signature encoding, ``FORMAT``),
``stdapi_parse`` (api files -> table; ``tools/gen_stdapi.py`` writes ``data/stdapi.json``
with it) and ``stdapi_table`` (:class:`StdAPI`, the queries).

JSON layout (``data/stdapi.json`` and the user cache; ``FORMAT`` 2)
--------------------------------------------------------------------
``{"format": 2, "version": "go1.26", "pkgs": {path: pkg}}`` where ``pkg`` has
optional keys ``f`` (func name -> signature), ``v`` (var name -> type),
``c`` (const type -> space-separated names) and ``t`` (type name -> info).
A signature is one string ``[tparams](params)(results)`` with
comma-separated canonical types (see :func:`encode_sig`); it is decoded
lazily.  Type info: ``k`` kind (``s`` struct, ``i`` interface, ``a`` alias,
``n`` other named type), ``u`` underlying type / alias target, ``m`` value
receiver methods, ``p`` pointer receiver methods (interface methods are in
``m``), ``fl`` fields (embedded ones under their type name), ``e`` names of
embedded fields, ``tp`` type-parameter constraints.  Few, long strings keep
``json.loads`` fast.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

# the public names of the split-out modules; `X as X`: module attributes that were public
# here before the split without being in __all__
from .stdapi_canon import BUILTIN_TYPES as BUILTIN_TYPES
from .stdapi_canon import FORMAT, decode_sig, encode_sig, package_name, split_top_level, types_identical
from .stdapi_parse import AMBIGUOUS_PREFERENCE as AMBIGUOUS_PREFERENCE
from .stdapi_parse import PLATFORMS as PLATFORMS
from .stdapi_parse import api_files, parse_api_lines, parse_goroot
from .stdapi_table import StdAPI, validate_table

__all__ = [
    "FORMAT",
    "StdAPI",
    "api_files",
    "cache_path_for",
    "clear_memo",
    "decode_sig",
    "dump_table",
    "encode_sig",
    "load",
    "package_name",
    "parse_api_lines",
    "parse_goroot",
    "shipped_path",
    "split_top_level",
    "types_identical",
]

_SHIPPED = Path(__file__).resolve().parent.parent / "data" / "stdapi.json"


# ---------------------------------------------------------------------------
# loading, caching, memoization
# ---------------------------------------------------------------------------

_memo: dict[str | None, StdAPI] = {}
_lock = threading.Lock()


def clear_memo() -> None:
    """Forget tables memoized by :func:`load` (mainly for tests)."""
    with _lock:
        _memo.clear()


def shipped_path() -> Path:
    return _SHIPPED


def _cache_dir() -> Path:
    """Our private cache dir (UnsafePathError, an OSError, when it is not ours alone: the
    table is then parsed, not cached)."""
    from ..paths import cache_dir

    return Path(cache_dir())


def cache_path_for(goroot: str | os.PathLike) -> Path | None:
    """User-cache file for ``goroot``'s api files (None if it has none). OSError when we
    have no private cache dir."""
    root = os.path.abspath(os.fspath(goroot))
    files = api_files(root)
    if not files:
        return None
    import hashlib  # deferred: only needed when a GOROOT is given

    h = hashlib.sha256()
    h.update(f"format={FORMAT}\0{root}\0".encode())
    exc = Path(root) / "api" / "except.txt"
    for p in files + ([exc] if exc.is_file() else []):
        st = p.stat()
        h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return _cache_dir() / f"stdapi-{h.hexdigest()[:16]}.json"


def _read_table(path: Path) -> dict:
    with open(path, "rb") as f:
        data = json.loads(f.read())
    validate_table(data)
    return data


def dump_table(data: dict) -> str:
    """Serialize a table compactly (the format of the shipped/cached JSON)."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _write_atomic(path: Path, text: str) -> None:
    from ..paths import write_private

    write_private(str(path), text.encode("utf-8"))


def _load_shipped() -> StdAPI:
    return StdAPI(_read_table(_SHIPPED), "shipped")


def _load_goroot(goroot: str) -> StdAPI:
    try:
        cpath = cache_path_for(goroot)
    except OSError:  # no private cache dir: parse, keep nothing
        if not api_files(goroot):
            return _load_shipped()
        return StdAPI(parse_goroot(goroot), "parsed")
    if cpath is None:
        return _load_shipped()
    try:
        return StdAPI(_read_table(cpath), "cache")
    except (OSError, ValueError, TypeError):
        pass  # missing or corrupt cache: rebuild it
    data = parse_goroot(goroot)
    api = StdAPI(data, "parsed")
    try:
        _write_atomic(cpath, dump_table(data))
    except OSError:
        pass  # unwritable cache dir: still use the parsed table
    return api


def load(goroot: str | os.PathLike | None = None) -> StdAPI:
    """Table for ``goroot`` (parsed once, cached in the user cache dir), or the
    shipped table when ``goroot`` is None or anything goes wrong.  Memoized."""
    key = None if goroot is None else os.path.abspath(os.fspath(goroot))
    with _lock:
        hit = _memo.get(key)
        if hit is not None:
            return hit
        if key is None:
            api = _load_shipped()
        else:
            try:
                api = _load_goroot(key)
            except Exception:  # noqa: BLE001 - any failure means "use the shipped table"
                api = _memo.get(None) or _load_shipped()
        _memo[key] = api
        return api
