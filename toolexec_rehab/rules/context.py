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
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tree_sitter import Node

    from ..golang.package import GoFile, Package
    from ..golang.stdapi import StdAPI
    from ..golang.types import Resolver
    from .diagnostic import Diagnostic
    from .flow import FlowResult
    from .frozen import Frozen


@dataclass(slots=True, eq=False, repr=False)
class Pass:
    """One analysis of one package (Engine.analyze): what every rule and condition may use."""

    package: Package
    files: list[GoFile]  # the files analyzed in this pass (parsed, not generated, selected)
    resolver: Resolver  # names, types and callees as the compiler resolves them
    api: StdAPI  # the standard library's API table (types of std functions, methods, fields)
    modes: Mapping[str, str]  # rule id -> "fix" | "report", overriding the rule's default
    source_mode: bool  # fixes for the source tree (may add imports), not for a build
    diagnostics: list[Diagnostic] = field(default_factory=list)
    catalogue: Any = None  # the resource catalogue (catalogue.Catalogue), None when a pass has no leak rule
    acquired: dict = field(default_factory=dict)  # call node id -> what it acquires (acquire.acquired)
    # a build that applies fixes only (acquire.fixable_screen): the names of the calls that may
    # acquire a resource a fix may release; None: every call is resolved
    screen: tuple | None = None

    def mode(self, rule: Frozen) -> str:
        return self.modes.get(rule.id, rule.mode)

    def report(self, d: Diagnostic) -> None:
        self.diagnostics.append(d)


@dataclass(slots=True, eq=False)
class Match:
    """One candidate of one rule: the query's match, then what its conditions established.

    The first four fields are set by the engine; every other field is written only by the
    conditions that declare it in `provides` (defaults: nothing known yet)."""

    # --- set by the engine
    file: GoFile  # the file of the match
    node: Node  # the rule's capture (`match.capture`, default @call): the diagnostic's node
    captures: dict[str, list[Node]]  # every capture of the query match
    rule: Frozen  # the rule (schema.Rule, frozen)

    # --- the callee (callee, returns_error, foreign_error)
    callee: str | None = None  # resolved function or method: "os.Open", "database/sql.DB.Query"
    callee_text: str | None = None  # the call's function as written: "db.Query"

    # --- the resource and its binding (resource, defer_before_check, ...)
    type: str | None = None  # what the handle is, for messages: "*sql.Rows"
    close: str = "method"  # how it is released: "method" (handle.Close()) or "call" (cancel())
    stmt: Node | None = None  # the statement the fix is placed against (acquisition, call, return)
    acquisition: Node | None = None  # the statement that acquires the resource, if any
    function: Node | None = None  # the enclosing function (declaration or literal) of stmt
    var: str | None = None  # the variable bound to the resource, or the error (foreign_error)
    handle: str | None = None  # what must be released: "rows", "resp.Body"; "discarded T" if dropped
    err: str | None = None  # the error variable bound alongside, if any
    discarded: bool = False  # the result is not kept at all (`f()` or `_ = f()`)
    always_leaks: bool = False  # a discarded `_` renamed (fresh_name): nothing could release it
    rename: Node | None = None  # the `_` identifier that the fix renames to `var`
    wrap: str | None = None  # a discarded call statement made the init of an if: `if rows, _ := `
    rebind: tuple[str, str] | None = None  # `_, err = f()` -> ("rows, err2 :=", "; err = err2")
    release: str = "Close"  # the method a fix calls to release it ("" for a func value: cancel())
    releases_by: tuple[str, ...] = ("Close",)  # the methods that release it (Commit or Rollback)
    resource_id: str | None = None  # its catalogue entry
    not_fixable: str | None = None  # why a build may not release it, known when it is acquired

    # --- the path analysis (leaks)
    flow: FlowResult | None = None  # leaks, transfers (escapes), the error check, in_loop
    leak_lines: Sequence[int] = ()  # the user's lines where a path leaves it unreleased
    loop_last: Node | None = None  # acquired in a loop: the body's last statement (fix point)

    # --- the decision
    fixable: bool = False  # a fix is safe, if the rule has one and its mode is fix
    why_no_fix: str | None = None  # why not, when it is not

    # --- defer_before_check
    errcheck: Node | None = None  # the `if err != nil` after the defer
    defer_stmt: Node | None = None  # the premature defer
    deferred: str | None = None  # the deferred call as written: "rows.Close()"

    # --- returns_error
    call: str | None = None  # the unchecked call as written
    zeros: str | None = None  # "*new(T), " per non-error result of the enclosing function
    blanks: str | None = None  # "_, " per non-error result of the call

    # --- foreign_error
    target: Node | None = None  # the node the `replace` placement replaces (default: node)
    fmt: str | None = None  # the name fmt is imported as
    func_name: str | None = None  # the enclosing function's name, for the wrapped message
    imports: tuple[str, ...] = ()  # imports the fix adds (source mode only)


ENGINE_FIELDS = frozenset(("file", "node", "captures", "rule"))
MATCH_FIELDS = frozenset(f.name for f in fields(Match))


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
