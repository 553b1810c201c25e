"""Nil guards around a release (flow.Flow._walk_if): `if resp != nil && resp.Body != nil {
defer resp.Body.Close() }` and `if f != nil { f.Close() }` release the resource on every
path: where the guard is false there is nothing to release.

A guard counts only when every part of it is such a check: `if f != nil && verbose` may skip
the release of a live file, so it is an ordinary branch.
"""

from __future__ import annotations

from tree_sitter import Node

from ..golang import parse as P


def nil_guard(cond: Node | None, names: set[str]) -> str | None:
    """"nonnil" when cond holds only if the resource is there (`x != nil`, `a != nil && b !=
    nil`, each operand one of `names`: the variable, the handle, a selector on the way to the
    handle); "nil" for `x == nil`; None for anything else."""
    cond = _bare(cond)
    if cond is None or cond.type != "binary_expression":
        return None
    op = P.text(cond.child_by_field_name("operator"))
    left, right = _bare(cond.child_by_field_name("left")), _bare(cond.child_by_field_name("right"))
    if op == "&&":
        return "nonnil" if nil_guard(left, names) == nil_guard(right, names) == "nonnil" else None
    if op not in ("!=", "=="):
        return None
    if left is not None and left.type == "nil":
        left, right = right, left
    if right is None or right.type != "nil" or left is None or P.normalize_code(left) not in names:
        return None
    return "nonnil" if op == "!=" else "nil"


def guard_names(var: str, handle: str) -> set[str]:
    """What a nil check may test: the variable and each selector from it to the handle
    (`resp`, `resp.Body` for the handle `resp.Body`)."""
    out = {var}
    if handle.startswith(var + "."):
        parts = handle.split(".")
        out.update(".".join(parts[: i + 1]) for i in range(1, len(parts)))
    return out


def _bare(n: Node | None) -> Node | None:
    while n is not None and n.type == "parenthesized_expression":
        kids = P.named_children(n)
        n = kids[0] if kids else None
    return n
