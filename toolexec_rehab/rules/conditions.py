"""The library of named semantic conditions a rule can use after its query matched.

Each condition takes the match context (a dict) and its parameters from the
YAML, and returns False to drop the candidate or True to keep it, adding what
it learnt to the context. Rules never walk trees themselves.
"""

from __future__ import annotations

from typing import Callable

from pydantic import BaseModel, ConfigDict

from ..golang import parse as P
from ..golang.package import enclosing_function
from .flow import Flow, Resource


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalleeParams(Params):
    any_of: list[str]


class ResourceParams(Params):
    handle: str = "{{ var }}"  # what must be closed, e.g. "{{ var }}.Body"
    type: str  # what the handle is, for messages: "*sql.Rows"


class LeaksParams(Params):
    pass


def cond_callee(ctx: dict, p: CalleeParams) -> bool:
    rv, f, call = ctx["resolver"], ctx["file"], ctx["node"]
    if call.type != "call_expression":
        return False
    name = rv.callee_name(call, f)
    if name is None or name not in p.any_of:
        return False
    ctx["callee"] = name
    ctx["callee_text"] = P.text(call.child_by_field_name("function"))
    return True


def cond_resource(ctx: dict, p: ResourceParams) -> bool:
    """The call's first result is bound to a local variable by `x, err := call` / `x, err = call`."""
    call = ctx["node"]
    rv, f = ctx["resolver"], ctx["file"]
    parent = call.parent
    if parent is not None and parent.type == "expression_statement":
        ctx.update(stmt=parent, func=enclosing_function(parent), err=None, type=p.type,
                   var=None, handle=f"discarded {p.type}", discarded=True)
        return True
    if parent is None or parent.type != "expression_list":
        return False
    stmt = parent.parent
    if stmt is None or stmt.type not in ("short_var_declaration", "assignment_statement"):
        return False
    if stmt.child_by_field_name("right") != parent or len(P.named_children(parent)) != 1:
        return False
    if stmt.parent is None or stmt.parent.type != "statement_list":
        return False  # `if f, err := os.Open(p); err == nil {` keeps its own scope: not handled
    if stmt.type == "assignment_statement" and P.text(stmt.child_by_field_name("operator")) != "=":
        return False
    lhs = P.named_children(stmt.child_by_field_name("left"))
    if not lhs:
        return False
    fn = enclosing_function(stmt)
    if fn is None:
        return False
    first = lhs[0]
    err = P.text(lhs[1]) if len(lhs) > 1 and lhs[1].type == "identifier" and P.text(lhs[1]) != "_" else None
    ctx.update(stmt=stmt, func=fn, err=err, type=p.type)
    if first.type != "identifier":
        return False  # stored straight into a field or index: not this function's to close
    var = P.text(first)
    if var == "_":
        ctx.update(var=None, handle=f"discarded {p.type}", discarded=True)
        return True
    b = rv.lookup(var, stmt, f) if stmt.type == "assignment_statement" else None
    if b is not None:
        # assigned to a variable declared elsewhere: a package var, a result
        # parameter, or a variable captured from an outer function all outlive us
        if b.kind in ("pkgvar", "param"):
            return False
        decl_fn = enclosing_function(b.node) if b.node is not None else None
        if decl_fn != fn:
            return False
    from ..rewrite.render import render_string

    ctx.update(var=var, handle=render_string(p.handle, {"var": var}), discarded=False)
    return True


def cond_leaks(ctx: dict, p: LeaksParams) -> bool:
    if ctx.get("discarded"):
        ctx["flow"] = None
        ctx["fixable"] = False
        ctx["why_no_fix"] = "the result is discarded"
        ctx["leak_lines"] = []
        return True
    res = Resource(ctx["var"], ctx["handle"], ctx["err"], ctx["stmt"], ctx["func"])
    flow = Flow(res, ctx["resolver"], ctx["file"]).run()
    if not flow.leaks:
        return False
    ctx["flow"] = flow
    f = ctx["file"]
    ctx["leak_lines"] = [f.orig_line(_leak_row(n)) for n in flow.leaks]
    why = None
    if flow.transfers:
        why = "the value escapes on another path"
    elif flow.in_loop:
        why = "acquired in a loop"
    ctx["fixable"] = why is None
    ctx["why_no_fix"] = why
    return True


def _leak_row(n) -> int:
    # a return statement: its line; a block that falls off the end: its closing brace
    if n.type in ("block", "statement_list") or n.type.endswith("_case"):
        return n.end_point[0]
    return n.start_point[0]


CONDITIONS: dict[str, tuple[type[Params], Callable[[dict, Params], bool]]] = {
    "callee": (CalleeParams, cond_callee),
    "resource": (ResourceParams, cond_resource),
    "leaks": (LeaksParams, cond_leaks),
}
