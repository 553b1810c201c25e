"""The library of named semantic conditions a rule can use after its query matched.

Each condition takes the match context (a dict) and its parameters from the
YAML, and returns False to drop the candidate or True to keep it, adding what
it learnt to the context. Rules never walk trees themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..golang import parse as P
from ..golang.package import enclosing_function
from .flow import Flow, Resource, contains

if TYPE_CHECKING:
    from .params import (
        CalleeParams,
        DeferBeforeCheckParams,
        ForeignErrorParams,
        LeaksParams,
        ResourceParams,
        ReturnsErrorParams,
    )






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
    """The call's result is bound to a local variable by `x, err := call` / `x, err = call`."""
    call = ctx["node"]
    rv, f = ctx["resolver"], ctx["file"]
    parent = call.parent
    ctx.update(type=p.type, close=p.close, rename=None)
    if parent is not None and parent.type == "expression_statement":
        ctx.update(stmt=parent, func=enclosing_function(parent), err=None,
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
    if len(lhs) <= p.index:
        return False
    fn = enclosing_function(stmt)
    if fn is None:
        return False
    first = lhs[p.index]
    err = None
    if p.err_index is not None and len(lhs) > p.err_index:
        e = lhs[p.err_index]
        if e.type == "identifier" and P.text(e) != "_":
            err = P.text(e)
    ctx.update(stmt=stmt, func=fn, err=err)
    if first.type != "identifier":
        return False  # stored straight into a field or index: not this function's to close
    var = P.text(first)
    if var == "_":
        if p.fresh_name and stmt.type == "short_var_declaration":
            name = fresh_name(rv, p.fresh_name, fn, f)
            ctx.update(var=name, handle=_render(p.handle, name), discarded=False, rename=first,
                       always_leaks=True)
            return True
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
    ctx.update(var=var, handle=_render(p.handle, var), discarded=False)
    return True


def _render(template: str, var: str) -> str:
    from ..rewrite.render import render_string

    return render_string(template, {"var": var})


def fresh_name(rv, base: str, fn, f) -> str:
    """base, base2, base3...: the first name not declared anywhere in the function."""
    used = {P.text(n) for n in P.descendants(fn) if n.type == "identifier"}
    name, i = base, 1
    while name in used or rv.lookup(name, fn, f) is not None:
        i += 1
        name = f"{base}{i}"
    return name


def cond_leaks(ctx: dict, p: LeaksParams) -> bool:
    if ctx.get("discarded"):
        ctx["flow"] = None
        ctx["fixable"] = False
        ctx["why_no_fix"] = "the result is discarded"
        ctx["leak_lines"] = []
        return True
    if ctx.get("always_leaks"):
        # a discarded cancel func: nothing can ever call it
        ctx.update(flow=None, fixable=True, why_no_fix=None, leak_lines=[])
        return True
    res = Resource(ctx["var"], ctx["handle"], ctx["err"], ctx["stmt"], ctx["func"], ctx.get("close", "method"))
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
        body = _loop_fix_point(flow, ctx["stmt"])
        if body is None:
            why = "acquired in a loop, and not every path reaches the end of the iteration"
        else:
            ctx["loop_last"] = body
    ctx["fixable"] = why is None
    ctx["why_no_fix"] = why
    return True


def _loop_fix_point(flow, stmt):
    """The last statement of the loop body, when every leak is the end of that body."""
    body = stmt.parent.parent if stmt.parent is not None else None
    if body is None or body.type != "block" or body.parent is None or body.parent.type != "for_statement":
        return None
    if any(n != body for n in flow.leaks):
        return None
    # the value may be nil unless a terminating `if err != nil` comes right after it
    if flow.errcheck is None or not (flow.errcheck_immediate and flow.errcheck_terminates
                                     and not flow.errcheck_negated):
        return None
    stmts = P.statements(body)
    return stmts[-1] if stmts else None


def _leak_row(n) -> int:
    # a return statement: its line; a block that falls off the end: its closing brace
    if n.type in ("block", "statement_list") or n.type.endswith("_case"):
        return n.end_point[0]
    return n.start_point[0]



def cond_defer_before_check(ctx: dict, p: DeferBeforeCheckParams) -> bool:
    """`x, err := f(); defer x.M(); if err != nil { return }`: the defer runs on a nil x."""
    d = ctx["node"]
    if d.type != "defer_statement" or d.parent is None or d.parent.type != "statement_list":
        return False
    sib = [c for c in d.parent.named_children if c.type != "comment"]
    i = sib.index(d)
    if i == 0 or i + 1 >= len(sib):
        return False
    acq, nxt = sib[i - 1], sib[i + 1]
    if acq.type not in ("short_var_declaration", "assignment_statement"):
        return False
    lhs = [P.text(n) for n in P.named_children(acq.child_by_field_name("left"))]
    if len(lhs) < 2 or lhs[-1] in ("_",) or lhs[0] == "_":
        return False
    x, err = lhs[0], lhs[-1]
    call = next((c for c in d.named_children if c.type == "call_expression"), None)
    fn = call.child_by_field_name("function") if call is not None else None
    if fn is None or fn.type != "selector_expression":
        return False
    root = fn
    while root.type == "selector_expression":
        root = root.child_by_field_name("operand")
    if root.type != "identifier" or P.text(root) != x:
        return False
    flow = Flow(Resource(x, x, err, acq, enclosing_function(d)), ctx["resolver"], ctx["file"])
    if not flow._is_errcheck(nxt) or flow.out.errcheck_negated:
        return False
    cons = nxt.child_by_field_name("consequence")
    if nxt.child_by_field_name("alternative") is not None or not flow._terminates(cons):
        return False
    ctx.update(var=x, err=err, stmt=acq, errcheck=nxt, defer_stmt=d,
               deferred=P.text(call), handle=x, fixable=True)
    return True



def cond_returns_error(ctx: dict, p: ReturnsErrorParams) -> bool:
    """A bare call statement whose last result is `error`."""
    call = ctx["node"]
    rv, f = ctx["resolver"], ctx["file"]
    if call.type != "call_expression" or call.parent is None or call.parent.type != "expression_statement":
        return False
    res = rv.call_results(call, f)
    if not res or res[-1] != "error":
        return False
    name = rv.callee_name(call, f) or ""
    for ex in p.exclude:
        if name == ex or (ex.endswith("*") and name.startswith(ex[:-1])):
            return False
    if p.readonly_close and name == "os.File.Close":
        operand = call.child_by_field_name("function").child_by_field_name("operand")
        if operand is not None and operand.type == "identifier" and _opened_readonly(rv, f, operand):
            return False
    fnode = enclosing_function(call)
    fixable = _returns_error(fnode)
    ctx.update(callee=name, callee_text=P.text(call.child_by_field_name("function")), call=P.text(call),
               stmt=call.parent, func=fnode, fixable=fixable,
               why_no_fix=None if fixable else "the function does not return an error",
               zeros=_zero_values(fnode) if fixable else "",
               blanks="_, " * (len(res) - 1))  # `if _, err := w.Write(b); ...`: one name per result
    return True


def _opened_readonly(rv, f, ident) -> bool:
    b = rv.resolve(ident, f)
    if b is None or b.node is None or b.node.type != "short_var_declaration":
        return False
    rhs = P.named_children(b.node.child_by_field_name("right"))
    return len(rhs) == 1 and rhs[0].type == "call_expression" and rv.callee_name(rhs[0], f) == "os.Open"


def _result_types(fnode):
    res = fnode.child_by_field_name("result") if fnode is not None else None
    if res is None:
        return []
    if res.type != "parameter_list":
        return [P.text(res)]
    out = []
    for d in P.named_children(res):
        t = P.text(d.child_by_field_name("type"))
        out.extend([t] * max(1, len(d.children_by_field_name("name"))))
    return out


def _returns_error(fnode) -> bool:
    rt = _result_types(fnode)
    return bool(rt) and rt[-1] == "error"


def _zero_values(fnode) -> str:
    return "".join(f"*new({t}), " for t in _result_types(fnode)[:-1])


def _implies_nonnil(cond, name: str) -> bool:
    """cond being true implies name != nil (`err != nil`, `err != nil && x`)."""
    if cond is None:
        return False
    if cond.type == "parenthesized_expression":
        kids = P.named_children(cond)
        return bool(kids) and _implies_nonnil(kids[0], name)
    if cond.type != "binary_expression":
        return False
    op = P.text(cond.child_by_field_name("operator"))
    left, right = cond.child_by_field_name("left"), cond.child_by_field_name("right")
    if op == "&&":
        return _implies_nonnil(left, name) or _implies_nonnil(right, name)
    return op == "!=" and {P.text(left), P.text(right)} == {name, "nil"}


def _known_nonnil(ret, name: str, fnode) -> bool:
    """The return sits in the body of the nearest `if`/`case` whose condition implies name != nil."""
    for a in P.ancestors(ret):
        if a == fnode:
            return False
        if a.type == "if_statement":
            cons = a.child_by_field_name("consequence")
            return cons is not None and contains(cons, ret) and \
                _implies_nonnil(a.child_by_field_name("condition"), name)
        if a.type == "expression_case":
            vals = P.named_children(a.child_by_field_name("value"))
            return len(vals) == 1 and _implies_nonnil(vals[0], name)
    return False



def cond_foreign_error(ctx: dict, p: ForeignErrorParams) -> bool:
    """`return ..., err` where err last came from another package's call, and fmt is imported."""
    ret = ctx["node"]
    rv, f = ctx["resolver"], ctx["file"]
    vals = P.named_children(next((c for c in ret.named_children if c.type == "expression_list"), None))
    if not vals or vals[-1].type != "identifier":
        return False
    err = vals[-1]
    name = P.text(err)
    fmt = next((k for k, v in f.imports.items() if v == "fmt"), None)
    imports = []
    if fmt is None:
        # the source can gain an import (fix); a build cannot
        if not ctx.get("source_mode") or "fmt" in f.imports:
            return False
        fmt, imports = "fmt", ["fmt"]
    fnode = enclosing_function(ret)
    if fnode is None or not _returns_error(fnode):
        return False
    # only where err is known to be non-nil: fmt.Errorf("%w", nil) is a non-nil error
    if not _known_nonnil(ret, name, fnode):
        return False
    # the last assignment to err before the return, in this function
    last = None
    for n in P.descendants(fnode):
        if n.start_byte >= ret.start_byte:
            continue
        if n.type in ("short_var_declaration", "assignment_statement") and enclosing_function(n) == fnode:
            lhs = [P.text(x) for x in P.named_children(n.child_by_field_name("left"))]
            if name in lhs:
                last = n
    if last is None:
        return False
    rhs = P.named_children(last.child_by_field_name("right"))
    if len(rhs) != 1 or rhs[0].type != "call_expression":
        return False
    c = rv.callee(rhs[0], f)
    if c is None:
        return False
    kind, qual, _ = c
    if kind == "func" and (qual == "" or rv.callee_name(rhs[0], f) in p.not_wrapping):
        return False
    if kind == "method" and (qual is None or qual.lstrip("*").startswith(".")):
        return False
    if kind not in ("func", "method"):
        return False
    from ..golang.package import function_name

    ctx.update(imports=imports, var=name, handle=name, target=err, fmt=fmt, func_name=function_name(fnode).replace("$lit", ""),
               callee_text=P.text(rhs[0].child_by_field_name("function")), fixable=True, stmt=ret)
    return True


# name -> the condition; its parameters' model is params.MODELS[name] (pydantic: imported only
# when a rule file is validated, never when the compiled rules come from the cache)
CONDITIONS: dict[str, Callable[[dict, object], bool]] = {
    "callee": cond_callee,
    "resource": cond_resource,
    "leaks": cond_leaks,
    "defer_before_check": cond_defer_before_check,
    "returns_error": cond_returns_error,
    "foreign_error": cond_foreign_error,
}
