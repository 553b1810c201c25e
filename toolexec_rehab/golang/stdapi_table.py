"""Queries over the std API table: :class:`StdAPI` (see :mod:`toolexec_rehab.golang.stdapi`
for the type syntax and the JSON layout; :func:`~toolexec_rehab.golang.stdapi.load` gives one)."""

from __future__ import annotations

from .stdapi_canon import (
    BUILTIN_TYPES,
    FORMAT,
    decode_sig,
    package_name,
    split_type_args,
    subst_tparams,
)

_MAX_EMBED_DEPTH = 3


class StdAPI:
    """Read-only queries over a parsed table (type syntax: module docstring of :mod:`.stdapi`)."""

    def __init__(self, data: dict, source: str = "") -> None:
        validate_table(data)
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
        base, args = split_type_args(t)
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
            base, targs = split_type_args(subst_tparams(target, args))
            args = targs
        return None, args, base

    def resolve_alias(self, t: str) -> str:
        """Follow alias declarations of a named type, keeping leading ``*``s
        (``*os.FileInfo`` -> ``*io/fs.FileInfo``); other types are returned as is."""
        stripped = t.lstrip("*")
        stars = t[: len(t) - len(stripped)]
        base, args = split_type_args(stripped)
        for _ in range(8):
            pkg, dot, name = base.rpartition(".")
            p = self._pkgs.get(pkg) if dot else None
            ti = None if p is None else p.get("t", {}).get(name)
            if ti is None or ti.get("k") != "a":
                break
            target = subst_tparams(ti.get("u", ""), args)
            inner = target.lstrip("*")
            stars += target[: len(target) - len(inner)]
            base, args = split_type_args(inner)
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
        u = subst_tparams(ti.get("u", ""), args)
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
            return [[subst_tparams(x, args) for x in params], [subst_tparams(x, args) for x in results]]
        if ti.get("k") == "n":
            u = subst_tparams(ti.get("u", ""), args)
            if not u.startswith("*") and u != t and self.is_interface(u):
                return self._lookup_method(u, name, depth, seen)
        if depth >= _MAX_EMBED_DEPTH:
            return None
        found = None
        for fname in ti.get("e", ()):
            et = subst_tparams(ti["fl"][fname], args).lstrip("*")
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
                u = subst_tparams(ti.get("u", ""), args)
                if u != t and not u.startswith("*") and self.has_type(u):
                    return self._lookup_field(u, field, depth, seen)
            return None
        ft = fl.get(field)
        if ft is not None:
            return subst_tparams(ft, args)
        if depth >= _MAX_EMBED_DEPTH:
            return None
        found = None
        for fname in ti.get("e", ()):
            et = subst_tparams(fl[fname], args).lstrip("*")
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
        return {k: subst_tparams(v, args) for k, v in ti.get("fl", {}).items()}

    def type_params(self, t: str) -> list[str]:
        ti, _, _ = self._type_info(split_type_args(t.lstrip("*"))[0])
        return [] if ti is None else list(ti.get("tp", ()))


def validate_table(data: object) -> None:
    """Raise TypeError/ValueError unless ``data`` looks like a table of this ``FORMAT``."""
    if not isinstance(data, dict):
        raise TypeError("stdapi table: not an object")
    if data.get("format") != FORMAT:
        raise ValueError(f"stdapi table: format {data.get('format')!r} != {FORMAT}")
    if not isinstance(data.get("version"), str) or not isinstance(data.get("pkgs"), dict):
        raise TypeError("stdapi table: missing version/pkgs")
