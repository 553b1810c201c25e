"""SARIF 2.1.0 for `check --format sarif` (GitHub code scanning accepts it).

Positions:
- Lines are the user's lines (a file with a //line header, e.g. from cgo, reports the
  original lines).
- Columns are 1-based and counted in UTF-16 code units, SARIF's default
  (`columnKind: utf16CodeUnits`, stated explicitly on the run). tree-sitter and our
  edits count bytes, so each column is converted from the UTF-8 bytes before it on
  its line. `endColumn` is exclusive, as SARIF defines it.
- Fix regions also carry `byteOffset`/`byteLength` (the exact byte range the edit
  replaces); an insertion is an empty region (start == end).

Artifact URIs are relative to `%SRCROOT%`, which `originalUriBaseIds` resolves to the
root of the git work tree around the working directory (or the working directory when
there is none). That is the path GitHub expects: relative to the repository root.
A file outside that root gets an absolute file: URI.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from .. import __version__
from ..paths import find_upward
from ..rewrite.edits import changed_lines
from ..rules.diagnostic import describe_edits

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "rehabNodeId/v1"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def source_root(start: str | None = None) -> str:
    """The git work tree holding `start` (default: cwd), else `start` itself."""
    start = os.path.abspath(start or os.getcwd())
    return find_upward(start, ".git", want_file=False) or start


def utf16_len(b: bytes) -> int:
    """Length in UTF-16 code units of UTF-8 bytes (invalid bytes count as one unit each)."""
    s = b.decode("utf-8", "replace")
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


def _column(src: bytes, offset: int) -> int:
    """1-based UTF-16 column of a byte offset."""
    start = src.rfind(b"\n", 0, offset) + 1
    return utf16_len(src[start:offset]) + 1


def _line(src: bytes, offset: int) -> int:
    return src.count(b"\n", 0, offset) + 1


def _artifact(path: str, root: str) -> dict:
    rel = os.path.relpath(path, root)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(rel.replace(os.sep, "/"), safe="/"), "uriBaseId": SRCROOT}


def _camel(rule_id: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in rule_id.split("-"))


def _rule_descriptor(lr) -> dict:
    r = lr.rule
    rationale = " ".join(r.rationale.split())
    md = [f"**{r.summary}**", "", rationale]
    for ex in r.examples:
        md += ["", f"Example{': ' + ex.name if ex.name else ''}", "", "```go", ex.before.rstrip(), "```"]
        if ex.after is not None:
            md += ["", "Fixed:", "", "```go", ex.after.rstrip(), "```"]
        else:
            md += ["", "(reported, not fixed)"]
    tags = ["go", "reliability"]
    if r.fix is not None:
        tags.append("autofix")
    return {
        "id": r.id,
        "name": _camel(r.id),
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": rationale},
        "help": {"text": f"{r.summary}\n\n{rationale}", "markdown": "\n".join(md)},
        "defaultConfiguration": {"level": _LEVEL.get(r.severity, "warning"), "enabled": bool(r.enabled)},
        "properties": {"tags": tags, "mode": r.mode, "changesBehavior": bool(r.changes_behavior)},
    }


def _source(fd, files) -> bytes:
    """The bytes of the diagnostic's file: from the run's files, else read again."""
    f = files.get(fd.path) if files is not None else None
    if f is not None:
        return f.src
    with open(fd.path, "rb") as fh:
        return fh.read()


def _region(fd, src: bytes) -> dict:
    region = {
        "startLine": fd.line,
        "startColumn": _column(src, fd.start),
        "endLine": fd.end_line,
        "endColumn": _column(src, fd.end),
    }
    if fd.path == fd.origin:  # byte offsets are meaningful only in the user's own file
        region["byteOffset"] = fd.start
        region["byteLength"] = fd.end - fd.start
    return region


_describe = describe_edits  # the former name (vettool)


def _line_replacement(old: bytes, new: bytes) -> dict | None:
    """The smallest run of whole lines of `old` that, replaced, gives `new`."""
    got = changed_lines(old, new)
    if got is None:
        return None
    pre, start, end, text = got
    region = {"startLine": pre + 1, "startColumn": 1, "byteOffset": start, "byteLength": end - start}
    if end < len(old) or not old.endswith(b"\n"):
        region["endLine"], region["endColumn"] = _line(old, end), _column(old, end)
    else:  # the run ends at the end of the file
        a = old.splitlines(keepends=True)
        region["endLine"] = len(a)
        region["endColumn"] = utf16_len(a[-1].rstrip(b"\n")) + 2
    return {"deletedRegion": region, "insertedContent": {"text": text.decode("utf-8", "replace")}}


def _fixes(fd, src: bytes, root: str, display, source_fix=None) -> list[dict]:
    if not fd.fix or fd.path != fd.origin:
        return []  # a //line-mapped input (cgo, cover): its byte edits are not the user's file
    reps = []
    new = source_fix(fd) if source_fix else None
    rep = _line_replacement(src, new) if new is not None else None
    edits = [] if rep else sorted(fd.fix.edits)
    if rep:
        reps.append(rep)
    for e in edits:
        reps.append({
            "deletedRegion": {
                "startLine": _line(src, e.start), "startColumn": _column(src, e.start),
                "endLine": _line(src, e.end), "endColumn": _column(src, e.end),
                "byteOffset": e.start, "byteLength": e.end - e.start,
            },
            "insertedContent": {"text": e.text},
        })
    where = display(fd.origin) if display else fd.origin
    return [{
        "description": {"text": f"{fd.rule}: {fd.fix.message} ({where}:{fd.line})"},
        "artifactChanges": [{"artifactLocation": _artifact(fd.origin, root), "replacements": reps}],
    }]


def render(findings, rules, display=None, root: str | None = None, source_fix=None, files=None) -> dict:
    """A SARIF log with one run.

    findings: rules.diagnostic.Diagnostic list; rules: the LoadedRules that ran (all become
    rule descriptors, with or without results); display(path) -> str names files in fix
    descriptions; root: %SRCROOT% (default: the git work tree around the cwd);
    source_fix(finding) -> bytes | None: the whole file as `fix` would write it with only
    that finding fixed (gofmt'd); the fix is then the changed run of lines. Without it,
    the fix is the line-preserving byte edits a build applies. files: {path: GoFile} of the
    run (UTF-16 columns are counted in the file's bytes; a file not there is read again).
    """
    root = os.path.abspath(root or source_root())
    descriptors = []
    index: dict[str, int] = {}
    for lr in rules:
        if lr.id not in index:
            index[lr.id] = len(descriptors)
            descriptors.append(_rule_descriptor(lr))
    results = []
    for fd in findings:
        if fd.rule not in index:  # a finding from a rule the caller did not list
            continue
        src = _source(fd, files)
        result = {
            "ruleId": fd.rule,
            "ruleIndex": index[fd.rule],
            "level": _LEVEL.get(fd.severity, "warning"),
            "message": {"text": fd.message},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(fd.origin, root),
                                                "region": _region(fd, src)}}],
            "partialFingerprints": {FINGERPRINT_KEY: fd.node_id},
            "properties": {"nodeId": fd.node_id, "function": fd.function, "fixable": fd.fixable},
        }
        if fd.why_no_fix and not fd.fix:
            result["properties"]["whyNoFix"] = fd.why_no_fix
        fixes = _fixes(fd, src, root, display, source_fix)
        if fixes:
            result["fixes"] = fixes
        results.append(result)
    root_uri = Path(root).as_uri().rstrip("/") + "/"
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "toolexec-rehab",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": descriptors,
            }},
            "originalUriBaseIds": {SRCROOT: {"uri": root_uri}},
            "columnKind": "utf16CodeUnits",
            "results": results,
        }],
    }
