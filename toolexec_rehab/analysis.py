"""The shared front half: turn paths or compile inputs into packages and findings."""

from __future__ import annotations

import os

from .errors import UsageError  # noqa: F401 - re-exported
from .golang import buildtags
from .golang.goroot import go_env_goroot  # noqa: F401 - re-exported
from .golang.package import GoFile, Package, load_file
from .golang.stdapi import StdAPI
from .golang.stdapi import load as load_api
from .records import Record
from .rules.diagnostic import Diagnostic
from .rules.engine import Engine
from .rules.loader import load_rules

SKIP_DIRS = {"vendor", "testdata", "node_modules"}




class PackageInput(Record):
    _fields = ("directory", "files", "report")
    directory: str
    files: list[str]  # all .go files of one package (same package clause)
    report: set[str] | None  # report only on these (a file given by name)

    def __init__(self, directory: str, files: list[str], report: set[str] | None = None) -> None:
        self.directory = directory
        self.files = files
        self.report = report


def display(path: str) -> str:
    """go vet's convention: relative to the working directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    if rel.startswith(".."):
        return path
    return rel if rel.startswith(".") else "./" + rel


class _DirScan(Record):
    _fields = ("files", "had_go", "error")
    files: list[str]  # the .go files the build takes, sorted
    had_go: bool  # the directory has .go files at all (before constraints)
    error: str | None  # the first bad //go:build line

    def __init__(self, files: list[str], had_go: bool, error: str | None = None) -> None:
        self.files = files
        self.had_go = had_go
        self.error = error


def _scan_dir(directory: str, ctx: buildtags.Context) -> _DirScan:
    """The directory's .go files that go build compiles for ctx (file names, //go:build and
    // +build lines, cgo; see golang/buildtags), reading only each file's head."""
    try:
        with os.scandir(directory) as it:
            entries = sorted((e for e in it if buildtags.name_ok(e.name)), key=lambda e: e.name)
    except OSError as e:
        raise UsageError(f"{directory}: {e.strerror}") from None
    files: list[str] = []
    had_go, error = False, None
    for e in entries:
        try:
            if not e.is_file():
                continue
        except OSError:
            continue
        had_go = True
        path = os.path.join(directory, e.name)
        try:
            if buildtags.file_matches(path, ctx):
                files.append(path)
        except buildtags.ConstraintError as err:
            error = error or f"{display(path)}: {err}"
        except OSError:
            files.append(path)  # unreadable: the loader says so (exit 2)
    return _DirScan(files, had_go, error)


def _go_files(directory: str, ctx: buildtags.Context | None = None) -> list[str]:
    """The .go files of directory that `go build`/`go vet` take for the current configuration."""
    scan = _scan_dir(directory, buildtags.current_context() if ctx is None else ctx)
    if scan.error:
        raise UsageError(scan.error)
    return scan.files


def expand_patterns(patterns: list[str]) -> list[PackageInput]:
    """./... patterns, directories and files -> packages, one per directory (first-seen order).

    Build constraints select the files, as go vet does: a directory named explicitly whose files
    are all excluded is an error, one reached through `/...` is skipped. A .go file named
    explicitly is analyzed whatever its constraints say (go vet x.go), though never a `_*`/`.*`
    file, a `package documentation` one, or (cgo off) one importing "C". Repeated or
    overlapping arguments are merged: a whole directory wins over files named in it, and the
    files named in one directory are reported together."""
    ex = _Expansion(buildtags.current_context())
    for pat in patterns or ["./..."]:
        recursive = pat == "..." or pat.endswith("/...")
        base = (pat[:-4] if pat.endswith("/...") else ("." if pat == "..." else pat)) or "."
        if not os.path.exists(base):
            raise UsageError(f"stat {base}: no such file or directory")
        if os.path.isfile(base):
            ex.add_file(base)
        elif recursive:
            ex.add_tree(base)
        else:
            ex.add_dir(base)
    return ex.inputs()


class _Expansion:
    """The packages that the arguments so far name (see expand_patterns)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.scans: dict[str, _DirScan] = {}
        self.order: dict[str, None] = {}  # directories, first seen first
        self.whole: set[str] = set()  # directories requested as a whole (report everything)
        self.named: dict[str, dict[str, str]] = {}  # directory -> {abs file: as given}
        self.walked: set[str] = set()  # directories whose subtree a /... pattern has walked

    def scan(self, ab: str, strict: bool = True) -> _DirScan:
        """ab's files; strict: a bad constraint in one of them is an error (a directory that
        is analyzed as a whole), else only context for files named on their own."""
        if ab not in self.scans:
            self.scans[ab] = _scan_dir(ab, self.ctx)
        sc = self.scans[ab]
        if strict and sc.error:
            raise UsageError(sc.error)
        return sc

    def add_file(self, given: str) -> None:
        if not given.endswith(".go"):
            raise UsageError(f"{given}: not a .go file")
        ab = os.path.abspath(given)
        d = os.path.dirname(ab)
        self.order.setdefault(d)
        self.named.setdefault(d, {}).setdefault(ab, given)

    def add_tree(self, base: str) -> None:
        for root, dirs, _files in os.walk(base):
            ab = os.path.abspath(root)
            if ab in self.walked:  # an earlier pattern walked this subtree
                dirs[:] = []
                continue
            self.walked.add(ab)
            dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith((".", "_")))
            if self.scan(ab).files:  # all excluded by build constraints: skipped, as go vet ./... does
                self.order.setdefault(ab)
                self.whole.add(ab)

    def add_dir(self, base: str) -> None:
        ab = os.path.abspath(base)
        sc = self.scan(ab)
        if not sc.had_go:
            raise UsageError(f"{base}: no Go files")
        if not sc.files:
            raise UsageError(f"{base}: build constraints exclude all Go files in {ab}")
        self.order.setdefault(ab)
        self.whole.add(ab)

    def _named_files(self, d: str) -> set[str]:
        """The files named in d that the build would take (whatever their constraints), or an
        error when d was not requested as a whole and none is taken."""
        keep: set[str] = set()
        dropped: list[str] = []
        for ab, given in self.named.get(d, {}).items():
            try:
                ok = buildtags.file_matches(ab, self.ctx, all_files=True)
            except buildtags.ConstraintError as e:
                raise UsageError(f"{given}: {e}") from None
            except OSError:
                ok = True  # the loader reports it
            if ok:
                keep.add(ab)
            else:
                dropped.append(given)
        if d not in self.whole and not keep:
            first = dropped[0]
            if not buildtags.name_ok(first):
                raise UsageError(f"{first}: no Go files (go ignores files whose names start with _ or .)")
            raise UsageError(f"{first}: build constraints exclude all Go files in {d}")
        return keep

    def inputs(self) -> list[PackageInput]:
        out: list[PackageInput] = []
        for d in self.order:
            keep = self._named_files(d)
            files = sorted(set(self.scan(d, strict=False).files) | keep)  # files named explicitly join the package
            out.append(PackageInput(d, files, None if d in self.whole else keep))
        return out


def _load(path: str) -> GoFile:
    try:
        return load_file(path)
    except OSError as e:  # unreadable, vanished: the user's problem, said plainly (exit 2)
        raise UsageError(f"{path}: {e.strerror or e}") from None


def build_packages(inp: PackageInput, loaded: dict[str, GoFile] | None = None) -> list[Package]:
    """One Package per package clause in the directory (p and p_test are separate)."""
    files = [loaded[p] if loaded and p in loaded else _load(p) for p in inp.files]
    groups: dict[str, list[GoFile]] = {}
    for f in files:
        groups.setdefault(f.pkgname or "?", []).append(f)
    return [Package(fs) for _, fs in sorted(groups.items())]


class Analyzer:
    def __init__(self, goroot: str | None = None, rules=None, modes: dict[str, str] | None = None,
                 source: bool = False, fixable_only: bool = False):
        self.api: StdAPI = load_api(goroot)
        self.rules = rules if rules is not None else load_rules()
        # source=True: fixes for the source tree (fix, check), which may add imports; a build's may not
        self.engine = Engine(self.rules, self.api, modes=modes, source=source, fixable_only=fixable_only)

    def analyze(self, pkg: Package, only: set[str] | None = None, take=None) -> list[Diagnostic]:
        return self.engine.analyze(pkg, only, take)
