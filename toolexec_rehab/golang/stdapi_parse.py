"""The std API table from a GOROOT's ``api/go1*.txt`` files (see :mod:`toolexec_rehab.golang.stdapi`).

Every Go distribution ships the api files that ``cmd/api`` checks the std API against:
one declaration a line, package-relative (``pkg net/http, func Get(string) (*Response, error)``).
:class:`_Builder` collects them (``api/except.txt`` removed, ``api/next/`` ignored), then
rewrites every type into the canonical form of :mod:`.stdapi_canon` and lays the table out
as the JSON that ``data/stdapi.json`` and the user cache hold.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .stdapi_canon import (
    BUILTIN_TYPES,
    FORMAT,
    encode_sig,
    matching_bracket,
    package_name,
    split_top_level,
    split_type_args,
)

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable

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

_KEYWORDS = frozenset(("func", "map", "chan", "interface", "struct"))

_API_FILE_RE = re.compile(r"^go1(?:\.(\d+))?\.txt$")
_ISSUE_RE = re.compile(r"\s+#\d+$")
_HEADER_RE = re.compile(r"^pkg ([^ ,]+)(?: \(([^)]*)\))?, (\w+) (.*)$")
_TOKEN_RE = re.compile(r"\.\.\.|\$\d+|([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?")


# ---------------------------------------------------------------------------
# signatures as the api files print them
# ---------------------------------------------------------------------------


def _split_sig(rest: str) -> tuple[list[str], str, str] | None:
    """Parse ``Name[tparams](params) results`` -> (tparams, params, results)."""
    i = 0
    n = len(rest)
    while i < n and (rest[i].isalnum() or rest[i] == "_"):
        i += 1
    name = rest[:i]
    tparams: list[str] = []
    if i < n and rest[i] == "[":
        j = matching_bracket(rest, i)
        if j < 0:
            return None
        tparams = [p.split(" ", 1)[1] if " " in p else p for p in split_top_level(rest[i + 1 : j])]
        i = j + 1
    if i >= n or rest[i] != "(":
        return None
    j = matching_bracket(rest, i)
    if j < 0:
        return None
    return tparams, name + "\0" + rest[i + 1 : j], rest[j + 1 :].strip()


def _split_results(res: str) -> list[str]:
    if not res:
        return []
    if res[0] == "(" and matching_bracket(res, 0) == len(res) - 1:
        return split_top_level(res[1:-1])
    return [res]


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
            j = matching_bracket(rest, 0)
            if j < 0:
                return
            recv = rest[1:j].strip()
            self._put_method(pkg, prio, recv.lstrip("*").split("[", 1)[0], recv.startswith("*"), rest[j + 1 :].strip())
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

    def _put_method(self, pkg: str, prio: int, recv: str, ptr: bool, member: str) -> None:
        """A method line's `Name(params) results` (of a concrete type or an interface)."""
        sig = _split_sig(member)
        if sig is None:
            return
        _, name_params, results = sig
        name, params = name_params.split("\0", 1)
        self.put((pkg, "m", recv, name), prio, (ptr, split_top_level(params), _split_results(results)))

    def _feed_type(self, pkg: str, prio: int, rest: str) -> None:
        i = 0
        while i < len(rest) and (rest[i].isalnum() or rest[i] == "_"):
            i += 1
        name = rest[:i]
        tparams: list[str] = []
        if i < len(rest) and rest[i] == "[":
            j = matching_bracket(rest, i)
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
            self._put_method(pkg, prio, name, False, member)
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

    def _declared_types(self) -> dict[str, set[str]]:
        """Type names per package (they tell apart packages that share a name)."""
        declared: dict[str, set[str]] = {}
        for key in self.entries:
            if key[1] == "t":
                declared.setdefault(key[0], set()).add(key[2])
        return declared

    def build(self, version: str) -> dict:
        canon = _canonicalizer(self._qualifier_resolver(self._declared_types()))
        layout = _Layout(self.pkgs, canon)
        # type declarations first, so aliases can shed stale members
        for key, (_, val) in self.entries.items():
            if key[1] == "t":
                layout.add_type(key, val)
        for key, (_, val) in sorted(self.entries.items(), key=lambda kv: kv[0]):
            add = _Layout.ADD.get(key[1])
            if add is not None:
                add(layout, key, val)
        return layout.finish(version)


def _canonicalizer(resolve):
    """``canon(t, own)``: the api-file type expression ``t`` of package ``own`` in canonical
    form (memoized: the same types recur thousands of times)."""
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

    return canon


class _Layout:
    """The JSON layout being filled (module docstring of :mod:`.stdapi`): one ``add_*`` per
    kind of declaration (the ``_Builder`` entry keys: ``t`` type, ``f`` func, ``v`` var,
    ``c`` const, ``m`` method, ``fl`` field, ``fe`` embedded field), types canonical."""

    def __init__(self, pkgs: set[str], canon) -> None:
        self.pkgs: dict[str, dict] = {p: {} for p in sorted(pkgs)}
        self.canon = canon
        self.consts: dict[str, dict[str, list[str]]] = {}
        self.aliases: set[tuple[str, str]] = set()

    def _tinfo(self, pkg: str, name: str) -> dict:
        return self.pkgs[pkg].setdefault("t", {}).setdefault(name, {})

    def _stale_member(self, pkg: str, tname: str) -> bool:
        """Members of a type that is now an alias are stale."""
        return (pkg, tname) in self.aliases

    def add_type(self, key: tuple, val) -> None:
        canon = self.canon
        pkg, _, name = key
        (kind, under), tparams = val
        ti = self._tinfo(pkg, name)
        ti["k"] = kind
        if kind in ("a", "n"):
            ti["u"] = canon(under, pkg)
        if kind == "a":
            self.aliases.add((pkg, name))
        if tparams:
            ti["tp"] = [canon(c, pkg) for c in tparams]

    def add_func(self, key: tuple, val) -> None:
        canon = self.canon
        pkg = key[0]
        params, results, tparams = val
        sig = encode_sig(
            [canon(t, pkg) for t in params],
            [canon(t, pkg) for t in results],
            [canon(t, pkg) for t in tparams],
        )
        self.pkgs[pkg].setdefault("f", {})[key[2]] = sig

    def add_var(self, key: tuple, val) -> None:
        pkg = key[0]
        self.pkgs[pkg].setdefault("v", {})[key[2]] = self.canon(val, pkg)

    def add_const(self, key: tuple, val) -> None:
        pkg = key[0]
        self.consts.setdefault(pkg, {}).setdefault(self.canon(val, pkg), []).append(key[2])

    def add_method(self, key: tuple, val) -> None:
        canon = self.canon
        pkg, _, tname, mname = key
        if self._stale_member(pkg, tname):
            return
        ti = self._tinfo(pkg, tname)
        ptr, params, results = val
        slot = "p" if ptr else "m"
        ti.setdefault(slot, {})[mname] = encode_sig(
            [canon(t, pkg) for t in params], [canon(t, pkg) for t in results]
        )

    def add_field(self, key: tuple, val) -> None:
        pkg, _, tname, fname = key
        if self._stale_member(pkg, tname):
            return
        self._tinfo(pkg, tname).setdefault("fl", {})[fname] = self.canon(val, pkg)

    def add_embedded(self, key: tuple, val) -> None:
        pkg, _, tname, etype = key
        if self._stale_member(pkg, tname):
            return
        ti = self._tinfo(pkg, tname)
        etype = self.canon(etype, pkg)
        fname = split_type_args(etype.lstrip("*"))[0].rpartition(".")[2]
        ti.setdefault("fl", {})[fname] = etype
        ti.setdefault("e", []).append(fname)

    ADD = {"f": add_func, "v": add_var, "c": add_const, "m": add_method, "fl": add_field, "fe": add_embedded}

    def finish(self, version: str) -> dict:
        pkgs = self.pkgs
        # consts are grouped by type ({type: "A B C"}): far fewer JSON tokens
        for pkg, by_type in self.consts.items():
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

