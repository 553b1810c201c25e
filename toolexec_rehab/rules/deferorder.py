"""The `defer_before_check` condition (defer-before-err-check): a release deferred on a
result before the error returned with it is checked. Registered with conditions.condition
when conditions.py imports this module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..golang import parse as P
from ..golang.package import enclosing_function
from .conditions import condition
from .flow import Flow, Resource

if TYPE_CHECKING:
    from .context import Match, Pass
    from .params import DeferBeforeCheckParams


# ------------------------------------------------------------------ defer_before_check

@condition("defer_before_check", provides=("var", "err", "stmt", "acquisition", "errcheck", "defer_stmt",
                                           "deferred", "handle", "fixable", "why_no_fix"))
def cond_defer_before_check(pass_: Pass, m: Match, p: DeferBeforeCheckParams) -> bool:
    """`x, err := f(); defer x.M(); if err != nil { return }`: the defer runs on a nil x. Also,
    reported without a fix, a release deferred where the error is checked only later, never,
    or is discarded (`r, _ := http.Get(u); defer r.Body.Close()`): for any f returning
    (T, error), generic ones and the module's own included."""
    d = m.node
    around = _statement_neighbours(d)
    if around is None:
        return False
    acq, nxt = around
    names = _assigned_pair(acq)
    call = next((c for c in d.named_children if c.type == "call_expression"), None)
    if names is None or call is None or _selector_root(call) != names[0]:
        return False
    x, err = names
    m.var, m.err, m.stmt, m.acquisition, m.defer_stmt = x, err, acq, acq, d
    m.deferred, m.handle = P.text(call), x
    rhs = _rhs_call(acq)
    flow = Flow(Resource(x, x, err, acq, enclosing_function(d)), pass_.resolver, m.file)
    if err != "_" and nxt is not None and flow._is_errcheck(nxt) and not flow.out.errcheck_negated and \
            nxt.child_by_field_name("alternative") is None and flow._terminates(nxt.child_by_field_name("consequence")):
        m.errcheck, m.fixable, m.why_no_fix = nxt, True, None
        if not _nil_on_error(pass_, m, rhs):
            # moving the defer past the check skips it on the error path: right only when the
            # value is then nil (or already released), as the catalogue's acquire calls promise
            m.fixable = False
            m.why_no_fix = (f"{P.text(rhs.child_by_field_name('function')) if rhs is not None else 'the call'} "
                            "is not known to return a nil value with its error (a partial result would then "
                            "leak): the catalogue's acquire calls are")
        return True
    if not _defers_a_release(pass_, call) or not _error_result(pass_, m, rhs, err):
        return False
    m.errcheck, m.fixable = None, False
    if err == "_":
        m.err, m.why_no_fix = "its error", "the error is discarded: there is no check to move the defer after"
    else:
        m.why_no_fix = f"{err} is not checked (with a return) right after the call: there is no check to move the defer after"
    return True


def _rhs_call(acq):
    """The call of `x, err := call` (None for any other right-hand side)."""
    rhs = P.named_children(acq.child_by_field_name("right"))
    return rhs[0] if len(rhs) == 1 and rhs[0].type == "call_expression" else None


def _nil_on_error(pass_: Pass, m: Match, call) -> bool:
    """The acquisition is a call of the standard library or one the catalogue lists (os.Open,
    db.Query, http.Get, a RoundTripper's RoundTrip...): by convention its value is nil, or
    already released, when it returns an error. A function of the module or of another
    dependency may return a partial result with its error, which the defer released."""
    from .acquire import acquired

    c = pass_.resolver.callee(call, m.file) if call is not None else None
    if c is None:
        return False
    kind, qual, _ = c
    pkg = qual if kind == "func" else (qual or "").lstrip("*").rpartition(".")[0]
    if pkg and "." not in pkg.split("/", 1)[0] and pass_.api.has_package(pkg):
        return True  # the standard library
    got = acquired(pass_, call, m.file) if pass_.catalogue is not None else None
    return got is not None and got[0].lists(got[1])


def _defers_a_release(pass_: Pass, call) -> bool:
    """The deferred call is a release: Close, or a release method of the catalogue."""
    fn = call.child_by_field_name("function")
    name = P.text(fn.child_by_field_name("field")) if fn is not None and fn.type == "selector_expression" else ""
    if name == "Close":
        return True
    from .catalogue import current

    cat = pass_.catalogue or current()
    return any(name in r.release for r in cat.resources)


def _error_result(pass_: Pass, m: Match, call, err: str) -> bool:
    """The call's last result is an error (by its type; when its results are unknown, by the
    name it is bound to)."""
    if call is None:
        return False
    res = pass_.resolver.call_results(call, m.file)
    if res:
        return res[-1] == "error"
    return err != "_" and (err == "err" or err.endswith(("Err", "err")))


def _statement_neighbours(d):
    """(previous, next) statements around a defer statement in a block, comments skipped."""
    if d.type != "defer_statement" or d.parent is None or d.parent.type != "statement_list":
        return None
    sib = [c for c in d.parent.named_children if c.type != "comment"]
    i = sib.index(d)
    if i == 0:
        return None
    return sib[i - 1], (sib[i + 1] if i + 1 < len(sib) else None)


def _assigned_pair(acq) -> tuple[str, str] | None:
    """(x, err) of `x, ..., err := ...` / `x, ..., err = ...`, x not `_` (err may be)."""
    if acq.type not in ("short_var_declaration", "assignment_statement"):
        return None
    lhs = [P.text(n) for n in P.named_children(acq.child_by_field_name("left"))]
    if len(lhs) < 2 or lhs[0] == "_":
        return None
    return lhs[0], lhs[-1]


def _selector_root(call) -> str | None:
    """`x` of a call `x.a.M()`; None unless the function is a selector on an identifier."""
    fn = call.child_by_field_name("function")
    if fn is None or fn.type != "selector_expression":
        return None
    root = fn
    while root.type == "selector_expression":
        root = root.child_by_field_name("operand")
    return P.text(root) if root.type == "identifier" else None
