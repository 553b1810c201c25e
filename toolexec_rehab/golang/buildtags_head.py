"""The part of a Go file that decides whether it is built: its head (go/build's
parseFileHeader and the package clause and imports), read without a Go parser. With
eof=False the bytes given may be a prefix of the file; _NeedMore asks for more of it.
"""

from __future__ import annotations

import re

from ..records import Record
from .buildtags_expr import ConstraintError, split_plus_build


class _NeedMore(Exception):
    """The head read so far ends before the decision could be made: read more of the file."""


class Header(Record):
    _fields = ("go_build", "plus_build", "package", "imports_c")
    go_build: str | None  # the //go:build line, stripped
    plus_build: list[str]  # the // +build lines that count (before the header's last blank line)
    package: str | None  # the package clause's name (None: not found, e.g. a syntax error)
    imports_c: bool  # imports "C" (only looked for when asked)

    def __init__(self, go_build: str | None, plus_build: list[str], package: str | None, imports_c: bool) -> None:
        self.go_build = go_build
        self.plus_build = plus_build
        self.package = package
        self.imports_c = imports_c


_BOM = b"\xef\xbb\xbf"


def _file_header(content: bytes, eof: bool) -> tuple[int, bytes | None]:
    """go/build's parseFileHeader: (end of the part that may hold // +build lines, //go:build line).
    The // +build part is the leading run of // comments and blank lines up to its last blank
    line; a //go:build line counts anywhere before the first non-comment text."""
    end = 0
    pos = 0
    n = len(content)
    ended = False  # saw a line that is not blank and not //: no more // +build lines
    in_star = False
    go_build: bytes | None = None
    while pos < n:
        nl = content.find(b"\n", pos)
        if nl < 0:
            if not eof:
                raise _NeedMore
            raw, pos = content[pos:], n
        else:
            raw, pos = content[pos:nl], nl + 1
        line = raw.strip()
        if not line and not ended:
            end = pos
            continue
        if not line.startswith(b"//"):
            ended = True
        if not in_star and _is_go_build_comment(line):
            if go_build is not None:
                raise ConstraintError("multiple //go:build comments")
            go_build = line
        in_star = _comments_only(line, in_star)
        if in_star is None:
            return end, go_build  # non-comment text: the header ends here
    if not eof:
        raise _NeedMore
    return end, go_build


def _comments_only(line: bytes, in_star: bool) -> bool | None:
    """A stripped line of the header, starting inside a /* comment or not: whether a /*
    comment is still open at its end, or None when the line holds non-comment text."""
    while line:
        if in_star:
            i = line.find(b"*/")
            if i < 0:
                break  # the comment continues on the next line
            in_star = False
            line = line[i + 2:].strip()
            continue
        if line.startswith(b"//"):
            break
        if line.startswith(b"/*"):
            in_star = True
            line = line[2:].strip()
            continue
        return None
    return in_star


def _is_go_build_comment(line: bytes) -> bool:
    if not line.startswith(b"//go:build"):
        return False
    rest = line[len(b"//go:build"):]
    return not rest or len(rest.strip()) < len(rest)


# Go tokens for the package clause and the imports
_SKIP = re.compile(rb"(?:[ \t\r\n;]+|//[^\n]*|/\*.*?\*/)*", re.S)
_IDENT = re.compile(rb"[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*")
_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*"|`[^`]*`', re.S)


class _Tokens:
    def __init__(self, buf: bytes, eof: bool):
        self.buf, self.eof, self.pos = buf, eof, 0

    def _check(self, end: int) -> None:
        if end >= len(self.buf) and not self.eof:  # the token may go on past what was read
            raise _NeedMore

    def skip(self) -> None:
        m = _SKIP.match(self.buf, self.pos)
        self._check(m.end())
        if not self.eof and self.buf.startswith(b"/*", m.end()):
            raise _NeedMore  # a /* comment that goes on past what was read (a cgo preamble)
        self.pos = m.end()

    def ident(self) -> bytes | None:
        self.skip()
        m = _IDENT.match(self.buf, self.pos)
        if not m:
            return self._fail()
        self._check(m.end())
        self.pos = m.end()
        return m.group()

    def punct(self, c: bytes) -> bool:
        self.skip()
        if self.buf.startswith(c, self.pos):
            self.pos += len(c)
            return True
        return False

    def string(self) -> bytes | None:
        self.skip()
        m = _STRING.match(self.buf, self.pos)
        if not m:
            return self._fail()
        self.pos = m.end()
        return m.group()

    def _fail(self) -> None:
        if not self.eof:  # perhaps cut short: decide on more of the file
            raise _NeedMore
        return None


def _import_path(lit: bytes) -> str | None:
    if lit.startswith(b"`"):
        return lit[1:-1].decode("utf-8", "replace")
    if b"\\" not in lit:
        return lit[1:-1].decode("utf-8", "replace")
    try:
        import ast  # (only here: ~2 ms of every check at import)

        return ast.literal_eval(lit.decode("utf-8", "replace"))
    except (ValueError, SyntaxError):
        return None


def _package_and_imports(buf: bytes, eof: bool, want_imports: bool) -> tuple[str | None, bool]:
    t = _Tokens(buf, eof)
    if t.ident() != b"package":
        return None, False
    name = t.ident()
    if name is None:
        return None, False
    pkg = name.decode("utf-8", "replace")
    if not want_imports:
        return pkg, False
    return pkg, _imports_c(t)


def _imports_c(t: _Tokens) -> bool:
    """After the package clause: whether the import declarations import "C"."""
    buf, eof = t.buf, t.eof
    found = False
    while True:
        t.skip()
        m = _IDENT.match(buf, t.pos)
        if not eof and (not m or m.end() >= len(buf)):
            raise _NeedMore  # "imp|ort" cut short (or a syntax error: decided on the whole file)
        if not m or m.group() != b"import":
            return found
        t.pos = m.end()
        if not t.punct(b"("):
            found = _import_spec_is_c(t) or found
            continue
        in_group, complete = _import_group_c(t)
        found = in_group or found
        if not complete:
            return found


def _import_group_c(t: _Tokens) -> tuple[bool, bool]:
    """After `import (`: (whether a spec imports "C", whether the group was read to its `)`;
    not at the end of what was read, or at a syntax error)."""
    found = False
    while not t.punct(b")"):
        if t.pos >= len(t.buf):
            return found, False
        before = t.pos
        found = _import_spec_is_c(t) or found
        if t.pos == before:  # a syntax error: stop here
            return found, False
    return found, True


def _import_spec_is_c(t: _Tokens) -> bool:  # [name | "."] "path"
    if not t.punct(b"."):
        t.skip()
        if _IDENT.match(t.buf, t.pos):
            t.ident()
    lit = t.string()
    if lit is None:
        return False
    return _import_path(lit) == "C"


def scan_header(head: bytes, eof: bool = True, want_imports: bool = False) -> Header:
    """The constraint-relevant part of a Go file's head. With eof=False, head may be a prefix of
    the file and _NeedMore is raised when the decision needs more of it."""
    if head.startswith(_BOM):
        head = head[len(_BOM):]
    end, go_build = _file_header(head, eof)
    plus = []
    if go_build is None:
        for raw in head[:end].split(b"\n"):
            line = raw.strip()
            if line.startswith(b"//") and b"+build" in line:
                text = line.decode("utf-8", "replace")
                if split_plus_build(text) is not None:
                    plus.append(text)
    pkg, imports_c = _package_and_imports(head, eof, want_imports)
    return Header(go_build.decode("utf-8", "replace") if go_build is not None else None, plus, pkg, imports_c)

