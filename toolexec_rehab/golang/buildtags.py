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

Where: buildtags_data.py the GOOS/GOARCH tables and GOARCH feature tags; buildtags_expr.py
the //go:build and // +build expressions; buildtags_head.py a file's head; goenv.py the
settings as cmd/go reads them (environment, `go env -w` file, go.env, GOROOT, GOFLAGS). This
module: the Context (which tags hold, which file names match) and the file-level decision.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..records import FrozenRecord

# what the module always offered, wherever it lives now
from .buildtags_data import (  # noqa: F401
    CGO_SUPPORTED,
    DEFAULT_GO_MINOR,
    KNOWN_ARCH,
    KNOWN_OS,
    UNIX_OS,
)
from .buildtags_data import arch_tags as _arch_tags
from .buildtags_expr import (  # noqa: F401
    ConstraintError,
    Expr,
    eval_expr,
    is_valid_tag,
    parse_expr,
    parse_line,
    parse_plus_build,
    split_go_build,
    split_plus_build,
)
from .buildtags_head import Header, _NeedMore, scan_header
from .goenv import _go_minor, _host, _user_env_file, cgo_enabled, default_cc, goflags_tags, settings  # noqa: F401

# ---- the configuration ------------------------------------------------------------------------


class Context(FrozenRecord):
    _fields = ("goos", "goarch", "cgo_enabled", "compiler", "build_tags", "tool_tags", "release_tags")
    goos: str
    goarch: str
    cgo_enabled: bool
    compiler: str
    build_tags: tuple[str, ...]  # -tags
    tool_tags: tuple[str, ...]  # GOARCH feature tags, goexperiment.*
    release_tags: tuple[str, ...]  # go1.1 .. go1.N

    def __init__(self, goos: str, goarch: str, cgo_enabled: bool, compiler: str = "gc",
                 build_tags: tuple[str, ...] = (), tool_tags: tuple[str, ...] = (),
                 release_tags: tuple[str, ...] = ()) -> None:
        self._init_fields(goos, goarch, cgo_enabled, compiler, build_tags, tool_tags, release_tags)

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


def build_context(env: Mapping[str, str] | None = None) -> Context:
    """The Context for an environment (os.environ by default), uncached."""
    env = os.environ if env is None else env
    getenv, goroot = settings(env)
    host = _host()
    goos = getenv("GOOS") or host[0]
    goarch = getenv("GOARCH") or host[1]
    experiments = [x for x in getenv("GOEXPERIMENT").split(",") if x and not x.startswith("no")]
    return Context(
        goos=goos, goarch=goarch, cgo_enabled=cgo_enabled(env, getenv, goos, goarch, host),
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


def _name_selects(name: str, ctx: Context, all_files: bool) -> bool:
    """What the file name alone decides: `_*`/`.*` never; a _GOOS/_GOARCH suffix unless the
    file was named on the command line."""
    return name_ok(name) and (all_files or ctx.good_os_arch_file(name))


def matches(path: str, head: bytes, ctx: Context | None = None, all_files: bool = False) -> bool:
    """Whether go build compiles the .go file path whose head (the file, or at least everything
    up to its imports) is head. all_files: a file named on the command line, whose file name and
    //go:build constraints are ignored (go vet x.go). ConstraintError: a bad //go:build line."""
    ctx = current_context() if ctx is None else ctx
    name = os.path.basename(path)
    if not _name_selects(name, ctx, all_files):
        return False
    return ctx.decide(name, scan_header(head, True, ctx.needs_imports(name)), all_files)


HEAD_BYTES = 8192


def file_matches(path: str, ctx: Context | None = None, all_files: bool = False) -> bool:
    """matches() for a file on disk, reading only its head (more only when the leading comments
    or the imports go on past the first HEAD_BYTES). OSError when it cannot be read."""
    ctx = current_context() if ctx is None else ctx
    name = os.path.basename(path)
    if not _name_selects(name, ctx, all_files):
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
