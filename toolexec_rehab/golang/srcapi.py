"""A package's API table read from its Go source, in the layout of the std table.

Dependencies are not in the std table (:mod:`.stdapi`): their types come from their source
in the module cache, parsed with the same tree-sitter grammar as everything else. The
result is one package entry of the std table's JSON layout (``f``, ``v``, ``t`` with ``k``,
``u``, ``m``, ``p``, ``fl``, ``e``, ``tp``), so every query of :class:`.stdapi_table.StdAPI`
(embedding, aliases, interfaces, generics) works on it unchanged. Types are canonical:
``*github.com/jmoiron/sqlx.Rows``, ``database/sql.Rows``, ``$0`` for a type parameter.

Only what a caller outside the package can reach is kept: exported funcs, methods and
fields, every named type (an unexported type returned by an exported func still has
exported methods), embedded fields whatever their name (they promote methods), and
exported vars whose type is written or is a composite literal's.
"""

from __future__ import annotations

from tree_sitter import Node

from . import parse as P
from .package import GoFile
from .stdapi_canon import encode_sig

_BUILTIN = frozenset({
    "bool", "byte", "complex64", "complex128", "error", "float32", "float64", "int", "int8",
    "int16", "int32", "int64", "rune", "string", "uint", "uint8", "uint16", "uint32", "uint64",
    "uintptr", "comparable",
})


def exported(name: str) -> bool:
    return bool(name) and name[0].isupper()


class _Canon:
    """Canonical type strings for the type nodes of one file of the package `own`."""

    def __init__(self, own: str, names: set[str], file: GoFile, tparams: dict[str, str] | None = None):
        self.own, self.names, self.file = own, names, file
        self.tparams = tparams or {}

    def with_tparams(self, plist: Node | None, base: dict[str, str] | None = None) -> tuple[_Canon, list[str]]:
        """A canon that knows `plist`'s type parameters as $0, $1, ... and their constraints."""
        tps = dict(base or {})
        names: list[Node] = []
        decls = [d for d in P.named_children(plist) if d.type == "type_parameter_declaration"]
        for d in decls:
            for n in d.children_by_field_name("name"):
                tps[P.text(n)] = f"${len(tps)}"
                names.append(d)
        inner = _Canon(self.own, self.names, self.file, tps)
        return inner, [inner.type(d.child_by_field_name("type")) for d in names]

    def type(self, n: Node | None) -> str:
        if n is None:
            return "?"
        t = n.type
        if t in ("type_elem", "type_constraint", "parenthesized_type"):
            kids = P.named_children(n)
            return self.type(kids[0]) if len(kids) == 1 else P.text(n)
        if t == "type_identifier":
            name = P.text(n)
            if name in self.tparams:
                return self.tparams[name]
            if name == "any":
                return "interface{}"
            if name == "uint8":
                return "byte"
            if name in _BUILTIN:
                return name
            return f"{self.own}.{name}" if name in self.names else name
        if t == "qualified_type":
            ipath = self.file.imports.get(P.text(n.child_by_field_name("package")))
            tname = P.text(n.child_by_field_name("name"))
            return f"{ipath}.{tname}" if ipath else f"?.{tname}"
        if t == "pointer_type":
            kids = P.named_children(n)
            return "*" + self.type(kids[0] if kids else None)
        if t == "generic_type":
            args = [self.type(a) for a in P.named_children(n.child_by_field_name("type_arguments"))]
            return f"{self.type(n.child_by_field_name('type'))}[{', '.join(args)}]"
        return self._composite(n, t)

    def _composite(self, n: Node, t: str) -> str:
        """Slices, arrays, maps, channels, funcs and interfaces (anything else: its text)."""
        if t == "slice_type":
            return "[]" + self.type(n.child_by_field_name("element"))
        if t == "array_type":
            return f"[{P.text(n.child_by_field_name('length'))}]{self.type(n.child_by_field_name('element'))}"
        if t == "map_type":
            return f"map[{self.type(n.child_by_field_name('key'))}]{self.type(n.child_by_field_name('value'))}"
        if t == "channel_type":
            txt = P.text(n).replace(" ", "")
            head = "<-chan" if txt.startswith("<-") else "chan<-" if txt.startswith("chan<-") else "chan"
            return f"{head} {self.type(n.child_by_field_name('value'))}"
        if t == "function_type":
            params = self.params(n.child_by_field_name("parameters"))
            res = self.results(n.child_by_field_name("result"))
            tail = "" if not res else f" {res[0]}" if len(res) == 1 else f" ({', '.join(res)})"
            return f"func({', '.join(params)}){tail}"
        if t == "interface_type":
            return "interface{}" if not P.named_children(n) else "interface{" + P.normalize_code(n)[10:]
        return P.normalize_code(n)

    def params(self, plist: Node | None) -> list[str]:
        out: list[str] = []
        for d in P.named_children(plist):
            if d.type == "parameter_declaration":
                t = self.type(d.child_by_field_name("type"))
                out.extend([t] * max(1, len(d.children_by_field_name("name"))))
            elif d.type == "variadic_parameter_declaration":
                out.append("..." + self.type(d.child_by_field_name("type")))
        return out

    def results(self, res: Node | None) -> list[str]:
        if res is None:
            return []
        if res.type == "parameter_list":
            return self.params(res)
        return [self.type(res)]


def _receiver(decl: Node) -> tuple[str, bool, list[str]] | None:
    """(type name, pointer receiver, receiver type-parameter names) of a method."""
    recv = P.named_children(decl.child_by_field_name("receiver"))
    if not recv:
        return None
    t = recv[0].child_by_field_name("type")
    ptr = False
    while t is not None and t.type in ("pointer_type", "parenthesized_type"):
        ptr = ptr or t.type == "pointer_type"
        kids = P.named_children(t)
        t = kids[0] if kids else None
    if t is None:
        return None
    names: list[str] = []
    if t.type == "generic_type":
        names = [P.text(a) for a in P.named_children(t.child_by_field_name("type_arguments"))]
        t = t.child_by_field_name("type")
    return (P.text(t), ptr, names) if t.type == "type_identifier" else None


class _Builder:
    def __init__(self, path: str, files: list[GoFile]):
        self.path, self.files = path, files
        self.names: set[str] = set()
        self.out: dict = {}

    def build(self) -> dict:
        for f in self.files:
            for c in f.root.children:
                if c.type == "type_declaration":
                    for spec in c.named_children:
                        if spec.type in ("type_spec", "type_alias"):
                            self.names.add(P.text(spec.child_by_field_name("name")))
        for f in self.files:
            canon = _Canon(self.path, self.names, f)
            for c in f.root.children:
                handler = _DECLS.get(c.type)
                if handler is not None:
                    handler(self, c, canon)
        return {k: v for k, v in self.out.items() if v}

    def _types(self) -> dict:
        return self.out.setdefault("t", {})

    def _func(self, decl: Node, canon: _Canon) -> None:
        name = P.text(decl.child_by_field_name("name"))
        if not exported(name):
            return
        inner, constraints = canon.with_tparams(decl.child_by_field_name("type_parameters"))
        sig = encode_sig(inner.params(decl.child_by_field_name("parameters")),
                         inner.results(decl.child_by_field_name("result")), constraints)
        self.out.setdefault("f", {})[name] = sig

    def _method(self, decl: Node, canon: _Canon) -> None:
        name = P.text(decl.child_by_field_name("name"))
        recv = _receiver(decl)
        if not exported(name) or recv is None:
            return
        tname, ptr, tpnames = recv
        inner = _Canon(canon.own, canon.names, canon.file, {n: f"${i}" for i, n in enumerate(tpnames)})
        sig = encode_sig(inner.params(decl.child_by_field_name("parameters")),
                         inner.results(decl.child_by_field_name("result")))
        info = self._types().setdefault(tname, {"k": "n"})
        info.setdefault("p" if ptr else "m", {})[name] = sig

    def _type_decl(self, decl: Node, canon: _Canon) -> None:
        for spec in decl.named_children:
            if spec.type not in ("type_spec", "type_alias"):
                continue
            name = P.text(spec.child_by_field_name("name"))
            inner, constraints = canon.with_tparams(spec.child_by_field_name("type_parameters"))
            info = self._types().setdefault(name, {"k": "n"})
            if constraints:
                info["tp"] = constraints
            body = spec.child_by_field_name("type")
            if spec.type == "type_alias":
                info["k"], info["u"] = "a", inner.type(body)
            elif body is not None and body.type == "struct_type":
                info["k"] = "s"
                self._struct(info, body, inner)
            elif body is not None and body.type == "interface_type":
                info["k"] = "i"
                self._interface(info, body, inner)
            else:
                info["k"], info["u"] = "n", inner.type(body)

    @staticmethod
    def _embed(info: dict, t: str) -> None:
        fname = t.lstrip("*").split("[", 1)[0].rsplit(".", 1)[-1]
        info.setdefault("fl", {})[fname] = t
        info.setdefault("e", []).append(fname)

    def _struct(self, info: dict, body: Node, canon: _Canon) -> None:
        for fd in P.descendants(body):
            if fd.type != "field_declaration":
                continue
            t = canon.type(fd.child_by_field_name("type"))
            names = fd.children_by_field_name("name")
            if not names:  # `*T` embedded: the star is a token of the field, not a pointer_type
                self._embed(info, ("*" if any(c.type == "*" for c in fd.children) else "") + t)
            for n in names:
                if exported(P.text(n)):
                    info.setdefault("fl", {})[P.text(n)] = t

    def _interface(self, info: dict, body: Node, canon: _Canon) -> None:
        for el in body.named_children:
            if el.type in ("method_elem", "method_spec"):
                name = P.text(el.child_by_field_name("name"))
                if exported(name):
                    sig = encode_sig(canon.params(el.child_by_field_name("parameters")),
                                     canon.results(el.child_by_field_name("result")))
                    info.setdefault("m", {})[name] = sig
            elif el.type == "type_elem" and len(el.named_children) == 1 and \
                    el.named_children[0].type in ("type_identifier", "qualified_type", "generic_type"):
                self._embed(info, canon.type(el.named_children[0]))

    def _var_decl(self, decl: Node, canon: _Canon) -> None:
        for spec in P.descendants(decl):
            if spec.type != "var_spec":
                continue
            tnode = spec.child_by_field_name("type")
            values = P.named_children(spec.child_by_field_name("value"))
            for i, n in enumerate(spec.children_by_field_name("name")):
                if not exported(P.text(n)):
                    continue
                t = canon.type(tnode) if tnode is not None else _literal_type(values, i, canon)
                if t is not None:
                    self.out.setdefault("v", {})[P.text(n)] = t


def _literal_type(values: list[Node], i: int, canon: _Canon) -> str | None:
    """The type of `T{...}` or `&T{...}` among a var spec's values."""
    if i >= len(values):
        return None
    v, star = values[i], ""
    if v.type == "unary_expression" and P.text(v.child_by_field_name("operator")) == "&":
        v, star = v.child_by_field_name("operand"), "*"
    if v is not None and v.type == "composite_literal":
        return star + canon.type(v.child_by_field_name("type"))
    return None


_DECLS = {
    "function_declaration": _Builder._func,
    "method_declaration": _Builder._method,
    "type_declaration": _Builder._type_decl,
    "var_declaration": _Builder._var_decl,
}


def package_table(import_path: str, files: list[GoFile]) -> dict:
    """The std table's entry for the package `import_path` made of `files` (parsed, the
    build-constraint selection already made)."""
    return _Builder(import_path, files).build()
