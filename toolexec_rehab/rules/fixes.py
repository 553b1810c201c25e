"""Where a rule's fix goes: one function per placement (schema.Fix.placement), turning the
rendered template into byte edits, and the import edit of source-mode fixes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any  # lr: a loader.LoadedRule (no import: loader imports this)

from ..rewrite.edits import Edit
from .conditions import terminating_errcheck
from .context import Match

if TYPE_CHECKING:
    from ..golang.package import GoFile

Render = Callable[[tuple, str, dict], str]  # rewrite.render.render(template_dirs, name, context)

# the Match fields each placement reads (beyond the engine's own); the loader refuses a
# rule whose conditions do not provide them
PLACEMENT_NEEDS: dict[str, frozenset[str]] = {
    "after-error-check": frozenset(("stmt",)),  # and, when known, flow / loop_last / rename / wrap
    "after-statement": frozenset(("stmt",)),  # and rename + var when a `_` is renamed
    "move-after-error-check": frozenset(("defer_stmt", "errcheck")),
    "replace": frozenset(),  # target, else the matched node
}


def plan_edits(lr: Any, m: Match, tctx: dict, render: Render, template: str | None = None) -> list[Edit] | None:
    """The fix's edits (None: no safe place, or the template rendered nothing). `template`:
    the one to render (a build's `build_template`), else the rule's."""
    place = _PLACEMENTS.get(lr.rule.fix.placement)
    return place(lr, m, tctx, render, template or lr.rule.fix.template) if place is not None else None


def _after_error_check(lr: Any, m: Match, tctx: dict, render: Render, template: str) -> list[Edit] | None:
    """After the `}` of the terminating error check right after the acquisition; at the end of
    the iteration in a loop; else nil-guarded right after the acquisition."""
    flow = m.flow
    if tctx.get("at_once"):  # a discarded value: released right after the call
        text = render(lr.template_dirs, template, tctx)
        if not text:
            return None
        if m.rebind is not None:  # `_, err = f()` -> `rows, err2 := f(); err = err2`
            left, op = m.stmt.child_by_field_name("left"), m.stmt.child_by_field_name("operator")
            return [Edit(left.start_byte, op.end_byte, m.rebind[0]),
                    Edit(m.stmt.end_byte, m.stmt.end_byte, m.rebind[1] + text)]
        edits = [Edit(m.stmt.end_byte, m.stmt.end_byte, text)]
        if m.rename is not None:
            edits.append(Edit(m.rename.start_byte, m.rename.end_byte, m.var))
        if m.wrap is not None:
            edits.append(Edit(m.stmt.start_byte, m.stmt.start_byte, m.wrap))
        return edits
    if m.loop_last is not None:
        at = m.loop_last.end_byte
        tctx["in_loop"] = True
    elif terminating_errcheck(flow) and flow.errcheck.child_by_field_name("alternative") is None:
        at = flow.errcheck.end_byte
    else:
        at, tctx["guarded"] = m.stmt.end_byte, True
    text = render(lr.template_dirs, template, tctx)
    return [Edit(at, at, text)] if text else None


def _after_statement(lr: Any, m: Match, tctx: dict, render: Render, template: str) -> list[Edit] | None:
    """At the end of the matched statement; a discarded `_` renamed to the fresh name."""
    text = render(lr.template_dirs, template, tctx)
    edits = [Edit(m.stmt.end_byte, m.stmt.end_byte, text)]
    if m.rename is not None:
        edits.append(Edit(m.rename.start_byte, m.rename.end_byte, m.var))
    return edits if text else None


def _move_after_error_check(lr: Any, m: Match, tctx: dict, render: Render, template: str) -> list[Edit] | None:
    """The premature defer deleted (its line stays), re-inserted after the error check."""
    d, chk = m.defer_stmt, m.errcheck
    text = render(lr.template_dirs, template, tctx)
    return [Edit(d.start_byte, d.end_byte, ""), Edit(chk.end_byte, chk.end_byte, text)]


def _replace(lr: Any, m: Match, tctx: dict, render: Render, template: str) -> list[Edit] | None:
    """The target (else the matched node) replaced by the rendered text."""
    target = m.target if m.target is not None else m.node
    text = render(lr.template_dirs, template, tctx)
    return [Edit(target.start_byte, target.end_byte, text)] if text else None


_PLACEMENTS = {
    "after-error-check": _after_error_check,
    "after-statement": _after_statement,
    "move-after-error-check": _move_after_error_check,
    "replace": _replace,
}
assert set(_PLACEMENTS) == set(PLACEMENT_NEEDS)


def import_edit(f: GoFile, path: str) -> Edit:
    """Add `import "path"` without moving a line: `import ("path"; ...` or `package p; import "path"`.
    Source mode only (a build cannot add imports); gofmt then puts it on its own line."""
    for c in f.root.children:
        if c.type == "import_declaration":
            lst = next((x for x in c.children if x.type == "import_spec_list"), None)
            if lst is not None:
                at = lst.start_byte + 1  # after "("
                return Edit(at, at, f'"{path}"; ')
            spec = next((x for x in c.children if x.type == "import_spec"), None)
            if spec is not None and c.start_point[0] == c.end_point[0]:
                # `import "os"` -> `import ("fmt"; "os")`: gofmt makes it the usual group
                text = f.src[spec.start_byte:spec.end_byte].decode()
                return Edit(c.start_byte, c.end_byte, f'import ("{path}"; {text})')
            return Edit(c.start_byte, c.start_byte, f'import "{path}"; ')
    pkg = next(c for c in f.root.children if c.type == "package_clause")
    return Edit(pkg.end_byte, pkg.end_byte, f'; import "{path}"')
