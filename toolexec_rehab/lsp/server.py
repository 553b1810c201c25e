"""`toolexec-rehab lsp`: the Language Server Protocol over stdio, on pygls and lsprotocol.

What it does (README "Editor (LSP)"):
- publishes diagnostics on open, change (debounced: settings.debounceMs) and save: code = the
  rule id, source = "toolexec-rehab", codeDescription = the rule's file (its summary,
  rationale and examples), relatedInformation = the acquisition, the error check, where it
  escapes, and for a finding without a fix the escape that blocks it;
- quick fixes (textDocument/codeAction, kind quickfix) whose edit is what `fix` writes for
  that finding, and `source.fixAll.toolexec-rehab` for the whole file (what `fix --write`
  writes); computed in codeAction/resolve when the client can resolve the edit later;
- hover: what `explain <ast-node-id>` prints;
- run-time evidence from a `trace --json` report: a confirmed leak is an Error that says how
  often it leaked; a site traced without a leak gets a hint.
A request before `initialize` gets the ServerNotInitialized error; a notification before it
is dropped; nothing a client sends stops the server but `exit`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
from pathlib import Path

from lsprotocol import types as T
from pygls.exceptions import JsonRpcServerNotInitialized
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path, to_fs_path

from .. import __version__
from .session import NAME, FileResult, Session, Settings
from .text import UTF8, UTF16, UTF32, LineIndex, apply_change, line_replacement

FIX_ALL = f"{T.CodeActionKind.SourceFixAll.value}.{NAME}"  # source.fixAll.toolexec-rehab
_SEVERITY = {"error": T.DiagnosticSeverity.Error, "warning": T.DiagnosticSeverity.Warning,
             "note": T.DiagnosticSeverity.Information}
_LEVEL = {"error": T.MessageType.Error, "warning": T.MessageType.Warning, "info": T.MessageType.Info,
          "log": T.MessageType.Log}
_WATCH = ("**/*.go", "**/.rehab.yaml", "**/go.mod", "**/*.json")

log = logging.getLogger(__name__)


class Protocol(LanguageServerProtocol):
    """pygls' protocol, plus the rule for messages that come before `initialize`: a request
    gets ServerNotInitialized (-32002), a notification is dropped (`exit` excepted)."""

    def _ready(self) -> bool:
        return self._workspace is not None

    def _handle_request(self, msg_id, method_name, params):
        if not self._ready() and method_name != T.INITIALIZE:
            self._send_response(msg_id, None, JsonRpcServerNotInitialized(
                f"{method_name}: the server is not initialized yet (send initialize first)").to_response_error())
            return
        super()._handle_request(msg_id, method_name, params)

    def _handle_notification(self, method_name, params):
        if not self._ready() and method_name != T.EXIT:
            log.warning("dropped %s: not initialized yet", method_name)
            return
        super()._handle_notification(method_name, params)


class RehabServer(LanguageServer):
    def __init__(self):
        super().__init__(NAME, __version__, text_document_sync_kind=T.TextDocumentSyncKind.Incremental,
                         protocol_cls=Protocol)
        self.session = Session(log=self.say)
        self.init_settings = Settings()
        self.pending: dict[str, asyncio.TimerHandle] = {}  # directory -> its debounced analysis
        self.published: dict[str, list[T.Diagnostic]] = {}  # uri -> what we published
        self.config_uris: set[str] = set()  # config files we published a diagnostic on

    # ---- messages to the client

    def say(self, level: str, msg: str) -> None:
        print(f"{NAME}: {msg}", file=sys.stderr)
        try:
            self.window_log_message(T.LogMessageParams(type=_LEVEL.get(level, T.MessageType.Log), message=msg))
        except Exception:  # noqa: BLE001 - no client (yet): stderr has it
            pass

    def report_server_error(self, error: Exception, source) -> None:
        """pygls pops up "Error in server" for a failed notification (a didChange for a
        document never opened, say): logged instead; the server goes on."""
        self.say("log", f"{type(error).__name__}: {error}")

    def encoding(self) -> str:
        enc = getattr(self.workspace, "position_encoding", None)
        enc = getattr(enc, "value", enc)
        return enc if enc in (UTF8, UTF16, UTF32) else UTF16

    # ---- analysis scheduling

    def schedule(self, d: str, delay: float) -> None:
        h = self.pending.pop(d, None)
        if h is not None:
            h.cancel()
        loop = asyncio.get_event_loop()
        if delay <= 0:
            self.pending[d] = loop.call_soon(self.run_dir, d)
        else:
            self.pending[d] = loop.call_later(delay, self.run_dir, d)

    def run_dir(self, d: str) -> None:
        self.pending.pop(d, None)
        try:
            results = self.session.analyze_dir(d)
        except Exception as e:  # noqa: BLE001 - a bug of ours: said, and the server goes on
            self.say("error", f"internal error analysing {d}: {type(e).__name__}: {e}\n{traceback.format_exc()}")
            return
        try:  # (a callback of the event loop: nothing may escape it)
            for r in results:
                self.publish(r)
            self.publish_config_errors()
        except Exception as e:  # noqa: BLE001 - as above
            self.say("error", f"internal error publishing {d}: {type(e).__name__}: {e}\n{traceback.format_exc()}")

    def run_all(self) -> None:
        for d in self.session.directories():
            self.schedule(d, 0)

    def flush(self, path: str) -> None:
        """A request about a document whose analysis is still pending: do it now."""
        d = os.path.dirname(os.path.abspath(path))
        h = self.pending.pop(d, None)
        if h is not None:
            h.cancel()
            self.run_dir(d)

    # ---- diagnostics

    def publish(self, r: FileResult) -> None:
        diags = self.diagnostics(r)
        self.published[r.uri] = diags
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=r.uri, diagnostics=diags,
                                                                          version=r.version))

    def publish_config_errors(self) -> None:
        """A bad .rehab.yaml (or user config) gets its error on its own line."""
        import re

        now: dict[str, list[T.Diagnostic]] = {}
        for ms in self.session.modules.values():
            m = re.match(r"^(/[^:]+):(\d+): (.*)$", ms.error or "", re.S)
            if m:
                line = max(0, int(m.group(2)) - 1)
                now.setdefault(from_fs_path(m.group(1)), []).append(T.Diagnostic(
                    range=T.Range(T.Position(line, 0), T.Position(line + 1, 0)), message=m.group(3),
                    severity=T.DiagnosticSeverity.Error, source=NAME))
        for uri in self.config_uris - set(now):
            self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        for uri, diags in now.items():
            self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=diags))
        self.config_uris = set(now)

    def diagnostics(self, r: FileResult) -> list[T.Diagnostic]:
        idx = LineIndex(r.src, self.encoding())
        if r.notice:
            return [T.Diagnostic(range=T.Range(T.Position(0, 0), T.Position(0, 0)), message=r.notice,
                                 severity=T.DiagnosticSeverity.Information, source=NAME)]
        out = []
        if r.syntax is not None:
            line, col, msg = r.syntax
            pos = T.Position(*idx.position(idx.go_offset(line, col)))
            out.append(T.Diagnostic(range=T.Range(pos, pos), message=f"syntax error: {msg}",
                                    severity=T.DiagnosticSeverity.Error, source=NAME, code="syntax"))
        seen = set()
        for fd in r.findings:
            out += self.finding_diagnostics(r, fd, idx)
            seen.add(fd.node_id)
        out += self.trace_only(r, idx, seen)
        return out

    def _range(self, idx: LineIndex, start: int, end: int) -> T.Range:
        return T.Range(T.Position(*idx.position(start)), T.Position(*idx.position(end)))

    def finding_diagnostics(self, r: FileResult, fd, idx: LineIndex) -> list[T.Diagnostic]:
        """The finding's diagnostic, and beside it a hint when a trace saw the site without a leak."""
        rng = self._range(idx, fd.start, fd.end)
        related = [T.DiagnosticRelatedInformation(T.Location(r.uri, self._range(idx, x.start, x.end)), x.message)
                   for x in fd.related]
        if not fd.fixable and fd.why_no_fix:
            related.append(self.why_no_fix(r, fd, idx, rng))
        severity = _SEVERITY.get(fd.severity, T.DiagnosticSeverity.Warning)
        message = fd.message
        site = r.sites.get(fd.node_id)
        extra = []
        if site is not None and r.trace is not None:
            leaked = site.open + (site.collected_open or 0)
            if site.leaking:
                severity = T.DiagnosticSeverity.Error
                message += (f"\nleaked {leaked} time{'s' if leaked != 1 else ''} in the last trace ({r.trace.taken}): "
                            f"acquired {site.acquired}, released {site.released}")
            elif site.dropped:
                message += f"\nits error was dropped {site.dropped} times in the last trace ({r.trace.taken})"
            elif site.dropped is None:
                extra.append(T.Diagnostic(
                    range=rng, severity=T.DiagnosticSeverity.Hint, source=NAME, code=fd.rule,
                    message=f"traced without a leak in the last trace ({r.trace.taken}): acquired {site.acquired}, "
                            f"released {site.released}", data={"node_id": fd.node_id, "trace": True}))
        lr = self.session.rule(r, fd.rule)
        d = T.Diagnostic(
            range=rng, message=message, severity=severity, code=fd.rule, source=NAME,
            code_description=T.CodeDescription(href=Path(lr.path).as_uri()) if lr is not None else None,
            related_information=related or None,
            data={"node_id": fd.node_id, "rule": fd.rule, "fixable": fd.fixable and r.fixable})
        return [d] + extra

    def why_no_fix(self, r: FileResult, fd, idx: LineIndex, rng: T.Range) -> T.DiagnosticRelatedInformation:
        from ..explain import escape_path

        esc = (fd.evidence or {}).get("escape")
        path = escape_path(fd)
        if esc and isinstance(esc.get("line"), int) and 1 <= esc["line"] <= idx.go_lines():
            where = self._range(idx, *idx.go_span(esc["line"]))
            return T.DiagnosticRelatedInformation(T.Location(r.uri, where),
                                                  f"not fixed: {fd.why_no_fix} ({path})")
        return T.DiagnosticRelatedInformation(T.Location(r.uri, rng), f"not fixed: {fd.why_no_fix}")

    def trace_only(self, r: FileResult, idx: LineIndex, seen: set) -> list[T.Diagnostic]:
        """Traced sites of this file that no finding has now (the code changed since the trace,
        or the rule is off): evidence beside the static findings."""
        out = []
        for nid, s in r.sites.items():
            if nid in seen or not (1 <= s.line <= idx.go_lines()):
                continue
            rng = self._range(idx, *idx.go_span(s.line))
            leaked = s.open + (s.collected_open or 0)
            if s.leaking:
                out.append(T.Diagnostic(
                    range=rng, severity=T.DiagnosticSeverity.Warning, source=NAME, code=s.rule,
                    message=f"leaked {leaked} time{'s' if leaked != 1 else ''} in the last trace ({r.trace.taken}) "
                            f"at {nid} ({s.rule}); no static finding here now (has the code changed since?)",
                    data={"node_id": nid, "trace": True}))
            elif s.dropped is None:
                out.append(T.Diagnostic(
                    range=rng, severity=T.DiagnosticSeverity.Hint, source=NAME, code=s.rule,
                    message=f"traced without a leak in the last trace ({r.trace.taken}): acquired {s.acquired}, "
                            f"released {s.released}", data={"node_id": nid, "trace": True}))
        return out

    # ---- code actions

    def workspace_edit(self, r: FileResult, new: bytes) -> T.WorkspaceEdit | None:
        rep = line_replacement(r.src, new)
        if rep is None:
            return None
        idx = LineIndex(r.src, self.encoding())
        edit = T.TextEdit(self._range(idx, rep[0], rep[1]), rep[2].decode("utf-8", "replace"))
        caps = self.client_capabilities.workspace
        if caps and caps.workspace_edit and caps.workspace_edit.document_changes:
            return T.WorkspaceEdit(document_changes=[T.TextDocumentEdit(
                T.OptionalVersionedTextDocumentIdentifier(uri=r.uri, version=r.version), [edit])])
        return T.WorkspaceEdit(changes={r.uri: [edit]})

    def can_resolve_edit(self) -> bool:
        ca = self.client_capabilities.text_document.code_action if self.client_capabilities.text_document else None
        rs = ca.resolve_support if ca is not None else None
        return bool(rs and "edit" in rs.properties)

    def fill(self, action: T.CodeAction, r: FileResult) -> T.CodeAction:
        """The action's edit, from the fix pipeline."""
        data = action.data or {}
        try:
            if data.get("all"):
                new = self.session.fixed_all(r)
            else:
                fd = r.finding(data.get("node_id", ""))
                new = self.session.fixed_source(r, fd) if fd is not None else None
        except Exception as e:  # noqa: BLE001 - e.g. gofmt refused the result: no edit, said
            self.say("error", f"{r.path}: no fix: {type(e).__name__}: {e}")
            new = None
        if new is not None:
            action.edit = self.workspace_edit(r, new)
        if action.edit is None:
            action.disabled = T.CodeActionDisabledReason("the fix does not apply to the current text")
        return action

    def code_actions(self, params: T.CodeActionParams) -> list[T.CodeAction] | None:
        path = _doc_path(params.text_document.uri)
        if not path or path not in self.session.buffers:
            return None
        self.flush(path)
        r = self.session.result(path)
        if r is None or r.notice:
            return []
        only = params.context.only
        want_quick = not only or any(_kind_matches(T.CodeActionKind.QuickFix.value, k) for k in only)
        want_all = not only or any(_kind_matches(FIX_ALL, k) for k in only)
        idx = LineIndex(r.src, self.encoding())
        lo = idx.offset(params.range.start.line, params.range.start.character)
        hi = idx.offset(params.range.end.line, params.range.end.character)
        mine = {d.data.get("node_id"): d for d in self.published.get(r.uri, ())
                if isinstance(d.data, dict) and not d.data.get("trace")}
        lazy = self.can_resolve_edit()
        out = []
        if want_quick:
            for fd in r.findings:
                if not (fd.fixable and r.fixable and fd.path == fd.origin) or not _overlaps(fd, lo, hi, idx):
                    continue
                sugg = fd.fix.suggestion
                a = T.CodeAction(
                    title=f"{'Suggestion: ' if sugg else 'Fix: '}{fd.fix.message} ({fd.rule})",
                    kind=T.CodeActionKind.QuickFix, is_preferred=not sugg,
                    diagnostics=[mine[fd.node_id]] if fd.node_id in mine else None,
                    data={"uri": r.uri, "node_id": fd.node_id})
                out.append(a if lazy else self.fill(a, r))
        if want_all:
            n = len(self.session.fix_all_findings(r))
            if n:
                a = T.CodeAction(title=f"Fix all {NAME} findings in this file ({n})", kind=FIX_ALL,
                                 data={"uri": r.uri, "all": True})
                out.append(a if lazy else self.fill(a, r))
        return [a for a in out if lazy or a.edit is not None]

    def resolve(self, action: T.CodeAction) -> T.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        path = _doc_path(data.get("uri"))
        if not path or path not in self.session.buffers:
            return action
        self.flush(path)
        r = self.session.result(path)
        if r is None or r.notice:
            return action
        return self.fill(action, r)

    # ---- hover

    def hover(self, params: T.HoverParams) -> T.Hover | None:
        path = _doc_path(params.text_document.uri)
        if not path or path not in self.session.buffers:
            return None
        self.flush(path)
        r = self.session.result(path)
        if r is None or r.notice or r.run is None:
            return None
        idx = LineIndex(r.src, self.encoding())
        at = idx.offset(params.position.line, params.position.character)
        hits = [fd for fd in r.findings if fd.start <= at <= fd.end] or \
            [fd for fd in r.findings if idx.position(fd.start)[0] == params.position.line]
        if not hits:
            line = idx.go_line(idx.offset(params.position.line, 0))  # the trace counts Go's lines
            s = next((s for s in r.sites.values() if s.line == line), None)
            return self._hover_site(r, s) if s is not None else None
        parts = []
        for fd in hits:
            try:
                text = self.session.explain(r, fd)
            except Exception as e:  # noqa: BLE001 - e.g. gofmt refused the fixed file: the rest still shows
                self.say("error", f"{r.path}: explain {fd.node_id}: {type(e).__name__}: {e}")
                text = f"{fd.node_id}: {fd.rule} ({fd.severity})\n  message:  {fd.message}\n"
            site = r.sites.get(fd.node_id)
            if site is not None and r.trace is not None:
                text += _site_text(r, site)
            parts.append(text)
        return T.Hover(contents=self._markup("\n".join(parts)), range=self._range(idx, hits[0].start, hits[0].end))

    def _hover_site(self, r: FileResult, s) -> T.Hover:
        return T.Hover(contents=self._markup(f"{s.node_id}: {s.rule}\n" + _site_text(r, s)))

    def _markup(self, text: str) -> T.MarkupContent:
        td = self.client_capabilities.text_document
        fmts = td.hover.content_format if td and td.hover and td.hover.content_format else [T.MarkupKind.Markdown]
        if T.MarkupKind.Markdown in fmts:
            return T.MarkupContent(T.MarkupKind.Markdown, "```text\n" + text.replace("```", "`\u200b``") + "```\n")
        return T.MarkupContent(T.MarkupKind.PlainText, text)

    # ---- settings and files

    def apply_settings(self, raw, base: Settings) -> None:
        s, problems = Settings.parse(raw, base)
        for p in problems:
            self.say("warning", p)
        self.session.set_settings(s)


def _kind_matches(ours: str, asked: str) -> bool:
    return ours == asked or ours.startswith(asked + ".")


def _overlaps(fd, lo: int, hi: int, idx: LineIndex) -> bool:
    if fd.start <= hi and lo <= fd.end:
        return True
    return idx.position(fd.start)[0] <= idx.position(lo)[0] <= idx.position(fd.end)[0]


def _site_text(r: FileResult, s) -> str:
    lines = [f"  last trace ({r.trace.taken}, {r.trace.path}):"]
    if s.dropped is not None:
        lines.append(f"    errors dropped: {s.dropped}")
    else:
        leaked = s.open + (s.collected_open or 0)
        lines.append(f"    acquired {s.acquired}, released {s.released}, still open at the end {s.open}, collected "
                     f"open {'-' if s.collected_open is None else s.collected_open}"
                     + (f": leaked {leaked} times" if s.leaking else ": no leak"))
    return "\n".join(lines) + "\n"


def _doc_path(uri) -> str | None:
    """The absolute, normalised path of a file: URI (the key of the session's buffers); None
    for another scheme."""
    if not isinstance(uri, str) or not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return os.path.abspath(path) if path else None


def _go_document(uri: str, language: str | None = None) -> str | None:
    """The path of a Go document on disk (file: URI, .go or language go); None for others."""
    path = _doc_path(uri)
    if not path:
        return None
    if path.endswith(".go") or (language == "go" and not os.path.isdir(path)):
        return path
    return None


def build() -> RehabServer:
    server = RehabServer()

    @server.feature(T.INITIALIZE)
    def initialize(ls: RehabServer, params: T.InitializeParams):
        ls.init_settings, problems = Settings.parse(params.initialization_options)
        for p in problems:
            ls.say("warning", p)
        ls.session.set_settings(ls.init_settings)

    @server.feature(T.INITIALIZED)
    async def initialized(ls: RehabServer, params: T.InitializedParams):
        caps = ls.client_capabilities.workspace
        w = caps.did_change_watched_files if caps else None
        if w and w.dynamic_registration:
            try:
                await ls.client_register_capability_async(T.RegistrationParams(registrations=[T.Registration(
                    id=f"{NAME}-watch", method=T.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=T.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[T.FileSystemWatcher(glob_pattern=g) for g in _WATCH]))]))
            except Exception as e:  # noqa: BLE001 - no watching: the stat checks still see config and trace
                ls.say("log", f"file watching not registered: {e}")

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RehabServer, params: T.DidOpenTextDocumentParams):
        doc = params.text_document
        path = _go_document(doc.uri, doc.language_id)
        if path is None:
            return
        ls.session.open(path, doc.uri, doc.version, doc.text)
        ls.schedule(os.path.dirname(path), 0)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RehabServer, params: T.DidChangeTextDocumentParams):
        path = _doc_path(params.text_document.uri)
        b = ls.session.buffers.get(path) if path else None
        if b is None:
            return
        # applied here, to the bytes we hold, with LSP's line endings (pygls' own copy splits
        # lines at U+2028, a form feed and more: an edit after one would land elsewhere)
        enc, src = ls.encoding(), b.src
        for ch in params.content_changes:
            rng = getattr(ch, "range", None)
            src = apply_change(src, ch.text, (rng.start.line, rng.start.character) if rng else None,
                               (rng.end.line, rng.end.character) if rng else None, enc)
        ls.session.change(path, params.text_document.version, src)
        ls.schedule(os.path.dirname(path), ls.session.settings.debounce_ms / 1000)

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: RehabServer, params: T.DidSaveTextDocumentParams):
        path = _doc_path(params.text_document.uri)
        if not path:
            return
        ls.session.disk_changed(path)
        if path.endswith(".go") or os.path.basename(path) in (".rehab.yaml", "go.mod"):
            ls.run_all()  # a Go file: the open packages that import its package see it too
        elif path in ls.session.buffers:
            ls.schedule(os.path.dirname(path), 0)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RehabServer, params: T.DidCloseTextDocumentParams):
        path = _doc_path(params.text_document.uri)
        b = ls.session.buffers.get(path) if path else None
        if b is None:
            return
        ls.session.close(path)
        ls.published.pop(b.uri, None)
        ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=b.uri, diagnostics=[]))
        d = os.path.dirname(path)
        if any(os.path.dirname(p) == d for p in ls.session.buffers):
            ls.schedule(d, 0)  # its package's other open files: from disk now

    @server.feature(T.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: RehabServer, params: T.DidChangeConfigurationParams):
        ls.apply_settings(params.settings, ls.init_settings)
        ls.run_all()

    @server.feature(T.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: RehabServer, params: T.DidChangeWatchedFilesParams):
        dirs, everything = set(), False
        for ch in params.changes:
            path = _doc_path(ch.uri)
            if not path:
                continue
            if path.endswith(".json") and not ls.session.is_trace(path):
                continue  # **/*.json is watched for the trace reports only
            ls.session.disk_changed(path)
            if path.endswith(".go"):
                dirs.add(os.path.dirname(path))
                everything = True  # a package others import may have changed
            else:
                everything = True  # a config, go.mod or a trace
        if everything:
            ls.run_all()
        else:
            for d in dirs:
                ls.schedule(d, 0)

    @server.feature(T.TEXT_DOCUMENT_CODE_ACTION, T.CodeActionOptions(
        code_action_kinds=[T.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=True))
    def code_action(ls: RehabServer, params: T.CodeActionParams):
        return ls.code_actions(params)

    @server.feature(T.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: RehabServer, params: T.CodeAction):
        return ls.resolve(params)

    @server.feature(T.TEXT_DOCUMENT_HOVER)
    def hover(ls: RehabServer, params: T.HoverParams):
        return ls.hover(params)

    return server


def main(args=None) -> int:
    """Serve on stdin/stdout until `exit` (0 after `shutdown`, 1 without: the LSP rule)."""
    import gc

    gc.set_threshold(10_000, 20, 20)  # a long-lived process (the CLI's short_lived_gc is for one-shot runs)
    # The protocol owns stdin and stdout. Everything else (a child process that inherits them,
    # a stray print) gets /dev/null and stderr instead, so nothing can eat or corrupt a message.
    proto_in = os.fdopen(os.dup(0), "rb")  # buffered: read(n) returns n bytes (or EOF)
    proto_out = os.fdopen(os.dup(1), "wb")  # flushed after each message (pygls' StdoutWriter)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format=f"{NAME} lsp: %(levelname)s %(message)s")
    server = build()
    try:
        server.start_io(proto_in, proto_out)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 0
    # the input ended without `exit`: the client is gone
    return 0 if server.protocol._shutdown else 1
