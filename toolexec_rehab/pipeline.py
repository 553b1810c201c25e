"""Source-side runs of the one pipeline: patterns -> packages -> findings -> fixed sources.

`check`, `fix`, `overlay` and `explain` all come through here; the build (toolexec/wrap.py)
and `go vet -vettool` share the same Analyzer and rule selection (`select_rules`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Mapping

from .analysis import Analyzer, UsageError, build_packages, expand_patterns, go_env_goroot
from .analysis import display as _display
from .config import Config, load_config, package_selected
from .golang import inputs as golang_inputs
from .golang.package import GoFile, find_module
from .parallel import Helper, reported
from .records import Record
from .rules.diagnostic import Diagnostic
from .rules.engine import apply_fixes
from .rules.loader import LoadedRule, all_rules


def select_rules(cfg: Config, spec: str | None = None, fix_only: bool = False) -> tuple[list[LoadedRule], dict]:
    """The active rules and their modes: --rules / REHAB_RULES, else the config, else each rule's default."""
    rules = all_rules()
    known = {r.id for r in rules}
    cfg.check_rule_ids(known)
    modes = cfg.modes()
    unknown_modes = set(modes) - known
    if unknown_modes:
        raise UsageError(f"REHAB_MODES: unknown rule(s): {', '.join(sorted(unknown_modes))}")
    spec = spec if spec is not None else os.environ.get("REHAB_RULES")
    if spec:
        want = {x.strip() for x in spec.split(",") if x.strip()}
        unknown = want - known
        if unknown:
            raise UsageError(f"unknown rule(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        rules = [r for r in rules if r.id in want]
    else:
        def on(r):
            s = cfg.rules.get(r.id)
            return s.enabled if s is not None and s.enabled is not None else r.rule.enabled
        rules = [r for r in rules if on(r)]
    if fix_only:
        rules = [r for r in rules if modes.get(r.id, r.rule.mode) == "fix" and r.rule.fix is not None]
    return rules, modes


def import_path(directory: str) -> str | None:
    mod = find_module(directory)
    if not mod:
        return None
    root, modpath = mod
    rel = os.path.relpath(directory, root).replace(os.sep, "/")
    return modpath if rel == "." else f"{modpath}/{rel}"


class Progress:
    """`[12/40] ./internal/store` on one line of stderr, only when stderr is a terminal and not in CI."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.n = total, label, 0
        self.on = total > 1 and sys.stderr.isatty() and not os.environ.get("CI") \
            and os.environ.get("TERM") != "dumb"

    def step(self, what: str) -> None:
        self.n += 1
        if self.on:
            width = 24
            done = width * self.n // self.total
            sys.stderr.write(f"\r\x1b[K{self.label} [{'#' * done}{'.' * (width - done)}] {self.n}/{self.total} {what}"[:200])
            sys.stderr.flush()

    def done(self) -> None:
        if self.on:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


class Run(Record):
    _fields = ("cfg", "rules", "findings", "errors", "analyzer", "packages", "cached")
    cfg: Config
    rules: list[LoadedRule]
    findings: list[Diagnostic]
    errors: list[str]
    analyzer: Analyzer | None
    packages: list  # golang.package.Package, as analyzed
    cached: list  # PackageInputs whose findings came from the result cache

    def __init__(self, cfg: Config, rules: list[LoadedRule], findings: list[Diagnostic] | None = None,
                 errors: list[str] | None = None, analyzer: Analyzer | None = None, packages: list | None = None,
                 cached: list | None = None) -> None:
        self.cfg = cfg
        self.rules = rules
        self.findings = [] if findings is None else findings
        self.errors = [] if errors is None else errors
        self.analyzer = analyzer
        self.packages = [] if packages is None else packages
        self.cached = [] if cached is None else cached

    def files(self) -> dict[str, GoFile]:
        """Every analyzed file by its path (a Diagnostic's `path`); those of packages whose
        findings the result cache gave are read and parsed now."""
        while self.cached:
            self.packages.extend(build_packages(self.cached.pop()))
        return {f.path: f for pkg in self.packages for f in pkg.files}


def analyze(patterns: list[str], rules_spec: str | None = None, fix_only: bool = False,
            label: str = "check", source: bool = True, cache: bool = False) -> Run:
    """Findings for the packages the patterns name. cache=True (check): packages whose files,
    settings and the packages they read are unchanged since a run kept their findings take
    them from the result cache (resultcache.py) instead of being analyzed."""
    cfg = load_config()
    rules, modes = select_rules(cfg, rules_spec, fix_only)
    inputs = expand_patterns(patterns)
    include, exclude = cfg.package_globs()
    if include or exclude:
        inputs = [i for i in inputs if package_selected(import_path(i.directory) or i.directory, include, exclude)]
    analyzer = Analyzer(go_env_goroot(), rules=rules, modes=modes, source=source)
    run = Run(cfg, rules, analyzer=analyzer)
    from .syntax import syntax_errors

    store = keys = None
    if cache:
        from .resultcache import ResultCache

        store = ResultCache.open(cfg, rules, modes, rules_spec, fix_only, source)
    if store is not None:
        keys, todo = {}, []
        for inp in inputs:
            key = store.key(inp)
            got = store.get(inp, key) if key is not None else None
            if got is None:
                todo.append(inp)
                keys[id(inp)] = key
            else:
                run.findings.extend(got)
                run.cached.append(inp)
        inputs = todo
    helper = Helper.start(inputs, analyzer)  # a second process on the second core (parallel.py)
    bar = Progress(len(inputs), label)
    records: dict[int, set] = {}
    clean = set()  # inputs whose files all parsed
    try:
        for i, inp in enumerate(inputs):
            bar.step(_display(inp.directory))
            wanted = reported(inp)
            if store is not None:
                records[i] = golang_inputs.begin()
            pkgs = build_packages(inp)
            take = helper.claims.taker(i, pkgs, wanted) if helper else None
            for pkg in pkgs:
                run.packages.append(pkg)
                for f in pkg.files:
                    if f.has_error and (inp.report is None or f.path in inp.report):
                        run.errors.extend(syntax_errors(f))
                run.findings.extend(analyzer.analyze(pkg, wanted, take))
            if store is not None:
                golang_inputs.end()
                if not any(f.has_error for pkg in pkgs for f in pkg.files):
                    clean.add(i)
    finally:
        golang_inputs.end()
        bar.done()
    if helper:
        run.findings.extend(helper.join(inputs, run.packages, analyzer))
    if store is not None and not analyzer.engine.warnings and (helper is None or helper.complete):
        _keep(store, keys, inputs, records, clean, helper, run.findings)
    print_warnings(analyzer)
    run.findings.sort(key=lambda x: (x.origin, x.line, x.column, x.rule))
    return run


def _keep(store, keys: dict, inputs: list, records: dict[int, set], clean: set, helper, findings) -> None:
    """Write the result cache's entries of the inputs analyzed here (what both processes read)."""
    owner: dict[str, int] = {}
    for i, inp in enumerate(inputs):
        for p in inp.files:
            owner.setdefault(p, i)
    mine: dict[int, list] = {i: [] for i in range(len(inputs))}
    for d in findings:
        i = owner.get(d.path)
        if i is not None:
            mine[i].append(d)
    for i, inp in enumerate(inputs):
        key = keys.get(id(inp))
        if key is None or i not in clean:
            continue
        record = set(records.get(i, ())) | (helper.records.get(i, set()) if helper else set())
        store.put(inp, key, record, mine[i])


def print_warnings(analyzer, stream=None) -> None:
    """What the engine had to say beside the findings (a rule whose fix template went past
    its limits): one line each, on stderr."""
    for w in (analyzer.engine.warnings if analyzer is not None else ()):
        print(f"toolexec-rehab: warning: {w}", file=stream or sys.stderr)


display = _display  # go vet's convention (analysis.display)


# ------------------------------------------------------------------ fixes

def patch_hash(fd: Diagnostic) -> str:
    """Identifies one fix: the file and its byte edits."""
    h = hashlib.sha256(fd.origin.encode() + b"\0")
    for e in sorted(fd.edits):
        h.update(f"{e.start}:{e.end}:".encode() + e.text.encode() + b"\0")
    return "sha256:" + h.hexdigest()


def audit_entry(fd: Diagnostic, f: GoFile) -> dict:
    """What the audit log records of one applied fix (audit.append adds time, user, chain);
    f: the diagnostic's file."""
    return {"rule": fd.rule, "node_id": fd.node_id, "file": f.id_path(), "line": fd.line,
            "patch_hash": patch_hash(fd)}


class FixedFile(Record):
    _fields = ("file", "new_src", "applied", "rejected")
    file: GoFile
    new_src: bytes
    applied: list[Diagnostic]
    rejected: list[tuple[Diagnostic, str]]

    def __init__(self, file: GoFile, new_src: bytes, applied: list[Diagnostic],
                 rejected: list[tuple[Diagnostic, str]]) -> None:
        self.file = file
        self.new_src = new_src
        self.applied = applied
        self.rejected = rejected


MAX_ROUNDS = 4


def fixed_files(findings: list[Diagnostic], files: Mapping[str, GoFile], only_ids: set[str] | None = None,
                run: Run | None = None, keep=None, layout: bool = True) -> list[FixedFile]:
    """Apply every fix (line-preserving); one entry per changed file. files: the diagnostics'
    files by path (Run.files()).

    With `run`, fix to a fixpoint: a fix can create what another rule fixes (the opt-in
    unchecked-error fix adds an early `return err` that skips a later Close), so the
    changed packages are analyzed again and fixed again, up to MAX_ROUNDS, and fixing the
    result finds nothing more. Not with `only_ids`: a trace confirmed only the sites it saw.
    `keep`: which diagnostics of later rounds may be fixed (the first round's are given).
    `layout`: for the source (rewrite/layout.py: a statement on a line of its own, after the
    line's comment); False keeps every line where it was (an overlay feeds a build).
    """
    out = _apply_round(findings, files, only_ids, layout)
    if run is None or run.analyzer is None or only_ids is not None or not out:
        return out
    from .golang.package import Package, load_file

    state = {ff.file.path: ff for ff in out}
    # one finding gets one fix: a finding that a later round still sees (a fix its rule's
    # analysis does not count as a release) is not fixed again
    done = {(x.rule, x.node_id) for ff in out for x in ff.applied}
    for _ in range(MAX_ROUNDS - 1):
        current = {p: load_file(p, ff.new_src, origin=ff.file.origin) for p, ff in state.items()}
        again: list[Diagnostic] = []
        for pkg in run.packages:
            if any(f.path in current for f in pkg.files):
                pkg2 = Package([current.get(f.path, f) for f in pkg.files])
                again += [x for x in run.analyzer.analyze(pkg2) if x.fix and x.path in current
                          and (keep is None or keep(x)) and (x.rule, x.node_id) not in done]
        more = _apply_round(again, current, None, layout)
        if not more:
            break
        done |= {(x.rule, x.node_id) for ff in more for x in ff.applied}
        for ff in more:
            prev = state[ff.file.path]
            # a fix refused in one round may apply in the next; one refused again is said once
            done = {(x.rule, x.line) for x in ff.applied}
            seen = {(x.rule, x.line) for x, _ in prev.rejected}
            rejected = [r for r in prev.rejected if (r[0].rule, r[0].line) not in done] + \
                [r for r in ff.rejected if (r[0].rule, r[0].line) not in seen]
            state[ff.file.path] = FixedFile(prev.file, ff.new_src, prev.applied + ff.applied, rejected)
    return sorted(state.values(), key=lambda x: x.file.origin)


def _apply_round(findings: list[Diagnostic], files: Mapping[str, GoFile],
                 only_ids: set[str] | None, layout: bool = False) -> list[FixedFile]:
    by_file: dict[str, list[Diagnostic]] = {}
    for fd in findings:
        if not fd.fix or (only_ids is not None and fd.node_id not in only_ids):
            continue
        by_file.setdefault(fd.path, []).append(fd)
    out = []
    for k, fds in by_file.items():
        res = apply_fixes(files[k], fds)
        if res.new_src is None:
            continue
        rejected = {id(x) for x, _ in res.rejected}
        applied = [x for x in fds if id(x) not in rejected]
        new = _source_layout(files[k].src, applied) if layout else None
        out.append(FixedFile(files[k], new or res.new_src, applied, res.rejected))
    out.sort(key=lambda x: x.file.origin)
    return out


def _source_layout(src: bytes, applied: list[Diagnostic]) -> bytes | None:
    """The applied fixes laid out for the source (None: the line-preserving form stands,
    when the laid-out edits would overlap or the result would not parse)."""
    from .golang import parse as P
    from .rewrite import edits as E
    from .rewrite.layout import source_layout

    fmt = None if _gofmt_clean(src) else _gofmt_statement
    try:
        new = E.apply(src, source_layout(src, [e for fd in applied for e in fd.fix.edits], fmt))
    except E.EditConflict:
        return None
    return None if P.parse(new).root_node.has_error else new


_CLEAN: dict[bytes, bool] = {}


def _gofmt_clean(src: bytes) -> bool:
    """The user's file is as gofmt writes it (then source_form formats the whole fixed file)."""
    if src not in _CLEAN:
        if len(_CLEAN) > 256:
            _CLEAN.clear()
        try:
            _CLEAN[src] = gofmt(src, "<file>") == src
        except UsageError:
            _CLEAN[src] = False
    return _CLEAN[src]


def _gofmt_statement(stmt: str) -> list[str] | None:
    """A statement as gofmt lays it out, one line per entry, indented from the statement's
    own level (None: gofmt refused it)."""
    try:
        out = gofmt(f"package p\n\nfunc _() {{\n{stmt}\n}}\n".encode(), "<fix>").decode()
    except UsageError:
        return None
    lines = out.split("\n")
    try:
        body = lines[lines.index("func _() {") + 1: len(lines) - 1 - lines[::-1].index("}")]
    except ValueError:
        return None
    return [ln[1:] if ln.startswith("\t") else ln for ln in body] or None


def gofmt_path() -> str | None:
    goroot = go_env_goroot()
    if goroot and os.path.isfile(os.path.join(goroot, "bin", "gofmt")):
        return os.path.join(goroot, "bin", "gofmt")
    return shutil.which("gofmt")


def gofmt(src: bytes, name: str) -> bytes:
    g = gofmt_path()
    if g is None:
        raise UsageError("gofmt not found (is Go installed and on PATH?)")
    import subprocess  # here: `check` runs no subprocess (~3 ms of its start)

    r = subprocess.run([g], input=src, capture_output=True, timeout=120)
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip().replace("<standard input>", name)
        raise UsageError(f"internal error: the fixed {name} does not gofmt: {msg}")
    return r.stdout


def source_form(ff: FixedFile) -> bytes:
    """What `fix` writes: gofmt'd, unless the user's file was not gofmt-clean to begin with
    (then only our lines change, and gofmt would reformat theirs)."""
    return gofmt(ff.new_src, ff.file.origin) if _gofmt_clean(ff.file.src) else ff.new_src


def source_fix(fd: Diagnostic, files: Mapping[str, GoFile]) -> bytes | None:
    """The file as `fix` would write it with only this finding fixed (None: the fix did not apply)."""
    ffs = fixed_files([fd], files)
    return source_form(ffs[0]) if ffs else None


def unified_diff(path: str, old: bytes, new: bytes, labels: tuple[str, str] | None = None) -> str:
    """`a/<path> b/<path>` relative to the working directory (git apply, patch -p1), or `labels`."""
    import difflib

    a = old.decode("utf-8", "replace").splitlines(keepends=True)
    b = new.decode("utf-8", "replace").splitlines(keepends=True)
    if labels is None:
        rel = _display(path).removeprefix("./")
        labels = (f"a/{rel}", f"b/{rel}")
    lines = list(difflib.unified_diff(a, b, *labels, n=3))
    return "".join(x if x.endswith("\n") else x + "\n\\ No newline at end of file\n" for x in lines)


def _tags_flag() -> list[str]:
    """The -tags of the user's build (GOFLAGS), for the verifying build."""
    from .golang import buildtags

    tags = buildtags.current_context().build_tags
    return [f"-tags={','.join(tags)}"] if tags else []


def verify_build(replacements: dict[str, bytes]) -> list[str]:
    """Type-check the fixed packages with `go build -overlay` (`go vet` for test files) before
    anything is written. Returns error lines; [] when they build (or did not build before either)."""
    import json
    import subprocess
    import tempfile

    from .paths import write_private

    if not replacements or not shutil.which("go"):
        return []
    with tempfile.TemporaryDirectory(prefix="rehab-verify-") as tmp:
        os.chmod(tmp, 0o700)
        ov = {}
        for i, (orig, data) in enumerate(sorted(replacements.items())):
            p = os.path.join(tmp, f"{i}_{os.path.basename(orig)}")
            write_private(p, data)
            ov[orig] = p
        ovf = os.path.join(tmp, "overlay.json")
        write_private(ovf, json.dumps({"Replace": ov}).encode())
        errors = []
        by_dir: dict[str, list[str]] = {}
        for orig in replacements:
            by_dir.setdefault(os.path.dirname(orig), []).append(orig)
        for d, origs in sorted(by_dir.items()):
            tests = any(o.endswith("_test.go") for o in origs)
            cmd = ["go", "test", "-c", "-vet=off", "-o", os.path.join(tmp, "pkg.test")] if tests else \
                ["go", "build", "-o", os.devnull]
            env = dict(os.environ)
            env.pop("GOFLAGS", None)  # not a -toolexec of ours; the user's -tags are kept below
            cmd += _tags_flag()
            fixed = subprocess.run([*cmd, "-overlay", ovf, "."], cwd=d, capture_output=True, text=True, env=env)
            if fixed.returncode == 0:
                continue
            before = subprocess.run([*cmd, "."], cwd=d, capture_output=True, text=True, env=env)
            if before.returncode != 0:
                continue  # it did not build before: nothing we can check against
            errors.append(f"{_display(d)}: the fixed package does not build: "
                          + " | ".join((fixed.stdout + fixed.stderr).strip().splitlines()[:5]))
        return errors
