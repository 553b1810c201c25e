"""Run rules over a package: query in C, filter candidates with conditions, build findings and fixes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from tree_sitter import Node

from ..golang import parse as P
from ..golang.package import GoFile, Package, enclosing_function, function_name
from ..golang.stdapi import StdAPI
from ..golang.types import Resolver
from ..rewrite import edits as E
from ..rewrite.render import RenderLimitError, render, render_string
from .loader import LoadedRule


@dataclass
class Finding:
    rule: str
    severity: str
    file: GoFile
    node: Node
    message: str
    node_id: str = ""
    fix: list[E.Edit] | None = None
    why_no_fix: str | None = None
    evidence: dict = field(default_factory=dict)
    func: str = ""
    code: str = ""

    @property
    def line(self) -> int:
        return self.file.orig_line(self.node)

    @property
    def column(self) -> int:
        return self.node.start_point[1] + 1

    @property
    def end_line(self) -> int:
        return self.file.orig_line(self.node.end_point[0])

    @property
    def end_column(self) -> int:
        return self.node.end_point[1] + 1

    @property
    def fixable(self) -> bool:
        return bool(self.fix)

    def to_json(self, display_path: str) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": display_path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "message": self.message,
            "node_id": self.node_id,
            "fixable": self.fixable,
            "why_no_fix": self.why_no_fix,
            "function": self.func,
            "evidence": self.evidence,
        }


def node_id(id_path: str, func: str, rule: str, code: str, occurrence: int) -> str:
    """ast-node-<16 hex>: from what the finding is, never from byte offsets."""
    key = "\x00".join((id_path, func, rule, code, str(occurrence)))
    return "ast-node-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


class Engine:
    def __init__(self, rules: list[LoadedRule], api: StdAPI, modes: dict[str, str] | None = None,
                 source: bool = False):
        self.rules = rules
        self.api = api
        self.source = source
        self.modes = modes or {}  # rule id -> "fix" | "report", overriding the rule's default
        # One line per template (fix template or rule message) that went past a render limit
        # (rewrite.render: MAX_OUTPUT, TIME_LIMIT), naming its file:line; de-duplicated, in the
        # order met. The findings are still reported (without a fix); front ends print these.
        self.warnings: list[str] = []
        # templates that ran out of time once: not rendered again by this engine (each attempt
        # would cost the whole time limit again), their findings get the same why_no_fix
        self._timed_out: dict[tuple, str] = {}

    def analyze(self, pkg: Package, only: set[str] | None = None) -> list[Finding]:
        """Findings for the package's files (or only those whose path is in `only`)."""
        rv = Resolver(pkg, self.api)
        findings: list[Finding] = []
        for f in pkg.files:
            if only is not None and f.path not in only:
                continue
            if f.has_error or P.is_generated(f.src):
                continue
            findings.extend(self._analyze_file(f, rv))
        return findings

    @cached_property
    def _combined(self):
        """All rules' queries as one (one walk of each tree instead of one per rule), and for
        each of its patterns the index of the rule it came from; None if they do not combine."""
        try:
            owner: list[int] = []
            for i, lr in enumerate(self.rules):
                owner += [i] * P.query(lr.rule.match.query).pattern_count
            q = P.query("\n".join(lr.rule.match.query for lr in self.rules))
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
            i = owner[pattern]
            if wanted[i]:
                per[i].append((pattern, caps))
        return per

    def _analyze_file(self, f: GoFile, rv: Resolver) -> list[Finding]:
        out: list[Finding] = []
        for lr, found in zip(self.rules, self._rule_matches(f), strict=True):
            rule = lr.rule
            seen: set[int] = set()
            for _, caps in found:
                nodes = caps.get(rule.match.capture)
                if not nodes:
                    continue
                node = nodes[0]
                if node.id in seen:
                    continue
                seen.add(node.id)
                ctx = {"resolver": rv, "file": f, "node": node, "captures": caps, "rule": rule,
                       "source_mode": self.source}
                if not all(fn(ctx, params) for _, params, fn in lr.conditions):
                    continue
                out.append(self._finding(lr, f, node, ctx))
        out.sort(key=lambda x: (x.node.start_byte, x.rule))
        counts: dict[tuple, int] = {}
        idp = f.id_path()
        for fd in out:
            key = (fd.func, fd.rule, fd.code)
            n = counts.get(key, 0)
            counts[key] = n + 1
            fd.node_id = node_id(idp, fd.func, fd.rule, fd.code, n)
        return out

    def _finding(self, lr: LoadedRule, f: GoFile, node: Node, ctx: dict) -> Finding:
        rule = lr.rule
        flow = ctx.get("flow")
        mctx = {k: ctx.get(k) for k in ("var", "handle", "err", "callee", "callee_text", "type", "deferred")}
        mctx["loop"] = ctx.get("loop_last") is not None
        mctx["leak_lines"] = ctx.get("leak_lines") or []
        message = self._message(lr, mctx)
        fd = Finding(
            rule=rule.id,
            severity=rule.severity,
            file=f,
            node=node,
            message=message,
            func=function_name(enclosing_function(node)),
            code=P.normalize_code(node),
            why_no_fix=ctx.get("why_no_fix"),
        )
        fd.evidence = {
            "callee": ctx.get("callee"),
            "leak_lines": mctx["leak_lines"],
            "transfer_lines": [f.orig_line(n) for n in flow.transfers] if flow else [],
            "error_check_line": f.orig_line(flow.errcheck) if flow and flow.errcheck is not None else None,
            "in_loop": bool(flow and flow.in_loop),
        }
        mode = self.modes.get(rule.id, rule.mode)
        if rule.fix is None or mode != "fix" or not ctx.get("fixable"):
            if rule.fix is None or mode != "fix":
                fd.why_no_fix = fd.why_no_fix or ("report-only rule" if rule.fix else "no fix defined")
            return fd
        key = ("fix", lr.template_dirs, rule.fix.template)
        if key in self._timed_out:
            fd.why_no_fix = self._timed_out[key]
            return fd
        try:
            edits = self._plan_edits(lr, ctx, mctx, flow)
        except RenderLimitError as e:  # this finding only: reported, without a fix
            fd.why_no_fix = f"fix template exceeded its {e.limit}: {e.where}"
            self._warn(f"{e.where}: fix template of rule {rule.id} exceeded its {e.limit}"
                       f"{f' ({e.detail})' if e.detail else ''}; the finding is reported without a fix")
            if e.kind == "time":
                self._timed_out[key] = fd.why_no_fix
            return fd
        if edits is None:
            fd.why_no_fix = "no safe place for the fix"
            return fd
        if not all(e.line_preserving_in(f.src) for e in edits):
            fd.why_no_fix = "template output would move lines"
            return fd
        for path in ctx.get("imports") or ():
            edits.append(import_edit(f, path))
        fd.fix = edits
        return fd

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
        return rule.summary

    def _plan_edits(self, lr: LoadedRule, ctx: dict, mctx: dict, flow) -> list[E.Edit] | None:
        rule = lr.rule
        placement = rule.fix.placement
        stmt = ctx.get("stmt")
        extra = {k: ctx.get(k) for k in ("call", "zeros", "blanks", "deferred", "fmt", "func_name")}
        tctx = {**mctx, **extra, "guarded": False, "in_loop": False}
        if placement == "after-error-check":
            if ctx.get("loop_last") is not None:
                at = ctx["loop_last"].end_byte
                tctx["in_loop"] = True
            elif flow is not None and flow.errcheck is not None and flow.errcheck_immediate and \
                    flow.errcheck_terminates and not flow.errcheck_negated and \
                    flow.errcheck.child_by_field_name("alternative") is None:
                at = flow.errcheck.end_byte
            else:
                at, tctx["guarded"] = stmt.end_byte, True
            text = render(lr.template_dirs, rule.fix.template, tctx)
            return [E.Edit(at, at, text)] if text else None
        if placement == "after-statement":
            text = render(lr.template_dirs, rule.fix.template, tctx)
            edits = [E.Edit(stmt.end_byte, stmt.end_byte, text)]
            if ctx.get("rename") is not None:
                r = ctx["rename"]
                edits.append(E.Edit(r.start_byte, r.end_byte, ctx["var"]))
            return edits if text else None
        if placement == "move-after-error-check":
            d, chk = ctx["defer_stmt"], ctx["errcheck"]
            text = render(lr.template_dirs, rule.fix.template, tctx)
            return [E.Edit(d.start_byte, d.end_byte, ""), E.Edit(chk.end_byte, chk.end_byte, text)]
        if placement == "replace":
            target = ctx.get("target") or ctx["node"]
            text = render(lr.template_dirs, rule.fix.template, tctx)
            return [E.Edit(target.start_byte, target.end_byte, text)] if text else None
        return None


def import_edit(f: GoFile, path: str) -> E.Edit:
    """Add `import "path"` without moving a line: `import ("path"; ...` or `package p; import "path"`.
    Source mode only (a build cannot add imports); gofmt then puts it on its own line."""
    for c in f.root.children:
        if c.type == "import_declaration":
            lst = next((x for x in c.children if x.type == "import_spec_list"), None)
            if lst is not None:
                at = lst.start_byte + 1  # after "("
                return E.Edit(at, at, f'"{path}"; ')
            spec = next((x for x in c.children if x.type == "import_spec"), None)
            if spec is not None and c.start_point[0] == c.end_point[0]:
                # `import "os"` -> `import ("fmt"; "os")`: gofmt makes it the usual group
                text = f.src[spec.start_byte:spec.end_byte].decode()
                return E.Edit(c.start_byte, c.end_byte, f'import ("{path}"; {text})')
            return E.Edit(c.start_byte, c.start_byte, f'import "{path}"; ')
    pkg = next(c for c in f.root.children if c.type == "package_clause")
    return E.Edit(pkg.end_byte, pkg.end_byte, f'; import "{path}"')


@dataclass
class FileResult:
    file: GoFile
    findings: list[Finding]
    new_src: bytes | None  # None: nothing applied
    rejected: list[tuple[Finding, str]] = field(default_factory=list)


def apply_fixes(f: GoFile, findings: list[Finding]) -> FileResult:
    """Apply the file's fixes; drop any that conflict; re-parse to validate the result."""
    applied: list[Finding] = []
    edits: list[E.Edit] = []
    rejected = []
    for fd in findings:
        if not fd.fix:
            continue
        try:
            E.merge(edits + fd.fix)
        except E.EditConflict as e:
            rejected.append((fd, str(e)))
            continue
        edits.extend(fd.fix)
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
