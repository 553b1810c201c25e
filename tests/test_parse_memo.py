"""The parsed-tree memo (golang/package.py _parse): reused for the same path and bytes, kept
within _PARSED_MAX bytes of source by dropping the least recently used trees (a tree takes
~24 times its source: the compile server's memory depends on it)."""

from __future__ import annotations

import pytest

import toolexec_rehab.golang.package as P


@pytest.fixture
def memo(monkeypatch):
    monkeypatch.setattr(P, "_PARSED", {})
    monkeypatch.setattr(P, "_parsed_bytes", 0)
    monkeypatch.setattr(P, "_PARSED_MAX", 100)
    monkeypatch.setattr(P, "USES", {})
    return P


def test_reuse_and_least_recently_used_eviction(memo):
    a = b"package a\n" * 3  # 30 bytes
    t1 = memo._parse("/x/a.go", a)
    memo._parse("/x/b.go", a + b"//b\n")
    memo._parse("/x/c.go", a + b"//c\n")
    assert memo._parse("/x/a.go", a) is t1  # the same bytes: the same tree, now the most recent
    assert memo._parse("/x/a.go", a + b"//changed\n") is not t1  # other bytes: parsed again
    memo._parse("/x/a.go", a)
    memo._parse("/x/d.go", a + b"//dd\n")  # over the limit: b, the least recently used, goes
    assert list(memo._PARSED) == ["/x/c.go", "/x/a.go", "/x/d.go"]
    assert memo._parsed_bytes == sum(len(v[0]) for v in memo._PARSED.values()) <= 100


def test_a_file_larger_than_the_memo_is_not_kept_and_drops_nothing(memo):
    memo._parse("/x/a.go", b"package a\n")
    memo._parse("/x/big.go", b"package a\n//" + b"x" * 200 + b"\n")
    assert list(memo._PARSED) == ["/x/a.go"] and memo._parsed_bytes == 10


def test_with_use_counts_the_most_used_trees_stay(memo):
    """The compile server counts the requests that loaded each file (USES): an application's
    build loads more than the memo holds, in the same order each time, and a least recently
    used memo would miss on every file; the most used trees stay, a less used file finds no
    room instead of evicting them."""
    src = {n: b"package a\n" * 3 + f"//{n}\n".encode() for n in "abcd"}  # 35 bytes each
    memo.USES.update({"/x/a.go": 5, "/x/b.go": 1, "/x/c.go": 3, "/x/d.go": 2})
    ta = memo._parse("/x/a.go", src["a"])
    memo._parse("/x/b.go", src["b"])
    memo._parse("/x/c.go", src["c"])  # over 100: b (used once) goes, not a (the oldest)
    assert set(memo._PARSED) == {"/x/a.go", "/x/c.go"}
    memo._parse("/x/d.go", src["d"])  # used less than everything kept: not kept, nothing dropped
    assert set(memo._PARSED) == {"/x/a.go", "/x/c.go"}
    memo.USES["/x/e.go"] = 4
    memo._parse("/x/e.go", src["b"])  # used more than c: c goes
    assert set(memo._PARSED) == {"/x/a.go", "/x/e.go"} and memo._parse("/x/a.go", src["a"]) is ta
    assert memo._parsed_bytes == sum(len(v[0]) for v in memo._PARSED.values()) <= 100
