"""Canonical type strings of the std API table, and the compact signature encoding.

The type syntax (full import paths as qualifiers, ``byte`` for ``uint8``, ``$N`` type
parameters, ``untyped int`` ...) is described in :mod:`toolexec_rehab.golang.stdapi`.
These helpers are shared by the api-file parser (:mod:`.stdapi_parse`) and the query
class (:mod:`.stdapi_table`).
"""

from __future__ import annotations

import re

#: Version of the JSON layout; bump when the layout or the parser changes so
#: that stale user caches are ignored (it is part of the cache key).
FORMAT = 2

BUILTIN_TYPES = frozenset(
    (
        "bool", "byte", "complex64", "complex128", "error", "float32", "float64",
        "int", "int8", "int16", "int32", "int64", "rune", "string", "uint", "uint8",
        "uint16", "uint32", "uint64", "uintptr", "any", "comparable",
    )
)

_TPARAM_RE = re.compile(r"\$(\d+)")
_VERSION_SUFFIX_RE = re.compile(r"^v\d+$")


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


def matching_bracket(s: str, i: int) -> int:
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


def split_type_args(t: str) -> tuple[str, list[str]]:
    """``pkg.T[A, B]`` -> (``pkg.T``, [A, B]); plain names give ([])."""
    i = t.find("[")
    if i <= 0 or not t.endswith("]"):
        return t, []
    return t[:i], split_top_level(t[i + 1 : -1])


def subst_tparams(t: str, args: list[str]) -> str:
    """Replace the type parameters ``$0, $1, ...`` in ``t`` by ``args``."""
    if not args or "$" not in t:
        return t

    def rep(m: re.Match) -> str:
        n = int(m.group(1))
        return args[n] if n < len(args) else m.group(0)

    return _TPARAM_RE.sub(rep, t)


def encode_sig(params: list[str], results: list[str], tparams: list[str] = ()) -> str:
    """Signature as one compact string: ``[tparams](params)(results)``."""
    head = f"[{','.join(tparams)}]" if tparams else ""
    return f"{head}({','.join(params)})({','.join(results)})"


def decode_sig(sig: str) -> tuple[list[str], list[str], list[str]]:
    """Inverse of :func:`encode_sig`: (params, results, tparams)."""
    tparams: list[str] = []
    i = 0
    if sig.startswith("["):
        i = matching_bracket(sig, 0)
        tparams = split_top_level(sig[1:i])
        i += 1
    j = matching_bracket(sig, i)
    return split_top_level(sig[i + 1 : j]), split_top_level(sig[j + 2 : -1]), tparams

