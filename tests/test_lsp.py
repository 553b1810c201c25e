"""`toolexec-rehab lsp`, driven over stdio by a real LSP client (pytest-lsp), as an editor would.

Every expectation comes from the commands themselves: the diagnostics must be where
`check --format json` puts the findings (converted here to UTF-16 columns), the quick fix
must give what `fix --write` writes, the hover must hold what `explain` prints, and the
trace report is written by runtime.report.to_json, the function `trace --json` uses.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_lsp")

from lsprotocol import types as T  # noqa: E402
from pygls.workspace import TextDocument  # noqa: E402
from pytest_lsp import ClientServerConfig  # noqa: E402

BIN = Path(sys.executable).parent / "toolexec-rehab"
WAIT = 60

GO_MOD = "module example.com/lspmod\n\ngo 1.22\n"
# Read leaks a file (fixable; a name with non-ASCII text before the end of the call, for the
# UTF-16 columns), Lines hands the file to its caller inside a scanner (reported, not fixed).
A_GO = """\
package lspmod

import (
	"bufio"
	"io"
	"os"
)

// Read returns the file's bytes.
func Read(name string) ([]byte, error) {
	f, err := os.Open("dé😀" + name) // the file
	if err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// Lines returns a scanner over the file.
func Lines(name string) (*bufio.Scanner, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	s := bufio.NewScanner(f)
	return s, nil
}
"""
B_GO = """\
package lspmod

import "strings"

// Upper is here so that the package has a second file, read from disk.
func Upper(s string) string { return strings.ToUpper(s) }
"""


def env(tmp: Path, **extra) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("REHAB_") and k != "GOFLAGS"}
    e["XDG_CONFIG_HOME"] = str(tmp / "xdg-config")  # no user config of ours
    e["REHAB_AUDIT_LOG"] = str(tmp / "audit.jsonl")
    e.update(extra)
    return e


def cli(tmp: Path, *args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolexec_rehab", *args], cwd=cwd, env=env(tmp, REHAB_SERVER="off"),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def mod(tmp_path) -> Path:
    d = tmp_path / "mod"
    d.mkdir()
    (d / "go.mod").write_text(GO_MOD)
    (d / "a.go").write_text(A_GO)
    (d / "b.go").write_text(B_GO)
    return d


def uri(p: Path) -> str:
    return p.resolve().as_uri()


async def start(tmp: Path, launcher: bool = False, init: bool = True, options=None, caps=None):
    cmd = [str(BIN), "lsp"] if launcher else [sys.executable, "-m", "toolexec_rehab", "lsp"]
    client = await ClientServerConfig(server_command=cmd, server_env=env(tmp)).start()
    # every publishDiagnostics, in order (waiting for the next one could miss one that arrives
    # in the same read as the one before)
    client.published, client.seen, client.new = [], 0, asyncio.Event()
    handle = client.protocol._handle_notification

    def record(method, params):
        if method == T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
            client.published.append(params)
            client.new.set()
        return handle(method, params)

    client.protocol._handle_notification = record
    if init:
        await client.initialize_session(T.InitializeParams(
            capabilities=caps or T.ClientCapabilities(), root_uri=tmp.as_uri(), initialization_options=options))
    return client


async def diagnostics(client, u: str, version: int | None = None) -> list[T.Diagnostic]:
    """The next diagnostics published for u (for that version, when given), after those taken."""
    async def wait():
        while True:
            while client.seen < len(client.published):
                p = client.published[client.seen]
                client.seen += 1
                if p.uri == u and (version is None or p.version == version):
                    return list(p.diagnostics)
            client.new.clear()
            await client.new.wait()
    return await asyncio.wait_for(wait(), WAIT)


def open_doc(client, path: Path, text: str | None = None, version: int = 1, language: str = "go") -> TextDocument:
    text = path.read_text() if text is None else text
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(uri(path), language, version, text)))
    return TextDocument(uri(path), text, version=version)


def change(client, doc: TextDocument, edits: list[T.TextEdit]) -> None:
    """Apply edits to our copy of the document and send them as one didChange."""
    changes = [T.TextDocumentContentChangePartial(range=e.range, text=e.new_text)
               for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True)]
    for c in changes:
        doc.apply_change(c)
    doc.version = (doc.version or 0) + 1
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        T.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version), changes))


def edits_of(action: T.CodeAction, u: str) -> list[T.TextEdit]:
    we = action.edit
    if we.document_changes:
        return [e for dc in we.document_changes if dc.text_document.uri == u for e in dc.edits]
    return list(we.changes[u])


def utf16(line: str, byte_col: int) -> int:
    """A 1-based byte column of a line -> the 0-based UTF-16 column."""
    return len(line.encode()[:byte_col - 1].decode().encode("utf-16-le")) // 2


async def stop(client) -> int:
    await client.shutdown_session()
    rc = client._server.returncode
    await client.stop()
    return rc


# ------------------------------------------------------------------ the main path


@pytest.mark.asyncio
async def test_diagnostics_quick_fix_and_the_fixed_module_builds(tmp_path, mod):
    check = cli(tmp_path, "check", "--format", "json", "./...", cwd=mod)
    assert check.returncode == 1, check.stderr
    want = {f["node_id"]: f for f in json.loads(check.stdout)}
    assert {f["rule"] for f in want.values()} == {"file-not-closed"} and len(want) == 2, want
    fixable = next(f for f in want.values() if f["fixable"])
    escaping = next(f for f in want.values() if not f["fixable"])

    client = await start(tmp_path, caps=T.ClientCapabilities(workspace=T.WorkspaceClientCapabilities(
        workspace_edit=T.WorkspaceEditClientCapabilities(document_changes=True))))
    a = mod / "a.go"
    doc = open_doc(client, a)
    diags = await diagnostics(client, doc.uri, 1)
    got = {d.data["node_id"]: d for d in diags}
    assert set(got) == set(want), diags
    lines = A_GO.splitlines()
    for nid, f in want.items():
        d = got[nid]
        assert (d.code, d.source) == ("file-not-closed", "toolexec-rehab")
        assert d.range.start == T.Position(f["line"] - 1, utf16(lines[f["line"] - 1], f["column"]))
        assert d.range.end == T.Position(f["end_line"] - 1, utf16(lines[f["end_line"] - 1], f["end_column"]))
        assert d.message == f["message"]
        assert Path(d.code_description.href.removeprefix("file://")).read_text().startswith("id: file-not-closed")
        assert any(r.message == "acquired here" for r in d.related_information)
    # the unfixed one says why, at the line where the value escapes
    why = [r for r in got[escaping["node_id"]].related_information if r.message.startswith("not fixed:")]
    assert len(why) == 1 and escaping["why_no_fix"] in why[0].message, got[escaping["node_id"]]
    assert why[0].location.range.start.line == lines.index("\treturn s, nil")

    # a quick fix for the fixable finding only
    everything = T.Range(T.Position(0, 0), T.Position(len(lines), 0))
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        T.TextDocumentIdentifier(doc.uri), everything, T.CodeActionContext(diagnostics=diags)))
    quick = [x for x in actions if x.kind == T.CodeActionKind.QuickFix]
    assert [x.data["node_id"] for x in quick] == [fixable["node_id"]], actions
    assert quick[0].diagnostics[0].data["node_id"] == fixable["node_id"] and quick[0].is_preferred
    fix_all = [x for x in actions if x.kind == "source.fixAll.toolexec-rehab"]
    assert len(fix_all) == 1

    # the edit is what `fix --write` writes (a copy of the module, fixed by the command)
    copy = tmp_path / "copy"
    shutil.copytree(mod, copy)
    w = cli(tmp_path, "fix", "--write", "./...", cwd=copy)
    assert w.returncode == 0, w.stderr
    expected = (copy / "a.go").read_text()
    assert expected != A_GO
    preview = TextDocument(doc.uri, doc.source)
    for e in sorted(edits_of(fix_all[0], doc.uri), key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        preview.apply_change(T.TextDocumentContentChangePartial(range=e.range, text=e.new_text))
    assert preview.source == expected

    change(client, doc, edits_of(quick[0], doc.uri))
    assert doc.source == expected  # one fixable finding: the quick fix is the whole fix
    after = await diagnostics(client, doc.uri, doc.version)
    assert {d.data["node_id"] for d in after} == {escaping["node_id"]}, after

    # and the fixed module builds
    a.write_text(doc.source)
    b = subprocess.run(["go", "build", "./..."], cwd=mod, env=env(tmp_path), capture_output=True, text=True,
                       timeout=300)
    assert b.returncode == 0, b.stderr
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_resolved_quick_fix_and_hover_is_explain(tmp_path, mod):
    """A client that resolves edits later gets them from codeAction/resolve; hover shows what
    `explain <ast-node-id>` prints."""
    caps = T.ClientCapabilities(text_document=T.TextDocumentClientCapabilities(code_action=T.CodeActionClientCapabilities(
        resolve_support=T.ClientCodeActionResolveOptions(properties=["edit"]))))
    client = await start(tmp_path, caps=caps)
    doc = open_doc(client, mod / "a.go")
    diags = await diagnostics(client, doc.uri, 1)
    fixable = next(d for d in diags if d.data["fixable"])
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        T.TextDocumentIdentifier(doc.uri), fixable.range, T.CodeActionContext(diagnostics=[fixable],
                                                                               only=[T.CodeActionKind.QuickFix])))
    assert len(actions) == 1 and actions[0].edit is None
    resolved = await client.code_action_resolve_async(actions[0])
    new = edits_of(resolved, doc.uri)
    assert len(new) == 1 and new[0].new_text.strip() == "defer f.Close()", resolved

    for d in diags:
        hover = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(doc.uri),
                                                                     d.range.start))
        r = cli(tmp_path, "explain", d.data["node_id"], cwd=mod)
        assert r.returncode == 0, r.stderr
        assert r.stdout in hover.contents.value, (r.stdout, hover.contents.value)
        assert hover.range == d.range
    nothing = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(doc.uri),
                                                                   T.Position(0, 0)))
    assert nothing is None
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_trace_evidence_and_settings(tmp_path, mod):
    from toolexec_rehab.runtime.report import SiteCount, to_json

    client = await start(tmp_path)
    doc = open_doc(client, mod / "a.go")
    diags = await diagnostics(client, doc.uri, 1)
    leak = next(d for d in diags if d.data["fixable"])
    quiet = next(d for d in diags if not d.data["fixable"])
    assert all(d.severity == T.DiagnosticSeverity.Warning for d in diags)

    a = str(mod / "a.go")
    sites = [SiteCount(leak.data["node_id"], "file-not-closed", a, leak.range.start.line + 1, acquired=40,
                       released=3, open=37, collected_open=0),
             SiteCount(quiet.data["node_id"], "file-not-closed", a, quiet.range.start.line + 1, acquired=5,
                       released=5, open=0, collected_open=0)]
    (mod / ".rehab").mkdir()
    (mod / ".rehab" / "trace.json").write_text(json.dumps(to_json(sites, "/bin/svc", 123, 1.5), indent=2))
    client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(
        [T.FileEvent(uri(mod / ".rehab" / "trace.json"), T.FileChangeType.Created)]))
    diags = await diagnostics(client, doc.uri, 1)
    by = {}
    for d in diags:
        by.setdefault(d.data["node_id"], []).append(d)
    [confirmed] = by[leak.data["node_id"]]
    assert confirmed.severity == T.DiagnosticSeverity.Error
    assert "leaked 37 times in the last trace (20" in confirmed.message and leak.message in confirmed.message
    static, hint = sorted(by[quiet.data["node_id"]], key=lambda d: d.severity)
    assert static.severity == T.DiagnosticSeverity.Warning and static.message == quiet.message
    assert hint.severity == T.DiagnosticSeverity.Hint and "without a leak" in hint.message
    hover = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(doc.uri),
                                                                 leak.range.start))
    assert "acquired 40, released 3" in hover.contents.value

    # the trace path is a setting: pointing it elsewhere drops the evidence
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(
        settings={"toolexec-rehab": {"trace": "elsewhere.json"}}))
    diags = await diagnostics(client, doc.uri, 1)
    assert sorted(d.severity for d in diags) == [T.DiagnosticSeverity.Warning] * 2, diags
    # and so are the rules: with file-not-closed off, the trace's evidence stays, on its own
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(
        settings={"toolexec-rehab": {"rules": "body-not-closed"}}))
    diags = await diagnostics(client, doc.uri, 1)
    assert sorted((d.severity, d.data["node_id"]) for d in diags) == [
        (T.DiagnosticSeverity.Warning, leak.data["node_id"]), (T.DiagnosticSeverity.Hint, quiet.data["node_id"])]
    assert "leaked 37 times" in diags[0].message + diags[1].message
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(
        settings={"toolexec-rehab": {"rules": "body-not-closed", "trace": "elsewhere.json"}}))
    assert await diagnostics(client, doc.uri, 1) == []
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_rehab_yaml_edits_are_respected(tmp_path, mod):
    client = await start(tmp_path)
    doc = open_doc(client, mod / "a.go")
    assert len(await diagnostics(client, doc.uri, 1)) == 2
    cfg = mod / ".rehab.yaml"
    cfg.write_text("rules:\n  file-not-closed: off\n")
    client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(
        [T.FileEvent(uri(cfg), T.FileChangeType.Created)]))
    assert await diagnostics(client, doc.uri, 1) == []
    # a bad config: said on its line, and the server goes on
    cfg.write_text("rules:\n  file-not-closed: off\n  no-such-rule: on\n")
    client.text_document_did_save(T.DidSaveTextDocumentParams(T.TextDocumentIdentifier(uri(cfg))))
    bad = await diagnostics(client, uri(cfg))
    assert len(bad) == 1 and bad[0].range.start.line == 2 and "no-such-rule" in bad[0].message, bad
    cfg.unlink()
    client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(
        [T.FileEvent(uri(cfg), T.FileChangeType.Deleted)]))
    assert len(await diagnostics(client, doc.uri, 1)) == 2
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_a_config_made_trustworthy_by_chmod_is_read(tmp_path, mod):
    """A config writable by others is refused; `chmod` changes only its mode (and ctime): the
    next analysis reads it."""
    cfg = mod / ".rehab.yaml"
    cfg.write_text("rules:\n  file-not-closed: off\n")
    cfg.chmod(0o666)
    client = await start(tmp_path)
    doc = open_doc(client, mod / "a.go")
    [refused] = await diagnostics(client, doc.uri, 1)
    assert "refusing to read" in refused.message, refused
    cfg.chmod(0o644)
    change(client, doc, [T.TextEdit(T.Range(T.Position(0, 0), T.Position(0, 0)), "// edited\n")])
    assert await diagnostics(client, doc.uri, 2) == []
    assert await stop(client) == 0


# ------------------------------------------------------------------ bad input


@pytest.mark.asyncio
async def test_a_syntax_error_is_one_diagnostic_at_the_error(tmp_path, mod):
    client = await start(tmp_path)
    broken = A_GO.replace("\treturn io.ReadAll(f)\n", "\treturn io.ReadAll(f\n")
    doc = open_doc(client, mod / "a.go", broken)
    diags = await diagnostics(client, doc.uri, 1)
    g = subprocess.run(["gofmt", "-e"], input=broken, capture_output=True, text=True)
    line, col = (int(x) for x in g.stderr.split(":")[1:3])  # <standard input>:LINE:COL: ...
    assert len(diags) == 1 and diags[0].code == "syntax", diags
    assert diags[0].range.start == T.Position(line - 1, utf16(broken.splitlines()[line - 1], col))
    # still serving: the fix of the syntax error brings the findings back
    change(client, doc, [T.TextEdit(T.Range(T.Position(0, 0), T.Position(len(broken.splitlines()), 0)), A_GO)])
    assert len(await diagnostics(client, doc.uri, 2)) == 2
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_requests_before_initialize_get_an_error(tmp_path, mod):
    client = await start(tmp_path, init=False)
    client.capabilities = T.ClientCapabilities()  # else the test client itself refuses to send before initialize
    open_doc(client, mod / "a.go")  # a notification before initialize: dropped
    with pytest.raises(Exception) as e:
        await asyncio.wait_for(client.text_document_hover_async(
            T.HoverParams(T.TextDocumentIdentifier(uri(mod / "a.go")), T.Position(0, 0))), WAIT)
    assert getattr(e.value, "code", None) == -32002, e.value
    await client.initialize_session(T.InitializeParams(capabilities=T.ClientCapabilities(), root_uri=mod.as_uri()))
    doc = open_doc(client, mod / "a.go")
    assert len(await diagnostics(client, doc.uri, 1)) == 2
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_a_file_outside_any_module_and_a_non_go_document_get_nothing(tmp_path, mod):
    client = await start(tmp_path)
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "x.go").write_text(A_GO)
    (mod / "notes.txt").write_text("func F() { os.Open(x) }\n")
    open_doc(client, loose / "x.go")
    open_doc(client, mod / "notes.txt", language="plaintext")
    doc = open_doc(client, mod / "a.go")  # a Go file in the module: analysed, after the others
    assert len(await diagnostics(client, doc.uri, 1)) == 2
    seen = {p.uri: list(p.diagnostics) for p in client.published}
    assert seen.get(uri(loose / "x.go"), []) == [] and uri(mod / "notes.txt") not in seen, seen
    for u in (uri(loose / "x.go"), uri(mod / "notes.txt")):
        assert await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(u),
                                                                    T.Position(0, 0))) is None
        acts = await client.text_document_code_action_async(T.CodeActionParams(
            T.TextDocumentIdentifier(u), T.Range(T.Position(0, 0), T.Position(1, 0)), T.CodeActionContext([])))
        assert not acts
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_a_file_deleted_while_open_is_still_analysed_from_the_buffer(tmp_path, mod):
    client = await start(tmp_path)
    doc = open_doc(client, mod / "a.go")
    assert len(await diagnostics(client, doc.uri, 1)) == 2
    (mod / "a.go").unlink()
    client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(
        [T.FileEvent(doc.uri, T.FileChangeType.Deleted)]))
    assert len(await diagnostics(client, doc.uri, 1)) == 2
    change(client, doc, [T.TextEdit(T.Range(T.Position(0, 0), T.Position(0, 0)), "// still here\n")])
    diags = await diagnostics(client, doc.uri, 2)
    assert len(diags) == 2 and min(d.range.start.line for d in diags) == A_GO.splitlines().index(
        '\tf, err := os.Open("dé😀" + name) // the file') + 1
    hover = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(doc.uri),
                                                                 diags[0].range.start))
    assert hover is not None and diags[0].data["node_id"] in hover.contents.value
    client.text_document_did_close(T.DidCloseTextDocumentParams(T.TextDocumentIdentifier(doc.uri)))
    assert await diagnostics(client, doc.uri) == []
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_a_huge_file_is_not_analysed_and_says_so(tmp_path, mod):
    client = await start(tmp_path, options={"toolexec-rehab": {"maxFileBytes": 4096}})
    big = A_GO + "".join(f"\n// filler line {i} to pass the size limit of the test\n" for i in range(200))
    doc = open_doc(client, mod / "a.go", big)
    diags = await diagnostics(client, doc.uri, 1)
    assert len(diags) == 1 and "over the limit of 4 KiB" in diags[0].message, diags
    assert diags[0].severity == T.DiagnosticSeverity.Information
    small = open_doc(client, mod / "b.go")
    assert await diagnostics(client, small.uri, 1) == []  # its package, without the big file
    assert await stop(client) == 0


_EOL = re.compile(r"\r\n|\r|\n")


def lsp_offset(text: str, pos: T.Position) -> int:
    """The str index of an LSP position, as an editor counts: lines end at \n, \r\n or a lone
    \r (nothing else), columns in UTF-16 units."""
    bounds = [(0, 0)] + [(m.start(), m.end()) for m in _EOL.finditer(text)] + [(len(text), len(text))]
    if pos.line + 1 >= len(bounds):
        return len(text)
    start, end = bounds[pos.line][1], bounds[pos.line + 1][0]
    units = 0
    for i, c in enumerate(text[start:end]):
        if units >= pos.character:
            return start + i
        units += 2 if ord(c) > 0xFFFF else 1
    return end


def lsp_apply(text: str, edits) -> str:
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[:lsp_offset(text, e.range.start)] + e.new_text + text[lsp_offset(text, e.range.end):]
    return text


@pytest.mark.asyncio
async def test_line_ends_are_the_editors_in_edits_diagnostics_fixes_and_hover(tmp_path, mod):
    """A U+2028 or a form feed in a comment does not end a line for an editor (str.splitlines
    says it does), a lone CR does (Go's line numbers do not count it): incremental edits after
    them, the diagnostics' lines, the quick fix and the hover's source lines all agree."""
    src = A_GO.replace("// Read returns the file's bytes.", "// Read returns\u2028 the file's\x0c bytes,\r one by one.")
    (mod / "a.go").write_bytes(src.encode())
    client = await start(tmp_path)
    doc = open_doc(client, mod / "a.go", src)
    lines = _EOL.split(src)
    read_at = next(i for i, x in enumerate(lines) if 'os.Open("dé' in x)
    diags = await diagnostics(client, doc.uri, 1)
    assert sorted(d.range.start.line for d in diags)[0] == read_at, diags
    # an edit two lines below the finding's line: it stays where it is
    text = lsp_apply(src, [T.TextEdit(T.Range(T.Position(read_at + 2, 0), T.Position(read_at + 2, 0)), "\t// hi\n")])
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        T.VersionedTextDocumentIdentifier(version=2, uri=doc.uri),
        [T.TextDocumentContentChangePartial(range=T.Range(T.Position(read_at + 2, 0), T.Position(read_at + 2, 0)),
                                            text="\t// hi\n")]))
    diags = await diagnostics(client, doc.uri, 2)
    read = min(diags, key=lambda d: d.range.start.line)
    assert read.range.start.line == read_at, diags
    hover = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(doc.uri), read.range.start))
    marked = [x for x in hover.contents.value.splitlines() if x.startswith("   >")]
    assert len(marked) == 1 and 'os.Open("dé😀" + name)' in marked[0], hover.contents.value
    [fix] = await client.text_document_code_action_async(T.CodeActionParams(
        T.TextDocumentIdentifier(doc.uri), read.range, T.CodeActionContext([read], only=[T.CodeActionKind.QuickFix])))
    fixed = lsp_apply(text, edits_of(fix, doc.uri))
    (mod / "a.go").write_bytes(text.encode())  # what `fix --write` makes of the same text
    assert cli(tmp_path, "fix", "--write", "./...", cwd=mod).returncode == 0
    assert fixed.encode() == (mod / "a.go").read_bytes()
    assert await stop(client) == 0


SUB_SQL = 'package sub\n\nimport "database/sql"\n\nfunc DB() *sql.DB { return nil }\n'
SUB_FAKE = 'package sub\n\ntype Fake struct{}\n\nfunc (Fake) Query(string) (int, error) { return 0, nil }\n\n' \
    'func DB() Fake { return Fake{} }\n'
USES_SUB = """\
package lspmod

import "example.com/lspmod/sub"

// Use queries through sub.DB: rows-not-closed when that is a *sql.DB.
func Use() error {
	rows, err := sub.DB().Query("select 1")
	if err != nil {
		return err
	}
	_ = rows
	return nil
}
"""


@pytest.mark.asyncio
async def test_the_modules_other_packages_are_never_stale(tmp_path, mod):
    """The types of the module's other packages come from disk: saving one re-analyses the
    open files of the packages that import it, a change no watcher told us about is seen at
    the next analysis, and another module with the same module path has its own."""
    (mod / "sub").mkdir()
    (mod / "sub" / "s.go").write_text(SUB_FAKE)
    (mod / "c.go").write_text(USES_SUB)
    client = await start(tmp_path)
    doc = open_doc(client, mod / "c.go")
    assert await diagnostics(client, doc.uri, 1) == []
    sub = open_doc(client, mod / "sub" / "s.go")
    (mod / "sub" / "s.go").write_text(SUB_SQL)
    change(client, sub, [T.TextEdit(T.Range(T.Position(0, 0), T.Position(99, 0)), SUB_SQL)])
    client.text_document_did_save(T.DidSaveTextDocumentParams(T.TextDocumentIdentifier(sub.uri)))
    assert [d.code for d in await diagnostics(client, doc.uri, 1)] == ["rows-not-closed"]
    # on disk, unannounced (a checkout, a generator): the next analysis of c.go sees it
    client.text_document_did_close(T.DidCloseTextDocumentParams(T.TextDocumentIdentifier(sub.uri)))
    (mod / "sub" / "s.go").write_text(SUB_FAKE)
    change(client, doc, [T.TextEdit(T.Range(T.Position(0, 0), T.Position(0, 0)), "// edited\n")])
    assert await diagnostics(client, doc.uri, 2) == []
    # a copy of the module with the other sub: its own types, not the first module's
    (mod / "sub" / "s.go").write_text(SUB_SQL)
    change(client, doc, [T.TextEdit(T.Range(T.Position(0, 0), T.Position(1, 0)), "")])
    assert [d.code for d in await diagnostics(client, doc.uri, 3)] == ["rows-not-closed"]
    other = tmp_path / "other"
    shutil.copytree(mod, other)
    (other / "sub" / "s.go").write_text(SUB_FAKE)
    odoc = open_doc(client, other / "c.go")
    assert await diagnostics(client, odoc.uri, 1) == []
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_a_rule_added_to_a_rule_directory_is_used(tmp_path, mod, root):
    """The config's rule_dirs are read again when a file in them changes (not only when the
    config file does): a rule added there reports at the next analysis."""
    (mod / "rehab-rules").mkdir()
    (mod / ".rehab.yaml").write_text("rule_dirs: [rehab-rules]\n")
    client = await start(tmp_path)
    doc = open_doc(client, mod / "a.go")
    assert [d.code for d in await diagnostics(client, doc.uri, 1)] == ["file-not-closed"] * 2
    rule = open(os.path.join(root, "patterns", "file-not-closed.yaml")).read()
    (mod / "rehab-rules" / "team-file-rule.yaml").write_text(
        rule.replace("id: file-not-closed", "id: team-file-rule", 1).replace("- acquires: {}",
                                                                         "- acquires: {resources: [os-file]}"))
    client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(
        [T.FileEvent(uri(mod / "rehab-rules" / "team-file-rule.yaml"), T.FileChangeType.Created)]))
    assert sorted(d.code for d in await diagnostics(client, doc.uri, 1)) == ["file-not-closed"] * 2 + \
        ["team-file-rule"] * 2
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_no_fix_for_a_link_out_of_the_module_and_any_file_uri_works(tmp_path, mod):
    """`fix --write` does not write through a symbolic link that leaves the module (someone
    else's file?): no quick fix for it either. A file: URI that is not normalised names the
    same document for every request."""
    (tmp_path / "outside").mkdir()
    c_go = A_GO.replace("func Read", "func ReadC").replace("func Lines", "func LinesC")
    (tmp_path / "outside" / "c.go").write_text(c_go)
    (mod / "c.go").symlink_to(tmp_path / "outside" / "c.go")
    w = cli(tmp_path, "fix", "--write", "./...", cwd=mod)
    assert w.returncode == 2 and "not written through" in w.stderr, w.stderr
    client = await start(tmp_path)
    u = (mod / "c.go").absolute().as_uri()
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(u, "go", 1, c_go)))
    diags = await diagnostics(client, u, 1)
    assert len(diags) == 2 and not any(d.data["fixable"] for d in diags), diags
    acts = await client.text_document_code_action_async(T.CodeActionParams(
        T.TextDocumentIdentifier(u), T.Range(T.Position(0, 0), T.Position(99, 0)), T.CodeActionContext(diags)))
    assert not acts, acts
    odd = (mod / "sub" / ".." / "a.go").as_uri()
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(odd, "go", 1, A_GO)))
    diags = await diagnostics(client, odd, 1)
    hover = await client.text_document_hover_async(T.HoverParams(T.TextDocumentIdentifier(odd), diags[0].range.start))
    assert hover is not None and diags[0].data["node_id"] in hover.contents.value
    client.text_document_did_close(T.DidCloseTextDocumentParams(T.TextDocumentIdentifier(odd)))
    assert await diagnostics(client, odd) == []
    assert await stop(client) == 0


@pytest.mark.asyncio
async def test_a_trace_that_is_not_one_is_said_and_the_findings_stay(tmp_path, mod):
    from toolexec_rehab.runtime.report import FORMAT, VERSION

    (mod / ".rehab").mkdir()
    (mod / ".rehab" / "trace.json").write_text(json.dumps({"format": FORMAT, "version": VERSION, "sites": [
        {"node_id": 7, "rule": "file-not-closed", "file": "a.go", "line": 11, "acquired": 1, "released": 0,
         "open": 1}]}))
    client = await start(tmp_path)
    doc = open_doc(client, mod / "a.go")
    assert len(await diagnostics(client, doc.uri, 1)) == 2
    assert any("trace not used" in m.message for m in client.log_messages), client.log_messages
    assert await stop(client) == 0


@pytest.mark.skipif(not BIN.exists(), reason="no installed toolexec-rehab launcher next to this Python")
@pytest.mark.asyncio
async def test_through_the_launcher_shutdown_and_exit_give_0(tmp_path, mod):
    """`toolexec-rehab lsp` (the sh launcher -> the Python entry -> cli) passes stdin and stdout through."""
    client = await start(tmp_path, launcher=True)
    doc = open_doc(client, mod / "a.go")
    assert len(await diagnostics(client, doc.uri, 1)) == 2
    assert await stop(client) == 0


def test_the_vscode_extension_starts_the_server_with_our_settings():
    """editors/vscode: its settings are the server's (plus `path`, the command it starts), and
    it starts `<path> lsp`."""
    from toolexec_rehab.lsp.session import Settings

    root = Path(__file__).resolve().parent.parent / "editors" / "vscode"
    if not root.is_dir():
        pytest.skip("no editors/vscode here (an installed package without the repository)")
    pkg = json.loads((root / "package.json").read_text())
    props = pkg["contributes"]["configuration"]["properties"]
    assert {k.removeprefix("toolexec-rehab.") for k in props} == (set(Settings.KEYS) - {"tracePath"}) | {"path"}
    defaults = {k.removeprefix("toolexec-rehab."): v.get("default") for k, v in props.items()}
    assert Settings.parse({k: v for k, v in defaults.items() if k != "path"}) == (Settings(), [])
    js = (root / pkg["main"]).read_text()
    assert 'args: ["lsp"]' in js and "vscode-languageclient/node" in js and pkg["dependencies"]["vscode-languageclient"]
    if shutil.which("node"):
        r = subprocess.run(["node", "--check", str(root / pkg["main"])], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_positions_in_every_encoding_and_the_smallest_replacement():
    """Byte offsets <-> LSP positions for the three position encodings a client may choose;
    a fixed file becomes one replacement of whole lines that gives exactly the new text."""
    from toolexec_rehab.lsp.text import LineIndex, line_replacement

    src = "package p\n\tdé😀x := 1\n".encode()
    off = src.index(b"x")
    for enc, col in (("utf-8", 8), ("utf-16", 5), ("utf-32", 4)):
        idx = LineIndex(src, enc)
        assert idx.position(off) == (1, col), enc
        assert idx.offset(1, col) == off, enc
    assert LineIndex(src).position(len(src)) == (2, 0) and LineIndex(src).offset(9, 9) == len(src)
    # LSP's line ends (CRLF, a lone CR) for positions; Go's ("\n" only) for its line numbers
    src = "a\r\n\tb\rc\u2028d\n".encode()
    idx = LineIndex(src)
    assert idx.position(src.index(b"c")) == (2, 0) and idx.offset(1, 99) == src.index(b"\r", 3)
    assert idx.position(src.index(b"d")) == (2, 2) and idx.go_lines() == 3
    assert idx.go_span(2) == (src.index(b"b"), src.index(b"\n", 3)) and idx.go_line(src.index(b"c")) == 2
    old = A_GO.encode()
    new = old.replace(b"\treturn io.ReadAll(f)\n", b"\tdefer f.Close()\n\treturn io.ReadAll(f)\n", 1)
    start, end, text = line_replacement(old, new)
    assert old[:start] + text + old[end:] == new and end - start < 40
    assert line_replacement(old, old) is None
