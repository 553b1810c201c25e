"""Name resolution and a small type inference, the way the compiler sees one package.

Types are strings in canonical form: `*database/sql.Rows`, `net/http.Client`,
`error`; types of the package under analysis are written with an empty package
path: `.server`, `*.server`. Anything we cannot know is None, and rules treat
None as "unknown, do not fix".
"""

from __future__ import annotations

from bisect import bisect_right

from tree_sitter import Node, QueryCursor

from ..records import Record
from . import inputs
from . import parse as P
from .embedding import Embedding, strip_ptr  # strip_ptr: re-exported
from .functypes import elem_type, func_results, key_type
from .package import GoFile, Package, receiver_type_name
from .stdapi import StdAPI

BUILTIN_TYPES = {
    "bool", "byte", "complex64", "complex128", "error", "float32", "float64", "int", "int8",
    "int16", "int32", "int64", "rune", "string", "uint", "uint8", "uint16", "uint32", "uint64",
    "uintptr", "any", "comparable",
}
BUILTIN_FUNCS = {
    "append", "cap", "clear", "close", "complex", "copy", "delete", "imag", "len", "make",
    "max", "min", "new", "panic", "print", "println", "real", "recover",
}


class Binding(Record):
    _fields = ("name", "kind", "node", "index", "file", "import_path")
    name: str
    kind: str  # import | local | param | pkgvar | func | type | const | builtin
    node: Node | None  # declaring node (statement, spec, parameter_declaration)
    index: int  # position among the names declared together
    file: GoFile | None
    import_path: str | None

    def __init__(self, name: str, kind: str, node: Node | None = None, index: int = 0, file: GoFile | None = None,
                 import_path: str | None = None) -> None:
        self.name = name
        self.kind = kind
        self.node = node
        self.index = index
        self.file = file
        self.import_path = import_path

    @property
    def is_package_level(self) -> bool:
        return self.kind in ("pkgvar", "func", "type", "const")


_MODULE_PACKAGES: dict[str, "Resolver | None"] = {}


def forget_module_packages() -> None:
    """Drop the main module's packages parsed for name resolution (module_package). A
    long-lived process (the language server) calls it when a Go file changes on disk."""
    _MODULE_PACKAGES.clear()


class Resolver(Embedding):
    """Resolves names in one package. Types of this package are written `<self_path>.Name`
    (self_path is "" for the package under analysis); the main module's other packages are
    read from their sources on demand."""

    def __init__(self, pkg: Package, api: StdAPI, self_path: str = ""):
        self.pkg = pkg
        self.api = api
        self.self_path = self_path
        self._btype: dict[tuple, str | None] = {}
        self._blocks: dict[int, dict[str, list[tuple[int, Binding]]]] = {}
        self._closure: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._calls: dict[tuple, object] = {}  # ("c"|"r", call node id) -> callee / results
        self._fields: dict[tuple[str, str], str | None] = {}  # (type, field) -> field type
        self._scoped: dict[tuple, Binding | None] = {}  # lookup's memo (see there)
        self._idents: dict[int, Binding | None] = {}  # identifier node id -> binding
        self._fieldmap: dict[int, dict[str, Node]] = {}  # struct type spec id -> field name -> type node
        self._embeds: dict[int, list[str]] = {}  # type spec id -> embedded types
        self._tops: dict[int, _TopDecls] = {}  # id(GoFile) -> its top-level declarations

    def _split(self, t: str) -> tuple["Resolver | None", str]:
        """(resolver that owns the type, type name) for a non-std canonical type."""
        bare = strip_ptr(t) or ""
        path, _, name = bare.rpartition(".")
        if path == self.self_path:
            return self, name
        other = self.module_package(path)
        return (other, name) if other is not None else (None, name)

    def module_package(self, path: str) -> "Resolver | None":
        """A package of the main module by import path, parsed from its sources (cached)."""
        if not path or self.api.has_package(path):
            return None
        inputs.note("mod", path)
        inputs.consult(path, "pkg", "")  # (whether it is one, and its files: golang/declsum.py)
        if path in _MODULE_PACKAGES:
            return _MODULE_PACKAGES[path]
        _MODULE_PACKAGES[path] = None
        import os

        from .package import find_module, load_file

        if not self.pkg.files:
            return None
        mod = find_module(os.path.dirname(self.pkg.files[0].origin))
        if mod is None:
            return None
        root, modpath = mod
        if path != modpath and not path.startswith(modpath + "/"):
            return None
        d = os.path.join(root, path[len(modpath):].lstrip("/"))
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith(".go") and not n.endswith("_test.go"))
            files = [load_file(os.path.join(d, n)) for n in names]
        except OSError:
            return None
        files = [f for f in files if not f.has_error]
        if not files:
            return None
        res = Resolver(Package(files, consulted=path if inputs.consulting() else None), self.api, self_path=path)
        _MODULE_PACKAGES[path] = res
        return res

    # ---------------------------------------------------------------- scopes
    def lookup(self, name: str, at: Node, file: GoFile) -> Binding | None:
        """The declaration `name` refers to at `at`: the scopes from the innermost out (each
        ancestor that opens one has a `_scope_*` method in _SCOPES, keyed by node type; `child`
        is the ancestor's child on the way up, which decides what is already in scope), then
        the package, the file's imports and the universe.

        Memoized by where the walk starts to depend on more than the name: the innermost scope
        and, for a statement list, how many of its declarations of `name` come before (the
        same for every identifier between two of them), else the child on the way up.

        First, per top-level declaration (_top_names): a name declared nowhere inside it is
        a package-level name, and one declared only in its own signature is a parameter;
        neither needs the walk (about half of the lookups of a real package)."""
        fast = self._top_lookup(name, at, file)
        if fast is not _WALK:
            return fast
        child = at
        for anc in P.ancestors(at):
            scope = _SCOPES.get(anc.type)
            if scope is not None:
                if anc.type == "statement_list":
                    decls = self._block_decls(anc, file).get(name) or ()
                    key = (name, anc.id, sum(1 for end, _ in decls if end <= child.start_byte))
                else:
                    key = (name, anc.id, child.id)
                if key not in self._scoped:
                    self._scoped[key] = self._walk(name, anc, child, file)
                return self._scoped[key]
            child = anc
        return self._lookup_package_level(name, file)

    def _top_lookup(self, name: str, at: Node, file: GoFile):
        """lookup's answer from the top-level declaration `at` is in, or _WALK."""
        tops = self._tops.get(id(file))
        if tops is None:
            tops = self._tops[id(file)] = _TopDecls(file)
        i = bisect_right(tops.starts, at.start_byte) - 1
        if i < 0 or at.end_byte > tops.ends[i]:
            return self._lookup_package_level(name, file)  # between declarations: the package clause, imports
        in_body = tops.names(i).get(name)
        if in_body is None:
            return self._lookup_package_level(name, file)
        if in_body:
            return _WALK
        d = tops.decls[i]  # a function or method: only they have a signature apart from the body
        key = (name, d.id, "sig")
        if key not in self._scoped:
            b = self._scope_signature(d, d, name, file)
            self._scoped[key] = b if b is not None else _WALK
        return self._scoped[key]

    def _walk(self, name: str, first: Node, child: Node, file: GoFile) -> Binding | None:
        """lookup's walk, from the scope `first` (reached through `child`) outwards."""
        anc = first
        while anc is not None:
            scope = _SCOPES.get(anc.type)
            if scope is not None:
                b = scope(self, anc, child, name, file)
                if b is not None:
                    return b
            child, anc = anc, anc.parent
        return self._lookup_package_level(name, file)

    def _scope_block(self, anc: Node, child: Node, name: str, file: GoFile) -> Binding | None:
        """A statement list: the last declaration of `name` that ends before `child`."""
        decls = self._block_decls(anc, file).get(name)
        if decls:
            start = child.start_byte
            for end, b in reversed(decls):
                if end <= start:
                    return b
        return None

    def _scope_if_or_switch(self, anc: Node, child: Node, name: str, file: GoFile) -> Binding | None:
        """if / switch: the initializer's names (`if x, err := f(); err != nil`), and in a type
        switch's cases the alias (`switch v := x.(type)`)."""
        init = anc.child_by_field_name("initializer")
        if init is not None and child != init:
            b = self._declared_by(init, name, file)
            if b:
                return b
        if anc.type == "type_switch_statement" and child.type == "type_case":
            alias = anc.child_by_field_name("alias")
            i = _position(P.named_children(alias), name)
            if i is not None:
                return Binding(name, "local", anc, i, file)
        return None

    def _scope_for(self, anc: Node, child: Node, name: str, file: GoFile) -> Binding | None:
        """for: the clause's initializer (`for i := 0; ...`) or the range variables (`:=`)."""
        for c in anc.named_children:
            if c == child:
                continue
            if c.type == "for_clause":
                init = c.child_by_field_name("initializer")
                if init is not None and child != init:
                    b = self._declared_by(init, name, file)
                    if b:
                        return b
            elif c.type == "range_clause" and child != c and _defines(c):
                i = _position(P.named_children(c.child_by_field_name("left")), name)
                if i is not None:
                    return Binding(name, "local", c, i, file)
        return None

    def _scope_select_case(self, anc: Node, child: Node, name: str, file: GoFile) -> Binding | None:
        """`case v, ok := <-ch:` declares v and ok for the case's statements."""
        comm = anc.child_by_field_name("communication")
        if comm is not None and comm.type == "receive_statement" and child != comm:
            left = comm.child_by_field_name("left")
            if _defines(comm):
                i = _position(P.named_children(left), name)
                if i is not None:
                    return Binding(name, "local", comm, i, file)
        return None

    def _scope_signature(self, anc: Node, child: Node, name: str, file: GoFile) -> Binding | None:
        """A function's receiver, parameters and named results."""
        for field in ("receiver", "parameters", "result"):
            pl = anc.child_by_field_name(field)
            if pl is None or pl.type != "parameter_list":
                continue
            for decl in pl.named_children:
                if decl.type not in ("parameter_declaration", "variadic_parameter_declaration"):
                    continue
                i = _position(decl.children_by_field_name("name"), name)
                if i is not None:
                    return Binding(name, "param", decl, i, file)
        return None

    def _lookup_package_level(self, name: str, file: GoFile) -> Binding | None:
        """Outside every function scope: package-level declarations, then the file's imports,
        then the predeclared names."""
        pkg = self.pkg
        if name in pkg.vars:
            spec, i = pkg.vars[name]
            return Binding(name, "pkgvar", spec, i, pkg.file_for(spec))
        if name in pkg.funcs:
            return Binding(name, "func", pkg.funcs[name], 0, pkg.file_for(pkg.funcs[name]))
        if name in pkg.types:
            return Binding(name, "type", pkg.types[name], 0, pkg.file_for(pkg.types[name]))
        if name in file.imports:
            return Binding(name, "import", None, 0, file, file.imports[name])
        if name in BUILTIN_TYPES or name in BUILTIN_FUNCS or name in ("nil", "true", "false", "iota"):
            return Binding(name, "builtin")
        return None

    def _block_decls(self, block: Node, file: GoFile) -> dict[str, list[tuple[int, Binding]]]:
        """The names a statement list's statements declare: name -> [(end byte of the
        declaring statement, binding)] in source order (built once per block; the scope
        walk of `lookup` asks for every identifier it resolves)."""
        key = block.id
        got = self._blocks.get(key)
        if got is not None:
            return got
        out: dict[str, list[tuple[int, Binding]]] = {}
        for stmt in block.children:
            if stmt.is_named:
                for nm, b in self._declares(stmt, file).items():
                    out.setdefault(nm, []).append((stmt.end_byte, b))
        self._blocks[key] = out
        return out

    def _declared_by(self, stmt: Node, name: str, file: GoFile) -> Binding | None:
        return self._declares(stmt, file).get(name)

    @staticmethod
    def _declares(stmt: Node, file: GoFile) -> dict[str, Binding]:
        """Every name a statement declares (the first declaration of a name wins)."""
        t = stmt.type
        names: dict[str, Binding] = {}
        if t == "short_var_declaration":
            for i, n in enumerate(P.named_children(stmt.child_by_field_name("left"))):
                names.setdefault(P.text(n), Binding(P.text(n), "local", stmt, i, file))
        elif t in ("var_declaration", "const_declaration"):
            kind = "local" if t == "var_declaration" else "const"
            for spec in P.descendants(stmt):
                if spec.type in ("var_spec", "const_spec"):
                    for i, n in enumerate(spec.children_by_field_name("name")):
                        names.setdefault(P.text(n), Binding(P.text(n), kind, spec, i, file))
        elif t == "type_declaration":
            for spec in stmt.named_children:
                nm = P.text(spec.child_by_field_name("name"))
                names.setdefault(nm, Binding(nm, "type", spec, 0, file))
        return names

    def resolve(self, ident: Node, file: GoFile) -> Binding | None:
        """The binding of an identifier node (memoized per node: the callee, its operand's type
        and the path analysis ask about the same identifiers)."""
        key = ident.id
        if key not in self._idents:
            self._idents[key] = self.lookup(P.text(ident), ident, file)
        return self._idents[key]

    # ---------------------------------------------------------------- types
    def type_from_node(self, tnode: Node | None, file: GoFile) -> str | None:
        if tnode is None:
            return None
        t = tnode.type
        if t == "pointer_type":
            inner = self.type_from_node(P.named_children(tnode)[0] if P.named_children(tnode) else None, file)
            return "*" + inner if inner else None
        if t == "type_identifier":
            name = P.text(tnode)
            if name in BUILTIN_TYPES:
                return name
            if name in self.pkg.types:
                return f"{self.self_path}.{name}"
            return None
        if t == "qualified_type":
            pkgname = P.text(tnode.child_by_field_name("package"))
            ipath = file.imports.get(pkgname)
            if ipath is None:
                return None
            return f"{ipath}.{P.text(tnode.child_by_field_name('name'))}"
        if t == "generic_type":
            return self.type_from_node(tnode.child_by_field_name("type"), file)
        if t == "parenthesized_type":
            kids = P.named_children(tnode)
            return self.type_from_node(kids[0], file) if kids else None
        if t == "slice_type":
            inner = self.type_from_node(tnode.child_by_field_name("element"), file)
            return "[]" + inner if inner else None
        if t in ("function_type", "map_type"):
            from .srcapi import _Canon

            return _Canon(self.self_path, set(self.pkg.types), file).type(tnode)
        return None

    def binding_type(self, b: Binding) -> str | None:
        key = (b.kind, b.node.id if b.node is not None else None, b.index, b.name)
        if key in self._btype:
            return self._btype[key]
        self._btype[key] = None  # cycle guard
        res = self._binding_type(b)
        self._btype[key] = res
        return res

    def _binding_type(self, b: Binding) -> str | None:
        n, f = b.node, b.file
        if n is None or f is None:
            return None
        if b.kind == "param":
            return self.type_from_node(n.child_by_field_name("type"), f)
        if n.type in ("var_spec", "const_spec"):
            tn = n.child_by_field_name("type")
            if tn is not None:
                return self.type_from_node(tn, f)
            values = P.named_children(n.child_by_field_name("value"))
            return self._nth_value_type(values, b.index, f)
        if n.type == "short_var_declaration":
            values = P.named_children(n.child_by_field_name("right"))
            return self._nth_value_type(values, b.index, f)
        if n.type == "range_clause":  # `for i, v := range xs`: the index (or key), the element
            over = self.type_of(n.child_by_field_name("right"), f)
            return elem_type(over) if b.index == 1 else key_type(over)
        return None

    def _nth_value_type(self, values: list[Node], i: int, f: GoFile) -> str | None:
        if len(values) == 1 and i > 0 or (len(values) == 1 and values[0].type == "call_expression"):
            res = self.call_results(values[0], f)
            if res is not None and i < len(res):
                return res[i]
            return None
        if i < len(values):
            return self.type_of(values[i], f)
        return None

    def type_of(self, e: Node | None, f: GoFile) -> str | None:
        if e is None:
            return None
        t = e.type
        if t == "identifier":
            b = self.resolve(e, f)
            if b is None or b.kind in ("import", "type", "builtin", "func"):
                return None
            return self.binding_type(b)
        if t == "parenthesized_expression":
            kids = P.named_children(e)
            return self.type_of(kids[0], f) if kids else None
        if t == "unary_expression":
            op = e.child_by_field_name("operator")
            inner = self.type_of(e.child_by_field_name("operand"), f)
            if op is not None and P.text(op) == "&" and inner:
                return "*" + inner
            return None
        if t == "composite_literal":
            return self.type_from_node(e.child_by_field_name("type"), f)
        if t == "call_expression":
            res = self.call_results(e, f)
            return res[0] if res else None
        if t == "selector_expression":
            return self.selector_type(e, f)
        if t == "index_expression":
            return elem_type(self.type_of(e.child_by_field_name("operand"), f))
        return None

    def selector_type(self, e: Node, f: GoFile) -> str | None:
        operand = e.child_by_field_name("operand")
        fieldname = P.text(e.child_by_field_name("field"))
        if operand is not None and operand.type == "identifier":
            b = self.resolve(operand, f)
            if b is not None and b.kind == "import":
                return self.api.var_type(b.import_path, fieldname)
        base = self.type_of(operand, f)
        return self.field_type(base, fieldname)

    def field_type(self, base: str | None, fieldname: str) -> str | None:
        """The type of a field (memoized: a struct of this module is read from its syntax)."""
        if base is None:
            return None
        key = (base, fieldname)
        if key not in self._fields:
            self._fields[key] = self._field_type(base, fieldname)
        return self._fields[key]

    def _field_type(self, base: str, fieldname: str) -> str | None:
        bare = strip_ptr(base)
        if not self.api.has_type(bare):
            owner, tname = self._split(bare)
            if owner is None:
                return None
            spec = owner.pkg.types.get(tname)
            if spec is None:
                return None
            node = owner._struct_fields(spec).get(fieldname)
            return owner.type_from_node(node, owner.pkg.file_for(spec)) if node is not None else None
        return self.api.field_type(bare, fieldname)

    def callee(self, call: Node, f: GoFile) -> tuple[str, str | None, str] | None:
        """_callee, memoized per call node (every leak rule, unchecked-error and the path
        analysis ask about the same calls)."""
        key = ("c", call.id)
        if key not in self._calls:
            self._calls[key] = self._callee(call, f)
        return self._calls[key]

    def _callee(self, call: Node, f: GoFile) -> tuple[str, str | None, str] | None:
        """Identify a call's target as (kind, qualifier, name).

        kind "func": qualifier is the import path ("" for this package);
        kind "method": qualifier is the receiver type (canonical, may be None if unknown);
        kind "builtin": a predeclared function.
        """
        fn = call.child_by_field_name("function")
        if fn is None:
            return None
        if fn.type == "identifier":
            b = self.resolve(fn, f)
            if b is None:
                return None
            if b.kind == "func":
                return ("func", "", P.text(fn))
            if b.kind == "builtin":
                return ("builtin", None, P.text(fn))
            return ("value", None, P.text(fn))
        if fn.type == "selector_expression":
            operand = fn.child_by_field_name("operand")
            name = P.text(fn.child_by_field_name("field"))
            if operand is not None and operand.type == "identifier":
                b = self.resolve(operand, f)
                if b is not None and b.kind == "import":
                    return ("func", b.import_path, name)
                if b is None:
                    return ("method", None, name)
            return ("method", self.type_of(operand, f), name)
        return None

    def call_results(self, call: Node, f: GoFile) -> list[str] | None:
        key = ("r", call.id)
        if key not in self._calls:
            self._calls[key] = self._call_results(call, f)
        got = self._calls[key]
        return list(got) if got is not None else None

    def _call_results(self, call: Node, f: GoFile) -> list[str] | None:
        c = self.callee(call, f)
        if c is None or c[0] == "value":  # a func value: a map element, a variable, a literal's result
            fn = call.child_by_field_name("function")
            return func_results(self.type_of(fn, f)) if fn is not None and fn.type != "func_literal" else None
        kind, qual, name = c
        if kind == "builtin":
            if name == "new":
                args = P.named_children(call.child_by_field_name("arguments"))
                inner = self.type_from_node(args[0], f) if args else None
                return ["*" + inner] if inner else None
            return None
        if kind == "func":
            if qual == "":
                decl = self.pkg.funcs.get(name)
                return self._decl_results(decl) if decl is not None else None
            other = self.module_package(qual)
            if other is not None:
                decl = other.pkg.funcs.get(name)
                return other._decl_results(decl) if decl is not None else None
            return self.api.func_results(qual, name)
        if kind == "method":
            if qual is None:
                return None
            res = self.method_results(qual, name)
            return res if res is not None else func_results(self.field_type(qual, name))  # a func field
        return None

    def _decl_results(self, decl: Node) -> list[str] | None:
        """Result types of a function or method declaration, or of an interface's method
        (memoized per declaration)."""
        key = ("d", decl.id)
        if key not in self._calls:
            self._calls[key] = self._decl_results_of(decl)
        got = self._calls[key]
        return list(got) if got is not None else None

    def _decl_results_of(self, decl: Node) -> list[str] | None:
        f = self.pkg.file_for(decl)
        res = decl.child_by_field_name("result")
        if res is None:
            return []
        if res.type != "parameter_list":
            t = self.type_from_node(res, f)
            return [t] if t else None
        out: list[str | None] = []
        for d in res.named_children:
            if d.type != "parameter_declaration":
                continue
            t = self.type_from_node(d.child_by_field_name("type"), f)
            names = d.children_by_field_name("name")
            out.extend([t] * max(1, len(names)))
        return out  # may contain None for unknown positions

    def callee_name(self, call: Node, f: GoFile) -> str | None:
        """`net/http.Get`, `database/sql.DB.Query` (receiver pointers dropped), `.helper`."""
        c = self.callee(call, f)
        if c is None:
            return None
        kind, qual, name = c
        if kind == "func":
            return f"{qual}.{name}"
        if kind == "method" and qual:
            return f"{strip_ptr(qual)}.{name}"
        if kind == "builtin":
            return name
        return None


def _position(names, name: str) -> int | None:
    """Index of the identifier `name` among declared names (None: not there)."""
    for i, n in enumerate(names):
        if P.text(n) == name:
            return i
    return None


def _defines(clause: Node) -> bool:
    """A range clause or receive statement with `:=` (declares its left side, not assigns)."""
    return any(x.type == ":=" for x in clause.children)


_WALK = object()  # _top_lookup: the scope walk decides

# Every identifier in a position that declares a name in some scope (a superset of what the
# scope walk finds: _declares, the if/for/switch/select scopes and signatures).
_DECLARED_NAMES = """
(short_var_declaration left: (expression_list (identifier) @n))
(var_spec name: (identifier) @n)
(const_spec name: (identifier) @n)
(parameter_declaration name: (identifier) @n)
(variadic_parameter_declaration name: (identifier) @n)
(range_clause left: (expression_list (identifier) @n))
(receive_statement left: (expression_list (identifier) @n))
(type_switch_statement alias: (expression_list (identifier) @n))
(type_spec name: (type_identifier) @n)
(type_alias name: (type_identifier) @n)
"""


class _TopDecls:
    """A file's top-level declarations by position, and (per declaration, on first use) the
    names declared inside it: name -> whether one of its declarations is past the start of
    the function's body (False: only in the signature of a function or method)."""

    def __init__(self, file: GoFile):
        self.file = file  # kept alive: Resolver._tops is keyed by id(file)
        self.decls = [c for c in file.root.named_children if c.type != "comment"]
        self.starts = [d.start_byte for d in self.decls]
        self.ends = [d.end_byte for d in self.decls]
        self._names: dict[int, dict[str, bool]] = {}

    def names(self, i: int) -> dict[str, bool]:
        got = self._names.get(i)
        if got is None:
            d = self.decls[i]
            body = d.child_by_field_name("body") if d.type in ("function_declaration", "method_declaration") else None
            cut = body.start_byte if body is not None else -1
            got = {}
            for n in QueryCursor(P.query(_DECLARED_NAMES)).captures(d).get("n", ()):
                name = P.text(n)
                got[name] = got.get(name, False) or n.start_byte >= cut
            self._names[i] = got
        return got


# Resolver.lookup: the nodes that open a scope of their own, and where to look in each.
_SCOPES = {
    "statement_list": Resolver._scope_block,
    "if_statement": Resolver._scope_if_or_switch,
    "expression_switch_statement": Resolver._scope_if_or_switch,
    "type_switch_statement": Resolver._scope_if_or_switch,
    "for_statement": Resolver._scope_for,
    "communication_case": Resolver._scope_select_case,
    "function_declaration": Resolver._scope_signature,
    "method_declaration": Resolver._scope_signature,
    "func_literal": Resolver._scope_signature,
}


def method_decl_receiver(decl: Node) -> str | None:
    return receiver_type_name(decl.child_by_field_name("receiver"))
