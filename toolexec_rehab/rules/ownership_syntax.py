"""Syntax and name helpers of the ownership model (ownership.py): what a statement binds,
where a name is declared, which call is a conversion, which callee is the module's own."""

from __future__ import annotations

import re

from tree_sitter import Node

from ..golang import parse as P
from ..golang.package import GoFile
from ..golang.types import Binding, Resolver, strip_ptr

FUNC_NODES = ("function_declaration", "method_declaration", "func_literal")
CONVERTIBLE_BUILTINS = frozenset({
    "bool", "string", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16",
    "uint32", "uint64", "uintptr", "float32", "float64", "complex64", "complex128", "byte",
    "rune", "error", "any",
})


def bound_names(stmt: Node) -> list[Node] | None:
    if stmt.type in ("short_var_declaration", "assignment_statement"):
        left = stmt.child_by_field_name("left")
        return P.named_children(left) if left is not None else None
    if stmt.type == "var_declaration":
        specs = [s for s in P.descendants(stmt) if s.type == "var_spec"]
        return list(specs[0].children_by_field_name("name")) if len(specs) == 1 else None
    if stmt.type == "var_spec":
        return list(stmt.children_by_field_name("name"))
    return None


def show_type(t: str) -> str:
    """`*compress/gzip.Reader` as Go code writes it: `*gzip.Reader`; the package's own `.T`: `T`."""
    return re.sub(r"(?:[\w.-]+/)*([\w-]+\.)(?=\w)", r"\1", t).replace("*.", "*").lstrip(".")


def with_article(t: str) -> str:
    return ("an " if t[:1] in "aeiouAEIOU" else "a ") + t


def declared_here(ident: Node, f: GoFile) -> Binding | None:
    """The binding a `:=` or a function's `var` declares with this name (as types.Resolver
    records it), None for a plain assignment's target (declared elsewhere)."""
    p = ident.parent
    stmt = p.parent if p is not None and p.type == "expression_list" else p
    if stmt is None:
        return None
    if stmt.type == "short_var_declaration":
        return Binding(P.text(ident), "local", stmt, P.named_children(p).index(ident), f)
    if stmt.type == "var_spec" and enclosing_function(stmt) is not None:
        return Binding(P.text(ident), "local", stmt, list(stmt.children_by_field_name("name")).index(ident), f)
    return None


def values_of(stmt: Node) -> list[Node]:
    if stmt.type == "var_declaration":
        specs = [s for s in P.descendants(stmt) if s.type == "var_spec"]
        stmt = specs[0] if specs else stmt
    v = stmt.child_by_field_name("right") or stmt.child_by_field_name("value")
    return P.named_children(v) if v is not None else []


def param_names(decl: Node, index: int) -> Node | None:
    field = "receiver" if index < 0 else "parameters"
    pl = decl.child_by_field_name(field)
    if pl is None:
        return None
    names: list[Node | None] = []
    for d in P.named_children(pl):
        if d.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        ns = d.children_by_field_name("name")
        names.extend(ns if ns else [None])
    i = 0 if index < 0 else index
    if i >= len(names) or names[i] is None or P.text(names[i]) == "_":
        return None
    return names[i]


def is_definition(n: Node) -> bool:
    """n names a variable where it is declared or assigned, not where its value is used."""
    p = n.parent
    if p is None:
        return True
    if p.type == "expression_list" and p.parent is not None and \
            p.parent.type in ("short_var_declaration", "assignment_statement", "range_clause",
                              "receive_statement") and p.parent.child_by_field_name("left") == p:
        return True
    if p.type in ("parameter_declaration", "variadic_parameter_declaration", "var_spec", "const_spec"):
        return True  # a name being declared (values sit inside an expression_list)
    if p.type in ("labeled_statement", "type_switch_statement"):
        return True
    return False


def contains(outer: Node | None, inner: Node) -> bool:
    return outer is not None and outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def is_named_result(func: Node, decl: Node) -> bool:
    res = func.child_by_field_name("result")
    return res is not None and res.type == "parameter_list" and contains(res, decl)


def enclosing_function(n: Node) -> Node | None:
    p = n.parent
    while p is not None and p.type not in FUNC_NODES:
        p = p.parent
    return p


def capturing_literal(e: Node, func: Node) -> Node | None:
    """The outermost func literal between e and func (a capture), or None."""
    found = None
    p = e.parent
    while p is not None and p != func:
        if p.type == "func_literal":
            found = p
        p = p.parent
    return found


def defines_range(clause: Node) -> bool:
    return any(c.type == ":=" for c in clause.children)


def is_conversion(rv: Resolver, call: Node, f: GoFile) -> bool:
    fn = call.child_by_field_name("function")
    if fn is None:
        return False
    if fn.type in ("parenthesized_type", "pointer_type", "interface_type", "slice_type", "map_type",
                   "array_type", "generic_type", "qualified_type"):
        return True
    if fn.type == "identifier":
        b = rv.lookup(P.text(fn), fn, f)
        return b is not None and (b.kind == "type" or (b.kind == "builtin" and P.text(fn) in CONVERTIBLE_BUILTINS))
    if fn.type == "selector_expression":
        op = fn.child_by_field_name("operand")
        if op is not None and op.type == "identifier":
            b = rv.lookup(P.text(op), op, f)
            if b is not None and b.kind == "import":
                return rv.api.has_type(f"{b.import_path}.{P.text(fn.child_by_field_name('field'))}")
    return False


def is_method(rv: Resolver, base: str | None, name: str) -> bool:
    if base is None:
        return True  # unknown: a method value is the careful reading
    return rv.api.method_results(base, name) is not None or rv.api.method_results(strip_ptr(base), name) is not None


def descriptive_field(base: str, field: str) -> bool:
    """A field of an *http.Response or *http.Request other than Body: it describes the
    exchange and does not hold the body's connection (resp.Request, resp.TLS, resp.Header).
    Every other field of a carrier, of any type that is not plain data, is followed: a
    ticker's C, a zip.ReadCloser's File and Reader carry what Stop or Close ends."""
    return strip_ptr(base) in ("net/http.Response", "net/http.Request") and field != "Body"


def module_decl(rv: Resolver, callee) -> tuple[Resolver, Node] | None:
    """The declaration of a function or method of the module, with the resolver of its package."""
    if callee is None:
        return None
    kind, qual, name = callee
    if kind == "func":
        if qual == "":
            decl = rv.pkg.funcs.get(name)
            return (rv, decl) if decl is not None else None
        other = rv.module_package(qual)
        if other is not None and other.pkg.funcs.get(name) is not None:
            return other, other.pkg.funcs[name]
        return None
    if kind == "method" and qual:
        bare = strip_ptr(qual)
        if rv.api.has_type(bare):
            return None
        owner, tname = rv._split(bare)
        if owner is None:
            return None
        decl = owner.pkg.methods.get((tname, name))
        return (owner, decl) if decl is not None else None
    return None


def deferred_by(n: Node, func: Node) -> Node | None:
    """The defer statement of `func` whose call uses n (its arguments, its receiver, or the
    body of a deferred func literal), None when n is not used by a deferred call; a func
    literal that is not itself deferred runs on its own terms (handled as a capture)."""
    p = n.parent
    while p is not None and p != func:
        if p.type == "defer_statement":
            return p
        if p.type == "func_literal":
            call = p.parent
            if call is not None and call.type == "call_expression" and call.parent is not None \
                    and call.parent.type == "defer_statement":
                return call.parent
            return None
        p = p.parent
    return None
