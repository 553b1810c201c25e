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
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable

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

#: Version of the JSON layout; bump when the layout or the parser changes so
#: that stale user caches are ignored (it is part of the cache key).
FORMAT = 2

# Platform-specific api lines (``pkg os (linux-amd64), ...``) are only taken
# from these platforms; earlier entries win when a declaration differs.
# Lines without a platform always win over platform-specific ones.
PLATFORMS = (
    "linux-amd64",
    "linux-amd64-cgo",
    "darwin-arm64",
    "darwin-arm64-cgo",
    "windows-amd64",
)

# Preferred import path for package names shared by several std packages,
# used only when the referenced type name does not disambiguate.
AMBIGUOUS_PREFERENCE = {
    "rand": "math/rand",
    "template": "text/template",
    "scanner": "text/scanner",
    "pprof": "runtime/pprof",
}

BUILTIN_TYPES = frozenset(
    (
        "bool", "byte", "complex64", "complex128", "error", "float32", "float64",
        "int", "int8", "int16", "int32", "int64", "rune", "string", "uint", "uint8",
        "uint16", "uint32", "uint64", "uintptr", "any", "comparable",
    )
)
_KEYWORDS = frozenset(("func", "map", "chan", "interface", "struct"))

_SHIPPED = Path(__file__).resolve().parent.parent / "data" / "stdapi.json"
_API_FILE_RE = re.compile(r"^go1(?:\.(\d+))?\.txt$")
_ISSUE_RE = re.compile(r"\s+#\d+$")
_HEADER_RE = re.compile(r"^pkg ([^ ,]+)(?: \(([^)]*)\))?, (\w+) (.*)$")
_TOKEN_RE = re.compile(r"\.\.\.|\$\d+|([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?")
_TPARAM_RE = re.compile(r"\$(\d+)")
_VERSION_SUFFIX_RE = re.compile(r"^v\d+$")


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def package_name(path: str) -> str:
    """Default package name of an import path (``math/rand/v2`` -> ``rand``)."""
    parts = path.split("/")
    if len(parts) > 1 and _VERSION_SUFFIX_RE.match(parts[-1]):
        return parts[-2]
    return parts[-1]


def split_top_level(s: str, sep: str = ",") -> list[str]:
    """Split ``s`` on ``sep`` outside any (), [] or {} nesting; strip parts."""
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(s):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(s[start:i].strip())
            start = i + 1
    last = s[start:].strip()
    if last or out:
        out.append(last)
    return out


def _matching(s: str, i: int) -> int:
    """Index of the bracket closing the one at ``s[i]`` (or -1)."""
    depth = 0
    for j in range(i, len(s)):
        ch = s[j]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return -1


_ALIAS_RE = re.compile(r"\buint8\b|\bint32\b|\bany\b")
_ALIAS_MAP = {"uint8": "byte", "int32": "rune", "any": "interface{}"}


def types_identical(a: str, b: str) -> bool:
    """Compare canonical type strings modulo byte/uint8, rune/int32, any/interface{}."""
    if a == b:
        return True

    def norm(t: str) -> str:
        t = _ALIAS_RE.sub(lambda m: _ALIAS_MAP[m.group(0)], t)
        return re.sub(r"\s+", "", t)

    return norm(a) == norm(b)


def _split_type_args(t: str) -> tuple[str, list[str]]:
    """``pkg.T[A, B]`` -> (``pkg.T``, [A, B]); plain names give ([])."""
    i = t.find("[")
    if i <= 0 or not t.endswith("]"):
        return t, []
    return t[:i], split_top_level(t[i + 1 : -1])


def _subst(t: str, args: list[str]) -> str:
    if not args or "$" not in t:
        return t

    def rep(m: re.Match) -> str:
        n = int(m.group(1))
        return args[n] if n < len(args) else m.group(0)

    return _TPARAM_RE.sub(rep, t)


def _split_sig(rest: str) -> tuple[list[str], str, str] | None:
    """Parse ``Name[tparams](params) results`` -> (tparams, params, results)."""
    i = 0
    n = len(rest)
    while i < n and (rest[i].isalnum() or rest[i] == "_"):
        i += 1
    name = rest[:i]
    tparams: list[str] = []
    if i < n and rest[i] == "[":
        j = _matching(rest, i)
        if j < 0:
            return None
        tparams = [p.split(" ", 1)[1] if " " in p else p for p in split_top_level(rest[i + 1 : j])]
        i = j + 1
    if i >= n or rest[i] != "(":
        return None
    j = _matching(rest, i)
    if j < 0:
        return None
    return tparams, name + "\0" + rest[i + 1 : j], rest[j + 1 :].strip()


def _split_results(res: str) -> list[str]:
    if not res:
        return []
    if res[0] == "(" and _matching(res, 0) == len(res) - 1:
        return split_top_level(res[1:-1])
    return [res]


def encode_sig(params: list[str], results: list[str], tparams: list[str] = ()) -> str:
    """Signature as one compact string: ``[tparams](params)(results)``."""
    head = f"[{','.join(tparams)}]" if tparams else ""
    return f"{head}({','.join(params)})({','.join(results)})"


def decode_sig(sig: str) -> tuple[list[str], list[str], list[str]]:
    """Inverse of :func:`encode_sig`: (params, results, tparams)."""
    tparams: list[str] = []
    i = 0
    if sig.startswith("["):
        i = _matching(sig, 0)
        tparams = split_top_level(sig[1:i])
        i += 1
    j = _matching(sig, i)
    return split_top_level(sig[i + 1 : j]), split_top_level(sig[j + 2 : -1]), tparams


# ---------------------------------------------------------------------------
# parsing the api files
# ---------------------------------------------------------------------------


def api_files(goroot: str | os.PathLike) -> list[Path]:
    """The ``api/go1*.txt`` files of ``goroot`` in release order (go1, go1.1, ...)."""
    api = Path(goroot) / "api"
    found = []
    try:
        entries = list(api.iterdir())
    except OSError:
        return []
    for p in entries:
        m = _API_FILE_RE.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1) or 0), p))
    found.sort(key=lambda x: x[0])
    return [p for _, p in found]


def _norm_line(line: str) -> str:
    return _ISSUE_RE.sub("", line.strip())


class _Builder:
    """Accumulates raw (package-relative) declarations, then canonicalizes."""

    def __init__(self) -> None:
        # key -> (priority, value); lower priority wins, later file wins ties
        self.entries: dict[tuple, tuple[int, object]] = {}
        self.pkgs: set[str] = set()

    def put(self, key: tuple, prio: int, value: object) -> None:
        old = self.entries.get(key)
        if old is None or prio <= old[0]:
            self.entries[key] = (prio, value)

    def feed(self, lines: Iterable[str], excluded: set[str]) -> None:
        plat_prio = {p: i + 1 for i, p in enumerate(PLATFORMS)}
        for raw in lines:
            if not raw.startswith("pkg "):
                continue
            line = _norm_line(raw)
            if line in excluded or line.endswith("//deprecated"):
                continue
            m = _HEADER_RE.match(line)
            if not m:
                continue
            pkg, plat, kind, rest = m.groups()
            if plat is None:
                prio = 0
            else:
                prio = plat_prio.get(plat)
                if prio is None:
                    continue
            self.pkgs.add(pkg)
            try:
                self._feed_decl(pkg, prio, kind, rest)
            except (ValueError, IndexError):
                continue  # unknown shape: ignore rather than fail the table

    def _feed_decl(self, pkg: str, prio: int, kind: str, rest: str) -> None:
        if kind == "func":
            sig = _split_sig(rest)
            if sig is None:
                return
            tparams, name_params, results = sig
            name, params = name_params.split("\0", 1)
            self.put((pkg, "f", name), prio, (split_top_level(params), _split_results(results), tparams))
        elif kind == "method":
            if not rest.startswith("("):
                return
            j = _matching(rest, 0)
            if j < 0:
                return
            recv = rest[1:j].strip()
            ptr = recv.startswith("*")
            recv = recv.lstrip("*")
            recv_name = recv.split("[", 1)[0]
            sig = _split_sig(rest[j + 1 :].strip())
            if sig is None:
                return
            _, name_params, results = sig
            name, params = name_params.split("\0", 1)
            self.put(
                (pkg, "m", recv_name, name), prio, (ptr, split_top_level(params), _split_results(results))
            )
        elif kind == "var":
            name, _, typ = rest.partition(" ")
            if typ:
                self.put((pkg, "v", name), prio, typ)
        elif kind == "const":
            name, _, typ = rest.partition(" ")
            if typ and not typ.startswith("="):
                if typ.startswith("ideal-"):
                    typ = "untyped " + typ[6:].replace("char", "rune")
                self.put((pkg, "c", name), prio, typ)
        elif kind == "type":
            self._feed_type(pkg, prio, rest)

    def _feed_type(self, pkg: str, prio: int, rest: str) -> None:
        i = 0
        while i < len(rest) and (rest[i].isalnum() or rest[i] == "_"):
            i += 1
        name = rest[:i]
        tparams: list[str] = []
        if i < len(rest) and rest[i] == "[":
            j = _matching(rest, i)
            if j < 0:
                return
            tparams = [p.split(" ", 1)[1] if " " in p else p for p in split_top_level(rest[i + 1 : j])]
            i = j + 1
        body = rest[i:].strip()
        if body.startswith("struct, "):
            member = body[len("struct, ") :]
            fname, _, ftype = member.partition(" ")
            if fname == "embedded":
                self.put((pkg, "fe", name, ftype), prio, True)
            elif ftype:
                self.put((pkg, "fl", name, fname), prio, ftype)
            return
        if body.startswith("interface, "):
            member = body[len("interface, ") :]
            if member.startswith("embedded "):
                return  # api files list interface methods flattened
            sig = _split_sig(member)
            if sig is None:
                return
            _, name_params, results = sig
            mname, params = name_params.split("\0", 1)
            self.put(
                (pkg, "m", name, mname), prio, (False, split_top_level(params), _split_results(results))
            )
            return
        if body == "struct":
            decl = ("s", "")
        elif body.startswith("interface"):
            decl = ("i", "")
        elif body.startswith("= "):
            decl = ("a", body[2:].strip())
        else:
            decl = ("n", body)
        self.put((pkg, "t", name), prio, (decl, tparams))

    # -- canonicalization -------------------------------------------------

    def _qualifier_resolver(self, declared: dict[str, set[str]]):
        by_name: dict[str, list[str]] = {}
        for p in sorted(self.pkgs):
            by_name.setdefault(package_name(p), []).append(p)
        memo: dict[tuple[str, str, str], str] = {}

        def resolve(qual: str, own: str, tname: str) -> str:
            key = (qual, own, tname)
            hit = memo.get(key)
            if hit is not None:
                return hit
            cands = [p for p in by_name.get(qual, ()) if p != own]
            if len(cands) > 1:
                having = [p for p in cands if tname in declared.get(p, ())]
                if len(having) == 1:
                    cands = having
                elif having:
                    cands = having
                    pref = AMBIGUOUS_PREFERENCE.get(qual)
                    if pref in having:
                        cands = [pref]
                else:
                    pref = AMBIGUOUS_PREFERENCE.get(qual)
                    if pref in cands:
                        cands = [pref]
            out = cands[0] if cands else qual
            memo[key] = out
            return out

        return resolve

    def build(self, version: str) -> dict:
        declared: dict[str, set[str]] = {}
        for key in self.entries:
            if key[1] == "t":
                declared.setdefault(key[0], set()).add(key[2])
        resolve = self._qualifier_resolver(declared)
        cache: dict[tuple[str, str], str] = {}

        def canon(t: str, own: str) -> str:
            ck = (t, own)
            hit = cache.get(ck)
            if hit is not None:
                return hit

            def rep(m: re.Match) -> str:
                ident, sel = m.group(1), m.group(2)
                if ident is None:
                    return m.group(0)  # "..." or "$N"
                if sel is not None:
                    return resolve(ident, own, sel) + "." + sel
                if ident == "uint8":
                    return "byte"
                if ident == "struct" and not t.startswith("{", m.end()):
                    return "struct{}"  # the api files print struct{} as "struct"
                if ident in BUILTIN_TYPES or ident in _KEYWORDS:
                    return ident
                return own + "." + ident

            if t.startswith("untyped "):
                out = t
            else:
                out = _TOKEN_RE.sub(rep, t)
            cache[ck] = out
            return out

        pkgs: dict[str, dict] = {p: {} for p in sorted(self.pkgs)}

        def tinfo(pkg: str, name: str) -> dict:
            return pkgs[pkg].setdefault("t", {}).setdefault(name, {})

        consts: dict[str, dict[str, list[str]]] = {}
        # type declarations first, so aliases can shed stale members
        aliases: set[tuple[str, str]] = set()
        for key, (_, val) in self.entries.items():
            if key[1] != "t":
                continue
            pkg, _, name = key
            (kind, under), tparams = val
            ti = tinfo(pkg, name)
            ti["k"] = kind
            if kind in ("a", "n"):
                ti["u"] = canon(under, pkg)
            if kind == "a":
                aliases.add((pkg, name))
            if tparams:
                ti["tp"] = [canon(c, pkg) for c in tparams]

        for key, (_, val) in sorted(self.entries.items(), key=lambda kv: kv[0]):
            pkg, kind = key[0], key[1]
            if kind == "f":
                params, results, tparams = val
                sig = encode_sig(
                    [canon(t, pkg) for t in params],
                    [canon(t, pkg) for t in results],
                    [canon(t, pkg) for t in tparams],
                )
                pkgs[pkg].setdefault("f", {})[key[2]] = sig
            elif kind == "v":
                pkgs[pkg].setdefault("v", {})[key[2]] = canon(val, pkg)
            elif kind == "c":
                consts.setdefault(pkg, {}).setdefault(canon(val, pkg), []).append(key[2])
            elif kind in ("m", "fl", "fe"):
                tname = key[2]
                if (pkg, tname) in aliases:
                    continue  # members of a type that is now an alias are stale
                ti = tinfo(pkg, tname)
                if kind == "m":
                    ptr, params, results = val
                    slot = "p" if ptr else "m"
                    ti.setdefault(slot, {})[key[3]] = encode_sig(
                        [canon(t, pkg) for t in params], [canon(t, pkg) for t in results]
                    )
                elif kind == "fl":
                    ti.setdefault("fl", {})[key[3]] = canon(val, pkg)
                else:
                    etype = canon(key[3], pkg)
                    fname = _split_type_args(etype.lstrip("*"))[0].rpartition(".")[2]
                    ti.setdefault("fl", {})[fname] = etype
                    ti.setdefault("e", []).append(fname)
        # consts are grouped by type ({type: "A B C"}): far fewer JSON tokens
        for pkg, by_type in consts.items():
            pkgs[pkg]["c"] = {t: " ".join(sorted(names)) for t, names in by_type.items()}
        for p in pkgs.values():
            for ti in p.get("t", {}).values():
                ti.setdefault("k", "n")
                if "e" in ti:
                    ti["e"].sort()
        return {"format": FORMAT, "version": version, "pkgs": pkgs}


def parse_api_lines(files: Iterable[Iterable[str]], except_lines: Iterable[str] = (), version: str = "") -> dict:
    """Build the JSON-able table from api line sources given in release order."""
    excluded = {_norm_line(l) for l in except_lines if l.startswith("pkg ")}
    b = _Builder()
    for lines in files:
        b.feed(lines, excluded)
    return b.build(version)


def parse_goroot(goroot: str | os.PathLike) -> dict:
    """Parse ``goroot/api`` into the JSON-able table (raises OSError/ValueError)."""
    files = api_files(goroot)
    if not files:
        raise ValueError(f"no api/go1*.txt files under {goroot}")
    minor = max(int(_API_FILE_RE.match(p.name).group(1) or 0) for p in files)
    version = f"go1.{minor}" if minor else "go1"
    exc_path = Path(goroot) / "api" / "except.txt"
    except_lines: list[str] = []
    if exc_path.is_file():
        except_lines = exc_path.read_text(encoding="utf-8").splitlines()
    sources = [p.read_text(encoding="utf-8").splitlines() for p in files]
    return parse_api_lines(sources, except_lines, version)


# ---------------------------------------------------------------------------
# the queryable table
# ---------------------------------------------------------------------------

_MAX_EMBED_DEPTH = 3


class StdAPI:
    """Read-only queries over a parsed table (see module docstring for type syntax)."""

    def __init__(self, data: dict, source: str = "") -> None:
        _validate(data)
        self._pkgs: dict[str, dict] = data["pkgs"]
        self._version: str = data["version"]
        self._consts: dict[str, dict[str, str]] = {}  # lazily inverted "c" maps
        self._sigs: dict[str, tuple[list[str], list[str], list[str]]] = {}  # decoded signatures
        #: where the table came from: "shipped", "cache", "parsed" (informational)
        self.source = source

    def __repr__(self) -> str:
        return f"<StdAPI {self._version} {len(self._pkgs)} packages ({self.source})>"

    @property
    def version(self) -> str:
        """Go release the table describes, e.g. ``"go1.26"``."""
        return self._version

    # -- packages ---------------------------------------------------------

    def has_package(self, pkgpath: str) -> bool:
        return pkgpath in self._pkgs

    def packages(self) -> list[str]:
        return sorted(self._pkgs)

    def packages_named(self, name: str) -> list[str]:
        """Import paths of std packages whose default name is ``name``."""
        return [p for p in sorted(self._pkgs) if package_name(p) == name]

    # -- package-level objects ------------------------------------------------

    def _sig(self, enc: str) -> tuple[list[str], list[str], list[str]]:
        sig = self._sigs.get(enc)
        if sig is None:
            sig = self._sigs[enc] = decode_sig(enc)
        return sig

    def _func(self, pkgpath: str, name: str) -> tuple[list[str], list[str], list[str]] | None:
        p = self._pkgs.get(pkgpath)
        if p is None:
            return None
        enc = p.get("f", {}).get(name)
        return None if enc is None else self._sig(enc)

    def func_results(self, pkgpath: str, name: str) -> list[str] | None:
        sig = self._func(pkgpath, name)
        return None if sig is None else list(sig[1])

    def func_params(self, pkgpath: str, name: str) -> list[str] | None:
        sig = self._func(pkgpath, name)
        return None if sig is None else list(sig[0])

    def func_type_params(self, pkgpath: str, name: str) -> list[str] | None:
        """Constraints of ``$0, $1, ...`` for a generic func ([] if not generic)."""
        sig = self._func(pkgpath, name)
        if sig is None:
            return None
        return list(sig[2])

    def var_type(self, pkgpath: str, name: str) -> str | None:
        p = self._pkgs.get(pkgpath)
        return None if p is None else p.get("v", {}).get(name)

    def const_type(self, pkgpath: str, name: str) -> str | None:
        """Type of an exported const (``untyped int`` etc. for untyped ones)."""
        idx = self._consts.get(pkgpath)
        if idx is None:
            p = self._pkgs.get(pkgpath)
            if p is None:
                return None
            idx = {n: t for t, names in p.get("c", {}).items() for n in names.split()}
            self._consts[pkgpath] = idx
        return idx.get(name)

    # -- named types ----------------------------------------------------------

    def _type_info(self, t: str) -> tuple[dict | None, list[str], str]:
        """(info, type args, canonical base name) for a named type, following aliases."""
        base, args = _split_type_args(t)
        for _ in range(8):  # alias chains are short; guard against cycles
            pkg, dot, name = base.rpartition(".")
            if not dot:
                return None, args, base
            p = self._pkgs.get(pkg)
            ti = None if p is None else p.get("t", {}).get(name)
            if ti is None or ti.get("k") != "a":
                return ti, args, base
            target = ti.get("u", "")
            if target.startswith("*"):
                return None, args, base
            base, targs = _split_type_args(_subst(target, args))
            args = targs
        return None, args, base

    def resolve_alias(self, t: str) -> str:
        """Follow alias declarations of a named type, keeping leading ``*``s
        (``*os.FileInfo`` -> ``*io/fs.FileInfo``); other types are returned as is."""
        stripped = t.lstrip("*")
        stars = t[: len(t) - len(stripped)]
        base, args = _split_type_args(stripped)
        for _ in range(8):
            pkg, dot, name = base.rpartition(".")
            p = self._pkgs.get(pkg) if dot else None
            ti = None if p is None else p.get("t", {}).get(name)
            if ti is None or ti.get("k") != "a":
                break
            target = _subst(ti.get("u", ""), args)
            inner = target.lstrip("*")
            stars += target[: len(target) - len(inner)]
            base, args = _split_type_args(inner)
        return stars + base + (f"[{', '.join(args)}]" if args else "")

    def has_type(self, t: str) -> bool:
        ti, _, _ = self._type_info(t.lstrip("*"))
        return ti is not None

    def underlying(self, t: str) -> str | None:
        """``"struct"``, ``"interface"`` or the underlying type expression."""
        if t in BUILTIN_TYPES:
            return "interface" if t in ("error", "any", "comparable") else t
        ti, args, _ = self._type_info(t)
        if ti is None:
            return None
        k = ti.get("k")
        if k == "s":
            return "struct"
        if k == "i":
            return "interface"
        u = _subst(ti.get("u", ""), args)
        nested = self.underlying(u) if self.has_type(u) and not u.startswith("*") else None
        return nested or u

    def is_interface(self, t: str) -> bool:
        t = t.strip()
        if t.startswith("*"):
            return False
        if t in ("error", "any", "comparable") or t.startswith("interface"):
            return True
        ti, _, _ = self._type_info(t)
        if ti is None:
            return False
        if ti.get("k") == "i":
            return True
        if ti.get("k") == "n":
            u = ti.get("u", "")
            return u != t and not u.startswith("*") and self.is_interface(u)
        return False

    def _lookup_method(self, t: str, name: str, depth: int, seen: set[str]) -> list | None:
        if t == "error":
            return [[], ["string"]] if name == "Error" else None  # builtin error
        ti, args, base = self._type_info(t)
        if ti is None or base in seen:
            return None
        seen = seen | {base}
        enc = ti.get("m", {}).get(name) or ti.get("p", {}).get(name)
        if enc is not None:
            params, results, _ = self._sig(enc)
            return [[_subst(x, args) for x in params], [_subst(x, args) for x in results]]
        if ti.get("k") == "n":
            u = _subst(ti.get("u", ""), args)
            if not u.startswith("*") and u != t and self.is_interface(u):
                return self._lookup_method(u, name, depth, seen)
        if depth >= _MAX_EMBED_DEPTH:
            return None
        found = None
        for fname in ti.get("e", ()):
            et = _subst(ti["fl"][fname], args).lstrip("*")
            r = self._lookup_method(et, name, depth + 1, seen)
            if r is not None:
                if found is not None and found != r:
                    return None  # ambiguous selector at the same depth
                found = r
        return found

    def _method(self, recv_type: str, name: str) -> list | None:
        t = recv_type.strip().removeprefix("*")
        return self._lookup_method(t, name, 0, set())

    def method_results(self, recv_type: str, name: str) -> list[str] | None:
        """Results of method ``name`` on ``recv_type`` (``T`` or ``*T``; includes
        pointer-receiver methods, interface methods, and methods promoted through
        embedded fields)."""
        sig = self._method(recv_type, name)
        return None if sig is None else sig[1]

    def method_params(self, recv_type: str, name: str) -> list[str] | None:
        sig = self._method(recv_type, name)
        return None if sig is None else sig[0]

    def methods(self, t: str) -> list[str]:
        """Names of methods declared directly on ``t`` (value and pointer receivers)."""
        ti, _, _ = self._type_info(t.lstrip("*"))
        if ti is None:
            return []
        return sorted(set(ti.get("m", {})) | set(ti.get("p", {})))

    def _lookup_field(self, t: str, field: str, depth: int, seen: set[str]) -> str | None:
        ti, args, base = self._type_info(t)
        if ti is None or base in seen:
            return None
        seen = seen | {base}
        fl = ti.get("fl")
        if fl is None:
            if ti.get("k") == "n":
                u = _subst(ti.get("u", ""), args)
                if u != t and not u.startswith("*") and self.has_type(u):
                    return self._lookup_field(u, field, depth, seen)
            return None
        ft = fl.get(field)
        if ft is not None:
            return _subst(ft, args)
        if depth >= _MAX_EMBED_DEPTH:
            return None
        found = None
        for fname in ti.get("e", ()):
            et = _subst(fl[fname], args).lstrip("*")
            r = self._lookup_field(et, field, depth + 1, seen)
            if r is not None:
                if found is not None and found != r:
                    return None
                found = r
        return found

    def field_type(self, struct_type: str, field: str) -> str | None:
        """Type of exported field ``field`` of a struct (``T`` or ``*T``), including
        embedded-field names and fields promoted through embedding."""
        t = struct_type.strip().removeprefix("*")
        return self._lookup_field(t, field, 0, set())

    def fields(self, struct_type: str) -> dict[str, str]:
        """Directly declared exported fields (embedded ones under their type name)."""
        ti, args, _ = self._type_info(struct_type.lstrip("*"))
        if ti is None:
            return {}
        return {k: _subst(v, args) for k, v in ti.get("fl", {}).items()}

    def type_params(self, t: str) -> list[str]:
        ti, _, _ = self._type_info(_split_type_args(t.lstrip("*"))[0])
        return [] if ti is None else list(ti.get("tp", ()))


def _validate(data: object) -> None:
    if not isinstance(data, dict):
        raise TypeError("stdapi table: not an object")
    if data.get("format") != FORMAT:
        raise ValueError(f"stdapi table: format {data.get('format')!r} != {FORMAT}")
    if not isinstance(data.get("version"), str) or not isinstance(data.get("pkgs"), dict):
        raise TypeError("stdapi table: missing version/pkgs")


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
    _validate(data)
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
