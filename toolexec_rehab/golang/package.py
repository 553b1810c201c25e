"""A Go package as the rules see it: parsed files plus package-level facts."""

from __future__ import annotations

import os
import re
from functools import lru_cache

from tree_sitter import Node

from ..paths import find_upward
from ..records import Record
from . import inputs
from . import parse as P

_MODULE_RE = re.compile(r'(?m)^\s*module\s+("?)([^"\s]+)\1')
_MAJOR_RE = re.compile(r"^v[0-9]+$")


def default_import_name(path: str) -> str:
    """The package name Go assumes for an import path (last element, minus /vN, gopkg.in .vN)."""
    parts = path.split("/")
    last = parts[-1]
    if _MAJOR_RE.match(last) and len(parts) > 1:
        last = parts[-2]
    if path.startswith("gopkg.in/"):
        last = re.sub(r"\.v[0-9]+$", "", last)
    last = last.removeprefix("go-")
    return re.sub(r"[^A-Za-z0-9_]", "_", last)


@lru_cache(maxsize=256)
def find_module(directory: str) -> tuple[str, str] | None:
    """(module root, module path) of the go.mod at or above directory."""
    d = find_upward(directory, "go.mod")
    if d is None:
        return None
    try:
        with open(os.path.join(d, "go.mod"), encoding="utf-8", errors="replace") as fh:
            m = _MODULE_RE.search(fh.read())
    except OSError:
        return None
    return (d, m.group(2)) if m else None


class GoFile(Record):
    _fields = ("path", "origin", "src", "tree", "line_offset", "imports", "pkgname")
    path: str  # the file actually read (may be the cover tool's rewrite in $WORK; never cgo's: golang/cgo.py)
    origin: str  # the user's source file: positions and node IDs refer to it
    src: bytes
    tree: object
    line_offset: int  # original line = file line + line_offset
    imports: dict[str, str]
    pkgname: str

    def __init__(self, path: str, origin: str, src: bytes, tree: object, line_offset: int = 0,
                 imports: dict[str, str] | None = None, pkgname: str = "") -> None:
        self.path = path
        self.origin = origin
        self.src = src
        self.tree = tree
        self.line_offset = line_offset
        self.imports = {} if imports is None else imports
        self.pkgname = pkgname

    @property
    def root(self) -> Node:
        return self.tree.root_node

    @property
    def has_error(self) -> bool:
        return self.root.has_error

    def orig_line(self, node_or_row) -> int:
        row = node_or_row if isinstance(node_or_row, int) else node_or_row.start_point[0]
        return row + 1 + self.line_offset

    def id_path(self) -> str:
        """Module-relative name of the file, stable across machines and checkouts."""
        mod = find_module(os.path.dirname(self.origin))
        if mod:
            root, modpath = mod
            rel = os.path.relpath(self.origin, root).replace(os.sep, "/")
            return f"{modpath}/{rel}"
        return "/".join(self.origin.replace(os.sep, "/").split("/")[-2:])


# The trees parsed in this process, by file: `check ./...` meets a package's files again as
# the types of the packages that import it (Resolver.module_package), and the compile server
# keeps the trees of the last builds for the next. A tree is reused only for the same path
# with the same bytes (never across files, whose nodes a pass keys by id). A tree takes ~24
# times its source in memory (tree-sitter-go): past _PARSED_MAX bytes of source the least
# recently used trees are dropped (~150 MB of trees at most: the compile server of an
# application with hundreds of packages stays within its 300 MB).
# The compile server counts how many requests loaded each file (USES): past the limit it
# keeps the most used trees instead of the most recent ones. An application's build loads
# more source than the memo holds, in the same order each time, which a least-recently-used
# memo answers with misses only; and a package that hundreds of others import (its types
# resolve their calls) is worth more than one compiled once.
_PARSED: dict[str, tuple[bytes, object]] = {}  # in use order: the oldest first
_PARSED_MAX = 6 << 20
_parsed_bytes = 0
USES: dict[str, int] = {}  # the compile server's: requests that loaded each file
LOADED: list[str] = []  # the files parsed or reused here, in order (the compile server's warm: declsum.warm)
PARSES = 0  # how many files were parsed (not reused) in this process


def _parse(path: str, src: bytes):
    global _parsed_bytes, PARSES
    key = os.path.abspath(path)
    LOADED.append(key)
    got = _PARSED.pop(key, None)
    if got is not None:
        _parsed_bytes -= len(got[0])
        if got[0] == src:
            _PARSED[key] = got  # now the most recently used
            _parsed_bytes += len(src)
            return got[1]
    PARSES += 1
    tree = P.parse(src)
    if len(src) <= _PARSED_MAX and _room(key, len(src)):  # (a file larger than the whole memo is not kept)
        _PARSED[key] = (src, tree)
        _parsed_bytes += len(src)
    return tree


def _room(key: str, n: int) -> bool:
    """Make room for n more bytes of source: the least recently used trees go; with use
    counts (USES), the least used ones, never one used more than `key` (False: no room), and
    a sixteenth more than needed, so the sort is paid once per many files."""
    global _parsed_bytes
    if _parsed_bytes + n <= _PARSED_MAX:
        return True
    if not USES:
        while _PARSED and _parsed_bytes + n > _PARSED_MAX:
            _parsed_bytes -= len(_PARSED.pop(next(iter(_PARSED)))[0])
        return True
    mine = USES.get(key, 0)
    # (sorted is stable: among equals the least recently used first)
    victims = sorted((k for k in _PARSED if USES.get(k, 0) <= mine), key=lambda k: USES.get(k, 0))
    goal = _PARSED_MAX - n - (_PARSED_MAX >> 4)
    if _parsed_bytes - sum(len(_PARSED[k][0]) for k in victims) > _PARSED_MAX - n:
        return False  # only trees used more than this one would make room
    for k in victims:
        if _parsed_bytes <= goal:
            break
        _parsed_bytes -= len(_PARSED.pop(k)[0])
    return _parsed_bytes + n <= _PARSED_MAX


def load_file(path: str, src: bytes | None = None, origin: str | None = None) -> GoFile:
    if src is None:
        with open(path, "rb") as fh:
            src = fh.read()
    offset = 0
    if origin is None:
        origin = os.path.abspath(path)
        d = P.line_directive(src)
        if d is not None and os.path.isabs(d[0]):
            # the cover tool's x.cover.go: line 2 of this file is line d[1] of d[0].
            origin, offset = d[0], d[1] - 2
    tree = _parse(path, src)
    f = GoFile(path=path, origin=origin, src=src, tree=tree, line_offset=offset)
    _collect_file_facts(f)
    return f


def _collect_file_facts(f: GoFile) -> None:
    for c in f.root.children:
        if c.type == "package_clause":
            for n in c.children:
                if n.type == "package_identifier":
                    f.pkgname = P.text(n)
        elif c.type == "import_declaration":
            for spec in P.descendants(c):
                if spec.type != "import_spec":
                    continue
                path_node = spec.child_by_field_name("path")
                ipath = P.text(path_node).strip('"`')
                name_node = spec.child_by_field_name("name")
                name = P.text(name_node) if name_node is not None else default_import_name(ipath)
                if name in ("_", "."):
                    continue
                f.imports[name] = ipath


class _Consulted(dict):
    """A table of a main-module package read for another's analysis (Resolver.module_package)
    while a compile records what it reads (golang/inputs.consult): every key asked, and "*"
    for the names iterated."""

    __slots__ = ("_path", "_kind")

    def __init__(self, path: str, kind: str) -> None:
        super().__init__()
        self._path, self._kind = path, kind

    def get(self, key, default=None):
        inputs.consult(self._path, self._kind, key)
        return dict.get(self, key, default)

    def __getitem__(self, key):
        inputs.consult(self._path, self._kind, key)
        return dict.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        inputs.consult(self._path, self._kind, key)
        return dict.__contains__(self, key)

    def __iter__(self):
        inputs.consult(self._path, self._kind, "*")
        return dict.__iter__(self)

    def keys(self):
        inputs.consult(self._path, self._kind, "*")
        return dict.keys(self)

    def items(self):
        inputs.consult(self._path, self._kind, "*")
        return dict.items(self)

    def values(self):
        inputs.consult(self._path, self._kind, "*")
        return dict.values(self)

    def __len__(self) -> int:
        inputs.consult(self._path, self._kind, "*")
        return dict.__len__(self)


TABLES = ("types", "funcs", "methods", "vars")  # Package's tables of declarations


class Package(Record):
    _fields = ("files", "import_path", "types", "funcs", "methods", "vars", "file_of")
    files: list[GoFile]
    import_path: str
    types: dict[str, Node]  # name -> type_spec
    funcs: dict[str, Node]  # name -> function_declaration
    methods: dict[tuple[str, str], Node]  # (recv type, name) -> decl
    vars: dict[str, tuple[Node, int]]  # name -> (var_spec, index)
    file_of: dict[int, GoFile]  # id(root node) -> file

    def __init__(self, files: list[GoFile], import_path: str = "", types: dict[str, Node] | None = None,
                 funcs: dict[str, Node] | None = None, methods: dict[tuple[str, str], Node] | None = None,
                 vars: dict[str, tuple[Node, int]] | None = None, file_of: dict[int, GoFile] | None = None,
                 consulted: str | None = None) -> None:
        self.files = files
        self.import_path = import_path
        if consulted is not None:  # another package's analysis reads these: record what (inputs.consult)
            types, funcs, methods, vars = (_Consulted(consulted, k) for k in TABLES)
        self.types = {} if types is None else types
        self.funcs = {} if funcs is None else funcs
        self.methods = {} if methods is None else methods
        self.vars = {} if vars is None else vars
        self.file_of = {} if file_of is None else file_of
        for f in self.files:
            self._collect(f)

    def _collect(self, f: GoFile) -> None:
        for c in f.root.children:
            if c.type == "function_declaration":
                name = c.child_by_field_name("name")
                self.funcs[P.text(name)] = c
            elif c.type == "method_declaration":
                recv = c.child_by_field_name("receiver")
                rt = receiver_type_name(recv)
                if rt:
                    self.methods[(rt, P.text(c.child_by_field_name("name")))] = c
            elif c.type == "type_declaration":
                for spec in c.children:
                    if spec.type in ("type_spec", "type_alias"):
                        self.types[P.text(spec.child_by_field_name("name"))] = spec
            elif c.type == "var_declaration":
                for spec in P.descendants(c):
                    if spec.type == "var_spec":
                        names = [n for n in spec.children_by_field_name("name")]
                        for i, n in enumerate(names):
                            self.vars[P.text(n)] = (spec, i)

    def file_for(self, node: Node) -> GoFile:
        root = node
        while root.parent is not None:
            root = root.parent
        for f in self.files:
            if f.root == root:
                return f
        raise KeyError("node from a foreign tree")


def receiver_type_name(recv: Node | None) -> str | None:
    if recv is None:
        return None
    for d in P.descendants(recv):
        if d.type == "type_identifier":
            return P.text(d)
    return None


def enclosing_function(node: Node) -> Node | None:
    for a in P.ancestors(node):
        if a.type in ("function_declaration", "method_declaration", "func_literal"):
            return a
    return None


def function_name(fn: Node | None) -> str:
    """A stable name for the function that holds a node: F, T.M, F$lit, T.M$lit$lit."""
    if fn is None:
        return "<package>"
    suffix = ""
    while fn is not None and fn.type == "func_literal":
        suffix += "$lit"
        fn = enclosing_function(fn)
    if fn is None:
        return "<package>" + suffix
    name = P.text(fn.child_by_field_name("name"))
    if fn.type == "method_declaration":
        rt = receiver_type_name(fn.child_by_field_name("receiver"))
        name = f"{rt}.{name}"
    return name + suffix
