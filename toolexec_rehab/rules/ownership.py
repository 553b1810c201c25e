"""Ownership: may a value that carries the resource outlive its function?

A build patch that releases a resource (`defer f.Close()`, `defer cancel()`) is right only
when nothing can use the resource after the function returns. This module answers that
question for every rule whose fix releases something (Engine._fix asks it; rules do not).
Report precision is flow.py's business (is there a path that leaks?); this is fix safety,
a separate gate: unsure means no patch, with a why_no_fix that names the escape and its line.

The values that carry the resource are followed from the acquisition: the variables bound
by the acquiring statement (but its error), their aliases, and every value derived from a
carrier -
- the result of a wrapping call (bufio, csv, tar, zip, gzip, json/xml/gob decoders and
  encoders, io.TeeReader / MultiReader / LimitReader / NewSectionReader, http requests
  and database/sql calls made with a carried context: the catalogue's `borrow` calls) and of a function of the
  module whose body returns its parameter;
- the result of a method of a carrier unless its type is plain data (int, string, error,
  time.Time, fs.FileInfo, ...: _PLAIN_*);
- a composite literal holding one, `&x`, a conversion, a type assertion, an index or a
  slice of one, `append(s, x)`, a method value (`f.Read`), a func literal that captures one.

A carrier escapes when it is returned; stored in a field, a global, a map or slice element,
through a pointer, or in a variable declared outside the function; sent on a channel;
passed to `go` or `panic`; captured by a func literal that is stored, passed, returned or
started with `go`; or passed to a call that may keep it. A call is known not to keep it
when it is on the short allow-list below (the catalogue's `consume` calls: io.ReadAll, io.Copy, fmt.Fprint*, ...)
or when it is a function of the module whose body shows that it does not (the same
analysis, on the callee's parameter). Every other call, and any use this module does not
recognise, counts as an escape: the model only ever errs towards "no patch".

Flow-insensitive on purpose: an escape on any path, before or after the leak, blocks the
patch, because the patch runs on every path.
"""

from __future__ import annotations

from tree_sitter import Node

from ..golang import parse as P
from ..golang.package import GoFile
from ..golang.types import Binding, Resolver
from ..records import FrozenRecord
from . import ownership_syntax as S

# What calls do with a carrier they are given (CONSUMES: use it only while they run and
# return nothing derived from it; WRAPS: their result carries it, and is followed in its
# turn) is data: the `calls` section of the resource catalogue (patterns/resources.yaml,
# catalogue.py: consume, borrow).


def _calls(kind: str) -> frozenset[str]:
    from .catalogue import current

    return current().call_set(kind)


# database/sql methods that take a context: the Rows, Row, Stmt, Tx or Conn they return
# keeps using it (their result is followed), and they keep nothing else.
_SQL_CTX = ("database/sql.DB.", "database/sql.Conn.", "database/sql.Tx.", "database/sql.Stmt.")

# Methods of a carrier whose result carries nothing of it, whatever its type: a value
# stored in a context by someone else is not affected by cancelling the context.
PLAIN_METHODS = frozenset({"context.Context.Value"})

# Types whose values carry no resource: data, errors, descriptions (not uintptr: f.Fd() is
# the descriptor itself, closed with the file).
_PLAIN_BASIC = frozenset({
    "bool", "string", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16",
    "uint32", "uint64", "float32", "float64", "complex64", "complex128", "byte",
    "rune", "error", "struct{}",
})
_PLAIN_NAMED = frozenset({
    "time.Time", "time.Duration", "io/fs.FileInfo", "io/fs.FileMode", "io/fs.DirEntry",
    "os.FileInfo", "os.FileMode", "os.DirEntry", "database/sql.Result", "database/sql.ColumnType",
    "database/sql.IsolationLevel", "net/http.Header", "net/url.URL", "net/http.Cookie",
    "encoding/json.Token", "encoding/json.RawMessage", "archive/tar.Header", "archive/zip.FileHeader",
    "compress/gzip.Header",
})


def plain(t: str | None) -> bool:
    """A value of type t carries nothing (None, an unknown type, is not plain)."""
    if not t:
        return False
    if t in _PLAIN_BASIC or t in _PLAIN_NAMED:
        return True
    if t.startswith("[]"):
        return plain(t[2:])
    if t.startswith("*") and t[1:] in _PLAIN_NAMED:
        return True
    if t.startswith("map[") and "]" in t:
        k, v = t[4:].split("]", 1)
        return plain(k) and plain(v)
    return False


class Escape(FrozenRecord):
    """Where a carrier may outlive the function: `how` at `line` (the user's line)."""

    _fields = ("var", "how", "line", "kind", "path", "start", "end", "column")
    var: str  # the resource's variable
    how: str  # "returned", "stored in field p.rows", "passed to keep(), which may keep it"
    line: int
    kind: str  # "return": returned (a callee that returns its parameter derives its result)
    path: tuple[tuple[str, int], ...]  # the values on the way, with their lines (explain)
    start: int  # the escaping node's bytes and column (a related position)
    end: int
    column: int

    def __init__(self, var: str, how: str, line: int, kind: str = "other", path: tuple[tuple[str, int], ...] = (),
                 start: int = 0, end: int = 0, column: int = 0) -> None:
        self._init_fields(var, how, line, kind, path, start, end, column)

    @property
    def through(self) -> str | None:
        """The derived value that escapes ("a *bufio.Scanner"), None: the variable itself."""
        return self.path[-1][0] if self.path else None

    @property
    def why(self) -> str:
        if self.through:
            return f"{self.var} escapes through {self.through} {self.how} at line {self.line}"
        return f"{self.var} escapes: {self.how} at line {self.line}"


class _Via(FrozenRecord):
    """A value derived on the way from the resource's variable (a linked list back to it)."""

    _fields = ("desc", "line", "prev")
    desc: str
    line: int
    prev: _Via | None

    def __init__(self, desc: str, line: int, prev: _Via | None) -> None:
        self._init_fields(desc, line, prev)

    def path(self) -> tuple[tuple[str, int], ...]:
        out, v = [], self
        while v is not None:
            out.append((v.desc, v.line))
            v = v.prev
        return tuple(reversed(out))


def _key(b: Binding) -> tuple:
    return (b.kind, b.node.id if b.node is not None else None, b.index, b.name)


class Ownership:
    """The escapes of the values bound by `stmt` (but `skip`) in the function `func`."""

    MAX_DEPTH = 3  # callee bodies read through at most this many calls

    def __init__(self, rv: Resolver, file: GoFile, func: Node, var: str, depth: int = 0,
                 summaries: dict | None = None):
        self.rv, self.f, self.func, self.var = rv, file, func, var
        self.depth = depth
        self.summaries = summaries if summaries is not None else {}
        self.escapes: list[Escape] = []
        self._seen: set[tuple] = set()
        self._literals: set[int] = set()
        self._work: list[tuple[Binding, _Via | None]] = []
        self._idents: dict[str, list[Node]] | None = None
        # where the fix releases (of_statement): after the acquisition at function exit (a
        # defer), or at the end of each loop iteration; None in a callee's summary
        self._acquired_at: int | None = None
        self._release_at_exit = True

    # ------------------------------------------------------------ entry points
    def of_statement(self, stmt: Node, skip: set[str], release_at_exit: bool = True) -> list[Escape]:
        """Seed with the names the acquiring statement binds (not those in `skip`), one at
        a time, so that an escape names the variable it starts from. release_at_exit: the fix
        releases at function exit (a defer after the acquisition), not at the end of each
        loop iteration."""
        self._acquired_at, self._release_at_exit = stmt.start_byte, release_at_exit
        targets = S.bound_names(stmt)
        if targets is None:
            self._escape(None, f"acquired by a {stmt.type.replace('_', ' ')} the analysis does not follow", stmt)
            return self.escapes
        vals = S.values_of(stmt)
        res = self.rv.call_results(vals[0], self.f) if len(vals) == 1 and vals[0].type == "call_expression" else None
        for i, ident in enumerate(targets):
            name = P.text(ident)
            if name == "_" or name in skip or (res is not None and i < len(res) and plain(res[i])):
                continue
            self.var = name
            self._bind(ident, None, stmt)
            self._run()
        return self.escapes

    def of_parameter(self, decl: Node, index: int) -> list[Escape]:
        """Seed with parameter `index` of decl (-1: the receiver)."""
        names = S.param_names(decl, index)
        if names is None:
            self._escape(None, "a parameter the analysis does not follow", decl)
            return self.escapes
        b = self.rv.lookup(P.text(names), names, self.f)
        if b is None:
            self._escape(None, "a parameter the analysis does not follow", decl)
            return self.escapes
        self._add(b, None)
        return self._run()

    # ------------------------------------------------------------ bindings
    def _bind(self, ident: Node, through: _Via | None, at: Node) -> None:
        """A variable now holds a carrier: follow its uses, or escape if it outlives us."""
        name = P.text(ident)
        if name == "_":
            return
        b = S.declared_here(ident, self.f) or self.rv.lookup(name, ident, self.f)
        if b is None:
            self._escape(through, f"assigned to {name}, which the analysis cannot resolve", at)
            return
        if b.is_package_level:
            self._escape(through, f"stored in the package-level variable {name}", at)
            return
        if b.node is None or not S.contains(self.func, b.node):
            self._escape(through, f"assigned to {name}, declared outside the function", at)
            return
        if S.is_named_result(self.func, b.node):
            self._escape(through, f"assigned to the named result {name}", at, kind="return")
            return
        self._add(b, through)

    def _add(self, b: Binding, through: _Via | None) -> None:
        k = _key(b)
        if k not in self._seen:
            self._seen.add(k)
            self._work.append((b, through))

    def _run(self) -> list[Escape]:
        while self._work:
            b, through = self._work.pop()
            if through is None and b.name != self.var and b.node is not None:
                through = self._via(f"the variable {b.name}", b.node, None)
            for use in self._uses_of(b):
                if self._deferred_after_release(use, through):
                    continue
                self._follow(use, through)
        return self.escapes

    def _deferred_after_release(self, use: Node, through: _Via | None) -> bool:
        """A deferred call that uses a carrier runs after the fix's release when it was
        registered before the acquisition (defers run last-in first-out), or when the fix
        closes at the end of each loop iteration: `defer bw.Flush()` would write to a closed
        file. An escape, then."""
        if self._acquired_at is None:
            return False
        d = S.deferred_by(use, self.func)
        if d is None or (self._release_at_exit and d.start_byte > self._acquired_at):
            return False
        when = "before the acquisition" if d.start_byte <= self._acquired_at else "in the loop"
        self._escape(through, f"used by a call deferred {when} (it would run after the fix's release)", d)
        return True

    def _uses_of(self, b: Binding):
        if self._idents is None:
            self._idents = {}
            for n in P.descendants(self.func):
                if n.type == "identifier":
                    self._idents.setdefault(P.text(n), []).append(n)
        k = _key(b)
        for n in self._idents.get(b.name, ()):
            if S.is_definition(n):
                continue
            got = self.rv.lookup(b.name, n, self.f)
            if got is not None and _key(got) == k:
                yield n

    # ------------------------------------------------------------ escapes
    def _escape(self, through: _Via | None, how: str, at: Node, kind: str = "other") -> None:
        self.escapes.append(Escape(self.var, how, self.f.orig_line(at), kind, through.path() if through else (),
                                   at.start_byte, at.end_byte, at.start_point[1] + 1))

    def _via(self, desc: str, at: Node, prev: _Via | None) -> _Via:
        return _Via(desc, self.f.orig_line(at), prev)

    # ------------------------------------------------------------ following a value
    def _follow(self, e: Node, through: _Via | None) -> None:
        """e's value carries the resource: decide where it goes (its parent)."""
        lit = S.capturing_literal(e, self.func)
        if lit is not None and lit.id not in self._literals:
            self._literals.add(lit.id)
            self._follow(lit, self._via("a func literal that captures it", lit, through))
        p = e.parent
        if p is None:
            return
        handler = _HANDLERS.get(p.type)
        if handler is None:
            self._escape(through, f"used in a {p.type.replace('_', ' ')}, which the analysis does not follow", e)
            return
        handler(self, e, p, through)

    def _derived(self, call: Node, name: str | None) -> str:
        res = self.rv.call_results(call, self.f)
        if res and res[0]:
            return S.with_article(S.show_type(res[0]))
        short = (name or P.text(call.child_by_field_name("function"))).rsplit("/", 1)[-1]
        return f"the result of {short}()"

    # -- handlers, by the parent's node type
    def _h_paren(self, e: Node, p: Node, through: _Via | None) -> None:
        self._follow(p, through)

    def _h_selector(self, e: Node, p: Node, through: _Via | None) -> None:
        if p.child_by_field_name("operand") != e:
            return
        gp = p.parent
        field = P.text(p.child_by_field_name("field"))
        if gp is not None and gp.type == "call_expression" and gp.child_by_field_name("function") == p:
            self._method_call(e, gp, field, through)
            return
        t = self.rv.type_of(p, self.f)
        if plain(t):
            return  # resp.StatusCode, resp.Header
        base = self.rv.type_of(e, self.f)
        if t is not None and base is not None and S.descriptive_field(base, field):
            return  # a field of a response or request that does not hold the resource (resp.Request, resp.TLS)
        if t is None and S.is_method(self.rv, base, field):
            through = self._via(f"the method value {P.text(p)}", p, through)
        self._follow(p, through)

    def _method_call(self, recv: Node, call: Node, method: str, through: _Via | None) -> None:
        """recv.method(...): the module's own method may keep its receiver; a result that is
        not plain data is derived from it."""
        callee = self.rv.callee(call, self.f)
        owner = S.module_decl(self.rv, callee)
        if owner is not None:
            rv, decl = owner
            eff = self._summary(rv, decl, -1)
            if eff == "keeps":
                self._escape(through, f"kept by its method {method}()", call)
                return
        res = self.rv.call_results(call, self.f)
        if (res is not None and all(plain(t) for t in res)) or self.rv.callee_name(call, self.f) in PLAIN_METHODS:
            return
        self._follow(call, self._via(self._derived(call, None), call, through))

    def _h_call(self, e: Node, p: Node, through: _Via | None) -> None:
        if p.child_by_field_name("function") != e:
            return  # the type argument of a generic call
        if p.parent is not None and p.parent.type == "go_statement":
            self._escape(through, "captured by a goroutine" if e.type == "func_literal" else "started with go", p)
            return
        if e.type == "func_literal":  # invoked where it stands: its body runs now
            res = self.rv.call_results(p, self.f)
            if res is not None and all(plain(t) for t in res):
                return
            if p.parent is not None and p.parent.type in ("defer_statement", "expression_statement"):
                return
            self._follow(p, through)
            return
        # a carried func value called: cancel(), read(buf), fn()
        res = self.rv.call_results(p, self.f)
        if res is not None and all(plain(t) for t in res):
            return
        self._follow(p, self._via(self._derived(p, None), p, through))

    def _h_argument(self, e: Node, p: Node, through: _Via | None) -> None:
        call = p.parent
        if call is None or call.type != "call_expression":
            self._escape(through, "used in an argument list the analysis does not follow", e)
            return
        if call.parent is not None and call.parent.type == "go_statement":
            self._escape(through, "passed to a goroutine", call)
            return
        pos = next((i for i, a in enumerate(P.named_children(p)) if a == e), 0)
        self._argument(e, call, pos, through)

    def _argument(self, e: Node, call: Node, pos: int, through: _Via | None) -> None:
        callee = self.rv.callee(call, self.f)
        name = self.rv.callee_name(call, self.f)
        fn = call.child_by_field_name("function")
        shown = P.text(fn) if fn is not None else "a call"
        if callee is not None and callee[0] == "builtin" and name == "panic":
            self._escape(through, "passed to panic (a recover gets it)", call)
            return
        if S.is_conversion(self.rv, call, self.f):
            self._follow(call, through)
            return
        if name in _calls("consume"):
            return
        if name in _calls("borrow") or (name and name.startswith(_SQL_CTX) and name.endswith("Context")):
            self._follow(call, self._via(self._derived(call, name), call, through))
            return
        owner = S.module_decl(self.rv, callee)
        if owner is not None:
            rv, decl = owner
            eff = self._summary(rv, decl, pos)
            if eff == "none":
                return
            if eff == "returns":
                self._follow(call, self._via(self._derived(call, name), call, through))
                return
        self._escape(through, f"passed to {shown}(), which may keep it", call)

    def _summary(self, rv: Resolver, decl: Node, pos: int) -> str:
        """What a function of the module does with its parameter `pos` (-1: the receiver):
        "none" (uses it while it runs), "returns" (its result is derived from it), "keeps"."""
        k = (decl.id, pos)
        if k in self.summaries:
            return self.summaries[k]
        if self.depth >= self.MAX_DEPTH:
            return "keeps"
        self.summaries[k] = "keeps"  # recursion: assume the worst until known
        f = rv.pkg.file_for(decl)
        sub = Ownership(rv, f, decl, "", self.depth + 1, self.summaries)
        esc = sub.of_parameter(decl, pos)
        eff = "none" if not esc else ("returns" if all(x.kind == "return" for x in esc) else "keeps")
        self.summaries[k] = eff
        return eff

    def _h_exprlist(self, e: Node, p: Node, through: _Via | None) -> None:
        gp = p.parent
        if gp is None:
            return
        if gp.type == "return_statement":
            self._returned(e, through)
            return
        if gp.type in ("assignment_statement", "short_var_declaration"):
            if gp.child_by_field_name("right") != p:
                return  # a definition or an assignment's target
            self._assigned(e, gp, P.named_children(p), P.named_children(gp.child_by_field_name("left")), through)
            return
        if gp.type == "var_spec":
            self._assigned(e, gp, P.named_children(p), gp.children_by_field_name("name"), through)
            return
        if gp.type == "expression_case":
            return  # compared against
        self._escape(through, f"used in a {gp.type.replace('_', ' ')}, which the analysis does not follow", e)

    def _h_return(self, e: Node, p: Node, through: _Via | None) -> None:
        self._returned(e, through)

    def _returned(self, e: Node, through: _Via | None) -> None:
        owner = S.enclosing_function(e)
        if owner is not None and owner != self.func:
            self._escape(through, "returned from a func literal", e)
            return
        self._escape(through, "returned", e, kind="return")

    def _assigned(self, e: Node, stmt: Node, values: list[Node], targets: list[Node], through: _Via | None) -> None:
        if len(values) == len(targets):
            idx = next((i for i, v in enumerate(values) if v == e), -1)
            targets = [targets[idx]] if idx >= 0 else []
        elif len(values) == 1 and values[0].type == "call_expression":
            # `r, err := wrap(x)`: the results of plain type (the error) carry nothing
            res = self.rv.call_results(values[0], self.f) or []
            targets = [t for i, t in enumerate(targets) if not (i < len(res) and plain(res[i]))]
        for t in targets:
            if t.type == "identifier":
                self._bind(t, through, stmt)
            elif t.type == "selector_expression":
                self._escape(through, f"stored in the field {P.text(t)}", stmt)
            elif t.type == "index_expression":
                self._escape(through, f"stored in {P.text(t)}, an element of a map or slice", stmt)
            elif t.type == "unary_expression":
                self._escape(through, f"stored through the pointer {P.text(t)}", stmt)
            else:
                self._escape(through, f"assigned to {P.text(t)}", stmt)

    def _h_send(self, e: Node, p: Node, through: _Via | None) -> None:
        if p.child_by_field_name("value") == e:
            self._escape(through, "sent on a channel", p)

    def _h_composite(self, e: Node, p: Node, through: _Via | None) -> None:
        lit = p
        while lit is not None and lit.type != "composite_literal":
            lit = lit.parent
        if lit is None:
            self._escape(through, "held by a literal the analysis does not follow", e)
            return
        t = self.rv.type_of(lit, self.f)
        self._follow(lit, self._via(f"{S.with_article(S.show_type(t)) if t else 'a composite literal'} holding it", lit, through))

    def _h_unary(self, e: Node, p: Node, through: _Via | None) -> None:
        op = P.text(p.child_by_field_name("operator")) if p.child_by_field_name("operator") else ""
        if op in ("&", "*"):
            self._follow(p, through)
        # !x, -x, <-ch (a receive from a carried channel: ctx.Done()): plain results

    def _h_follow(self, e: Node, p: Node, through: _Via | None) -> None:
        """A value made from e: a type assertion, an index or a slice of it, a conversion."""
        if p.type in ("index_expression", "slice_expression") and p.child_by_field_name("operand") != e:
            return  # e is the index
        self._follow(p, through)

    def _h_range(self, e: Node, p: Node, through: _Via | None) -> None:
        if p.child_by_field_name("right") != e:
            return
        left = p.child_by_field_name("left")
        for i, t in enumerate(P.named_children(left) if left is not None else ()):
            if t.type == "identifier" and S.defines_range(p):
                if P.text(t) != "_":
                    self._add(Binding(P.text(t), "local", p, i, self.f), through)  # as types.Resolver._scope_for
            elif t.type == "identifier":
                self._bind(t, through, p)
            else:
                self._escape(through, f"ranged into {P.text(t)}", p)

    def _h_safe(self, e: Node, p: Node, through: _Via | None) -> None:
        """Compared, tested, counted, or the value dropped: nothing outlives the statement."""


_HANDLERS = {
    "parenthesized_expression": Ownership._h_paren,
    "selector_expression": Ownership._h_selector,
    "call_expression": Ownership._h_call,
    "argument_list": Ownership._h_argument,
    "expression_list": Ownership._h_exprlist,
    "return_statement": Ownership._h_return,
    "send_statement": Ownership._h_send,
    "literal_element": Ownership._h_composite,
    "keyed_element": Ownership._h_composite,
    "literal_value": Ownership._h_composite,
    "unary_expression": Ownership._h_unary,
    "type_assertion_expression": Ownership._h_follow,
    "type_conversion_expression": Ownership._h_follow,
    "index_expression": Ownership._h_follow,
    "slice_expression": Ownership._h_follow,
    "range_clause": Ownership._h_range,
    "expression_statement": Ownership._h_safe,
    "binary_expression": Ownership._h_safe,
    "if_statement": Ownership._h_safe,
    "for_statement": Ownership._h_safe,
    "for_clause": Ownership._h_safe,
    "expression_switch_statement": Ownership._h_safe,
    "inc_statement": Ownership._h_safe,
    "dec_statement": Ownership._h_safe,
    "defer_statement": Ownership._h_safe,
    "receive_statement": Ownership._h_safe,
    "communication_case": Ownership._h_safe,
    "expression_case": Ownership._h_safe,
}


def escape_of(rv: Resolver, file: GoFile, func: Node, stmt: Node, var: str, err: str | None,
              release_at_exit: bool = True) -> Escape | None:
    """The first escape of the resource acquired by `stmt` (binding `var`, and `err` beside
    it) in `func`; None when no carrier can outlive the function (release_at_exit: see
    Ownership.of_statement)."""
    esc = Ownership(rv, file, func, var).of_statement(stmt, {err} if err else set(), release_at_exit)
    return min(esc, key=lambda x: x.line) if esc else None
