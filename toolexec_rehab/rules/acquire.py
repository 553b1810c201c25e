"""The `acquires` condition: the matched call returns a resource of the catalogue
(catalogue.py) that belongs to the rule, bound as `cond_resource` binds one.

A call acquires a resource when the catalogue names it in the entry's `acquire`, or when
the result it returns has the entry's type: the type itself, an alias of it, or a type
that embeds it (types of dependencies come from their source: golang/deps.py). A call the
entry lists in `not_acquired_by` hands out one it keeps (a transaction's statement). A
function of this module counts only when each of its returns gives a value it made (a
call's result, a composite literal, or a local bound to one): a getter that returns a
resource it keeps (a field, a parameter) hands nothing over, and closing its result
would break the program.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from ..golang import parse as P
from .conditions import GATES, cond_resource, condition

if TYPE_CHECKING:
    from .catalogue import Resource
    from .context import Match, Pass
    from .params import AcquiresParams

_BINDING = ("type", "close", "rename", "stmt", "acquisition", "function", "err", "var", "handle",
            "discarded", "always_leaks")


def short_type(t: str) -> str:
    """`*sql.Rows` for `*database/sql.Rows` (messages)."""
    stars = t[: len(t) - len(t.lstrip("*"))]
    bare = t.lstrip("*")
    path, _, name = bare.rpartition(".")
    pkg = path.rsplit("/", 1)[-1]
    if len(pkg) > 1 and pkg[0] == "v" and pkg[1:].isdigit() and "/" in path:
        pkg = path.rsplit("/", 2)[-2]
    return f"{stars}{pkg}.{name}" if path else t


def acquired(pass_: Pass, call, f) -> tuple[Resource, str | None, list | None] | None:
    """(entry, callee name, result types) of the catalogue resource `call` acquires, memoized
    per call node for the pass (every leak rule asks about the same calls)."""
    memo = pass_.acquired
    key = call.id
    if key in memo:
        return memo[key]
    memo[key] = None
    cat = pass_.catalogue
    if cat is None:
        return None
    rv = pass_.resolver
    name = rv.callee_name(call, f)
    results = rv.call_results(call, f)
    for entry in cat.resources:
        if name is not None and name in entry.not_acquired_by:
            continue
        if name is not None and name in entry.acquire or _typed(rv, entry, results):
            memo[key] = (entry, name, results)
            break
    return memo[key]


def _gate(pass_: Pass, node, f, rule_id: str, p: AcquiresParams) -> bool:
    """What the call acquires is this rule's (the six leak rules share one query: each
    candidate call is resolved once, and a Match is built only for the rule it concerns)."""
    if node.type != "call_expression":
        return False
    got = acquired(pass_, node, f)
    return got is not None and (got[0].id in p.resources if p.resources else got[0].rule == rule_id)


GATES["acquires"] = _gate


def _typed(rv, entry: Resource, results) -> bool:
    if not results or entry.result >= len(results):
        return False
    t = results[entry.result]
    return t is not None and (t == entry.type or t in entry.embedded_by or rv.embeds(t, entry.type))


@condition("acquires", provides=("callee", "callee_text", "release", "releases_by", "resource_id") + _BINDING)
def cond_acquires(pass_: Pass, m: Match, p: AcquiresParams) -> bool:
    """The call returns a catalogue resource of this rule, bound to a local (or discarded)."""
    call = m.node
    if call.type != "call_expression":
        return False
    got = acquired(pass_, call, m.file)
    if got is None:
        return False
    entry, name, results = got
    if entry.id not in p.resources if p.resources else entry.rule != m.rule.id:
        return False
    if name is not None and name.startswith(".") and not _hands_over(pass_, name, entry.result):
        return False
    m.callee, m.callee_text = name, P.text(call.child_by_field_name("function"))
    n = len(results) if results else entry.result + 2
    err_index = n - 1 if (results is None or results[-1] == "error") and n - 1 != entry.result else None
    params = SimpleNamespace(handle=entry.handle, type=short_type(entry.type), index=entry.result,
                             err_index=err_index, close="call" if entry.by_call else "method",
                             fresh_name="cancel" if entry.by_call else None)
    if not cond_resource(pass_, m, params):
        return False
    m.release = "" if entry.by_call else entry.release[0]
    m.releases_by = entry.release
    m.resource_id = entry.id
    return True


def _hands_over(pass_: Pass, callee: str, index: int) -> bool:
    """A function or method of this package returns, at `index`, a value it made."""
    pkg = pass_.resolver.pkg
    rest = callee[1:]
    if "." in rest:
        decl = pkg.methods.get(tuple(rest.rsplit(".", 1)))
    else:
        decl = pkg.funcs.get(rest)
    if decl is None:
        return True  # another package of the module: judged by its type alone
    body = decl.child_by_field_name("body")
    rets = [n for n in P.descendants(body) if n.type == "return_statement" and _own_return(n, decl)]
    made = False  # a function that only ever returns nil hands nothing over
    for r in rets:
        vals = P.named_children(P.named_children(r)[0]) if P.named_children(r) else []
        if index >= len(vals) and len(vals) != 1:
            return False
        v = vals[index] if index < len(vals) else vals[0]
        if not _fresh(v, decl):
            return False
        made = made or v.type != "nil"
    return made


def _own_return(ret, decl) -> bool:
    for a in P.ancestors(ret):
        if a.type == "func_literal":
            return False
        if a == decl:
            return True
    return False


def _fresh(v, decl) -> bool:
    t = v.type
    if t in ("call_expression", "composite_literal", "nil"):
        return True
    if t == "unary_expression":
        return _fresh(v.child_by_field_name("operand"), decl)
    if t == "identifier":
        name = P.text(v)
        for n in P.descendants(decl.child_by_field_name("body")):
            if n.type == "short_var_declaration":
                left = [P.text(x) for x in P.named_children(n.child_by_field_name("left"))]
                right = P.named_children(n.child_by_field_name("right"))
                if name in left:
                    return len(right) == 1 and right[0].type in ("call_expression", "composite_literal", "unary_expression")
        return False
    return False
