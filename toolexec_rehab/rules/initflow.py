"""Acquisitions in a statement's initializer (issue 16, item 8):

    if f, err := os.Open(p); err == nil { ... } else { ... }
    switch rows, err := db.Query(q); { case err != nil: ...; default: ... }

The variable lives only in that statement: each branch (case) that ends with it open leaks
it, and so does the path that takes no branch (an `if` without `else`, a `switch` without
`default`). When the condition checks the error (`err == nil`, `err != nil`) the failing
branch has nothing to release; a nil check of the value (guards.py) the same. Such
findings are reported, not patched (conditions.cond_leaks): a release would have to go
inside the branch that succeeds, which no fix placement does yet.
"""

from __future__ import annotations

from tree_sitter import Node

from ..golang import parse as P
from .guards import guard_names, nil_guard

INIT_OWNERS = ("if_statement", "expression_switch_statement", "type_switch_statement")


def in_initializer(stmt: Node) -> bool:
    """`stmt` is the initializer of an if or switch statement."""
    owner = stmt.parent
    return owner is not None and owner.type in INIT_OWNERS and owner.child_by_field_name("initializer") == stmt


def run_in_initializer(flow):
    """Flow.run for an acquisition in an initializer: the leaks of each way through the
    statement that owns it."""
    out, owner = flow.out, flow.r.stmt.parent
    if owner.type == "if_statement":
        _walk_if_scope(flow, owner)
    else:
        _walk_switch_scope(flow, owner)
    return out


def _branch(flow, body: Node | None, leak_at: Node) -> None:
    """Walk one way through; falling off its end with the value open leaks it there (a
    path that does not fall through, flow.NORET, is judged where it ends)."""
    state = flow._walker(body)(flow, body) if body is not None else False
    if state is False:
        flow.out.leaks.append(leak_at)


def _walk_if_scope(flow, s: Node) -> None:
    cond = s.child_by_field_name("condition")
    if cond is not None and flow._effect(cond):
        return  # handed off or released in the condition itself
    cons, alt = s.child_by_field_name("consequence"), s.child_by_field_name("alternative")
    check = flow.err_compare(cond)
    guard = nil_guard(cond, guard_names(flow.r.var, flow.r.handle))
    if check is not None:
        flow.out.errcheck, flow.out.errcheck_negated = s, check == "=="
    # the branch taken when the condition holds, and the other one (which may be implicit)
    empty_when_true = check == "!=" or guard == "nil"
    empty_when_false = check == "==" or guard == "nonnil"
    if not empty_when_true:
        _branch(flow, cons, cons if cons is not None else s)
    if not empty_when_false:
        _branch(flow, alt, alt if alt is not None else s)


def _walk_switch_scope(flow, s: Node) -> None:
    cases = [c for c in s.named_children if c.type in ("expression_case", "default_case", "type_case")]
    for c in cases:
        values = P.named_children(c.child_by_field_name("value"))
        if len(values) == 1 and flow.err_compare(values[0]) == "!=":
            continue  # `case err != nil:` nothing to release there
        stmts = P.statements(c)
        state = flow._walk_list(stmts, False) if stmts else False
        if state is False:
            flow.out.leaks.append(c)
    if not any(c.type == "default_case" for c in cases):
        flow.out.leaks.append(s)  # no case taken: out of scope, open
