"""What a rule's conditions see: a typed Pass per package, a typed Match per candidate.

Modelled on golang.org/x/tools/go/analysis: the Pass carries the package and everything
known about it (files, name resolution, the std API table, the rules' modes, whether the
fix is for the source tree or a build); the Match carries one query match and what the
conditions learnt about it, as declared, documented fields. Both have __slots__: a
misspelt field is an AttributeError, never a silent None. Which condition reads and which
writes each Match field is declared with the condition (conditions.py: `requires`,
`provides`), and a rule file whose conditions do not supply what a later one needs is
refused when it is loaded (loader.py), with its file and line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..records import Record

if TYPE_CHECKING:
    from tree_sitter import Node

    from ..golang.package import GoFile, Package
    from ..golang.stdapi import StdAPI
    from ..golang.types import Resolver
    from .diagnostic import Diagnostic
    from .flow import FlowResult
    from .frozen import Frozen


class Pass:
    """One analysis of one package (Engine.analyze): what every rule and condition may use."""

    __slots__ = ("package", "files", "resolver", "api", "modes", "source_mode", "diagnostics", "catalogue",
                 "acquired", "screen")
    package: Package
    files: list[GoFile]  # the files analyzed in this pass (parsed, not generated, selected)
    resolver: Resolver  # names, types and callees as the compiler resolves them
    api: StdAPI  # the standard library's API table (types of std functions, methods, fields)
    modes: Mapping[str, str]  # rule id -> "fix" | "report", overriding the rule's default
    source_mode: bool  # fixes for the source tree (may add imports), not for a build
    diagnostics: list[Diagnostic]
    catalogue: Any  # the resource catalogue (catalogue.Catalogue), None when a pass has no leak rule
    acquired: dict  # call node id -> what it acquires (acquire.acquired)
    # a build that applies fixes only (acquire.fixable_screen): the names of the calls that may
    # acquire a resource a fix may release; None: every call is resolved
    screen: tuple | None

    def __init__(self, package: Package, files: list[GoFile], resolver: Resolver, api: StdAPI,
                 modes: Mapping[str, str], source_mode: bool, diagnostics: list[Diagnostic] | None = None,
                 catalogue: Any = None, acquired: dict | None = None, screen: tuple | None = None) -> None:
        self.package = package
        self.files = files
        self.resolver = resolver
        self.api = api
        self.modes = modes
        self.source_mode = source_mode
        self.diagnostics = [] if diagnostics is None else diagnostics
        self.catalogue = catalogue
        self.acquired = {} if acquired is None else acquired
        self.screen = screen

    def mode(self, rule: Frozen) -> str:
        return self.modes.get(rule.id, rule.mode)

    def report(self, d: Diagnostic) -> None:
        self.diagnostics.append(d)


class Match(Record):
    """One candidate of one rule: the query's match, then what its conditions established.

    The first four fields are set by the engine; every other field is written only by the
    conditions that declare it in `provides` (defaults: nothing known yet)."""

    __slots__ = _fields = (
        "file", "node", "captures", "rule",
        "callee", "callee_text",
        "type", "close", "stmt", "acquisition", "function", "var", "handle", "err", "discarded", "always_leaks",
        "rename", "wrap", "rebind", "release", "releases_by", "resource_id", "not_fixable",
        "flow", "leak_lines", "loop_last",
        "fixable", "why_no_fix",
        "errcheck", "defer_stmt", "deferred",
        "call", "zeros", "blanks",
        "target", "fmt", "func_name", "imports",
    )
    __eq__ = object.__eq__  # compared and hashed by identity
    __hash__ = object.__hash__

    # --- set by the engine
    file: GoFile  # the file of the match
    node: Node  # the rule's capture (`match.capture`, default @call): the diagnostic's node
    captures: dict[str, list[Node]]  # every capture of the query match
    rule: Frozen  # the rule (schema.Rule, frozen)

    # --- the callee (callee, returns_error, foreign_error)
    callee: str | None  # resolved function or method: "os.Open", "database/sql.DB.Query"
    callee_text: str | None  # the call's function as written: "db.Query"

    # --- the resource and its binding (resource, defer_before_check, ...)
    type: str | None  # what the handle is, for messages: "*sql.Rows"
    close: str  # how it is released: "method" (handle.Close()) or "call" (cancel())
    stmt: Node | None  # the statement the fix is placed against (acquisition, call, return)
    acquisition: Node | None  # the statement that acquires the resource, if any
    function: Node | None  # the enclosing function (declaration or literal) of stmt
    var: str | None  # the variable bound to the resource, or the error (foreign_error)
    handle: str | None  # what must be released: "rows", "resp.Body"; "discarded T" if dropped
    err: str | None  # the error variable bound alongside, if any
    discarded: bool  # the result is not kept at all (`f()` or `_ = f()`)
    always_leaks: bool  # a discarded `_` renamed (fresh_name): nothing could release it
    rename: Node | None  # the `_` identifier that the fix renames to `var`
    wrap: str | None  # a discarded call statement made the init of an if: `if rows, _ := `
    rebind: tuple[str, str] | None  # `_, err = f()` -> ("rows, err2 :=", "; err = err2")
    release: str  # the method a fix calls to release it ("" for a func value: cancel())
    releases_by: tuple[str, ...]  # the methods that release it (Commit or Rollback)
    resource_id: str | None  # its catalogue entry
    not_fixable: str | None  # why a build may not release it, known when it is acquired

    # --- the path analysis (leaks)
    flow: FlowResult | None  # leaks, transfers (escapes), the error check, in_loop
    leak_lines: Sequence[int]  # the user's lines where a path leaves it unreleased
    loop_last: Node | None  # acquired in a loop: the body's last statement (fix point)

    # --- the decision
    fixable: bool  # a fix is safe, if the rule has one and its mode is fix
    why_no_fix: str | None  # why not, when it is not

    # --- defer_before_check
    errcheck: Node | None  # the `if err != nil` after the defer
    defer_stmt: Node | None  # the premature defer
    deferred: str | None  # the deferred call as written: "rows.Close()"

    # --- returns_error
    call: str | None  # the unchecked call as written
    zeros: str | None  # "*new(T), " per non-error result of the enclosing function
    blanks: str | None  # "_, " per non-error result of the call

    # --- foreign_error
    target: Node | None  # the node the `replace` placement replaces (default: node)
    fmt: str | None  # the name fmt is imported as
    func_name: str | None  # the enclosing function's name, for the wrapped message
    imports: tuple[str, ...]  # imports the fix adds (source mode only)

    def __init__(
        self, file: GoFile, node: Node, captures: dict[str, list[Node]], rule: Frozen,
        callee: str | None = None, callee_text: str | None = None,
        type: str | None = None, close: str = "method", stmt: Node | None = None, acquisition: Node | None = None,
        function: Node | None = None, var: str | None = None, handle: str | None = None, err: str | None = None,
        discarded: bool = False, always_leaks: bool = False, rename: Node | None = None, wrap: str | None = None,
        rebind: tuple[str, str] | None = None, release: str = "Close", releases_by: tuple[str, ...] = ("Close",),
        resource_id: str | None = None, not_fixable: str | None = None,
        flow: FlowResult | None = None, leak_lines: Sequence[int] = (), loop_last: Node | None = None,
        fixable: bool = False, why_no_fix: str | None = None,
        errcheck: Node | None = None, defer_stmt: Node | None = None, deferred: str | None = None,
        call: str | None = None, zeros: str | None = None, blanks: str | None = None,
        target: Node | None = None, fmt: str | None = None, func_name: str | None = None,
        imports: tuple[str, ...] = (),
    ) -> None:
        self.file = file
        self.node = node
        self.captures = captures
        self.rule = rule
        self.callee = callee
        self.callee_text = callee_text
        self.type = type
        self.close = close
        self.stmt = stmt
        self.acquisition = acquisition
        self.function = function
        self.var = var
        self.handle = handle
        self.err = err
        self.discarded = discarded
        self.always_leaks = always_leaks
        self.rename = rename
        self.wrap = wrap
        self.rebind = rebind
        self.release = release
        self.releases_by = releases_by
        self.resource_id = resource_id
        self.not_fixable = not_fixable
        self.flow = flow
        self.leak_lines = leak_lines
        self.loop_last = loop_last
        self.fixable = fixable
        self.why_no_fix = why_no_fix
        self.errcheck = errcheck
        self.defer_stmt = defer_stmt
        self.deferred = deferred
        self.call = call
        self.zeros = zeros
        self.blanks = blanks
        self.target = target
        self.fmt = fmt
        self.func_name = func_name
        self.imports = imports


ENGINE_FIELDS = frozenset(("file", "node", "captures", "rule"))
MATCH_FIELDS = frozenset(Match._fields)


def field_names(names: Any) -> frozenset[str]:
    """`names` as Match field names; a name that is not a field is an AttributeError, at import."""
    out = frozenset(names)
    unknown = out - MATCH_FIELDS
    if unknown:
        raise AttributeError(f"Match has no field(s) {', '.join(sorted(unknown))}")
    return out


# The names a rule's message template may use (engine.message_context), with a value of
# each one's type: the loader renders every message with them, so a misspelt name is a
# rule error with file:line, not a failure on the first finding.
MESSAGE_SAMPLE: dict[str, Any] = {
    "var": "x", "handle": "x", "err": "err", "callee": "pkg.F", "callee_text": "pkg.F", "type": "*pkg.T",
    "deferred": "x.Close()", "loop": False, "leak_lines": [1], "release": "Close",
}
