"""Reading canonical type strings of func, map and slice types (the srcapi / std table form:
`func(string, int) (int, error)`, `map[string]func() error`, `[]*os.File`): what a call of a
func value returns, and what indexing a map or a slice gives."""

from __future__ import annotations

from .stdapi_canon import matching_bracket, split_top_level


def func_results(t: str | None) -> list[str] | None:
    """The results of calling a value of func type `t` (None: not a func type we can read)."""
    if not t or not t.startswith("func("):
        return None
    j = matching_bracket(t, 4)
    if j < 0:
        return None
    rest = t[j + 1:].strip()
    if not rest:
        return []
    if rest.startswith("("):
        k = matching_bracket(rest, 0)
        return [x.strip() for x in split_top_level(rest[1:k])] if k > 0 else None
    return [rest]


def key_type(t: str | None) -> str | None:
    """The type of `k` in `for k := range x` for a map, slice, array or string type `t`."""
    if not t:
        return None
    if t.startswith("map["):
        j = matching_bracket(t, 3)
        return t[4:j] if j > 0 else None
    return "int" if t.startswith("[") or t == "string" else None


def elem_type(t: str | None) -> str | None:
    """The type of `x[i]` for a map, slice or array type `t`."""
    if not t:
        return None
    if t.startswith("map["):
        j = matching_bracket(t, 3)
        return t[j + 1:] if j > 0 else None
    if t.startswith("[]"):
        return t[2:]
    if t.startswith("["):
        j = matching_bracket(t, 0)
        return t[j + 1:] if j > 0 else None
    return None
