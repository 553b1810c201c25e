"""The library of named semantic conditions a rule can use after its query matched.

A condition is a typed function `(pass_: Pass, m: Match, params) -> bool`: False drops the
candidate, True keeps it, with what the condition learnt written to the Match. Each is
declared with `@condition(name, requires=..., provides=...)`: the Match fields it reads
beyond the engine's own (file, node, captures, rule) and the ones it writes, checked
against the Match's fields when this module is imported. A rule's conditions run in
order, so a condition can rely only on what an earlier one provides; `check_chain` says
what is missing (the loader turns that into a `file:line` error). Rules never walk trees
themselves. Parameter models: params.MODELS (pydantic, imported only when a rule file is
validated, never when the compiled rules come from the cache).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..golang import parse as P
from ..golang.package import enclosing_function, function_name
from ..records import FrozenRecord
from .context import ENGINE_FIELDS, Match, Pass, field_names
from .flow import Flow, Resource, contains
from .initflow import in_initializer

if TYPE_CHECKING:
    from .params import (
        CalleeParams,
        ForeignErrorParams,
        LeaksParams,
        ResourceParams,
        ReturnsErrorParams,
    )


class Condition(FrozenRecord):
    """A condition's declaration: its function, the Match fields it needs and supplies."""

    _fields = ("name", "fn", "requires", "provides", "doc")
    __eq__ = object.__eq__  # compared and hashed by identity
    __hash__ = object.__hash__
    name: str
    fn: Callable[[Pass, Match, Any], bool]
    requires: frozenset[str]  # Match fields an earlier condition must provide
    provides: frozenset[str]  # Match fields it writes
    doc: str

    def __init__(self, name: str, fn: Callable[[Pass, Match, Any], bool], requires: frozenset[str],
                 provides: frozenset[str], doc: str = "") -> None:
        self._init_fields(name, fn, requires, provides, doc)


CONDITIONS: dict[str, Condition] = {}

# Cheap first checks, by condition name: `gate(pass_, node, file, rule_id, params) -> bool`,
# run by the engine on a candidate node before it builds a Match, when the condition is the
# rule's first. A gate may only say no where the condition would say no.
GATES: dict[str, Callable[..., bool]] = {}


def condition(name: str, *, requires: Iterable[str] = (), provides: Iterable[str] = ()):
    """Register `fn` as the condition `name` (see the module's docstring)."""
    req, prov = field_names(requires), field_names(provides)

    def register(fn):
        if req & ENGINE_FIELDS:
            raise AttributeError(f"condition {name}: {', '.join(sorted(req & ENGINE_FIELDS))} "
                                 "come from the engine: do not list them")
        CONDITIONS[name] = Condition(name, fn, req, prov, (fn.__doc__ or "").strip())
        return fn

    return register


def check_chain(names: list[str]) -> list[tuple[int, str]]:
    """(index, message) for each condition of a rule (in order) that reads a Match field no
    condition before it provides; the names must be registered."""
    have = set(ENGINE_FIELDS)
    out = []
    for i, name in enumerate(names):
        cond = CONDITIONS[name]
        missing = cond.requires - have
        if missing:
            providers = sorted(c.name for c in CONDITIONS.values() if c.provides >= missing) or \
                sorted(c.name for c in CONDITIONS.values() if c.provides & missing)
            hint = f": put {' or '.join(repr(p) for p in providers)} before it" if providers else ""
            out.append((i, f"condition {name!r} needs {', '.join(sorted(missing))}, which no "
                           f"condition before it provides{hint}"))
        have |= cond.provides
    return out


def provided_by(names: list[str]) -> frozenset[str]:
    """Every Match field known after these conditions (the engine's own included)."""
    have = set(ENGINE_FIELDS)
    for name in names:
        have |= CONDITIONS[name].provides
    return frozenset(have)


# ------------------------------------------------------------------ callee

@condition("callee", provides=("callee", "callee_text"))
def cond_callee(pass_: Pass, m: Match, p: CalleeParams) -> bool:
    """The matched call's resolved callee is one of `any_of`."""
    call = m.node
    if call.type != "call_expression":
        return False
    name = pass_.resolver.callee_name(call, m.file)
    if name is None or name not in p.any_of:
        return False
    m.callee = name
    m.callee_text = P.text(call.child_by_field_name("function"))
    return True


# ------------------------------------------------------------------ resource

@condition("resource", provides=("type", "close", "rename", "wrap", "rebind", "stmt", "acquisition", "function", "err",
                                 "var", "handle", "discarded", "always_leaks", "releases_by", "release",
                                 "resource_id", "not_fixable"))
def cond_resource(pass_: Pass, m: Match, p: ResourceParams) -> bool:
    """The call's result is bound to a local variable by `x, err := call` / `x, err = call`
    (or discarded: `call()` as a statement, `_ = call()`)."""
    call = m.node
    parent = call.parent
    release = tuple(getattr(p, "release", None) or ("Close",))
    m.type, m.close, m.rename, m.releases_by, m.wrap, m.rebind = p.type, p.close, None, release, None, None
    m.release, m.resource_id, m.not_fixable = ("" if p.close == "call" else release[0]), None, None
    if parent is not None and parent.type == "expression_statement":
        m.stmt = m.acquisition = parent
        m.function, m.err = enclosing_function(parent), None
        count = getattr(p, "count", None)
        in_block = parent.parent is not None and parent.parent.type == "statement_list"  # not an if's init, a for's post
        if p.fresh_name and p.close != "call" and count and m.function is not None and in_block:
            # `db.Query("VACUUM")`: nothing else can reach the result; the fix makes the
            # statement `if rows, _ := db.Query("VACUUM"); rows != nil { rows.Close() }`
            name = fresh_name(pass_.resolver, p.fresh_name, m.function, m.file)
            m.var, m.handle, m.discarded, m.always_leaks = name, _render(p.handle, name), False, True
            m.wrap = "if " + ", ".join(name if i == p.index else "_" for i in range(count)) + " := "
        else:
            _discard(m, p)
        return True
    stmt = _binding_statement(call)
    if stmt is None:
        return False
    if stmt.type == "var_declaration":  # `var ctx, cancel = context.WithCancel(p)`
        lhs = P.named_children(stmt)[0].children_by_field_name("name")
    else:
        lhs = P.named_children(stmt.child_by_field_name("left"))
    fn = enclosing_function(stmt)
    if len(lhs) <= p.index or fn is None:
        return False
    m.stmt = m.acquisition = stmt
    m.function, m.err = fn, _err_name(lhs, p.err_index)
    first = lhs[p.index]
    if first.type != "identifier":
        return False  # stored straight into a field or index: not this function's to close
    var = P.text(first)
    # a discarded resource is bound by the fix when the call's other results are dropped or
    # are its error (then nothing else the call returned can carry it); a cancel func always
    alone = p.close == "call" or all(P.text(x) in ("_", m.err) for i, x in enumerate(lhs) if i != p.index)
    if var == "_":
        if p.fresh_name and stmt.type == "short_var_declaration" and alone:
            name = fresh_name(pass_.resolver, p.fresh_name, fn, m.file)
            m.var, m.handle, m.discarded, m.rename, m.always_leaks = name, _render(p.handle, name), False, first, True
        elif p.fresh_name and alone and p.close != "call" and stmt.type == "assignment_statement" and \
                stmt.parent is not None and stmt.parent.type == "statement_list" and \
                all(x.type == "identifier" for x in lhs) and \
                not any(n.type == "goto_statement" for n in P.descendants(fn)):  # a goto may jump the new locals
            _rebind(pass_, m, p, stmt, lhs, fn)
        else:
            _discard(m, p)
        return True
    if stmt.type == "assignment_statement" and not _declared_in(pass_, m, var, stmt, fn):
        return False
    m.var, m.handle, m.discarded = var, _render(p.handle, var), False
    return True


def _rebind(pass_: Pass, m: Match, p: ResourceParams, stmt, lhs, fn) -> None:
    """`_, err = db.Query(q)`: the fix binds the discarded value and the others to fresh
    locals and assigns the others on (`rows, err2 := db.Query(q); err = err2`), then
    releases it; the right-hand side is evaluated first either way (identifiers only on
    the left)."""
    name = fresh_name(pass_.resolver, p.fresh_name, fn, m.file)
    names, assigns = [], []
    taken = {name}
    for i, x in enumerate(lhs):
        t = P.text(x)
        if i == p.index:
            names.append(name)
        elif t == "_":
            names.append("_")
        else:
            n = fresh_name(pass_.resolver, t, fn, m.file)  # t itself is used: t2, t3...
            while n in taken:
                n += "_"
            taken.add(n)
            names.append(n)
            assigns.append(f"{t} = {n}")
    m.var, m.handle, m.discarded, m.always_leaks = name, _render(p.handle, name), False, True
    m.rebind = (", ".join(names) + " :=", "".join(f"; {a}" for a in assigns))


def _discard(m: Match, p: ResourceParams) -> None:
    m.var, m.handle, m.discarded = None, f"discarded {p.type}", True


def _binding_statement(call):
    """The `x, err := call` / `x, err = call` statement (in a block) whose only value is call."""
    parent = call.parent
    if parent is None or parent.type != "expression_list":
        return None
    stmt = parent.parent
    if stmt is not None and stmt.type == "var_spec":
        decl = stmt.parent
        ok = stmt.child_by_field_name("value") == parent and len(P.named_children(parent)) == 1 and \
            decl is not None and decl.type == "var_declaration" and len(P.named_children(decl)) == 1 and \
            decl.parent is not None and decl.parent.type == "statement_list"
        return decl if ok else None
    if stmt is None or stmt.type not in ("short_var_declaration", "assignment_statement"):
        return None
    if stmt.child_by_field_name("right") != parent or len(P.named_children(parent)) != 1:
        return None
    if stmt.parent is None or (stmt.parent.type != "statement_list" and not in_initializer(stmt)):
        return None
    if stmt.type == "assignment_statement" and P.text(stmt.child_by_field_name("operator")) != "=":
        return None
    return stmt


def _err_name(lhs, err_index: int | None) -> str | None:
    if err_index is None or len(lhs) <= err_index:
        return None
    e = lhs[err_index]
    return P.text(e) if e.type == "identifier" and P.text(e) != "_" else None


def _declared_in(pass_: Pass, m: Match, var: str, stmt, fn) -> bool:
    """`var = call` assigns a variable of this function: not a package var, a result parameter
    or a variable captured from an outer function (those outlive us)."""
    b = pass_.resolver.lookup(var, stmt, m.file)
    if b is None:
        return True
    if b.kind in ("pkgvar", "param"):
        return False
    decl_fn = enclosing_function(b.node) if b.node is not None else None
    return decl_fn == fn


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


# ------------------------------------------------------------------ leaks

@condition("leaks", requires=("var", "handle", "err", "stmt", "function", "close", "discarded", "always_leaks",
                             "releases_by", "release", "resource_id", "not_fixable"),
           provides=("flow", "fixable", "why_no_fix", "leak_lines", "loop_last"))
def cond_leaks(pass_: Pass, m: Match, p: LeaksParams) -> bool:
    """Some path from the acquisition leaves the resource unreleased (path analysis: flow.py)."""
    if m.discarded:
        m.flow, m.fixable, m.why_no_fix, m.leak_lines = None, False, m.not_fixable or "the result is discarded", ()
        return True
    if m.always_leaks:
        # a discarded value (a cancel func, rows, a response): nothing can ever release it, and
        # nothing else can reach it, so releasing it is safe - when the call hands over a new one
        why = m.not_fixable
        if why is None and in_initializer(m.stmt):
            why = "acquired in the initializer of an if or switch statement: no fix placement there (reported only)"
        m.flow, m.fixable, m.why_no_fix, m.leak_lines = None, why is None, why, ()
        return True
    res = Resource(m.var, m.handle, m.err, m.stmt, m.function, m.close, tuple(m.releases_by))
    analysis = Flow(res, pass_.resolver, m.file)
    flow = analysis.run()
    if not flow.leaks:
        return False
    m.flow = flow
    m.leak_lines = [m.file.orig_line(_leak_row(n)) for n in flow.leaks]
    why = None
    if flow.transfers:
        why = "the value escapes on another path"
    elif flow.in_loop:
        m.loop_last = _loop_fix_point(flow, m.stmt)
        if m.loop_last is None:
            # A defer here would hold every value until the function returns: in a loop that
            # runs for the life of the process, files that the GC's finalizers would have
            # closed stay open until the descriptors run out. Not a patch a build may make.
            why = "acquired in a loop, and not every path reaches the end of the iteration"
    if why is None and in_initializer(m.stmt):
        why = ("acquired in the initializer of an if or switch statement: a release would go inside the "
               "branch that succeeds, which no fix placement does (reported only)")
    if why is None and m.not_fixable:
        why = m.not_fixable
    if why is None and not _idempotent(pass_, m) and _released_in_place(analysis, m.function):
        # the fix would release it a second time on the paths that already do
        why = (f"{m.handle}.{m.release}() is called on another path, and releasing it twice is not known "
               "to be harmless (its catalogue entry does not say idempotent: true)")
    m.fixable, m.why_no_fix = why is None, why
    return True


def _idempotent(pass_: Pass, m: Match) -> bool:
    """A second release is harmless: the std types the shipped rules know (a second Close
    returns an error and does nothing), and catalogue entries that say so."""
    if m.resource_id is None or pass_.catalogue is None:
        return True
    entry = pass_.catalogue.entry(m.resource_id)
    return entry is None or entry.idempotent


def _released_in_place(analysis: Flow, fn) -> bool:
    """Some release call of the handle that is not deferred (`h.Release()` on one path)."""
    for call in analysis._close_calls(fn.child_by_field_name("body"), into_literals=True):
        if not any(a.type == "defer_statement" for a in P.ancestors(call)):
            return True
    return False


def _loop_fix_point(flow, stmt):
    """The last statement of the loop body, when every leak is the end of that body."""
    body = stmt.parent.parent if stmt.parent is not None else None
    if body is None or body.type != "block" or body.parent is None or body.parent.type != "for_statement":
        return None
    if any(n != body for n in flow.leaks):
        return None
    # the value may be nil unless a terminating `if err != nil` comes right after it
    if not terminating_errcheck(flow):
        return None
    stmts = P.statements(body)
    return stmts[-1] if stmts else None


def terminating_errcheck(flow) -> bool:
    """An `if err != nil { return ... }` (not negated) right after the acquisition."""
    return flow is not None and flow.errcheck is not None and flow.errcheck_immediate and \
        flow.errcheck_terminates and not flow.errcheck_negated


def _leak_row(n) -> int:
    # a return statement: its line; a block that falls off the end: its closing brace
    if n.type in ("block", "statement_list") or n.type.endswith("_case"):
        return n.end_point[0]
    return n.start_point[0]


# ------------------------------------------------------------------ returns_error

@condition("returns_error", provides=("callee", "callee_text", "call", "stmt", "function", "fixable",
                                      "why_no_fix", "zeros", "blanks"))
def cond_returns_error(pass_: Pass, m: Match, p: ReturnsErrorParams) -> bool:
    """A bare call statement (or the call of a `go` or `defer` statement, as errcheck reports
    them) whose last result is `error`, or a type of the module or a dependency that
    implements it (`*MyErr`)."""
    call, rv, f = m.node, pass_.resolver, m.file
    if call.type != "call_expression" or call.parent is None or \
            call.parent.type not in ("expression_statement", "go_statement", "defer_statement"):
        return False
    res = rv.call_results(call, f)
    if not res or not _is_error_type(rv, res[-1]):
        return False
    name = rv.callee_name(call, f) or ""
    if _excluded(name, p.exclude) or (p.readonly_close and _readonly_close(pass_, m, call, name)) or \
            _excluded_promoted(rv, call, f, p.exclude):
        return False
    fnode = enclosing_function(call)
    why = None
    if call.parent.type != "expression_statement":
        why = f"a {call.parent.type.split('_')[0]} statement's error cannot be returned from where it runs"
    elif res[-1] != "error":
        why = f"the error result is a concrete type ({res[-1]}): comparing it with nil may not mean what it says"
    elif not returns_error(fnode):
        why = "the function does not return an error"
    fixable = why is None
    m.callee, m.callee_text, m.call = name, P.text(call.child_by_field_name("function")), P.text(call)
    m.stmt, m.function, m.fixable = call.parent, fnode, fixable
    m.why_no_fix = why
    m.zeros = _zero_values(fnode) if fixable else ""
    m.blanks = "_, " * (len(res) - 1)  # `if _, err := w.Write(b); ...`: one name per result
    return True


def _is_error_type(rv, t: str | None) -> bool:
    """`error`, or a named type (or a pointer to one) with the method `Error() string`."""
    if t == "error":
        return True
    if not t or t.startswith(("[", "map[", "func(", "chan ", "interface")) or t in _NOT_ERRORS:
        return False
    return rv.method_results(t, "Error") == ["string"]


_NOT_ERRORS = frozenset({"bool", "string", "int", "int64", "int32", "uint", "uint64", "byte", "float64", "rune"})


def _excluded_promoted(rv, call, f, exclude) -> bool:
    """The method is promoted from an embedded type whose method is excluded: Close of
    `*sqlx.Rows` (or of a module's own wrapper) is `database/sql.Rows.Close`."""
    c = rv.callee(call, f)
    if c is None or c[0] != "method" or not c[1]:
        return False
    return any(_excluded(f"{e}.{c[2]}", exclude) for e in rv.embedded_closure(c[1])[1])


def _excluded(name: str, exclude) -> bool:
    return any(name == ex or (ex.endswith("*") and name.startswith(ex[:-1])) for ex in exclude)


def _readonly_close(pass_: Pass, m: Match, call, name: str) -> bool:
    """`f.Close()` of a file this function opened with os.Open (read-only)."""
    if name != "os.File.Close":
        return False
    operand = call.child_by_field_name("function").child_by_field_name("operand")
    return operand is not None and operand.type == "identifier" and _opened_readonly(pass_.resolver, m.file, operand)


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


def returns_error(fnode) -> bool:
    """The function's last result is `error`."""
    rt = _result_types(fnode)
    return bool(rt) and rt[-1] == "error"


def _zero_values(fnode) -> str:
    return "".join(f"*new({t}), " for t in _result_types(fnode)[:-1])


# ------------------------------------------------------------------ foreign_error

@condition("foreign_error", provides=("imports", "var", "handle", "target", "fmt", "func_name", "callee_text",
                                      "fixable", "stmt", "function"))
def cond_foreign_error(pass_: Pass, m: Match, p: ForeignErrorParams) -> bool:
    """`return ..., err` where err is known non-nil and last came from another package's call;
    fmt is imported (or, fixing the source, can be)."""
    ret, f = m.node, m.file
    vals = P.named_children(next((c for c in ret.named_children if c.type == "expression_list"), None))
    if not vals or vals[-1].type != "identifier":
        return False
    err, name = vals[-1], P.text(vals[-1])
    fmt_import = _fmt_import(pass_, f)
    fnode = enclosing_function(ret)
    if fmt_import is None or fnode is None or not returns_error(fnode):
        return False
    # only where err is known to be non-nil: fmt.Errorf("%w", nil) is a non-nil error
    if not _known_nonnil(ret, name, fnode):
        return False
    call = _last_assigned_call(fnode, ret, name)
    if call is None or not _foreign_call(pass_, f, call, p.not_wrapping):
        return False
    m.fmt, m.imports = fmt_import
    m.var = m.handle = name
    m.target, m.stmt, m.function, m.fixable = err, ret, fnode, True
    m.func_name = function_name(fnode).replace("$lit", "")
    m.callee_text = P.text(call.child_by_field_name("function"))
    return True


def _fmt_import(pass_: Pass, f) -> tuple[str, tuple[str, ...]] | None:
    """(the name fmt is imported as, the imports to add): fmt as imported; a source fix may
    add the import (a build cannot); None when neither."""
    fmt = next((k for k, v in f.imports.items() if v == "fmt"), None)
    if fmt is not None:
        return fmt, ()
    if not pass_.source_mode or "fmt" in f.imports:
        return None
    return "fmt", ("fmt",)


def _last_assigned_call(fnode, ret, name: str):
    """The call of the last assignment to `name` before `ret` in fnode itself, if it is
    `... = call(...)` with one value."""
    last = None
    for n in P.descendants(fnode):
        if n.start_byte >= ret.start_byte:
            continue
        if n.type in ("short_var_declaration", "assignment_statement") and enclosing_function(n) == fnode:
            if name in (P.text(x) for x in P.named_children(n.child_by_field_name("left"))):
                last = n
    if last is None:
        return None
    rhs = P.named_children(last.child_by_field_name("right"))
    return rhs[0] if len(rhs) == 1 and rhs[0].type == "call_expression" else None


def _foreign_call(pass_: Pass, f, call, not_wrapping) -> bool:
    """A call of another package's function (not an error constructor) or of a method of
    another package's type."""
    c = pass_.resolver.callee(call, f)
    if c is None:
        return False
    kind, qual, _ = c
    if kind == "func":
        return qual != "" and pass_.resolver.callee_name(call, f) not in not_wrapping
    if kind == "method":
        return qual is not None and not qual.lstrip("*").startswith(".")
    return False


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


# rule modules register their conditions with @condition
from . import acquire, deferorder, rowserr  # noqa: E402, F401, I001
