"""Run rules over a package: query in C, filter candidates with conditions, report diagnostics
with their fixes.

One `Pass` per package (context.py), one `Match` per candidate; what comes out is plain data
(diagnostic.py). Fix placements live in fixes.py.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import cached_property

from tree_sitter import Node

from ..errors import RuleError
from ..golang import parse as P
from ..golang.package import GoFile, Package, enclosing_function, function_name
from ..golang.stdapi import StdAPI
from ..golang.types import Resolver
from ..records import Record
from ..rewrite import edits as E
from ..rewrite.render import RenderLimitError, render, render_string
from .conditions import GATES
from .context import Match, Pass
from .diagnostic import NODE_ID64, Diagnostic, Related, SuggestedFix, suggested_fix, with_node_id
from .fixes import import_edit, plan_edits  # noqa: F401 - import_edit re-exported
from .loader import LoadedRule
from .ownership import Escape, escape_of

# a statement in a fix that releases something: `defer x.Close()`, `defer cancel()`, `x.Close()`
_RELEASE = re.compile(r"\bdefer\b|\.(Close|Rollback|Release|Stop)\(\)")

Finding = Diagnostic  # the former name (analysis.py, older callers)


def _adds_release(src: bytes, e) -> bool:
    """The edit brings in more release statements than the code it replaces had."""
    old = src[e.start:e.end].decode("utf-8", "replace")
    return len(_RELEASE.findall(e.text)) > len(_RELEASE.findall(old))


def node_id(id_path: str, func: str, rule: str, code: str, occurrence: int) -> str:
    """ast-node-<16 hex>: from what the finding is, never from byte offsets."""
    key = "\x00".join((id_path, func, rule, code, str(occurrence)))
    return "ast-node-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def node_of(f: GoFile, d: Diagnostic) -> Node | None:
    """The diagnostic's node in f's tree (f: the GoFile read from d.path), found by byte range."""
    n = f.root.descendant_for_byte_range(d.start, d.end)
    while n is not None and not (n.type == d.node_type and n.start_byte == d.start and n.end_byte == d.end):
        n = n.parent
    return n


def _related(f: GoFile, node: Node, message: str) -> Related:
    return Related(message, node.start_byte, node.end_byte, f.orig_line(node), node.start_point[1] + 1)


def related_positions(m: Match) -> tuple[Related, ...]:
    """The acquisition, the error check and where the value escapes, as far as known."""
    f, flow = m.file, m.flow
    out = []
    if m.acquisition is not None:
        out.append(_related(f, m.acquisition, "acquired here"))
    check = m.errcheck if m.errcheck is not None else (flow.errcheck if flow is not None else None)
    if check is not None:
        out.append(_related(f, check, "error checked here"))
    for n in flow.transfers if flow is not None else ():
        out.append(_related(f, n, "escapes here"))
    return tuple(out)


def evidence(m: Match) -> dict:
    """JSON-able facts behind the diagnostic (explain, --format json)."""
    f, flow = m.file, m.flow
    ev = {
        "callee": m.callee,
        "leak_lines": list(m.leak_lines),
        "transfer_lines": [f.orig_line(n) for n in flow.transfers] if flow is not None else [],
        "error_check_line": f.orig_line(flow.errcheck) if flow is not None and flow.errcheck is not None else None,
        "in_loop": bool(flow is not None and flow.in_loop),
    }
    if m.resource_id is not None:  # a catalogue resource: what the instrumenter marks
        ev.update(resource=m.resource_id, handle=m.handle, release=list(m.releases_by))
    return ev


def _release_error(m: Match) -> bool:
    """Whether the release returns an error (`_ = x.Close()` in a loop; a bare `t.Stop()`)."""
    if m.resource_id is None:
        return True
    from .catalogue import current

    entry = current().entry(m.resource_id)
    return entry is None or entry.release_error


def message_context(m: Match) -> dict:
    """What a rule's message template sees (the names of context.MESSAGE_SAMPLE)."""
    return {"var": m.var, "handle": m.handle, "err": m.err, "callee": m.callee, "callee_text": m.callee_text,
            "type": m.type, "deferred": m.deferred, "loop": m.loop_last is not None,
            "leak_lines": list(m.leak_lines), "release": m.release}


def template_context(m: Match, mctx: dict) -> dict:
    """What a rule's fix template sees (the placement sets guarded / in_loop)."""
    return {**mctx, "call": m.call, "zeros": m.zeros, "blanks": m.blanks, "deferred": m.deferred, "fmt": m.fmt,
            "func_name": m.func_name, "guarded": False, "in_loop": False, "node_id64": NODE_ID64,
            # a discarded value renamed or wrapped: released right after the call, nil-guarded
            "at_once": m.always_leaks and m.close != "call", "wrapped": m.wrap is not None,
            "release": m.release, "release_error": _release_error(m)}


class Engine:
    def __init__(self, rules: list[LoadedRule], api: StdAPI, modes: dict[str, str] | None = None,
                 source: bool = False, fixable_only: bool = False):
        self.rules = rules
        self.api = api
        self.source = source
        # only the findings a fix applies to are used (a build that does not instrument): a
        # call that can only be reported is not resolved (acquire.fixable_screen)
        self.fixable_only = fixable_only
        self.modes = modes or {}  # rule id -> "fix" | "report", overriding the rule's default
        # One line per template (fix template or rule message) that went past a render limit
        # (rewrite.render: MAX_OUTPUT, TIME_LIMIT), naming its file:line; de-duplicated, in the
        # order met. The findings are still reported (without a fix); front ends print these.
        self.warnings: list[str] = []
        # templates that ran out of time once: not rendered again by this engine (each attempt
        # would cost the whole time limit again), their findings get the same why_no_fix
        self._timed_out: dict[tuple, str] = {}

    def analyze(self, pkg: Package, only: set[str] | None = None, take=None) -> list[Diagnostic]:
        """Diagnostics for the package's files (or only those whose path is in `only`). With
        `take` (parallel.Take: two processes share the files), the files in take.key's order,
        each analyzed only when take(path) says this process has it."""
        files = [f for f in pkg.files if (only is None or f.path in only)
                 and not f.has_error and not P.is_generated(f.src)]
        if take is not None:
            files.sort(key=lambda f: take.key(f.path))
        api = self.api
        if files:
            from ..golang.deps import world

            api = world(self.api, os.path.dirname(files[0].origin))
        pass_ = Pass(pkg, files, Resolver(pkg, api), api, self.modes, self.source)
        from .catalogue import load

        pass_.catalogue = load()  # once per package: the path analysis reads it (catalogue.current)
        if self.fixable_only and files:
            from .acquire import fixable_screen

            pass_.screen = fixable_screen(pass_)
        for f in files:
            if take is None or take(f.path):
                for d in self._analyze_file(pass_, f):
                    pass_.report(d)
        return pass_.diagnostics

    @cached_property
    def _combined(self):
        """All rules' queries as one (one walk of each tree instead of one per rule), and for
        each of its patterns the indexes of the rules it came from (rules with the same query
        text, like the leak rules of the catalogue, share its patterns: each match is made
        once); None if they do not combine."""
        try:
            texts: dict[str, list[int]] = {}
            for i, lr in enumerate(self.rules):
                texts.setdefault(lr.rule.match.query, []).append(i)
            owner: list[tuple[int, ...]] = []
            for text, idx in texts.items():
                owner += [tuple(idx)] * P.query(text).pattern_count
            q = P.query("\n".join(texts))
        except Exception:  # noqa: BLE001 - each rule's own query still works
            return None
        return (q, owner) if q.pattern_count == len(owner) else None

    def _rule_matches(self, f: GoFile) -> list[list]:
        """Per rule (in order): its query's matches in this file, [] where its prefilter
        finds none of its byte strings."""
        wanted = [not lr.rule.match.prefilter or any(p.encode() in f.src for p in lr.rule.match.prefilter)
                  for lr in self.rules]
        per: list[list] = [[] for _ in self.rules]
        if not any(wanted):
            return per
        comb = self._combined
        if comb is None:
            for i, lr in enumerate(self.rules):
                if wanted[i]:
                    per[i] = list(P.matches(P.query(lr.rule.match.query), f.root))
            return per
        q, owner = comb
        for pattern, caps in P.matches(q, f.root):
            for i in owner[pattern]:
                if wanted[i]:
                    per[i].append((pattern, caps))
        return per

    def _analyze_file(self, pass_: Pass, f: GoFile) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        for lr, found in zip(self.rules, self._rule_matches(f), strict=True):
            try:
                mine = self._rule_in_file(pass_, lr, found, f)
            except Exception as e:  # noqa: BLE001 - one broken rule breaks only itself
                if isinstance(e, RecursionError) or _debug():
                    raise
                self._warn(f"{_rule_where(lr)}: rule {lr.id} failed on {f.origin}: {type(e).__name__}: {e}; "
                           "its findings in that file are left out")
                continue
            out += mine
        out.sort(key=lambda d: (d.start, d.rule))
        counts: dict[tuple, int] = {}
        idp = f.id_path()
        for d in out:
            key = (d.function, d.rule, d.code)
            n = counts.get(key, 0)
            counts[key] = n + 1
            d.node_id = node_id(idp, d.function, d.rule, d.code, n)
            if d.fix is not None and any(NODE_ID64 in e.text for e in d.fix.edits):
                d.fix = with_node_id(d.fix, "0x" + d.node_id.removeprefix("ast-node-"))
        return out

    def _rule_in_file(self, pass_: Pass, lr: LoadedRule, found: list, f: GoFile) -> list[Diagnostic]:
        """One rule's diagnostics in one file, from its query's matches."""
        out: list[Diagnostic] = []
        rule = lr.rule
        seen: set[int] = set()
        gate = GATES.get(lr.conditions[0][0]) if lr.conditions else None
        for _, caps in found:
            nodes = caps.get(rule.match.capture)
            if not nodes or nodes[0].id in seen:
                continue
            node = nodes[0]
            seen.add(node.id)
            if gate is not None and not gate(pass_, node, f, rule.id, lr.conditions[0][1]):
                continue
            m = Match(f, node, caps, rule)
            if all(fn(pass_, m, params) for _, params, fn in lr.conditions):
                out.append(self._diagnostic(pass_, lr, m))
        return out

    def _diagnostic(self, pass_: Pass, lr: LoadedRule, m: Match) -> Diagnostic:
        f, node = m.file, m.node
        mctx = message_context(m)
        d = Diagnostic(
            rule=lr.rule.id,
            severity=lr.rule.severity,
            path=f.path,
            origin=f.origin,
            start=node.start_byte,
            end=node.end_byte,
            line=f.orig_line(node),
            column=node.start_point[1] + 1,
            end_line=f.orig_line(node.end_point[0]),
            end_column=node.end_point[1] + 1,
            node_type=node.type,
            message=self._message(lr, mctx),
            function=function_name(enclosing_function(node)),
            code=P.normalize_code(node),
            related=related_positions(m),
            why_no_fix=m.why_no_fix,
            evidence=evidence(m),
        )
        d.fix, d.why_no_fix, esc = self._fix(pass_, lr, m, mctx, d.why_no_fix)
        if esc is not None:
            d.evidence["escape"] = {"var": esc.var, "how": esc.how, "line": esc.line,
                                    "path": [{"value": v, "line": ln} for v, ln in esc.path]}
            d.related = (*d.related, Related(f"may outlive the function here: {esc.how}", esc.start, esc.end,
                                             esc.line, esc.column))
        return d

    def _fix(self, pass_: Pass, lr: LoadedRule, m: Match, mctx: dict,
             why: str | None) -> tuple[SuggestedFix | None, str | None, Escape | None]:
        """The rule's fix for this match, or None and why not (and the escape that forbids it)."""
        rule = lr.rule
        if rule.fix is None or pass_.mode(rule) != "fix":
            return None, why or ("report-only rule" if rule.fix else "no fix defined"), None
        if not m.fixable:
            if lr.releases and m.flow is not None and m.flow.transfers:
                # the path analysis saw it handed off on another path: name that escape
                esc, named = self._ownership(pass_, m)
                return None, named or why, esc
            return None, why or "the rule's conditions did not establish that a fix is safe here", None
        # a discarded resource (rows, a response; not a cancel func, whose context is kept) bound
        # beside nothing but its error: no value of the user's carries it
        if lr.releases and not (m.always_leaks and m.close != "call"):
            esc, why = self._ownership(pass_, m)
            if why is not None:
                return None, why, esc
        fix, why = self._render_fix(pass_, lr, m, mctx, why)
        return fix, why, None

    def _render_fix(self, pass_: Pass, lr: LoadedRule, m: Match, mctx: dict,
                    why: str | None) -> tuple[SuggestedFix | None, str | None]:
        rule = lr.rule
        template, runtime = rule.fix.template, ()
        if not pass_.source_mode and rule.fix.build == "never":
            return None, "a source-mode suggestion: a build never applies it (`fix --diff` shows it)"
        if not pass_.source_mode and rule.fix.build == "record":
            # the build's form: the dropped error made visible, control flow untouched
            template, runtime = rule.fix.build_template, ("dropped",)
        if pass_.source_mode and m.always_leaks and m.callee in EXEC_FOR:
            return _exec_instead(m), why
        key = ("fix", lr.template_dirs, template)
        if key in self._timed_out:
            return None, self._timed_out[key]
        try:
            edits = plan_edits(lr, m, template_context(m, mctx), render, template)
        except RenderLimitError as e:  # this finding only: reported, without a fix
            why = f"fix template exceeded its {e.limit}: {e.where}"
            self._warn(f"{e.where}: fix template of rule {rule.id} exceeded its {e.limit}"
                       f"{f' ({e.detail})' if e.detail else ''}; the finding is reported without a fix")
            if e.kind == "time":
                self._timed_out[key] = why
            return None, why
        except RuleError as e:  # a broken template (its file:line in e): this rule's findings only
            why = f"fix template error: {e}"
            self._warn(f"{e}; rule {rule.id}: its findings are reported without a fix")
            self._timed_out[key] = why  # not rendered again by this engine
            return None, why
        if edits is None:
            return None, "no safe place for the fix"
        if not all(e.line_preserving_in(m.file.src) for e in edits):
            return None, "template output would move lines"
        if not lr.releases and rule.fix.placement != "move-after-error-check" and \
                any(_adds_release(m.file.src, e) for e in edits):
            # a user's rule whose template releases something it never declared: the engine
            # cannot tell what to follow, so it cannot prove the release safe
            return None, ("the fix releases something, but the rule does not declare its resource "
                          "(the resource condition), so its safety cannot be checked")
        edits += [import_edit(m.file, path) for path in m.imports]
        return suggested_fix(edits, suggestion=pass_.source_mode and rule.fix.suggestion, runtime=runtime), why

    @staticmethod
    def _ownership(pass_: Pass, m: Match) -> tuple[Escape | None, str | None]:
        """Why a release would be unsafe (a carrier of the resource may outlive the function,
        ownership.py), or None. Code the model does not handle counts as an escape."""
        if m.stmt is None or m.function is None:
            return None, "the acquisition is not a statement the ownership analysis follows"
        try:
            esc = escape_of(pass_.resolver, m.file, m.function, m.stmt, m.var or "", m.err,
                            release_at_exit=m.loop_last is None)
        except RecursionError:
            return None, "the code is nested too deeply for the ownership analysis"
        return esc, esc.why if esc is not None else None

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def _message(self, lr: LoadedRule, mctx: dict) -> str:
        """The finding's message; past a render limit, the rule's summary (and a warning)."""
        rule = lr.rule
        key = ("message", lr.path)
        if key not in self._timed_out:
            try:
                return render_string(rule.message, mctx)
            except RenderLimitError as e:
                self._warn(f"{lr.path}: message of rule {rule.id} exceeded its {e.limit}"
                           f"{f' ({e.detail})' if e.detail else ''}; its summary is reported instead")
                if e.kind == "time":
                    self._timed_out[key] = e.limit
            except RuleError as e:
                self._warn(f"{_rule_where(lr, 'message')}: message of rule {rule.id}: {e}; "
                           "its summary is reported instead")
                self._timed_out[key] = "error"
        return rule.summary


class FileResult(Record):
    _fields = ("file", "findings", "new_src", "rejected")
    file: GoFile
    findings: list[Diagnostic]
    new_src: bytes | None  # None: nothing applied
    rejected: list[tuple[Diagnostic, str]]

    def __init__(self, file: GoFile, findings: list[Diagnostic], new_src: bytes | None,
                 rejected: list[tuple[Diagnostic, str]] | None = None) -> None:
        self.file = file
        self.findings = findings
        self.new_src = new_src
        self.rejected = [] if rejected is None else rejected


def apply_fixes(f: GoFile, findings: list[Diagnostic]) -> FileResult:
    """Apply the fixes of f's diagnostics (those of other files are ignored); drop any that
    conflict; re-parse to validate the result."""
    applied: list[Diagnostic] = []
    edits: list[E.Edit] = []
    rejected = []
    for fd in findings:
        if fd.fix is None or not fd.fix.edits or fd.path != f.path:
            continue
        try:
            E.merge(edits + list(fd.fix.edits))
        except E.EditConflict as e:
            rejected.append((fd, str(e)))
            continue
        edits.extend(fd.fix.edits)
        applied.append(fd)
    if not edits:
        return FileResult(f, findings, None, rejected)
    new = E.apply(f.src, edits)
    if new.count(b"\n") != f.src.count(b"\n"):
        return FileResult(f, findings, None, rejected + [(fd, "fix changed line count") for fd in applied])
    tree = P.parse(new)
    if tree.root_node.has_error:
        return FileResult(f, findings, None, rejected + [(fd, "fixed file does not parse") for fd in applied])
    return FileResult(f, findings, new, rejected)


def _debug() -> bool:
    from ..settings import debug

    return debug()


def _rule_where(lr: LoadedRule, key: str = "conditions") -> str:
    """file:line of a rule's `key` (its conditions, its message), for a warning about it."""
    try:
        with open(lr.path, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if line.lstrip().startswith(f"{key}:"):
                    return f"{lr.path}:{i}"
    except OSError:
        pass
    return f"{lr.path}:1"


# database/sql's queries whose rows a program may throw away, and the call that runs the
# same statement without making rows
EXEC_FOR = {f"database/sql.{t}.{q}": q.replace("Query", "Exec")
            for t in ("DB", "Tx", "Conn", "Stmt") for q in ("Query", "QueryContext")}


def _exec_instead(m: Match) -> SuggestedFix:
    """The source fix of a query whose rows are thrown away: call Exec (issue 16, item 12);
    a build closes the rows right after the call instead (it may not change the call)."""
    field = m.node.child_by_field_name("function").child_by_field_name("field")
    new = EXEC_FOR[m.callee]
    edits = (E.Edit(field.start_byte, field.end_byte, new),)
    say = (f"call {new} instead of {P.text(field)}: the rows are never read, and rows that are not closed "
           "hold their connection for good")
    return SuggestedFix(say, edits, note=say)
