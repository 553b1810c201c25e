"""What a rule reports: plain data, modelled on golang.org/x/tools/go/analysis.

A Diagnostic holds no tree-sitter node and no GoFile: positions are byte offsets into the
compile input (`path`) plus the user's lines and columns (`origin`, after any //line header),
and a SuggestedFix is a list of TextEdits (byte ranges + text). A Diagnostic pickles (the
forked `check` helper sends them back as they are) and `json.dumps(records.asdict(d))`
works as it is. A consumer that needs the file's bytes or tree looks the GoFile up by `path`
in the package or run it already has.
"""

from __future__ import annotations

from ..records import FrozenRecord, Record
from ..rewrite.edits import Edit

TextEdit = Edit  # byte offsets [start, end) into the file's bytes, and the replacement text


class SuggestedFix(FrozenRecord):
    __slots__ = _fields = ("message", "edits", "suggestion", "runtime", "note")
    message: str  # what the fix does, e.g. "insert `defer rows.Close()`"
    edits: tuple[Edit, ...]  # non-overlapping, line-preserving in the compile input
    # a source-mode suggestion that changes control flow or error values: `fix --diff` shows
    # it, `fix --write` applies it only with --suggestions
    suggestion: bool
    # generated helpers a build must add to the compile: "dropped" (_rehabDropped, the
    # unchecked-error record; runtime/dropped.py)
    runtime: tuple[str, ...]
    # what `fix` tells the user about it beside the diff, when it does more than insert a
    # release (the Exec that replaces a thrown-away Query)
    note: str

    def __init__(self, message: str, edits: tuple[Edit, ...], suggestion: bool = False,
                 runtime: tuple[str, ...] = (), note: str = "") -> None:
        self._init_fields(message, edits, suggestion, runtime, note)


class Related(FrozenRecord):
    """A position that explains a diagnostic: the acquisition, an escape, the error check."""

    __slots__ = _fields = ("message", "start", "end", "line", "column")
    message: str  # "acquired here", "escapes here", "error checked here"
    start: int  # byte range in the diagnostic's file
    end: int
    line: int  # the user's line (1-based) and byte column (1-based)
    column: int

    def __init__(self, message: str, start: int, end: int, line: int, column: int) -> None:
        self._init_fields(message, start, end, line, column)


class Diagnostic(Record):
    __slots__ = _fields = ("rule", "severity", "path", "origin", "start", "end", "line", "column", "end_line",
                           "end_column", "node_type", "message", "node_id", "function", "code", "related",
                           "why_no_fix", "evidence", "fix")
    rule: str
    severity: str  # error | warning | note
    path: str  # the compile input that was read (a cover rewrite in $WORK, or the origin; for cgo, the user's x.go)
    origin: str  # the user's source file: lines, columns and node ids refer to it
    start: int  # byte range of the matched node in the bytes of `path`
    end: int
    line: int  # 1-based, the user's line (a //line header's offset applied)
    column: int  # 1-based byte column
    end_line: int
    end_column: int  # exclusive
    node_type: str  # the matched node's tree-sitter type (to find it again by byte range)
    message: str
    node_id: str  # ast-node-<16 hex>: stable across edits elsewhere in the file
    function: str  # F, T.M, F$lit ("<package>" at package scope)
    code: str  # the matched code without whitespace (part of the node id)
    related: tuple[Related, ...]
    why_no_fix: str | None
    evidence: dict  # JSON-able facts for `explain` and --format json
    fix: SuggestedFix | None

    def __init__(self, rule: str, severity: str, path: str, origin: str, start: int, end: int, line: int,
                 column: int, end_line: int, end_column: int, node_type: str, message: str, node_id: str = "",
                 function: str = "", code: str = "", related: tuple[Related, ...] = (),
                 why_no_fix: str | None = None, evidence: dict | None = None,
                 fix: SuggestedFix | None = None) -> None:
        self.rule = rule
        self.severity = severity
        self.path = path
        self.origin = origin
        self.start = start
        self.end = end
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column
        self.node_type = node_type
        self.message = message
        self.node_id = node_id
        self.function = function
        self.code = code
        self.related = related
        self.why_no_fix = why_no_fix
        self.evidence = {} if evidence is None else evidence
        self.fix = fix

    @property
    def fixable(self) -> bool:
        return self.fix is not None and bool(self.fix.edits)

    @property
    def edits(self) -> tuple[Edit, ...]:
        """The fix's edits (none without a fix)."""
        return self.fix.edits if self.fix is not None else ()

    def to_json(self, display_path: str) -> dict:
        """The `check --format json` record."""
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
            "suggestion": bool(self.fix is not None and self.fix.suggestion),
            "why_no_fix": self.why_no_fix,
            "function": self.function,
            "evidence": self.evidence,
        }


def describe_edits(edits) -> str:
    """One line for a fix: "insert `...`", "move to `...`" or "replace with `...`"."""
    ins = [e.text.strip().lstrip(";").strip() for e in edits if e.start == e.end and e.text.strip()]
    dels = [e for e in edits if e.start != e.end and not e.text]
    if ins and dels and len(ins) + len(dels) == len(edits):
        return "move to `" + "`, `".join(ins) + "`"
    if ins and len(ins) == len(edits):
        return "insert `" + "`, `".join(ins) + "`"
    return "replace with `" + "`, `".join(e.text.strip() for e in edits if e.text.strip()) + "`"


def suggested_fix(edits, suggestion: bool = False, runtime: tuple[str, ...] = ()) -> SuggestedFix:
    edits = tuple(edits)
    return SuggestedFix(describe_edits(edits), edits, suggestion, runtime)


# what a fix template writes where the finding's node id goes (`{{ node_id64 }}`): the id is
# known only once every finding of the file is (engine: occurrences), then substituted
NODE_ID64 = "0xREHAB_NODE_ID64"


def with_node_id(fix: SuggestedFix, id64: str) -> SuggestedFix:
    edits = tuple(Edit(e.start, e.end, e.text.replace(NODE_ID64, id64)) for e in fix.edits)
    return SuggestedFix(describe_edits(edits), edits, fix.suggestion, fix.runtime)
