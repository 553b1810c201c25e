"""Positions: the engine counts bytes of UTF-8 source; LSP counts 0-based lines and, unless the
client negotiated another `positionEncoding`, UTF-16 code units within the line."""

from __future__ import annotations

from bisect import bisect_right

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


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
        starts = [0]
        i = src.find(b"\n")
        while i >= 0:
            starts.append(i + 1)
            i = src.find(b"\n", i + 1)
        self.starts = starts

    def position(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.src)))
        line = bisect_right(self.starts, offset) - 1
        return line, _units(self.src[self.starts[line]:offset], self.encoding)

    def line_end(self, line: int) -> int:
        """The byte offset of the end of the line (before its newline)."""
        if line + 1 < len(self.starts):
            return self.starts[line + 1] - 1
        return len(self.src)

    def offset(self, line: int, character: int) -> int:
        """The byte offset of an LSP position (clamped into the file, and to the line's end)."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.src)
        start, end = self.starts[line], self.line_end(line)
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

    def line_span(self, line: int) -> tuple[int, int]:
        """The line's bytes without its indentation: (start, end) offsets."""
        line = max(0, min(line, len(self.starts) - 1))
        start, end = self.starts[line], self.line_end(line)
        text = self.src[start:end]
        return start + len(text) - len(text.lstrip()), end


def line_replacement(old: bytes, new: bytes) -> tuple[int, int, bytes] | None:
    """The smallest run of whole lines of `old` that, replaced, gives `new`: (start, end, text)
    as byte offsets into old; None when they are equal."""
    if old == new:
        return None
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    pre = 0
    while pre < min(len(a), len(b)) and a[pre] == b[pre]:
        pre += 1
    suf = 0
    while suf < min(len(a), len(b)) - pre and a[-1 - suf] == b[-1 - suf]:
        suf += 1
    start = sum(len(x) for x in a[:pre])
    end = start + sum(len(x) for x in a[pre:len(a) - suf])
    return start, end, b"".join(b[pre:len(b) - suf])
