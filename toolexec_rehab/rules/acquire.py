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
from ..golang.package import default_import_name, enclosing_function
from . import ownership_syntax as S
from .conditions import CONDITIONS, GATES, cond_resource, condition

if TYPE_CHECKING:
    from .catalogue import Resource
    from .context import Match, Pass
    from .params import AcquiresParams

def short_type(t: str) -> str:
    """`*sql.Rows` for `*database/sql.Rows` (messages)."""
    stars = t[: len(t) - len(t.lstrip("*"))]
    path, _, name = t.lstrip("*").rpartition(".")
    return f"{stars}{default_import_name(path)}.{name}" if path else t


def acquired(pass_: Pass, call, f, rv=None) -> tuple[Resource, str | None, list | None, str | None] | None:
    """(entry, callee name, result types, why a build may not release it) of the catalogue
    resource `call` acquires, memoized per call node for the pass (every leak rule asks about
    the same calls). A call the entry lists in `acquire` hands over a new one; so does a
    function of the main module whose returns all give one it made (judged by its body,
    recursively); a getter of the module that hands out one it keeps acquires nothing. Any
    other call whose result has the type (a dependency's or std's method the entry does not
    list, a func value, an interface method) is an acquisition for reports, not for fixes:
    it may hand out one that something else keeps (os.NewFile(1, ...), tls.Conn.NetConn,
    sqlx's Unsafe). `rv`: the resolver of the package the call is in."""
    memo = pass_.acquired
    key = call.id
    if key in memo:
        return memo[key]
    memo[key] = None  # also the guard of functions that call each other
    cat = pass_.catalogue
    if cat is None or (pass_.screen is not None and not _may_fix(pass_.screen, call)):
        return None
    rv = rv or pass_.resolver
    name = rv.callee_name(call, f)
    results = rv.call_results(call, f)
    listing = cat.listing(name)
    for entry in _candidates(cat, listing, results):
        if name is not None and name in entry.not_acquired_by:
            continue
        listed = entry in listing
        if not listed and not _typed(rv, entry, results):
            continue
        why = None
        own = S.module_decl(rv, rv.callee(call, f))
        if own is not None:
            if not _hands_over(pass_, *own, entry.result):
                break  # a function of this module that hands out a resource it keeps
        elif not listed:
            why = (f"{name or 'the call'} is not known to hand over a new {short_type(entry.type)} "
                   "(the catalogue's acquire list): it may return one that something else keeps")
        why = why or _overrides(rv, entry, results)
        memo[key] = (entry, name, results, why)
        break
    return memo[key]


def fixable_screen(pass_: Pass) -> tuple[frozenset, tuple[str, ...]] | None:
    """For a pass whose only use of a finding is its fix (a build that does not instrument):
    the names a call must have to acquire a resource a fix may release. Such a call is listed
    by the catalogue (its name matches the last part of an `acquire` name or pattern), or is a
    function or method of the module whose returns are judged by its body; every other
    acquisition is reported, never patched, so it is not resolved at all. Of the module's
    functions only this package's count, and only those whose declared result has a type of
    the catalogue (or one not known): when the package imports another package of the main
    module, a value of that package's types could reach any call, and None (no screen) is
    returned. The screen never changes a fixable finding (tests/test_screen.py)."""
    cat, rv = pass_.catalogue, pass_.resolver
    if cat is None or _imports_module(pass_.package):
        return None
    by_index: dict[int, list] = {}
    for e in cat.resources:
        by_index.setdefault(e.result, []).append(e)
    seen: dict[tuple, bool] = {}

    def holds(i: int, t: str | None) -> bool:  # the result may be a resource of the catalogue
        if t is None:
            return True
        if (i, t) not in seen:
            seen[i, t] = _named(t) and any(e.has_type(t, rv) for e in by_index[i])
        return seen[i, t]

    names = set()
    for key, decl in (*rv.pkg.funcs.items(), *rv.pkg.methods.items()):
        results = rv._decl_results(decl)
        if results is None or any(holds(i, results[i]) for i in by_index if i < len(results)):
            names.add(key if isinstance(key, str) else key[1])
    listed, suffixes = cat.acquire_tails()
    if "" in suffixes:  # a pattern that ends in a wildcard: any name may be listed
        return None
    return frozenset(names | listed), suffixes


def _imports_module(pkg) -> bool:
    import os

    from ..golang.package import find_module

    mod = find_module(os.path.dirname(pkg.files[0].origin)) if pkg.files else None
    if mod is None:
        return False
    prefix = mod[1] + "/"
    return any(p == mod[1] or p.startswith(prefix) for f in pkg.files for p in f.imports.values())


def _may_fix(screen: tuple[frozenset, tuple[str, ...]], call) -> bool:
    """The call's name passes fixable_screen (a call whose function is not a name or a
    selector, a generic instantiation for one, is resolved)."""
    fn = call.child_by_field_name("function")
    if fn is None:
        return False
    if fn.type == "selector_expression":
        fn = fn.child_by_field_name("field")
    elif fn.type != "identifier":
        return True
    name = P.text(fn)
    return name in screen[0] or any(name.endswith(t) for t in screen[1])


def _candidates(cat, listing, results):
    """The entries a call may acquire: those that list it, and those whose resource's result
    position holds a named type (a builtin, a slice, a map, a func: none). In catalogue
    order, which decides between two entries."""
    if not results and not listing:
        return ()
    named = {i for i, t in enumerate(results or ()) if t and _named(t)}
    if not named and not listing:
        return ()
    return [e for e in cat.resources if e in listing or e.result in named]


def _named(t: str) -> bool:
    """A named type (with its package): a builtin, a slice, a map or a func is no resource."""
    return "." in t and not t.startswith(("[", "map[", "func("))


def _overrides(rv, entry: Resource, results) -> str | None:
    """The result's type embeds the resource but declares a release method of its own (a
    wrapper's Rollback that logs): the catalogue's word on the release is not about it."""
    t = results[entry.result] if results and entry.result < len(results) else None
    if t is None or t == entry.type or entry.by_call:
        return None
    bare = t.lstrip("*")
    for m in entry.release:
        if rv.api.has_type(bare):
            own = m in rv.api.methods(bare)
        else:
            owner, tname = rv._split(bare)
            own = owner is not None and (tname, m) in owner.pkg.methods
        if own:
            return f"{short_type(t)} declares its own {m}: what a release does on it is not the catalogue's"
    return None


def _gate(pass_: Pass, node, f, rule_id: str, p: AcquiresParams) -> bool:
    """What the call acquires is this rule's (the six leak rules share one query: each
    candidate call is resolved once, and a Match is built only for the rule it concerns)."""
    if node.type != "call_expression":
        return False
    got = acquired(pass_, node, f)
    return got is not None and (got[0].id in p.resources if p.resources else got[0].rule == rule_id)


GATES["acquires"] = _gate


def _typed(rv, entry: Resource, results) -> bool:
    """The result that holds the entry's resource has its type, an alias of it, or embeds it."""
    return bool(results) and entry.result < len(results) and entry.has_type(results[entry.result], rv)


@condition("acquires", provides=("callee", "callee_text", *CONDITIONS["resource"].provides))
def cond_acquires(pass_: Pass, m: Match, p: AcquiresParams) -> bool:
    """The call returns a catalogue resource of this rule, bound to a local (or discarded)."""
    call = m.node
    if call.type != "call_expression":
        return False
    got = acquired(pass_, call, m.file)
    if got is None:
        return False
    entry, name, results, why = got
    if entry.id not in p.resources if p.resources else entry.rule != m.rule.id:
        return False
    m.callee, m.callee_text = name, P.text(call.child_by_field_name("function"))
    n = len(results) if results else entry.result + 2
    err_index = n - 1 if (results is None or results[-1] == "error") and n - 1 != entry.result else None
    # the name a discarded value gets when a fix releases it (None: a discarded one is reported)
    if entry.by_call:
        fresh = "cancel"
    elif entry.finalizer or not entry.release_discarded:
        fresh = None
    else:
        fresh = _base_name(entry.type)
    params = SimpleNamespace(handle=entry.handle, type=short_type(entry.type), index=entry.result,
                             err_index=err_index, close="call" if entry.by_call else "method",
                             fresh_name=fresh, count=len(results) if results else None)
    if not cond_resource(pass_, m, params):
        return False
    m.release = "" if entry.by_call else entry.release[0]
    m.releases_by = entry.release
    m.resource_id = entry.id
    if why is None and m.var and m.function is not None and entry.waits_for and \
            _calls_on(m.function, m.var, entry.waits_for):
        why = (f"{m.var}.{'/'.join(entry.waits_for)} is called: {m.handle}.{m.release}() would wait for what it "
               "made (a transaction on the connection) to end")
    if why is None and m.discarded and entry.finalizer:
        why = ("the result is discarded; the runtime releases it when it is collected, and a release right "
               "after the call could be seen (a listener's port freed, a connection's peer told)")
    m.not_fixable = why
    return True


def _calls_on(fn, var: str, methods) -> bool:
    """`var.M(...)` for one of methods, anywhere in the function (func literals too)."""
    for n in P.descendants(fn):
        if n.type == "call_expression":
            f = n.child_by_field_name("function")
            if f is not None and f.type == "selector_expression" and \
                    P.text(f.child_by_field_name("field")) in methods and P.text(f.child_by_field_name("operand")) == var:
                return True
    return False


def _base_name(t: str) -> str:
    """The name a discarded value of type t gets when a fix releases it: `rows` for
    *sql.Rows, `resp` for *http.Response (numbered if taken)."""
    name = t.lstrip("*").rpartition(".")[2]
    return {"Response": "resp", "ReadCloser": "rc"}.get(name, name[:1].lower() + name[1:]) or "v"


def _hands_over(pass_: Pass, rv, decl, index: int) -> bool:
    """Each return of the function gives, at `index`, a value it made: the result of a call
    that acquires one (judged in its turn), a composite literal made of such values, or a
    local bound to one; nil on some paths. A function that only ever returns nil, or returns
    a field, a parameter, a global or a map element, hands nothing over."""
    body = decl.child_by_field_name("body")
    if body is None:  # declared here, implemented elsewhere (assembly, go:linkname): not judged
        return False
    rets = [n for n in P.descendants(body) if n.type == "return_statement" and enclosing_function(n) == decl]
    made = False
    f = rv.pkg.file_for(decl)
    for r in rets:
        vals = P.named_children(P.named_children(r)[0]) if P.named_children(r) else []
        if index >= len(vals):
            return False  # a bare return of named results, or a call's results: not followed
        v = vals[index]
        if v.type == "nil":
            continue
        if not _fresh(pass_, rv, f, v, decl, 0):
            return False
        made = True
    return made


def _fresh(pass_: Pass, rv, f, v, decl, depth: int) -> bool:
    """v is a value the function made, as _hands_over counts it."""
    if depth > 4:
        return False
    t = v.type
    if t == "call_expression":
        got = acquired(pass_, v, f, rv)
        return got is not None and got[3] is None
    if t == "unary_expression":
        return P.text(v.child_by_field_name("operator")) == "&" and \
            _fresh(pass_, rv, f, v.child_by_field_name("operand"), decl, depth + 1)
    if t == "composite_literal":
        # a new value: made here, unless it wraps a resource that was not (`&Rows{Rows: s.keep}`)
        for x in _elements(v):
            if x.type in _PLAIN_VALUES or (x.type == "binary_expression" and _compares(x)):
                continue  # `limit: 10`, `name: "x"`, `ok: dsn != ""`: no resource in a constant or a bool
            if not _fresh(pass_, rv, f, x, decl, depth + 1) and _is_resource(pass_, rv, rv.type_of(x, f)):
                return False
        return True
    if t == "identifier":
        rhs = _bound_to(P.text(v), decl)
        return rhs is not None and _only_returned(P.text(v), decl, rhs) and _fresh(pass_, rv, f, rhs, decl, depth + 1)
    return False


_PLAIN_VALUES = frozenset(("int_literal", "float_literal", "imaginary_literal", "rune_literal",
                           "interpreted_string_literal", "raw_string_literal", "true", "false", "nil", "iota"))


def _compares(e) -> bool:
    """A comparison or a logical operation: a bool, whatever its operands."""
    return P.text(e.child_by_field_name("operator")) in ("==", "!=", "<", "<=", ">", ">=", "&&", "||")


def _elements(lit) -> list:
    """The element values of a composite literal (keyed or not)."""
    out = []
    for e in P.named_children(lit.child_by_field_name("body")):
        el = e.child_by_field_name("value") if e.type == "keyed_element" else e
        out += P.named_children(el) if el is not None and el.type == "literal_element" else ([el] if el else [])
    return out


def _is_resource(pass_: Pass, rv, t: str | None) -> bool:
    """t is (or may be: unknown) a type of the catalogue."""
    if t is None:
        return True
    return any(e.has_type(t, rv) for e in pass_.catalogue.resources)


def _only_returned(name: str, decl, rhs) -> bool:
    """The local is used only where it is bound and where it is returned (or checked against
    nil): one the function also keeps (`s.last = r`, a global, a goroutine, a closure, a call
    that may store it) is not handed over, and closing it would break the keeper."""
    bind = rhs.parent.parent if rhs.parent is not None else None  # expression_list -> statement
    for n in P.descendants(decl.child_by_field_name("body")):
        if n.type != "identifier" or P.text(n) != name:
            continue
        ok = False
        for a in P.ancestors(n):
            if a == bind or a.type == "return_statement":
                ok = True
                break
            if a.type == "binary_expression" and P.text(a.child_by_field_name("operator")) in ("==", "!="):
                ok = True  # `r != nil`
                break
            if a.type in ("func_literal", "function_declaration", "method_declaration") or a == decl:
                break
            if a.type.endswith("_statement") or a.type in ("short_var_declaration", "call_expression",
                                                           "selector_expression"):
                break  # a composite literal is walked through: returned it is fine, bound it is not
        if not ok:
            return False
    return True


def _bound_to(name: str, decl):
    """The single value a local of the function is declared with (`r, err := db.Query(q)`:
    the call), when it is declared once and never assigned again."""
    found = None
    for n in P.descendants(decl.child_by_field_name("body")):
        if n.type in ("short_var_declaration", "assignment_statement"):
            left = [P.text(x) for x in P.named_children(n.child_by_field_name("left"))]
            if name in left:
                right = P.named_children(n.child_by_field_name("right"))
                if found is not None or n.type == "assignment_statement" or len(right) != 1:
                    return None
                found = right[0]
    return found
