"""Positions: the engine counts bytes of UTF-8 source; LSP counts 0-based lines and, unless the
client negotiated another `positionEncoding`, UTF-16 code units within the line.

LSP lines end at "\\n", "\\r\\n" or a lone "\\r" (as the editor counts them; never at the other
line separators str.splitlines knows, U+2028 or a form feed); Go's line numbers (gofmt's, the
trace's, an escape's) count "\\n" only: go_span and go_offset take those."""

from __future__ import annotations

import re
from bisect import bisect_right

from ..rewrite.edits import changed_lines

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_EOL = re.compile(rb"\r\n|\r|\n")


def _units(b: bytes, encoding: str) -> int:
    """Length of UTF-8 bytes in the encoding's code units (invalid bytes count one each)."""
    if encoding == UTF8:
        return len(b)
    s = b.decode("utf-8", "replace")
    if encoding == UTF32:
        return len(s)
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


class LineIndex:
    """Byte offset <-> (line, character) for one file's bytes."""

    def __init__(self, src: bytes, encoding: str = UTF16):
        self.src = src
        self.encoding = encoding
        starts, ends = [0], []
        for m in _EOL.finditer(src):
            ends.append(m.start())
            starts.append(m.end())
        ends.append(len(src))
        self.starts, self.ends = starts, ends
        self._go: list[int] | None = None

    def position(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.src)))
        line = bisect_right(self.starts, offset) - 1
        return line, _units(self.src[self.starts[line]:min(offset, self.ends[line])], self.encoding)

    def line_end(self, line: int) -> int:
        """The byte offset of the end of the line (before its line ending)."""
        return self.ends[max(0, min(line, len(self.ends) - 1))]

    def offset(self, line: int, character: int) -> int:
        """The byte offset of an LSP position (clamped into the file, and to the line's end)."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.src)
        start, end = self.starts[line], self.ends[line]
        text = self.src[start:end]
        if self.encoding == UTF8:
            return start + min(max(character, 0), len(text))
        s = text.decode("utf-8", "replace")
        units = 0
        for i, c in enumerate(s):
            if units >= character:
                return start + len(s[:i].encode("utf-8", "replace"))
            units += 2 if self.encoding == UTF16 and ord(c) > 0xFFFF else 1
        return end

    # ---- Go's line numbers (1-based, "\n" only)

    def go_starts(self) -> list[int]:
        if self._go is None:
            go, i = [0], self.src.find(b"\n")
            while i >= 0:
                go.append(i + 1)
                i = self.src.find(b"\n", i + 1)
            self._go = go
        return self._go

    def go_lines(self) -> int:
        return len(self.go_starts())

    def go_line(self, offset: int) -> int:
        """The 1-based Go line of a byte offset."""
        return bisect_right(self.go_starts(), max(0, offset))

    def go_offset(self, line: int, column: int) -> int:
        """The byte offset of a 1-based Go line and byte column (clamped into the file)."""
        go = self.go_starts()
        start = go[max(0, min(line - 1, len(go) - 1))]
        return max(0, min(start + max(column - 1, 0), len(self.src)))

    def go_span(self, line: int) -> tuple[int, int]:
        """The 1-based Go line's bytes without its indentation and line ending: (start, end)."""
        go = self.go_starts()
        line = max(1, min(line, len(go)))
        start = go[line - 1]
        end = go[line] - 1 if line < len(go) else len(self.src)
        text = self.src[start:end].rstrip(b"\r")
        return start + len(text) - len(text.lstrip()), start + len(text)


def apply_change(src: bytes, text: str, start: tuple[int, int] | None = None, end: tuple[int, int] | None = None,
                 encoding: str = UTF16) -> bytes:
    """src after one change of textDocument/didChange: the range start..end (LSP positions)
    replaced by text; the whole document when there is no range."""
    new = text.encode("utf-8", "replace")
    if start is None or end is None:
        return new
    idx = LineIndex(src, encoding)
    a, b = idx.offset(*start), idx.offset(*end)
    if b < a:
        a, b = b, a
    return src[:a] + new + src[b:]


def line_replacement(old: bytes, new: bytes) -> tuple[int, int, bytes] | None:
    """The smallest run of whole lines of `old` that, replaced, gives `new`: (start, end, text)
    as byte offsets into old; None when they are equal."""
    got = changed_lines(old, new)
    return None if got is None else got[1:]
