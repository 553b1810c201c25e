"""The layout of a fix in the user's source (`fix --write`, `fix --diff`, SARIF's fixes).

A build's edits keep every line where it was (`}; defer f.Close()` on the `}` line: the
compiler's positions must stay the user's). A fix written into the source need not, and
must read like hand-written Go:

- an inserted statement goes on a line of its own, with the indentation of the line it
  follows, and after that line's trailing comment (`f, err := os.Open(p) // the config`
  keeps its comment; gofmt would otherwise move it onto the inserted line);
- a statement that is removed (a defer moved after the error check) takes its line with
  it, or leaves its trailing comment at the statement's indentation.

pipeline.source_form then runs gofmt over the file when the user's file was gofmt-clean.
"""

from __future__ import annotations

from .edits import Edit

SEPARATOR = "; "  # how a line-preserving fix joins its statement to the line before


def source_layout(src: bytes, edits: list[Edit], fmt=None) -> list[Edit]:
    """The same fixes, laid out for the source. `fmt(statement) -> lines`: how an inserted
    statement is formatted (gofmt's form, for a file that gofmt will not format as a whole);
    by default it stays on one line."""
    return [_laid_out(src, e, fmt) for e in edits]


def _laid_out(src: bytes, e: Edit, fmt) -> Edit:
    if e.start == e.end and e.text.startswith(SEPARATOR) and "\n" not in e.text:
        return _own_line(src, e, fmt)
    if e.start < e.end and e.text == "" and b"\n" not in src[e.start:e.end]:
        return _without_its_line(src, e)
    return e


def _bounds(src: bytes, at: int) -> tuple[int, int]:
    """Start and end (the newline, or the end of the file) of the line holding byte `at`."""
    end = src.find(b"\n", at)
    return src.rfind(b"\n", 0, at) + 1, len(src) if end < 0 else end


def _indent(line: bytes) -> str:
    return line[: len(line) - len(line.lstrip(b" \t"))].decode("ascii")


def _own_line(src: bytes, e: Edit, fmt) -> Edit:
    start, end = _bounds(src, e.start)
    rest = src[e.start:end].strip()
    if rest and not rest.startswith(b"//"):
        return e  # code follows on the same line: keep the two together
    indent = _indent(src[start:end])
    stmt = e.text[len(SEPARATOR):]
    lines = (fmt(stmt) if fmt is not None else None) or [stmt]
    return Edit(end, end, "".join("\n" + (indent + ln if ln else "") for ln in lines))


def _without_its_line(src: bytes, e: Edit) -> Edit:
    start, end = _bounds(src, e.start)
    before, after = src[start:e.start], src[e.end:end]
    if before.strip() or (after.strip() and not after.lstrip().startswith(b"//")):
        return e  # other code on the line
    if not after.strip():  # the line held the statement alone: the line goes
        return Edit(start, min(end + 1, len(src)), "")
    return Edit(e.start, e.end + len(after) - len(after.lstrip()), "")  # its comment stays, re-indented
