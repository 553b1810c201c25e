"""tree-sitter-go parsing and small node helpers."""

from __future__ import annotations

import os
import re

from tree_sitter import Language, Node, Parser, Query, QueryCursor


def _go_language():
    """tree-sitter-go's grammar. Its package's __init__ imports importlib.resources and,
    through it, pathlib, tempfile and random (~3 ms of every short-lived process) for
    highlight queries we never read: the binding is loaded from the package's directory
    without running it, and through the package when that is not possible."""
    import importlib.machinery
    import importlib.util

    try:
        spec = importlib.util.find_spec("tree_sitter_go")
        for d in (spec.submodule_search_locations or ()) if spec is not None else ():
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                p = os.path.join(d, "_binding" + suffix)
                if os.path.isfile(p):
                    loader = importlib.machinery.ExtensionFileLoader("tree_sitter_go._binding", p)
                    mod = importlib.util.module_from_spec(
                        importlib.util.spec_from_file_location("tree_sitter_go._binding", p, loader=loader))
                    loader.exec_module(mod)
                    return mod.language()
    except (ImportError, OSError, AttributeError):
        pass
    import tree_sitter_go

    return tree_sitter_go.language()


LANGUAGE = Language(_go_language())
_PARSER = Parser(LANGUAGE)
_QUERIES: dict[str, Query] = {}

GENERATED_RE = re.compile(rb"(?m)^// Code generated .* DO NOT EDIT\.$")
LINE_DIRECTIVE_RE = re.compile(rb"^//line (.+):(\d+)(?::(\d+))?\r?\n")


def parse(src: bytes):
    return _PARSER.parse(src)


def query(text: str) -> Query:
    q = _QUERIES.get(text)
    if q is None:
        q = _QUERIES[text] = Query(LANGUAGE, text)
    return q


def matches(q: Query, node: Node):
    return QueryCursor(q).matches(node)


def text(node: Node | None) -> str:
    if node is None:
        return ""
    return node.text.decode("utf-8", "replace")


def is_generated(src: bytes) -> bool:
    """Go's convention: a line `// Code generated ... DO NOT EDIT.` before the package clause."""
    head = src.split(b"\npackage ", 1)[0] if not src.startswith(b"package ") else b""
    return GENERATED_RE.search(head) is not None


def line_directive(src: bytes) -> tuple[str, int] | None:
    """A `//line file:line[:col]` directive on the first line (the cover tool's header; cgo's
    is on line 3: golang/cgo.py)."""
    m = LINE_DIRECTIVE_RE.match(src)
    if not m:
        return None
    return m.group(1).decode("utf-8", "replace"), int(m.group(2))


def ancestors(node: Node):
    p = node.parent
    while p is not None:
        yield p
        p = p.parent


def descendants(node: Node):
    """Pre-order walk (iterative, no recursion limit)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def named_children(node: Node | None) -> list[Node]:
    if node is None:
        return []
    return [c for c in node.children if c.is_named and c.type != "comment"]


def statements(block: Node | None) -> list[Node]:
    """The statements of a block or case clause (tree-sitter-go wraps them in statement_list)."""
    if block is None:
        return []
    for c in block.children:
        if c.type == "statement_list":
            return [x for x in c.children if x.is_named and x.type != "comment"]
    return []


def normalize_code(node: Node) -> str:
    return re.sub(r"\s+", "", text(node))
