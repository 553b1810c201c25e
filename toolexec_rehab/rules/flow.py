"""Path analysis for acquired resources: is the handle closed on every path?

The walk is an abstract interpretation over tree-sitter statements with one bit
of state ("closed or handed off"). It starts right after the acquiring statement
and continues through the enclosing blocks up to the function body, so a value
acquired in both branches of an `if` is followed past the `if`.

Ownership transfers (return, store in a field/global/map/slice/composite,
channel send, goroutine or closure capture, a call that may take ownership) end
the function's responsibility on that path; they are recorded, because a fix
that closes unconditionally would be wrong when the value escapes.
"""

from __future__ import annotations

from tree_sitter import Node

from ..golang import parse as P
from ..golang.package import GoFile
from ..golang.types import Resolver
from ..records import Record
from .guards import guard_names, nil_guard
from .initflow import in_initializer, run_in_initializer

NORET = None  # the statement does not fall through

FUNC_NODES = ("function_declaration", "method_declaration", "func_literal")
LOOP_NODES = ("for_statement",)
CASE_NODES = ("expression_case", "default_case", "type_case", "communication_case")
SWITCH_NODES = ("expression_switch_statement", "type_switch_statement", "select_statement")

# Calls after which the process or goroutine does not go on: a leak there is moot.
EXIT_CALLS = {
    "os.Exit", "log.Fatal", "log.Fatalf", "log.Fatalln", "log.Panic", "log.Panicf", "log.Panicln",
    "runtime.Goexit", "panic", "log.Logger.Fatal", "log.Logger.Fatalf", "log.Logger.Fatalln",
    "testing.T.Fatal", "testing.T.Fatalf", "testing.T.FailNow", "testing.T.SkipNow",
    "testing.T.Skip", "testing.T.Skipf", "testing.B.Fatal", "testing.B.Fatalf",
    "testing.TB.Fatal", "testing.TB.Fatalf",
}

# Calls that read or wrap their argument but never close it nor take ownership of it: the
# catalogue's `non_owning` calls (patterns/resources.yaml; a name ending in "." is a package).


class Resource(Record):
    _fields = ("var", "handle", "err", "stmt", "func", "close", "release")
    var: str  # the variable bound by the acquisition: rows, resp, f
    handle: str  # what must be closed: rows, resp.Body, f
    err: str | None  # the error variable bound alongside, if any
    stmt: Node  # the acquiring statement
    func: Node  # the enclosing function (declaration or literal)
    close: str  # "method": handle.Close(); "call": handle() (a cancel func)
    release: tuple[str, ...]  # the methods that release it (catalogue: Commit or Rollback)

    def __init__(self, var: str, handle: str, err: str | None, stmt: Node, func: Node, close: str = "method",
                 release: tuple[str, ...] = ("Close",)) -> None:
        self.var = var
        self.handle = handle
        self.err = err
        self.stmt = stmt
        self.func = func
        self.close = close
        self.release = release


class FlowResult(Record):
    _fields = ("leaks", "transfers", "errcheck", "errcheck_negated", "errcheck_terminates", "errcheck_immediate",
               "in_loop")
    leaks: list[Node]  # returns / ends that leave it open
    transfers: list[Node]  # where ownership moved
    errcheck: Node | None
    errcheck_negated: bool  # `if err == nil { ... }`
    errcheck_terminates: bool
    errcheck_immediate: bool
    in_loop: bool

    def __init__(self, leaks: list[Node] | None = None, transfers: list[Node] | None = None,
                 errcheck: Node | None = None, errcheck_negated: bool = False, errcheck_terminates: bool = False,
                 errcheck_immediate: bool = False, in_loop: bool = False) -> None:
        self.leaks = [] if leaks is None else leaks
        self.transfers = [] if transfers is None else transfers
        self.errcheck = errcheck
        self.errcheck_negated = errcheck_negated
        self.errcheck_terminates = errcheck_terminates
        self.errcheck_immediate = errcheck_immediate
        self.in_loop = in_loop


class Flow:
    def __init__(self, res: Resource, resolver: Resolver, file: GoFile):
        self.r = res
        self.rv = resolver
        self.f = file
        self.out = FlowResult()
        self._helper_cache: dict[tuple[str, int], str] = {}
        # locals bound to a func literal that releases the handle and only ever called
        # (`rollback := func() { _ = tx.Rollback() }`): a call of one is a release
        self._release_funcs: set[str] = set()

    # ------------------------------------------------------------ matching
    def _is_handle(self, n: Node) -> bool:
        if self.r.handle == self.r.var:
            return n.type == "identifier" and P.text(n) == self.r.var
        return n.type == "selector_expression" and P.normalize_code(n) == self.r.handle

    def _is_value_use(self, n: Node) -> bool:
        """n is the handle (or, for a field handle, the whole variable) used as a value."""
        if n.type == "identifier" and P.text(n) == self.r.var:
            p = n.parent
            if p is not None and p.type == "call_expression" and p.child_by_field_name("function") == n:
                return False  # cancel(): the release itself
            if p is not None and p.type == "selector_expression" and p.child_by_field_name("operand") == n:
                if self.r.handle == self.r.var:
                    gp = p.parent
                    called = gp is not None and gp.type == "call_expression" and gp.child_by_field_name("function") == p
                    # `undo := tx.Rollback`: a method value of a release; where it goes decides
                    return not called and P.text(p.child_by_field_name("field")) in self.r.release
                return False  # resp.Body / resp.StatusCode: judged at the selector
            if p is not None and p.type in ("expression_list",) and p.parent is not None and \
                    p.parent.type in ("assignment_statement", "short_var_declaration") and \
                    p.parent.child_by_field_name("left") == p:
                return False  # reassignment target
            return True
        if self.r.handle != self.r.var and self._is_handle(n):
            p = n.parent
            if p is not None and p.type == "selector_expression" and p.child_by_field_name("operand") == n:
                return False  # resp.Body.Close / resp.Body.Read
            return True
        return False

    def _uses(self, node: Node, into_literals: bool = True):
        stack = [node]
        while stack:
            n = stack.pop()
            if self._is_value_use(n):
                yield n
                continue
            if n.type == "func_literal" and not into_literals:
                continue
            stack.extend(n.children)

    def _close_calls(self, node: Node, into_literals: bool = False):
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type == "func_literal" and not into_literals and n != node:
                continue
            if n.type == "call_expression":
                fn = n.child_by_field_name("function")
                if fn is not None and fn.type == "identifier" and P.text(fn) in self._release_funcs:
                    yield n  # rollback(): a local func that releases it
                elif self.r.close == "call":
                    if fn is not None and fn.type == "identifier" and P.text(fn) == self.r.handle:
                        yield n
                elif fn is not None and fn.type == "selector_expression" and \
                        P.text(fn.child_by_field_name("field")) in self.r.release:
                    operand = fn.child_by_field_name("operand")
                    if operand is not None and self._is_handle(operand):
                        yield n
            stack.extend(n.children)

    def _closes(self, node: Node) -> bool:
        return next(self._close_calls(node), None) is not None

    def _callee(self, call: Node) -> str | None:
        return self.rv.callee_name(call, self.f)

    def _is_exit(self, stmt: Node) -> bool:
        if stmt.type != "expression_statement":
            return False
        kids = P.named_children(stmt)
        if not kids or kids[0].type != "call_expression":
            return False
        name = self._callee(kids[0])
        if name is None:
            fn = kids[0].child_by_field_name("function")
            # t.Fatal(...) on an unknown t is still a test helper that stops the goroutine
            if fn is not None and fn.type == "selector_expression":
                fld = P.text(fn.child_by_field_name("field"))
                return fld in ("Fatal", "Fatalf", "FailNow", "Exit")
            return False
        return name in EXIT_CALLS

    # ------------------------------------------------------------ helpers of this package
    def _helper_effect(self, callee: str, argpos: int, whole_var: bool = False) -> str:
        """'close' if the same-package function closes that parameter, 'none' if it only uses it,
        'transfer' if it may keep it."""
        key = (callee, argpos, whole_var)
        if key in self._helper_cache:
            return self._helper_cache[key]
        self._helper_cache[key] = "transfer"
        decl = None
        pkg = self.rv.pkg
        if callee.startswith(".") and "." not in callee[1:]:
            decl = pkg.funcs.get(callee[1:])
        elif callee.startswith("."):
            tname, mname = callee[1:].rsplit(".", 1)
            decl = pkg.methods.get((tname, mname))
        if decl is None:
            return "transfer"
        params = decl.child_by_field_name("parameters")
        names: list[str] = []
        for d in P.named_children(params):
            ns = d.children_by_field_name("name")
            names.extend(P.text(n) for n in ns) if ns else names.append("_")
        if decl.child_by_field_name("body") is None:
            eff = "transfer"  # implemented elsewhere (assembly, go:linkname): what it does is not known
        elif argpos >= len(names) or names[argpos] in ("_",):
            eff = "none"
        else:
            pname = names[argpos]
            body = decl.child_by_field_name("body")
            handle = self.r.handle.replace(self.r.var, pname, 1) if whole_var else pname
            sub = Resource(pname, handle, None, body, decl, self.r.close, self.r.release)
            inner = Flow(sub, self.rv, self.rv.pkg.file_for(decl))
            self._helper_cache[key] = "transfer"  # recursion guard
            if body is not None and inner._closes_or_defers(body):
                eff = "close"
            elif body is not None and any(inner._classify_use(u) != "none" for u in inner._uses(body)):
                eff = "transfer"
            else:
                eff = "none"
        self._helper_cache[key] = eff
        return eff

    def _closes_or_defers(self, body: Node) -> bool:
        return next(self._close_calls(body, into_literals=True), None) is not None

    # ------------------------------------------------------------ use classification
    def _classify_use(self, use: Node) -> str:
        """What a value use of the handle does to ownership: none | close | transfer.

        Climbs from the use to the first node that decides (_USE_JUDGES, keyed by node type): a judge
        returns the verdict, None to look further up (append: the value goes where the slice goes), or
        the (callee, argpos, whole_var) of a same-package helper, whose effect is the verdict."""
        child, p = use, use.parent
        while p is not None:
            judge = _USE_JUDGES.get(p.type)
            verdict = judge(self, use, child, p) if judge is not None else None
            if isinstance(verdict, tuple):
                return self._helper_effect(*verdict)  # called here, not in the judge: no extra frame per level
            if verdict is not None:
                return verdict
            child, p = p, p.parent
        return "none"

    def _judge_argument(self, use: Node, child: Node, p: Node) -> str | tuple | None:
        """An argument of a call: the callee decides."""
        call = p.parent
        args = P.named_children(p)
        pos = next((i for i, a in enumerate(args) if a == child), 0)
        fn = call.child_by_field_name("function")
        if fn is not None and fn.type == "func_literal":
            return "transfer"  # captured by an immediately-invoked literal (go/defer handled elsewhere)
        name = self._callee(call)
        if name is None:
            return "transfer"
        if name == "append":
            return None  # climbs past the call: judged by where the appended slice goes
        if _is_non_owning(name):
            return "none"
        if name.startswith("."):
            return name, pos, not self._is_handle(child)
        return "transfer"

    def _judge_assignment(self, use: Node, child: Node, p: Node) -> str:
        right = p.child_by_field_name("right")
        if right is None or child != right:
            return "none"
        rvals = P.named_children(right)
        lvals = P.named_children(p.child_by_field_name("left"))
        idx = next((i for i, a in enumerate(rvals) if a == use or contains(a, use)), -1)
        if 0 <= idx < len(lvals) and P.text(lvals[idx]) == "_":
            return "none"
        return "transfer"  # stored in a field, global, map, slice or another variable

    def _effect(self, stmt: Node) -> bool:
        """True when a simple statement closes or hands off the handle."""
        if self._closes(stmt) or self._closure_closes(stmt):
            return True
        hit = False
        for u in self._uses(stmt):
            eff = self._classify_use(u)
            if eff == "close":
                return True
            if eff == "transfer":
                self.out.transfers.append(u)
                hit = True
        return hit

    def _closure_closes(self, stmt: Node) -> bool:
        """A func literal in the statement closes the handle: `t.Cleanup(func() { f.Close() })`,
        `context.AfterFunc(ctx, func() { rows.Close() })`. Invoked in place, that is a close;
        kept for later (a callback), a hand-off: a close at function exit would pull the value
        out from under it (testing.common.Chdir does exactly this with its dirfd)."""
        stack = [stmt]
        while stack:
            n = stack.pop()
            if n.type == "func_literal" and n != stmt:
                body = n.child_by_field_name("body")
                if body is not None and self._closes_or_defers(body):
                    p = n.parent
                    local = self._local_release_func(n)
                    if local is not None:
                        self._release_funcs.add(local)
                        return False  # defined here, released where it is called
                    if not (p is not None and p.type == "call_expression" and p.child_by_field_name("function") == n):
                        self.out.transfers.append(n)
                    return True
                continue
            stack.extend(n.children)
        return False

    def _local_release_func(self, lit: Node) -> str | None:
        """`name := func() { ... h.Close() ... }` in this function, where every other mention
        of name is a plain call `name()`: the name (None for any other shape)."""
        el = lit.parent
        decl = el.parent if el is not None and el.type == "expression_list" else None
        if decl is None or decl.type != "short_var_declaration" or len(P.named_children(el)) != 1:
            return None
        left = P.named_children(decl.child_by_field_name("left"))
        if len(left) != 1 or left[0].type != "identifier":
            return None
        name = P.text(left[0])
        body = self.r.func.child_by_field_name("body")
        for n in P.descendants(body) if body is not None else ():
            if n.type == "identifier" and P.text(n) == name and n != left[0]:
                p = n.parent
                if p is None or p.type != "call_expression" or p.child_by_field_name("function") != n or \
                        P.named_children(p.child_by_field_name("arguments")):
                    return None
        return name

    def _defer_closes(self, stmt: Node) -> bool:
        call = next((c for c in stmt.named_children if c.type == "call_expression"), None)
        if call is None:
            return False
        fn = call.child_by_field_name("function")
        args = P.named_children(call.child_by_field_name("arguments"))
        if fn is not None and fn.type == "func_literal":
            return self._deferred_literal_closes(fn, args)
        if fn is not None and self._closes(call):
            return True  # defer f.Close() (or a Close call among its arguments)
        # defer helper(f): a same-package helper that closes it; defer keep(f): a hand-off (recorded)
        for i, a in enumerate(args):
            if self._passes_value(a):
                name = self._callee(call)
                if name and name.startswith("."):
                    if self._helper_effect(name, i, whole_var=not self._is_handle(a)) == "close":
                        return True
                elif name is None or not _is_non_owning(name):
                    self.out.transfers.append(a)
                    return True
        return False

    def _passes_value(self, arg: Node) -> bool:
        """The argument is the handle, or the whole variable that holds it."""
        return self._is_handle(arg) or P.text(arg) == self.r.var

    def _deferred_literal_closes(self, fn: Node, args: list[Node]) -> bool:
        """`defer func() { ... f.Close() ... }()`, or the literal closes the parameter the
        handle is passed in."""
        body = fn.child_by_field_name("body")
        if body is not None and self._closes_or_defers(body):
            return True
        # defer func(b io.ReadCloser) { b.Close() }(resp.Body)
        params = [n for d in P.named_children(fn.child_by_field_name("parameters"))
                  for n in d.children_by_field_name("name")]
        for i, a in enumerate(args):
            if i < len(params) and self._passes_value(a):
                pname = P.text(params[i])
                sub = Flow(Resource(pname, pname if self._is_handle(a) else self.r.handle.replace(
                    self.r.var, pname, 1), None, body, fn, self.r.close, self.r.release), self.rv, self.f)
                if body is not None and sub._closes_or_defers(body):
                    return True
        return False

    # ------------------------------------------------------------ the walk
    def _merge(self, states):
        vals = [s for s in states if s is not NORET]
        if not vals:
            return NORET
        return all(vals)

    def _walk_list(self, stmts, closed):
        for s in stmts:
            closed = True if closed else self._walker(s)(self, s)
            if closed is NORET or closed is True:
                return closed
        return closed

    def _terminates(self, block: Node | None) -> bool:
        stmts = P.statements(block)
        if not stmts:
            return False
        last = stmts[-1]
        return last.type in ("return_statement", "break_statement", "continue_statement",
                             "goto_statement") or self._is_exit(last)

    # Each `_walk_*` gives the state after its statement: True (closed or handed off), False (still
    # open) or NORET (the path does not fall through). They call each other as `self._walker(s)(self, s)`,
    # not through a common `_walk`, whose frame per statement would lower the nesting we can walk.
    def _walker(self, s: Node):
        """The `_walk_*` method for statement `s` (_STATEMENT_WALKERS), `_walk_simple` for the rest."""
        return _STATEMENT_WALKERS.get(s.type, Flow._walk_simple)

    def _walk_simple(self, s: Node):
        """A statement without statements inside: its effect (or the end of the path)."""
        return NORET if self._is_exit(s) else self._effect(s)

    def _walk_return(self, s: Node):
        if not self._effect(s):
            self.out.leaks.append(s)
        return NORET

    def _walk_defer(self, s: Node):
        return self._defer_closes(s) or self._effect(s)

    def _walk_go(self, s: Node):
        if any(True for _ in self._uses(s)) or self._closes_or_defers(s) or self._mentions_var(s):
            self.out.transfers.append(s)
            return True
        return False

    def _walk_if(self, s: Node):
        init = s.child_by_field_name("initializer")
        if init is not None and self._effect(init):
            return True
        cond = s.child_by_field_name("condition")
        if cond is not None and self._effect(cond):
            return True
        cons = s.child_by_field_name("consequence")
        alt = s.child_by_field_name("alternative")
        if s == self.out.errcheck:
            # the `if err != nil` right after the acquisition: on the failing branch there is nothing
            # to close (when it ends the path; else the value is nil from there on)
            failing, succeeding = (alt, cons) if self.out.errcheck_negated else (cons, alt)
            fail_state = NORET if self._terminates(failing) else True
            ok_state = False if succeeding is None else self._walker(succeeding)(self, succeeding)
            if self.out.errcheck_negated and alt is None:
                fail_state = True  # implicit else: the resource is nil there
            return self._merge([fail_state, ok_state])
        # `if f != nil { f.Close() }`: on the branch where the guard says nil there is nothing
        # to release (guards.py), so that branch is not walked
        guard = nil_guard(cond, guard_names(self.r.var, self.r.handle))
        then_state = True if guard == "nil" else self._walker(cons)(self, cons) if cons is not None else False
        else_state = True if guard == "nonnil" else self._walker(alt)(self, alt) if alt is not None else False
        return self._merge([then_state, else_state])

    def _walk_block(self, s: Node):
        return self._walk_list(P.statements(s), False)

    def _walk_labeled(self, s: Node):
        inner = [c for c in s.named_children if c.type != "label_name"]
        return self._walker(inner[0])(self, inner[0]) if inner else False

    def _walk_for(self, s: Node):
        for c in s.named_children:
            if c.type in ("for_clause", "range_clause") and self._effect(c):
                return True
        body = s.child_by_field_name("body")
        self._walker(body)(self, body)
        return NORET if _never_ends(s, body) else False

    def _walk_switch(self, s: Node):
        """expression switch, type switch, select: the header, then one state per case."""
        for c in s.named_children:
            if c.type not in CASE_NODES and c.type != "comment" and self._effect(c):
                return True
        states = []
        has_default = False
        for c in s.named_children:
            if c.type not in CASE_NODES:
                continue
            if c.type == "default_case":
                has_default = True
            comm = c.child_by_field_name("communication")  # select: case v := <-ch, case ch <- v
            states.append(True if comm is not None and self._effect(comm) else self._walk_list(P.statements(c), False))
        if not has_default and s.type != "select_statement":
            states.append(False)  # no case matched
        return self._merge(states)

    def _walk_break(self, s: Node):
        """break / continue."""
        if self.out.in_loop and self._exits_acq_loop(s):
            self.out.leaks.append(s)
        return NORET

    def _mentions_var(self, node: Node) -> bool:
        return any(n.type == "identifier" and P.text(n) == self.r.var for n in P.descendants(node))

    def _exits_acq_loop(self, s: Node) -> bool:
        """A break/continue that leaves the innermost loop around the acquisition."""
        acq_loop = next((a for a in P.ancestors(self.r.stmt) if a.type in LOOP_NODES or a.type in FUNC_NODES), None)
        if acq_loop is None or acq_loop.type in FUNC_NODES:
            return False
        for a in P.ancestors(s):
            if a.type in LOOP_NODES or a.type in FUNC_NODES:
                return a == acq_loop
            if a.type in SWITCH_NODES and s.type == "break_statement" and not P.named_children(s):
                return False  # break inside a switch leaves the switch
        return False

    def _is_errcheck(self, s: Node) -> bool:
        if s.type != "if_statement" or s.child_by_field_name("initializer") is not None:
            return False
        op = self.err_compare(s.child_by_field_name("condition"))
        if op is None:
            return False
        self.out.errcheck_negated = op == "=="
        return True

    def err_compare(self, cond: Node | None) -> str | None:
        """"!=" for `err != nil`, "==" for `err == nil` on the acquisition's error; else None."""
        if self.r.err is None or cond is None or cond.type != "binary_expression":
            return None
        op = P.text(cond.child_by_field_name("operator"))
        sides = {P.text(cond.child_by_field_name("left")), P.text(cond.child_by_field_name("right"))}
        return op if sides == {self.r.err, "nil"} and op in ("!=", "==") else None

    def _find_errcheck(self, stmts: list[Node]) -> None:
        """The first `if err != nil` before anything touches the value or the error."""
        out = self.out
        for i, s in enumerate(stmts):
            if self._is_errcheck(s):
                out.errcheck = s
                out.errcheck_immediate = i == 0
                failing = s.child_by_field_name("alternative" if out.errcheck_negated else "consequence")
                out.errcheck_terminates = self._terminates(failing)
                return
            if s.type not in ("expression_statement", "assignment_statement", "short_var_declaration",
                              "inc_statement", "dec_statement", "var_declaration", "defer_statement"):
                return
            names = {P.text(n) for n in P.descendants(s) if n.type == "identifier"}
            if self.r.var in names or (self.r.err and self.r.err in names):
                return

    def run(self) -> FlowResult:
        out = self.out
        out.in_loop = any(a.type in LOOP_NODES for a in _ancestors_until(self.r.stmt, self.r.func))
        if in_initializer(self.r.stmt):
            return run_in_initializer(self)
        node = self.r.stmt
        state = False
        first = True
        while True:
            lst = node.parent
            after = [c for c in lst.named_children if c.start_byte >= node.end_byte and c.type != "comment"]
            if first and after:
                first = False
                self._find_errcheck(after)
            state = self._walk_list(after, state)
            if state is NORET or state is True:
                break
            node = self._continue_after(lst)
            if node is None:
                break
        return out

    def _continue_after(self, lst: Node) -> Node | None:
        """`lst` ran out with the handle open: the statement holding the block, to walk on after; None
        to stop (a leak at the end of the function, or of the loop iteration that acquired it)."""
        holder = lst.parent  # block or case clause
        owner = holder.parent if holder is not None else None
        if holder is None or owner is None:
            return None
        if owner.type in FUNC_NODES:
            self.out.leaks.append(holder)  # falls off the end of the function
            return None
        if owner.type in LOOP_NODES:
            if self.out.in_loop:
                self.out.leaks.append(holder)  # next iteration overwrites it
            return None
        return _holding_statement(holder, owner)


def contains(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def _ancestors_until(node: Node, stop: Node):
    for a in P.ancestors(node):
        if a == stop:
            return
        yield a


def _has_break(body: Node | None) -> bool:
    if body is None:
        return False
    for n in P.descendants(body):
        if n.type == "break_statement":
            # a labeled break may leave the loop; an unlabeled one inside a nested
            # loop/switch/select does not, but counting it keeps us conservative.
            return True
        if n.type == "return_statement":
            continue
    return False


def _holding_statement(holder: Node, owner: Node) -> Node | None:
    """The statement (in a statement list) that holds this block; None short of a function or loop."""
    up = holder if holder.type in CASE_NODES else owner
    while up.parent is not None and up.parent.type != "statement_list":
        if up.parent.type in FUNC_NODES or up.parent.type in LOOP_NODES:
            break
        up = up.parent
    return up if up.parent is not None and up.parent.type == "statement_list" else None


def _never_ends(loop: Node, body: Node | None) -> bool:
    """`for { ... }`: no header (clause, condition) and no break, so it does not fall through."""
    return not any(c != body for c in loop.named_children) and not _has_break(body)


def _is_non_owning(name: str) -> bool:
    from .catalogue import current

    names = current().call_set("non_owning")
    return name in names or any(n.endswith(".") and name.startswith(n) for n in names)


def _always(verdict: str):
    return lambda flow, use, child, p: verdict


# Flow._classify_use: the node types that decide what a use of the handle below them does;
# every other node (selector, call, parenthesized, unary, index ...) passes the question up.
_USE_JUDGES = {
    "argument_list": Flow._judge_argument,
    "send_statement": lambda flow, use, child, p: "none" if p.child_by_field_name("channel") == child else "transfer",
    "assignment_statement": Flow._judge_assignment,
    "short_var_declaration": Flow._judge_assignment,
    # returned, stored in a composite or a var, captured by a func literal
    **dict.fromkeys(("return_statement", "composite_literal", "literal_value", "keyed_element",
                     "literal_element", "func_literal", "var_declaration", "var_spec"), _always("transfer")),
    # a comparison keeps nothing (rows != nil, f == other); nor do statements that merely hold the use
    **dict.fromkeys(("binary_expression", "expression_statement", "if_statement", "for_statement",
                     "expression_switch_statement", "go_statement", "defer_statement", "inc_statement",
                     "dec_statement", "block"), _always("none")),
}

# Flow._walker: one walker per kind of statement that is more than its effect.
_STATEMENT_WALKERS = {
    "return_statement": Flow._walk_return,
    "defer_statement": Flow._walk_defer,
    "go_statement": Flow._walk_go,
    "if_statement": Flow._walk_if,
    "block": Flow._walk_block,
    "labeled_statement": Flow._walk_labeled,
    "for_statement": Flow._walk_for,
    **dict.fromkeys(SWITCH_NODES, Flow._walk_switch),
    **dict.fromkeys(("break_statement", "continue_statement"), Flow._walk_break),
    **dict.fromkeys(("goto_statement", "fallthrough_statement"), lambda flow, s: NORET),
}
