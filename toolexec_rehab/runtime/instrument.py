"""Instrumented builds: marker calls at tracked acquisitions and Close calls.

For every finding of a resource rule (rows, stmt, body, file) the build inserts

- after the acquisition statement, on its line:
  `rows, err := db.Query(q); _rehabAcquire(0x<node id>, rows)`
  (`; if resp != nil { _rehabAcquire(0x<id>, resp.Body) }` for a response body);
- before each `<handle>.Close()` of that handle in the function, on its line:
  `_rehabRelease(0x<id>, rows); rows.Close()`, and for a deferred close
  `defer _rehabRelease(0x<id>, rows); defer rows.Close()` (runs after the Close,
  with the value the Close got).

The 64 bits of the id are the 16 hex digits of the finding's `ast-node-<id>`,
so the tracer names sites exactly as `check` does. The markers take
`interface{}`: the data word of the interface is the resource's pointer (for
resp.Body the data word of the io.ReadCloser, i.e. the concrete body). They live
in a generated file added to the compile (see templates/runtime/markers.go.j2);
it imports nothing, so the build needs no new importcfg entry. Every edit is an
insertion without a newline: line numbers stay exact.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from tree_sitter import Node

from ..golang import parse as P
from ..golang.package import GoFile, enclosing_function
from ..records import Record
from ..rewrite import edits as E

if TYPE_CHECKING:
    from ..rules.diagnostic import Diagnostic

# The shipped rules whose findings are tracked; a finding of any rule is tracked when its
# evidence names a catalogue resource released by a method (rules/catalogue.py): a user's
# resources.yaml entry is traced with no code (tracked_rule_ids).
TRACKED_RULES = ("rows-not-closed", "stmt-not-closed", "body-not-closed", "file-not-closed", "tx-not-finished",
                 "resource-not-released")


def tracked_rule_ids(rules=None) -> set[str]:
    """The ids of the rules whose findings acquire a catalogue resource (every loaded rule
    with an `acquires` condition), and the shipped ones."""
    if rules is None:
        from ..rules.loader import all_rules

        try:
            rules = all_rules()
        except Exception:  # noqa: BLE001 - a broken user rule dir: the shipped ones still count
            rules = []
    return set(TRACKED_RULES) | {r.id for r in rules if any(n == "acquires" for n, _, _ in r.conditions)}


ACQUIRE = "_rehabAcquire"
RELEASE = "_rehabRelease"
SITES_CONST = "_rehabSites"
SITES_MAGIC = "REHAB_SITES_V1:"
SITES_END = ":END_REHAB_SITES"
MARKER_FILE = "zz_rehab_markers.go"
MARKERS_RULE = "markers"  # rule and node id of the markers' Diagnostic (Instrumented.diagnostic)


class Site(Record):
    _fields = ("node_id", "rule", "file", "line")
    node_id: str
    rule: str
    file: str
    line: int

    def __init__(self, node_id: str, rule: str, file: str, line: int) -> None:
        self.node_id = node_id
        self.rule = rule
        self.file = file
        self.line = line

    @property
    def id64(self) -> int:
        return int(self.node_id.removeprefix("ast-node-"), 16)


class Instrumented(Record):
    _fields = ("edits", "sites")
    edits: list[E.Edit]
    sites: list[Site]

    def __init__(self, edits: list[E.Edit], sites: list[Site]) -> None:
        self.edits = edits
        self.sites = sites

    def diagnostic(self, gf: GoFile) -> Diagnostic:
        """The markers as one note whose SuggestedFix is their edits, applied (apply_fixes) after
        the file's real fixes: a marker edit that would overlap a fix is what gets dropped."""
        from ..rules.diagnostic import Diagnostic, suggested_fix

        return Diagnostic(rule=MARKERS_RULE, severity="note", path=gf.path, origin=gf.origin, start=0, end=0,
                          line=1 + gf.line_offset, column=1, end_line=1 + gf.line_offset, end_column=1,
                          node_type="source_file", message=f"runtime markers for {len(self.sites)} site(s)",
                          node_id=MARKERS_RULE, fix=suggested_fix(self.edits))


def template_dir() -> str:
    from ..paths import builtin_dirs

    return os.path.join(builtin_dirs()[1], "runtime")


def tracked_rules(cfg, rules: list) -> list:
    """`rules` plus the (enabled) resource rules, whatever their mode: instrumentation needs
    their findings even when the rule only reports or fixes are off."""
    from ..pipeline import select_rules

    have = {r.id for r in rules}
    enabled, _ = select_rules(cfg)
    tracked = tracked_rule_ids(enabled)
    return rules + [r for r in enabled if r.id in tracked and r.id not in have]


def _statement(node: Node) -> Node | None:
    """The innermost statement of a block that contains node (not crossing a function literal)."""
    n = node
    while n.parent is not None:
        if n.parent.type == "statement_list":
            return n
        if n.type in ("func_literal", "function_declaration", "method_declaration"):
            return None
        n = n.parent
    return None


def _resource_var(stmt: Node) -> str | None:
    """`x` in `x, err := f()` / `x, err = f()` when x is a plain identifier."""
    if stmt.type not in ("short_var_declaration", "assignment_statement"):
        return None
    left = stmt.child_by_field_name("left")
    first = P.named_children(left)[0] if left is not None and P.named_children(left) else None
    if first is None or first.type != "identifier" or P.text(first) == "_":
        return None
    return P.text(first)


def _close_calls(fn: Node, handle: str, release: tuple[str, ...] = ("Close",)):
    """`<handle>.Close()` calls (or another release method of it) anywhere in fn (nested
    function literals included)."""
    for n in P.descendants(fn):
        if n.type != "call_expression":
            continue
        f = n.child_by_field_name("function")
        args = n.child_by_field_name("arguments")
        if f is None or f.type != "selector_expression" or P.named_children(args):
            continue
        if P.text(f.child_by_field_name("field")) not in release:
            continue
        operand = f.child_by_field_name("operand")
        if operand is not None and "".join(P.text(operand).split()) == handle:
            yield n


_CLOSE_STMTS = ("expression_statement", "defer_statement", "return_statement", "assignment_statement",
                "short_var_declaration", "if_statement", "var_declaration")


def _release_edit(call: Node, id64: int, handle: str, var: str, body: bool) -> E.Edit | None:
    stmt = _statement(call)
    if stmt is None or stmt.type not in _CLOSE_STMTS:
        return None
    if stmt.type == "if_statement":
        # only a Close in the if's header (`if err := x.Close(); err != nil`), never in a branch
        header = [stmt.child_by_field_name("initializer"), stmt.child_by_field_name("condition")]
        if not any(h is not None and h.start_byte <= call.start_byte and call.end_byte <= h.end_byte
                   for h in header):
            return None
    if stmt.type == "defer_statement":
        deferred = P.named_children(stmt)[0] if P.named_children(stmt) else None
        if deferred is None or deferred.id != call.id:
            return None  # defer func(){...}(): the Close inside has its own statement
        # deferred first, so it runs last: after the Close, with the value the Close got
        return E.Edit(stmt.start_byte, stmt.start_byte, f"defer {RELEASE}(0x{id64:016x}, {handle}); ")
    if stmt.type == "expression_statement" and stmt.named_children and stmt.named_children[0].id == call.id:
        text = f"{RELEASE}(0x{id64:016x}, {handle}); "
    elif body:
        # the Close sits inside an expression: its receiver may be guarded by that expression
        text = f"if {var} != nil {{ {RELEASE}(0x{id64:016x}, {handle}) }}; "
    else:
        text = f"{RELEASE}(0x{id64:016x}, {handle}); "
    return E.Edit(stmt.start_byte, stmt.start_byte, text)


def instrument_file(gf: GoFile, findings: list[Diagnostic]) -> Instrumented:
    """Marker edits for the tracked findings of one file (findings of other files are ignored)."""
    from ..rules.engine import node_of

    edits: list[E.Edit] = []
    sites: list[Site] = []
    released: set[int] = set()
    for fd in findings:
        release = tuple(fd.evidence.get("release") or ())
        if fd.path != gf.path or not release or release == ("call",) or not fd.node_id:
            continue
        node = node_of(gf, fd)  # the diagnostic holds a byte range, not the node
        if node is None:
            continue
        stmt = _statement(node)
        var = _resource_var(stmt) if stmt is not None else None
        fn = enclosing_function(node)
        if var is None or fn is None:
            continue
        handle = fd.evidence.get("handle") or var
        body = handle != var  # a field of the variable (resp.Body): acquired only when var is not nil
        site = Site(fd.node_id, fd.rule, gf.origin, fd.line)
        if body:
            acq = f"; if {var} != nil {{ {ACQUIRE}(0x{site.id64:016x}, {handle}) }}"
        else:
            acq = f"; {ACQUIRE}(0x{site.id64:016x}, {handle})"
        mine = [E.Edit(stmt.end_byte, stmt.end_byte, acq)]
        for call in _close_calls(fn, handle, release):
            e = _release_edit(call, site.id64, handle, var, body)
            if e is not None and e.start not in released:
                mine.append(e)
        try:
            E.merge(edits + mine)
        except E.EditConflict:
            continue
        for e in mine[1:]:
            released.add(e.start)
        edits.extend(mine)
        sites.append(site)
    return Instrumented(edits, sites)


def sites_literal(sites: list[Site]) -> str:
    """The sites table as a Go string literal (JSON inside; json.dumps escapes are valid Go)."""
    payload = json.dumps([[s.node_id, s.rule, s.file, s.line] for s in sites], separators=(",", ":"))
    return json.dumps(SITES_MAGIC + payload + SITES_END)


def marker_file(package: str, sites: list[Site]) -> bytes:
    from ..rewrite.render import render

    text = render((template_dir(),), "markers.go.j2", {
        "package": package, "acquire": ACQUIRE, "release": RELEASE, "sites_const": SITES_CONST,
        "sites_literal": sites_literal(sites)})
    return text.encode("utf-8") + b"\n"


def parse_sites_tables(data: bytes) -> dict[str, Site]:
    """Every sites table embedded in a binary (one per instrumented package), by node id."""
    out: dict[str, Site] = {}
    magic, end = SITES_MAGIC.encode(), SITES_END.encode()
    pos = data.find(magic)
    while pos >= 0:
        stop = data.find(end, pos)
        if stop < 0:
            break
        try:
            rows = json.loads(data[pos + len(magic):stop].decode("utf-8"))
            for node_id, rule, file, line in rows:
                out[node_id] = Site(node_id, rule, file, int(line))
        except (ValueError, TypeError):
            pass  # not ours after all (e.g. this text inside some other string)
        pos = data.find(magic, stop)
    return out
