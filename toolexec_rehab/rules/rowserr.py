"""rows-err-not-checked: a `for rows.Next() { ... }` loop whose rows.Err() is never checked.

Next returns false both when the rows are exhausted and when iterating failed (a dropped
connection, a cancelled context); only Err tells them apart. A function that iterates and
never asks returns a truncated result as success. The rule's conditions live here, registered
with conditions.py's `@condition` (conditions.py imports this module at its end).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..golang import parse as P
from ..golang.package import enclosing_function
from .conditions import _zero_values, condition, returns_error
from .context import Match, Pass

if TYPE_CHECKING:
    from tree_sitter import Node

    from .params import RowsErrParams

# parents of a use of the rows variable that neither check it nor let it go elsewhere
_LOCAL_USE = frozenset(("selector_expression", "binary_expression", "expression_list", "var_spec"))


def rows_types() -> list:
    """The catalogue's row iterators (the entries rows-not-closed tracks): their Next stops on
    an error that only Err reports."""
    from .catalogue import current

    return current().for_rule("rows-not-closed")


def is_rows_type(t: str | None, rv=None) -> bool:
    """t is one of the catalogue's row iterators, an alias of one or a type that embeds one
    (with a resolver: a module's own wrapper); None, unknown: no."""
    return any(r.has_type(t, rv) for r in rows_types())


@condition("rows_err_unchecked", provides=("var", "handle", "stmt", "function", "fixable", "why_no_fix", "zeros"))
def cond_rows_err_unchecked(pass_: Pass, m: Match, p: RowsErrParams) -> bool:
    """A `for rows.Next()` loop (or `for { if !rows.Next() { break } ... }`) over a rows
    value whose Err is not called after the loop starts, in the loop's own function (a func
    literal judged by itself), and which is not handed elsewhere (passed, returned, stored)."""
    loop, f = m.node, m.file
    ident = _next_operand(loop)
    if ident is None or not is_rows_type(pass_.resolver.type_of(ident, f), pass_.resolver):
        return False
    fnode = enclosing_function(loop)
    b = pass_.resolver.resolve(ident, f)
    if fnode is None or b is None or b.kind == "pkgvar":
        return False
    uses = _uses(pass_, m, fnode, ident, _key(b))
    if any(_err_call_or_value(n, loop, fnode) or _escapes(n) for n in uses):
        return False
    why = _why_no_fix(fnode, loop, uses)
    m.var = m.handle = P.text(ident)
    m.stmt, m.function, m.fixable, m.why_no_fix = loop, fnode, why is None, why
    m.zeros = _zero_values(fnode) if why is None else ""
    return True


def _why_no_fix(fnode: Node, loop: Node, uses: list[Node]) -> str | None:
    if not returns_error(fnode):
        return "the function does not return an error"
    if any(_closed_after(n, loop, fnode) for n in uses):
        # Next closes the rows when it fails, but the path analysis of rows-not-closed
        # cannot know that: the fix's return would read as a path that skips the Close
        return "the rows are closed after the loop, and a return there would skip the Close"
    return None


def _key(b) -> tuple:
    return b.kind, b.node.id if b.node is not None else None, b.index, b.name


def _next_operand(loop: Node) -> Node | None:
    """`rows` of `for rows.Next() {` or of `for { if !rows.Next() { break } ...`; None for
    any other loop."""
    if loop.type != "for_statement":
        return None
    body = loop.child_by_field_name("body")
    heads = [c for c in P.named_children(loop) if c != body]
    if len(heads) == 1:
        return _next_call_operand(heads[0])
    if heads:
        return None  # `for init; cond; post {` or `for range ...`
    stmts = P.statements(body)
    return _break_unless_next(stmts[0]) if stmts else None


def _break_unless_next(first: Node) -> Node | None:
    """`rows` of a plain `if !rows.Next() { break }`."""
    if first.type != "if_statement" or first.child_by_field_name("alternative") is not None \
            or first.child_by_field_name("initializer") is not None:
        return None
    cond = first.child_by_field_name("condition")
    if cond is None or cond.type != "unary_expression" or P.text(cond.child_by_field_name("operator")) != "!":
        return None
    then = P.statements(first.child_by_field_name("consequence"))
    if len(then) != 1 or then[0].type != "break_statement" or P.named_children(then[0]):
        return None  # a labelled break leaves an outer loop: not this shape
    return _next_call_operand(cond.child_by_field_name("operand"))


def _next_call_operand(call: Node | None) -> Node | None:
    """`x` of a call `x.Next()` with no arguments."""
    if call is None or call.type != "call_expression":
        return None
    fn = call.child_by_field_name("function")
    if fn is None or fn.type != "selector_expression" or P.text(fn.child_by_field_name("field")) != "Next":
        return None
    if P.named_children(call.child_by_field_name("arguments")):
        return None
    operand = fn.child_by_field_name("operand")
    return operand if operand is not None and operand.type == "identifier" else None


def _uses(pass_: Pass, m: Match, fnode: Node, ident: Node, key: tuple) -> list[Node]:
    """The other uses of ident's variable in fnode's body (closures included)."""
    name = P.text(ident)
    out = []
    for n in P.descendants(fnode.child_by_field_name("body")):
        if n.type != "identifier" or n == ident or P.text(n) != name:
            continue
        b = pass_.resolver.resolve(n, m.file)
        if b is not None and _key(b) == key:
            out.append(n)
    return out


def _method_call(n: Node, method: str) -> Node | None:
    """The call `n.method(...)` of which n is the operand, if it is one."""
    sel = n.parent
    if sel is None or sel.type != "selector_expression" or sel.child_by_field_name("operand") != n:
        return None
    if P.text(sel.child_by_field_name("field")) != method:
        return None
    call = sel.parent
    return call if call is not None and call.type == "call_expression" and \
        call.child_by_field_name("function") == sel else None


def _closed_after(n: Node, loop: Node, fnode: Node) -> bool:
    """`rows.Close()` after the loop, not deferred."""
    call = _method_call(n, "Close")
    return call is not None and call.start_byte >= loop.end_byte and call.parent.type != "defer_statement" \
        and not _in_deferred_closure(call, fnode)


def _err_call_or_value(n: Node, loop: Node, fnode: Node) -> bool:
    """`rows.Err()` at or after the loop's start or in a deferred closure (which runs after
    it), or `rows.Err` taken as a value anywhere."""
    sel = n.parent
    if sel is None or sel.type != "selector_expression" or P.text(sel.child_by_field_name("field")) != "Err":
        return False
    call = _method_call(n, "Err")
    if call is None:
        return True  # a method value: whoever holds it may check it
    return call.start_byte >= loop.start_byte or _in_deferred_closure(call, fnode)


def _in_deferred_closure(n: Node, fnode: Node) -> bool:
    """n is inside `defer func() { ... }()` within fnode (the closure's body, not a deferred
    call's arguments, which are evaluated where the defer stands)."""
    for a in P.ancestors(n):
        if a == fnode:
            return False
        if a.type == "func_literal":
            call = a.parent
            if call is not None and call.type == "call_expression" and call.child_by_field_name("function") == a \
                    and call.parent is not None and call.parent.type == "defer_statement":
                return True
    return False


def _escapes(n: Node) -> bool:
    """A use of the rows value itself, not a method call on it, a nil comparison or an
    assignment to the variable: it may be checked wherever it goes."""
    parent = n.parent
    if parent is None or parent.type not in _LOCAL_USE:
        return True
    if parent.type == "selector_expression":
        return parent.child_by_field_name("operand") != n
    if parent.type == "var_spec":
        return n not in parent.children_by_field_name("name")
    if parent.type == "binary_expression":
        op = P.text(parent.child_by_field_name("operator"))
        other = parent.child_by_field_name("right" if parent.child_by_field_name("left") == n else "left")
        return op not in ("==", "!=") or P.text(other) != "nil"
    # an expression_list: the left side of an assignment or declaration is no escape; a
    # right side or a return's values are (a call's arguments are an argument_list: above)
    stmt = parent.parent
    return stmt is None or stmt.type not in ("short_var_declaration", "assignment_statement") or \
        stmt.child_by_field_name("left") != parent
