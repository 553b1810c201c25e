"""Go build constraints, evaluated as `go build` / `go vet` would for the current configuration.

Pure Python, no `go list` and no subprocess: which .go files of a directory belong to the build
is decided from the file name and the file's head (the comments before the package clause, and
the imports when cgo is off), the way go/build and cmd/go do it:

- file names: `_*`/`.*` are never Go sources; `*_GOOS.go`, `*_GOARCH.go`, `*_GOOS_GOARCH.go`
  (also before `_test.go`, and `.` ends the name: `x_linux.pb.go` is linux-only);
- `//go:build EXPR` anywhere in the leading comments (before any code), else the legacy
  `// +build` lines of the leading run of `//` comments and blank lines that is followed by a
  blank line (space = OR, comma = AND, `!`), all of which must hold;
- `package documentation` files, and (cgo off) non-test files importing "C", are ignored.

The satisfied tags (`Context`): GOOS, GOARCH (with android->linux, ios->darwin,
illumos->solaris), `unix` on unix systems, `cgo` when cgo is enabled, the compiler `gc`, the
release tags go1.1..go1.N of the installed Go, the GOARCH feature tags (amd64.v1, arm64.v8.0,
...), `goexperiment.X` for experiments named in GOEXPERIMENT, and -tags from GOFLAGS. Settings
come from the environment, then the user's `go env -w` file, then $GOROOT/go.env, as cmd/go
reads them. Experiments a toolchain enables by default are not known (GOEXPERIMENT-free).
"""

from __future__ import annotations

import ast
import os
import platform
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# ---- data (go/src/internal/syslist, internal/platform) ---------------------------------------

# past, present and future GOOS values: used for file-name matching
KNOWN_OS = frozenset({
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux",
    "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
})

# the GOOS values that satisfy the `unix` tag (`unix` is not a file-name constraint)
UNIX_OS = frozenset({
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "linux",
    "netbsd", "openbsd", "solaris",
})

# past, present and future GOARCH values: used for file-name matching
KNOWN_ARCH = frozenset({
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle",
    "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv",
    "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
})

# GOOS/GOARCH pairs whose native builds support cgo
CGO_SUPPORTED = frozenset({
    "aix/ppc64", "android/386", "android/amd64", "android/arm", "android/arm64", "darwin/amd64",
    "darwin/arm64", "dragonfly/amd64", "freebsd/386", "freebsd/amd64", "freebsd/arm",
    "freebsd/arm64", "freebsd/riscv64", "illumos/amd64", "ios/amd64", "ios/arm64", "linux/386",
    "linux/amd64", "linux/arm", "linux/arm64", "linux/loong64", "linux/mips", "linux/mips64",
    "linux/mips64le", "linux/mipsle", "linux/ppc64", "linux/ppc64le", "linux/riscv64",
    "linux/s390x", "linux/sparc64", "netbsd/386", "netbsd/amd64", "netbsd/arm", "netbsd/arm64",
    "openbsd/386", "openbsd/amd64", "openbsd/arm", "openbsd/arm64", "openbsd/mips64",
    "openbsd/ppc64", "openbsd/riscv64", "solaris/amd64", "windows/386", "windows/amd64",
    "windows/arm64",
})

# release tags go1.1..go1.N when the installed Go's version cannot be read
DEFAULT_GO_MINOR = 30


class ConstraintError(ValueError):
    """A //go:build line that does not parse (go: "parsing //go:build line: ...")."""


# ---- expressions ------------------------------------------------------------------------------
# An expression is a tuple: ("tag", name) | ("not", x) | ("and", x, y, ...) | ("or", x, y, ...).

Expr = tuple

_MAX_SIZE = 1000  # go/build/constraint: at most this many not()/atom steps in a //go:build line
_MAX_OLD_SIZE = 100  # and at most this many AND/OR operators in a // +build line


def _is_tag_char(c: str) -> bool:
    return c.isalpha() or c.isdecimal() or c == "_" or c == "."


def is_valid_tag(word: str) -> bool:
    return word != "" and all(_is_tag_char(c) for c in word)


class _Lexer:
    """go/build/constraint's tokens: ( ) ! && || and tags (letters, digits, _ and .)."""

    def __init__(self, s: str):
        self.s, self.pos, self.tok, self.is_tag = s, 0, "", False

    def lex(self) -> None:
        s, n = self.s, len(self.s)
        self.is_tag = False
        while self.pos < n and s[self.pos] in " \t":
            self.pos += 1
        if self.pos >= n:
            self.tok = ""
            self.pos += 1
            return
        c = s[self.pos]
        if c in "()!":
            self.tok = c
            self.pos += 1
            return
        if c in "&|":
            if self.pos + 1 >= n or s[self.pos + 1] != c:
                raise ConstraintError(f"invalid syntax at {c}")
            self.tok = c + c
            self.pos += 2
            return
        end = self.pos
        while end < n and _is_tag_char(s[end]):
            end += 1
        if end == self.pos:
            raise ConstraintError(f"invalid syntax at {c}")
        self.tok, self.pos, self.is_tag = s[self.pos:end], end, True


def _negate(x: Expr) -> Expr:
    return x[1] if x[0] == "not" else ("not", x)  # !(!x) is x: keeps nesting shallow


def _join(op: str, xs: list[Expr]) -> Expr:
    return xs[0] if len(xs) == 1 else (op, *xs)


class _Group:
    """An open parenthesis (or the whole line): the || terms so far, the && terms of the last
    one, and whether the next operand is negated."""

    __slots__ = ("ors", "ands", "neg")

    def __init__(self):
        self.ors: list[Expr] = []
        self.ands: list[Expr] = []
        self.neg = False

    def close(self) -> Expr:
        return _join("or", [*self.ors, _join("and", self.ands)])


def parse_expr(text: str) -> Expr:
    """The expression of a //go:build line (the text after `//go:build`), with go/build/constraint's
    grammar (or = and {"||" and}; and = not {"&&" not}; not = ["!"] atom; atom = tag | "(" or ")")
    and error messages. Iterative, so that no nesting exhausts Python's stack."""
    lx = _Lexer(text)
    stack = [_Group()]
    size = 0
    operand = True  # expecting an operand (the start of a not-term), else an operator
    while True:
        if operand:
            size += 1  # one not-term, as constraint's parser counts them
            if size > _MAX_SIZE:
                raise ConstraintError("build expression too large")
            lx.lex()
            if lx.tok == "!":
                lx.lex()
                if lx.tok == "!":
                    raise ConstraintError("double negation not allowed")
                stack[-1].neg = True
            while lx.tok == "(":  # "((" opens one group per parenthesis
                stack.append(_Group())
                size += 1
                if size > _MAX_SIZE:
                    raise ConstraintError("build expression too large")
                lx.lex()
                if lx.tok == "!":
                    lx.lex()
                    if lx.tok == "!":
                        raise ConstraintError("double negation not allowed")
                    stack[-1].neg = True
            if not lx.is_tag:
                if lx.tok == "":
                    raise ConstraintError("missing close paren" if len(stack) > 1 else "unexpected end of expression")
                raise ConstraintError(f"unexpected token {lx.tok}")
            g = stack[-1]
            x: Expr = ("tag", lx.tok)
            g.ands.append(_negate(x) if g.neg else x)
            g.neg = False
            operand = False
            lx.lex()
            continue
        if lx.tok == "&&":
            operand = True
        elif lx.tok == "||":
            g = stack[-1]
            g.ors.append(_join("and", g.ands))
            g.ands = []
            operand = True
        elif lx.tok == ")" and len(stack) > 1:
            x = stack.pop().close()
            g = stack[-1]
            g.ands.append(_negate(x) if g.neg else x)
            g.neg = False
            lx.lex()
        elif lx.tok == "" and len(stack) == 1:
            return stack[0].close()
        elif len(stack) > 1:
            raise ConstraintError("missing close paren")
        else:
            raise ConstraintError(f"unexpected token {lx.tok}")


def _split_after(line: str, prefix: str) -> str | None:
    """The text after prefix when prefix is followed by white space or nothing, else None."""
    if not line.startswith(prefix):
        return None
    rest = line.strip()[len(prefix):]
    trimmed = rest.strip()
    if rest and len(trimmed) == len(rest):  # "//go:buildx", "// +buildx": not constraints
        return None
    return trimmed


def split_go_build(line: str) -> str | None:
    """The expression text of a `//go:build` line, or None when line is not one."""
    line = line[:-1] if line.endswith("\n") else line
    if "\n" in line:
        return None
    return _split_after(line, "//go:build")


def split_plus_build(line: str) -> str | None:
    """The text of a legacy `// +build` line (`//+build` too), or None when line is not one."""
    line = line[:-1] if line.endswith("\n") else line
    if "\n" in line or not line.startswith("//"):
        return None
    return _split_after(line[2:].strip(), "+build")


def parse_plus_build(text: str) -> Expr:
    """A `// +build` line's text: space-separated OR of comma-separated AND of [!]tag.
    Malformed terms become the tag `ignore`, as in go/build."""
    size = 0
    x: Expr | None = None
    for clause in text.split():
        y: Expr | None = None
        for lit in clause.split(","):
            if lit.startswith("!!") or lit == "!":
                z: Expr = ("tag", "ignore")
            else:
                neg = lit.startswith("!")
                lit = lit[1:] if neg else lit
                z = ("tag", lit if is_valid_tag(lit) else "ignore")
                if neg:
                    z = ("not", z)
            if y is None:
                y = z
            else:
                size += 1
                if size > _MAX_OLD_SIZE:
                    raise ConstraintError("expression too complex for // +build lines")
                y = ("and", y, z)
        if x is None:
            x = y
        else:
            size += 1
            if size > _MAX_OLD_SIZE:
                raise ConstraintError("expression too complex for // +build lines")
            x = ("or", x, y)
    return x if x is not None else ("tag", "ignore")


def parse_line(line: str) -> Expr:
    """A `//go:build` or `// +build` line -> expression (ConstraintError when it is neither)."""
    text = split_go_build(line)
    if text is not None:
        return parse_expr(text)
    text = split_plus_build(line)
    if text is not None:
        return parse_plus_build(text)
    raise ConstraintError("not a build constraint")


def eval_expr(x: Expr, ok: Callable[[str], bool]) -> bool:
    op = x[0]
    if op == "tag":
        return ok(x[1])
    if op == "not":
        return not eval_expr(x[1], ok)
    if op == "and":
        for y in x[1:]:
            if not eval_expr(y, ok):
                return False
        return True
    for y in x[1:]:
        if eval_expr(y, ok):
            return True
    return False


# ---- the file head ----------------------------------------------------------------------------


class _NeedMore(Exception):
    """The head read so far ends before the decision could be made: read more of the file."""


@dataclass
class Header:
    go_build: str | None  # the //go:build line, stripped
    plus_build: list[str]  # the // +build lines that count (before the header's last blank line)
    package: str | None  # the package clause's name (None: not found, e.g. a syntax error)
    imports_c: bool  # imports "C" (only looked for when asked)


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
            return end, go_build  # non-comment text: the header ends here
    if not eof:
        raise _NeedMore
    return end, go_build


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
    found = False

    def spec() -> bool:  # [name | "."] "path"
        if not t.punct(b"."):
            t.skip()
            if _IDENT.match(t.buf, t.pos):
                t.ident()
        lit = t.string()
        if lit is None:
            return False
        return _import_path(lit) == "C"

    while True:
        t.skip()
        m = _IDENT.match(buf, t.pos)
        if not eof and (not m or m.end() >= len(buf)):
            raise _NeedMore  # "imp|ort" cut short (or a syntax error: decided on the whole file)
        if not m or m.group() != b"import":
            break
        t.pos = m.end()
        if t.punct(b"("):
            while not t.punct(b")"):
                if t.pos >= len(buf):
                    return pkg, found
                before = t.pos
                found = spec() or found
                if t.pos == before:  # a syntax error: stop here
                    return pkg, found
        else:
            found = spec() or found
    return pkg, found


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


# ---- the configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    goos: str
    goarch: str
    cgo_enabled: bool
    compiler: str = "gc"
    build_tags: tuple[str, ...] = ()  # -tags
    tool_tags: tuple[str, ...] = ()  # GOARCH feature tags, goexperiment.*
    release_tags: tuple[str, ...] = ()  # go1.1 .. go1.N

    def match_tag(self, name: str) -> bool:
        if name == "cgo" and self.cgo_enabled:
            return True
        if name in (self.goos, self.goarch, self.compiler):
            return True
        if (self.goos, name) in (("android", "linux"), ("illumos", "solaris"), ("ios", "darwin")):
            return True
        if name == "unix" and self.goos in UNIX_OS:
            return True
        if name == "boringcrypto":
            name = "goexperiment.boringcrypto"
        return name in self.build_tags or name in self.tool_tags or name in self.release_tags

    def eval(self, x: Expr) -> bool:
        return eval_expr(x, self.match_tag)

    def good_os_arch_file(self, name: str) -> bool:
        """False when the file name carries a _GOOS / _GOARCH / _GOOS_GOARCH suffix that does not
        match (go/build's goodOSArchFile: everything up to the first _ and from the first . is
        ignored, so `linux.go` and `x_unix.go` are unconstrained)."""
        name = os.path.basename(name).split(".", 1)[0]
        i = name.find("_")
        if i < 0:
            return True
        parts = name[i:].split("_")
        if parts and parts[-1] == "test":
            parts = parts[:-1]
        n = len(parts)
        if n >= 2 and parts[-2] in KNOWN_OS and parts[-1] in KNOWN_ARCH:
            return self.match_tag(parts[-1]) and self.match_tag(parts[-2])
        if n >= 1 and (parts[-1] in KNOWN_OS or parts[-1] in KNOWN_ARCH):
            return self.match_tag(parts[-1])
        return True

    def header_ok(self, h: Header) -> bool:
        """The file's //go:build line (or, without one, all its // +build lines) hold."""
        if h.go_build is not None:
            text = split_go_build(h.go_build)
            try:
                return self.eval(parse_expr(text or ""))
            except ConstraintError as e:
                raise ConstraintError(f"parsing //go:build line: {e}") from None
        ok = True
        for line in h.plus_build:
            try:
                if not self.eval(parse_line(line)):
                    ok = False
            except ConstraintError:
                pass  # go/build ignores // +build lines it cannot parse
        return ok

    def needs_imports(self, name: str) -> bool:
        # a non-test file importing "C" is not compiled when cgo is off
        return not self.cgo_enabled and not name.endswith("_test.go")

    def decide(self, name: str, h: Header, all_files: bool = False) -> bool:
        if not all_files and not self.header_ok(h):
            return False
        if all_files:
            self.header_ok(h)  # a //go:build line that does not parse is an error even so
        if h.package == "documentation":
            return False
        return not (h.imports_c and self.needs_imports(name))


def _host() -> tuple[str, str]:
    plat = sys.platform
    goos = "linux"
    for prefix, g in (("linux", "linux"), ("darwin", "darwin"), ("win32", "windows"), ("cygwin", "windows"),
                      ("msys", "windows"), ("freebsd", "freebsd"), ("openbsd", "openbsd"), ("netbsd", "netbsd"),
                      ("dragonfly", "dragonfly"), ("sunos", "solaris"), ("aix", "aix"), ("android", "android"),
                      ("ios", "ios"), ("emscripten", "js"), ("wasi", "wasip1"), ("gnu", "hurd"), ("zos", "zos")):
        if plat.startswith(prefix):
            goos = g
            break
    if goos == "solaris":
        try:
            if "illumos" in os.uname().version.lower():
                goos = "illumos"
        except (AttributeError, OSError):
            pass
    m = platform.machine().lower()
    big = sys.byteorder == "big"
    if m in ("x86_64", "amd64", "x64"):
        arch = "amd64"
    elif m in ("i386", "i486", "i586", "i686", "x86", "i86pc"):
        arch = "386"
    elif m in ("aarch64", "arm64", "armv8l", "aarch64_be"):
        arch = "arm64"
    elif m.startswith("arm"):
        arch = "arm"
    elif m in ("ppc64le", "powerpc64le"):
        arch = "ppc64le"
    elif m in ("ppc64", "powerpc64"):
        arch = "ppc64"
    elif m in ("loongarch64", "loong64"):
        arch = "loong64"
    elif m.startswith("mips64"):
        arch = "mips64" if big else "mips64le"
    elif m.startswith("mips"):
        arch = "mips" if big else "mipsle"
    elif m in ("riscv64", "s390x", "sparc64"):
        arch = m
    elif m.startswith("wasm"):
        arch = "wasm"
    else:
        arch = m or "amd64"
    return goos, arch


def _read_env_file(path: str | None) -> dict[str, str]:
    """A `go env -w` file: KEY=VALUE lines (others ignored)."""
    out: dict[str, str] = {}
    if not path:
        return out
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return out
    for raw in data.split(b"\n"):
        i = raw.find(b"=")
        if i < 0 or not raw[:1].isupper():
            continue
        out[raw[:i].decode("utf-8", "replace")] = raw[i + 1:].decode("utf-8", "replace")
    return out


def _user_env_file(env: Mapping[str, str]) -> str | None:
    """cmd/go's EnvFile: $GOENV (off: none), else os.UserConfigDir()/go/env."""
    f = env.get("GOENV", "")
    if f:
        return None if f == "off" else f
    if sys.platform == "win32":
        d = env.get("AppData", "") or env.get("APPDATA", "")
    elif sys.platform == "darwin":
        home = env.get("HOME", "")
        d = os.path.join(home, "Library", "Application Support") if home else ""
    else:
        d = env.get("XDG_CONFIG_HOME", "")
        if not d:
            home = env.get("HOME", "")
            d = os.path.join(home, ".config") if home else ""
        elif not os.path.isabs(d):
            return None  # os.UserConfigDir fails: cmd/go reads no file
    return os.path.join(d, "go", "env") if d else None


def _find_goroot(env: Mapping[str, str], user: Mapping[str, str]) -> str | None:
    g = env.get("GOROOT") or user.get("GOROOT")
    if g:
        return os.path.normpath(g)
    go = shutil.which("go", path=env.get("PATH", os.defpath))
    if not go:
        return None
    root = os.path.dirname(os.path.dirname(os.path.realpath(go)))
    if os.path.isdir(os.path.join(root, "pkg", "tool")) or os.path.isfile(os.path.join(root, "VERSION")):
        return root
    return None


_GO_MINOR = re.compile(r"\bgo1\.(\d+)")


def _go_minor(goroot: str | None) -> int:
    if goroot:
        try:
            with open(os.path.join(goroot, "VERSION"), encoding="utf-8", errors="replace") as fh:
                m = _GO_MINOR.search(fh.readline())
            if m:
                return int(m.group(1))
        except OSError:
            pass
    return DEFAULT_GO_MINOR


def _split_quoted(s: str) -> list[str]:
    """cmd/internal/quoted.Split: white-space separated fields; a field may be '...' or "..."."""
    out, i, n = [], 0, len(s)
    while i < n:
        while i < n and s[i] in " \t\n\r":
            i += 1
        if i >= n:
            break
        if s[i] in "'\"":
            j = s.find(s[i], i + 1)
            if j < 0:  # unterminated: go refuses the whole GOFLAGS; take the rest
                out.append(s[i + 1:])
                break
            out.append(s[i + 1:j])
            i = j + 1
            continue
        j = i
        while j < n and s[j] not in " \t\n\r":
            j += 1
        out.append(s[i:j])
        i = j
    return out


def _tags_value(v: str) -> list[str]:
    # cmd/go's -tags: comma-separated; the old space-separated (or quoted) list still works
    if " " in v or "'" in v:
        return [x for x in _split_quoted(v) if x]
    return [x for x in v.split(",") if x]


def goflags_tags(goflags: str) -> list[str]:
    """The -tags of a GOFLAGS value (the last one wins, as with repeated flags)."""
    tags: list[str] = []
    words = _split_quoted(goflags)
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        name = w[2:] if w.startswith("--") else w[1:] if w.startswith("-") else None
        if name is None:
            continue
        if name.startswith("tags="):
            tags = _tags_value(name[len("tags="):])
        elif name == "tags" and i < len(words) and not words[i].startswith("-"):
            tags = _tags_value(words[i])  # "-tags a,b": go refuses it in GOFLAGS; we read it
            i += 1
    return tags


def _arch_tags(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    """buildcfg's GOARCH feature tags (amd64.v1, arm64.v8.0, ...) for the GO<ARCH> settings."""
    def num(s: str, default: int) -> int:
        m = re.match(r"\D*(\d+)", s)
        return int(m.group(1)) if m else default

    if goarch == "amd64":
        return [f"amd64.v{i}" for i in range(1, num(getenv("GOAMD64") or "v1", 1) + 1)]
    if goarch == "386":
        return ["386." + (getenv("GO386") or "sse2")]
    if goarch == "arm":
        return [f"arm.{i}" for i in range(5, num(getenv("GOARM") or "7", 7) + 1)]
    if goarch == "arm64":
        m = re.match(r"v(\d)\.(\d)", getenv("GOARM64") or "v8.0")
        major, minor = (int(m.group(1)), int(m.group(2))) if m else (8, 0)
        out = [f"arm64.v{major}.{i}" for i in range(minor + 1)]
        if major == 9:
            out += [f"arm64.v8.{i}" for i in range(min(minor + 5, 9) + 1)]
        return out
    if goarch in ("mips", "mipsle"):
        return [f"{goarch}." + ((getenv("GOMIPS") or "hardfloat").split(",")[0])]
    if goarch in ("mips64", "mips64le"):
        return [f"{goarch}." + ((getenv("GOMIPS64") or "hardfloat").split(",")[0])]
    if goarch in ("ppc64", "ppc64le"):
        return [f"{goarch}.power{i}" for i in range(8, num(getenv("GOPPC64") or "power8", 8) + 1)]
    if goarch == "riscv64":
        level = num(getenv("GORISCV64") or "rva20u64", 20)
        return ["riscv64.rva20u64"] + [f"riscv64.rva{v}u64" for v in (22, 23) if level >= v]
    if goarch == "wasm":
        return ["wasm.satconv", "wasm.signext"]
    return []


def default_cc(goos: str) -> str:
    return "clang" if goos in ("darwin", "ios", "freebsd", "openbsd") else "gcc"


def build_context(env: Mapping[str, str] | None = None) -> Context:
    """The Context for an environment (os.environ by default), uncached."""
    env = os.environ if env is None else env
    user = _read_env_file(_user_env_file(env))
    goroot = _find_goroot(env, user)
    rootenv = _read_env_file(os.path.join(goroot, "go.env")) if goroot else {}

    def getenv(k: str) -> str:
        return env.get(k) or user.get(k) or rootenv.get(k) or ""

    host_os, host_arch = _host()
    goos = getenv("GOOS") or host_os
    goarch = getenv("GOARCH") or host_arch
    cgo = getenv("CGO_ENABLED")
    if cgo in ("0", "1"):
        cgo_enabled = cgo == "1"
    elif (goos, goarch) != (host_os, host_arch):
        cgo_enabled = False  # cross-compiling: cgo only when asked for
    else:
        cgo_enabled = f"{goos}/{goarch}" in CGO_SUPPORTED and bool(
            env.get("CC") or shutil.which(default_cc(goos), path=env.get("PATH", os.defpath)))
    experiments = [x for x in getenv("GOEXPERIMENT").split(",") if x and not x.startswith("no")]
    return Context(
        goos=goos, goarch=goarch, cgo_enabled=cgo_enabled,
        build_tags=tuple(goflags_tags(getenv("GOFLAGS"))),
        tool_tags=tuple(["goexperiment." + x for x in experiments] + _arch_tags(goarch, getenv)),
        release_tags=tuple(f"go1.{i}" for i in range(1, _go_minor(goroot) + 1)),
    )


_ENV_KEYS = ("GOOS", "GOARCH", "GOFLAGS", "CGO_ENABLED", "CC", "GOROOT", "PATH", "GOENV", "HOME",
             "XDG_CONFIG_HOME", "APPDATA", "AppData", "GOEXPERIMENT", "GOAMD64", "GO386", "GOARM",
             "GOARM64", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64")
_memo: dict[tuple, Context] = {}


def current_context(env: Mapping[str, str] | None = None) -> Context:
    """build_context, memoised on the settings it reads (the environment may change between
    calls in a long-lived process; a `go env -w` file is keyed by its mtime)."""
    env = os.environ if env is None else env
    f = _user_env_file(env)
    try:
        stamp = os.stat(f).st_mtime_ns if f else None
    except OSError:
        stamp = None
    key = tuple(env.get(k) for k in _ENV_KEYS) + (f, stamp)
    ctx = _memo.get(key)
    if ctx is None:
        if len(_memo) > 64:
            _memo.clear()
        ctx = _memo[key] = build_context(env)
    return ctx


# ---- files ------------------------------------------------------------------------------------


def name_ok(name: str) -> bool:
    """go/build never takes `_*` and `.*` files, named on the command line or not."""
    base = os.path.basename(name)
    return base.endswith(".go") and not base.startswith(("_", "."))


def matches(path: str, head: bytes, ctx: Context | None = None, all_files: bool = False) -> bool:
    """Whether go build compiles the .go file path whose head (the file, or at least everything
    up to its imports) is head. all_files: a file named on the command line, whose file name and
    //go:build constraints are ignored (go vet x.go). ConstraintError: a bad //go:build line."""
    ctx = current_context() if ctx is None else ctx
    name = os.path.basename(path)
    if not name_ok(name):
        return False
    if not all_files and not ctx.good_os_arch_file(name):
        return False
    return ctx.decide(name, scan_header(head, True, ctx.needs_imports(name)), all_files)


HEAD_BYTES = 8192


def file_matches(path: str, ctx: Context | None = None, all_files: bool = False) -> bool:
    """matches() for a file on disk, reading only its head (more only when the leading comments
    or the imports go on past the first HEAD_BYTES). OSError when it cannot be read."""
    ctx = current_context() if ctx is None else ctx
    name = os.path.basename(path)
    if not name_ok(name):
        return False
    if not all_files and not ctx.good_os_arch_file(name):
        return False
    want = ctx.needs_imports(name)
    with open(path, "rb") as fh:
        buf = fh.read(HEAD_BYTES)
        eof = len(buf) < HEAD_BYTES
        while True:
            try:
                h = scan_header(buf, eof, want)
                break
            except _NeedMore:
                n = max(len(buf), HEAD_BYTES)
                more = fh.read(n)
                eof = len(more) < n
                buf += more
    return ctx.decide(name, h, all_files)
