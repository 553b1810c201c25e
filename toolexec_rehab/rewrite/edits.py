"""Byte-range edits: data until the last step, merged and checked before applying."""

from __future__ import annotations

from ..records import FrozenRecord


class Edit(FrozenRecord):
    """Ordered by (start, end, text)."""

    _fields = ("start", "end", "text")
    start: int
    end: int
    text: str

    def __init__(self, start: int, end: int, text: str) -> None:
        self._init_fields(start, end, text)

    def __lt__(self, other: Edit) -> bool:
        if other.__class__ is self.__class__:
            return (self.start, self.end, self.text) < (other.start, other.end, other.text)
        return NotImplemented

    def __le__(self, other: Edit) -> bool:
        if other.__class__ is self.__class__:
            return (self.start, self.end, self.text) <= (other.start, other.end, other.text)
        return NotImplemented

    def __gt__(self, other: Edit) -> bool:
        if other.__class__ is self.__class__:
            return (self.start, self.end, self.text) > (other.start, other.end, other.text)
        return NotImplemented

    def __ge__(self, other: Edit) -> bool:
        if other.__class__ is self.__class__:
            return (self.start, self.end, self.text) >= (other.start, other.end, other.text)
        return NotImplemented

    def line_preserving_in(self, src: bytes) -> bool:
        """The edit leaves the number of lines unchanged."""
        return src[self.start:self.end].count(b"\n") == self.text.count("\n") and "\r" not in self.text


class EditConflict(Exception):
    pass


def merge(edits: list[Edit]) -> list[Edit]:
    """Sort, drop exact duplicates, and refuse overlapping edits (two insertions at one point are kept)."""
    out: list[Edit] = []
    for e in sorted(set(edits)):
        if out and e.start < out[-1].end:
            raise EditConflict(f"edits overlap at bytes {out[-1].start}-{out[-1].end} and {e.start}-{e.end}")
        out.append(e)
    return out


def apply(src: bytes, edits: list[Edit]) -> bytes:
    parts = []
    pos = 0
    for e in merge(edits):
        parts.append(src[pos:e.start])
        parts.append(e.text.encode("utf-8"))
        pos = e.end
    parts.append(src[pos:])
    return b"".join(parts)


def changed_lines(old: bytes, new: bytes) -> tuple[int, int, int, bytes] | None:
    """The smallest run of whole lines of `old` that, replaced, gives `new`: (its first line,
    0-based; its start and end as byte offsets into old; the replacing text). None when they
    are equal. (SARIF's fix regions and the language server's edits.)"""
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
    return pre, start, end, b"".join(b[pre:len(b) - suf])
