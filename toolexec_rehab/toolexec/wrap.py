"""The -toolexec side: `compile -V=full` and compile interception.

Fail open: whatever goes wrong here, the original compile runs. The compiler's
output is passed through untouched and we print nothing on success, because
cmd/go caches and replays a compile's output.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

from .. import __version__
from ..paths import modcache as _modcache
from ..paths import under as _under
from ..settings import KEYED as CONFIG_ENV
from .compileargs import CompileArgs


def _config():
    from ..config import load_config

    return load_config()


def _verbose() -> bool:
    from ..settings import flag_or_default

    return flag_or_default("REHAB_VERBOSE")


def config_digest() -> str:
    """Changes whenever our code, the rule and template files (recursively), the
    configuration files or a setting that can change the compiled program change. Checks
    them all first: a bad setting, config or rule stops the build here, with its reason.

    The sh launcher answers `compile -V=full` from a cache that lists what this reads
    (toolexec/server.py: vfull_cache_head): a new input here must be listed there too."""
    from ..paths import code_digest
    from ..rules.dirs import rules_digest
    from ..settings import check

    check()  # every REHAB_* variable
    cfg = _config()
    from ..pipeline import select_rules

    select_rules(cfg)  # every rule file loads; REHAB_RULES, REHAB_MODES and the config name real rules
    h = hashlib.sha256()
    h.update(f"toolexec-rehab {__version__}\0code={code_digest()}\0".encode())
    h.update(rules_digest().encode())
    for k in CONFIG_ENV:
        h.update(f"{k}={portable_setting(k, os.environ.get(k, ''))}\0".encode())
    h.update(f"config={portable_config_digest(cfg)}\0".encode())
    if cfg.fix_policy() == "confirmed":
        from ..runtime.report import check_build_trace

        trace = cfg.trace()
        check_build_trace(trace)  # a missing, relative or bad trace stops the build with its reason
        # fix: confirmed applies what the trace confirmed: a new trace is a new build
        try:
            with open(trace, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
        except OSError:
            h.update(b"no trace")
    return h.hexdigest()[:16]


# The ID must not depend on where the checkout, HOME or the config directory are: two CI
# runners that build the same module (other paths, other HOMEs) share one Go build cache
# (README "CI: a shared build cache"). So a path in the ID is named from an anchor, and what
# the file holds is hashed where it counts (config files here, rule directories in
# rules_digest, with names relative to their directory; a trace under `fix: confirmed`).

def portable_path(path: str, cwd: str | None = None) -> str:
    """An absolute path as the build-cache key names it: relative to the module root (the
    one that holds cwd), else to the user's config directory, else to HOME; any other path
    as it is. A relative path is kept as written (it is the same text on every machine)."""
    if not os.path.isabs(path):
        return path
    from ..config import user_config_path
    from ..paths import find_upward

    p = os.path.normpath(path)
    anchors = (("$MODULE", find_upward(cwd or os.getcwd(), "go.mod")),
               ("$CONFIG", os.path.dirname(os.path.dirname(user_config_path()))),
               ("$HOME", os.path.expanduser("~")))
    for name, root in anchors:
        if root and os.path.isabs(root) and root != os.sep and _under(p, root):
            rel = os.path.relpath(p, root)
            return name if rel == os.curdir else f"{name}/{rel}"
    return p


def portable_setting(name: str, value: str) -> str:
    """A keyed REHAB_* value for the ID: path settings through portable_path."""
    from ..settings import VARS

    var = VARS.get(name)
    if var is None or not value.strip():
        return value
    if var.kind == "path":
        return portable_path(value.strip())
    if var.kind == "paths":
        return os.pathsep.join(portable_path(x.strip()) for x in value.split(os.pathsep))
    return value


def portable_config_digest(cfg) -> str:
    """The config files read (the user's, the module's or REHAB_CONFIG's), each named by
    portable_path, with their contents (config.Config.digest with portable names)."""
    h = hashlib.sha256()
    for path, text in cfg.files or [(cfg.path or "", cfg.text)]:
        h.update(portable_path(path).encode("utf-8", "surrogateescape") + b"\0" + text + b"\0")
    return h.hexdigest()[:16]


def version_full(argv: list[str]) -> int:
    """Print the real tool's -V=full line with our suffix (the tool ID in cmd/go's cache key)."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sys.stderr.buffer.write(r.stderr)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0 or not out.strip():
        sys.stdout.write(out)
        return r.returncode
    line = out.rstrip("\n")
    try:
        suffix = "rehab" + config_digest()
    except Exception as e:  # noqa: BLE001 - a bad .rehab.yaml or rule file: say so and stop the build
        print(f"toolexec-rehab: {e}", file=sys.stderr)
        return 2
    fields = line.split()
    if len(fields) >= 3 and fields[2] == "devel" and fields[-1].startswith("buildID="):
        # devel toolchains: cmd/go keys on the content ID, the part after the last '/'
        fields[-1] = fields[-1] + "." + suffix
        line = " ".join(fields)
    else:
        line = line + " " + suffix
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0


# ------------------------------------------------------------------ scope



def _first_line(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.readline(4096)
    except OSError:
        return b""


def _line_target(first: bytes) -> str | None:
    """The file a `//line file:line[:col]` first line names, when absolute."""
    if not first.startswith(b"//line "):
        return None
    target = first[7:].strip().decode("utf-8", "replace")
    fname = target.rsplit(":", 2)[0] if target.count(":") >= 2 else target.rsplit(":", 1)[0]
    return fname if os.path.isabs(fname) else None


def _origin(path: str, objdir: str | None) -> str | None:
    """The user's file behind a compile input, or None for a purely generated one."""
    if objdir and _under(path, objdir):
        from ..golang.cgo import translated_from

        source = translated_from(path)  # cgo's x.cgo1.go: its header (line 3) names x.go
        if source is not None:
            return None if _under(source, objdir) else source
        # the cover tool's x.cover.go; None: _testmain.go, covervars.go, cgo's glue, and cgo's
        # translations of cover files (golang.cgo.translated_from)
        return _line_target(_first_line(path))
    return os.path.abspath(path)


def select_files(ca: CompileArgs) -> list[tuple[str, str]]:
    """(compile input, original file) pairs that are ours to analyze; [] means pass through."""
    from ..config import package_selected

    cfg = _config()
    if cfg.fix_policy() == "off" and not cfg.instrument():
        return []
    importpath = os.environ.get("TOOLEXEC_IMPORTPATH") or ca.package_path or ""
    importpath = importpath.split(" [", 1)[0]
    from ..settings import choice

    scope = choice("REHAB_SCOPE")
    incl, excl = cfg.package_globs()
    if not package_selected(importpath, incl, excl):
        return []
    forced = bool(incl)  # selected by an include list: analyzed wherever it lives
    goroot = ca.goroot
    modcache = _modcache()
    objdir = ca.objdir
    out = []
    for f in ca.files:
        origin = _origin(f, objdir)
        if origin is None or os.path.basename(f) in ("_testmain.go", "_testmain.cover.go"):
            continue
        if not (forced or scope == "all"):
            if _under(origin, goroot) or _under(origin, modcache) or f"{os.sep}vendor{os.sep}" in origin:
                continue
        out.append((f, origin))
    return out


# ------------------------------------------------------------------ interception

def _log_rejection(importpath: str, detail: str) -> None:
    try:
        from ..paths import cache_dir, open_append

        fd = open_append(os.path.join(cache_dir(), "rejections.log"))
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {importpath}: {detail}\n")
    except OSError:
        pass
    if _verbose():
        print(f"REHAB: fallback {importpath}: {detail}", file=sys.stderr)


def _open_audit(applied: list):
    """build.audit: the log, opened before the rewritten files are compiled (None: auditing
    is off or there is nothing to record). AuditError when it cannot be written: the caller
    compiles the original files (a fix that cannot be recorded is not applied)."""
    cfg = _config()
    if not (cfg.audit_enabled() and applied):
        return None
    from ..audit import Log

    return Log(cfg.audit_path(), cfg.audit_root())


def _warn(msg: str) -> None:
    print(f"toolexec-rehab: warning: {msg}", file=sys.stderr)


def _load_chosen(chosen: list[tuple[str, str]]) -> tuple[list, dict]:
    """The chosen files as GoFiles (generated ones left out), each knowing its user's path;
    and the cgo translations among the compile inputs, by the GoFile that stands for each:
    (cgo's file, its bytes).

    For cgo's x.cgo1.go the GoFile is the file cgo translated, the user's x.go: the analysis
    sees the user's code, as `check` and vet do (same positions, same node IDs), and a fix
    goes into cgo's file through golang.cgo.Translation (_Rewrite._write)."""
    from ..golang import parse as P
    from ..golang.cgo import translated_from
    from ..golang.package import load_file

    files, cgo = [], {}
    for path, origin in chosen:
        with open(path, "rb") as fh:
            src = fh.read()
        source = translated_from(path, src)
        if source is not None:
            try:
                gf = load_file(source)
            except OSError:
                gf = None
            if gf is None or gf.origin != origin or gf.path in cgo:
                _log_rejection(os.environ.get("TOOLEXEC_IMPORTPATH", "?"),
                               f"{path}: cgo's translation of {source}: not analyzed")
                continue
            cgo[gf.path] = (path, src)
            files.append(gf)
            continue
        if P.is_generated(src):
            continue
        gf = load_file(path, src)
        if gf.origin != origin:
            gf.origin = origin
        files.append(gf)
    return files, cgo


class _Policy:
    """Which rules a build runs and which of their fixes it applies: fix-mode rules only (a
    report-only rule would cost time and change nothing), the resource rules' sites when
    instrumenting, and with `fix: confirmed` only the sites a trace confirmed."""

    def __init__(self, cfg):
        from ..pipeline import select_rules

        self.rules, self.modes = select_rules(cfg, fix_only=True)
        self.policy, self.instrument = cfg.fix_policy(), cfg.instrument()
        if self.policy == "off":
            self.rules = []
        if self.instrument:  # markers at the resource rules' sites, whatever the rules' modes
            from ..runtime.instrument import tracked_rules

            self.rules = tracked_rules(cfg, self.rules)
        self.confirmed = None
        if self.policy == "confirmed":
            from ..runtime.report import confirmed_ids_or_none

            self.confirmed = confirmed_ids_or_none(cfg.trace())
            if self.confirmed is None:
                _log_rejection(os.environ.get("TOOLEXEC_IMPORTPATH", "?"),
                               f"fix: confirmed: no usable trace ({cfg.trace() or 'REHAB_TRACE unset'}): "
                               "no fixes applied")
                self.confirmed = set()

    def wanted(self, fd) -> bool:
        return fd.fixable and self.policy != "off" and (self.confirmed is None or fd.node_id in self.confirmed)


class _Rewrite:
    """The rewritten files of one compile, in <objdir>/rehab (line-preserving, with a //line
    header back to the user's file; cgo's keep their own), the patch log lines and the fixes
    applied."""

    def __init__(self, ca: CompileArgs, policy: _Policy, cgo: dict | None = None):
        self.ca, self.policy = ca, policy
        self.cgo = cgo or {}  # GoFile path -> (cgo's file compiled in its place, its bytes)
        self.outdir = os.path.join(ca.objdir or ".", "rehab")
        self.replaced: dict[str, str] = {}
        self.log: list[str] = []
        self.applied: list = []  # (diagnostic, GoFile)
        self.markers: list[tuple[str, list]] = []  # (package name, sites) for the marker file
        self.dropped: list[tuple[str, list]] = []  # (package name, sites) for runtime/dropped.py's file

    def package(self, pkgname: str, fs: list, findings: list) -> None:
        sites: list = []
        n = len(self.applied)
        for gf in fs:
            sites.extend(self.file(gf, findings))
        # the sites tables go into the program: files named as the compiler names them (under
        # -trimpath, by import path: the object is the same in every checkout)
        sites = [s.replace(file=self.ca.trimmed(s.file)) for s in sites]
        if sites:
            self.markers.append((pkgname, sites))
        from ..runtime.instrument import Site

        recorded = [Site(fd.node_id, fd.rule, self.ca.trimmed(gf.origin), fd.line) for fd, gf in self.applied[n:]
                    if fd.fix is not None and "dropped" in fd.fix.runtime]
        if recorded:
            self.dropped.append((pkgname, recorded))

    def file(self, gf, findings: list) -> list:
        """Apply gf's wanted fixes (and markers): the marker sites that went in."""
        from ..rules.engine import apply_fixes

        mine = [x for x in findings if x.path == gf.path and self.policy.wanted(x)]
        marks = markers_diag = None
        if self.policy.instrument:
            from ..runtime.instrument import instrument_file

            marks = instrument_file(gf, findings)
            if marks.edits:
                markers_diag = marks.diagnostic(gf)
                mine = mine + [markers_diag]  # last, so that a fix wins over a marker that would overlap it
        if not mine:
            return []
        res = apply_fixes(gf, mine)
        if res.new_src is None:
            return []
        rejected = {id(fd) for fd, _ in res.rejected}
        if not self._write(gf, res.new_src):
            return []
        for fd in mine:
            if id(fd) not in rejected and fd is not markers_diag:
                self.applied.append((fd, gf))
                self.log.append(f"REHAB: patched {fd.rule} defer@{fd.node_id} {gf.origin}:{fd.line}")
        return marks.sites if markers_diag is not None and id(markers_diag) not in rejected else []

    def _write(self, gf, new_src: bytes) -> bool:
        """Write gf's fixed source in place of its compile input; False: nothing was written
        (a fix that cgo's file cannot take: that file is compiled as it is)."""
        from ..golang import parse as P
        from ..paths import write_private

        compiled = gf.path
        if gf.path in self.cgo:  # cgo's file, the fixed lines in place; its //line directives kept
            from ..golang.cgo import Translation

            compiled, src = self.cgo[gf.path]
            tr = Translation.load(compiled, src, gf)
            data = tr.splice(new_src) if tr is not None else None
            if data is None:
                why = "does not line up with" if tr is None else "rewrote a line a fix changes in"
                _log_rejection(os.environ.get("TOOLEXEC_IMPORTPATH", "?"),
                               f"cgo's {compiled} {why} {gf.path}: compiled as it is")
                return False
        else:
            header = b"" if P.line_directive(gf.src) else f"//line {gf.origin}:1:1\n".encode()
            data = header + new_src
        os.makedirs(self.outdir, mode=0o700, exist_ok=True)
        dest = os.path.join(self.outdir, os.path.basename(compiled))
        n = 1
        while dest in self.replaced.values():
            n += 1
            dest = os.path.join(self.outdir, f"{n}_{os.path.basename(compiled)}")
        write_private(dest, data)
        self.replaced[compiled] = dest
        return True

    def argv(self) -> list[str]:
        """The compile's argv with the rewritten files (and the marker file) in place."""
        from ..paths import write_private

        ca = self.ca
        new_files = [self.replaced.get(f, f) for f in ca.files]
        for pkgname, sites in self.markers[:1]:  # one package per compile
            from ..runtime.instrument import MARKER_FILE, marker_file

            dest = os.path.join(self.outdir, MARKER_FILE)
            write_private(dest, marker_file(pkgname, sites))
            new_files.append(dest)
            self.log.extend(f"REHAB: marker {s.rule} {s.node_id} {s.file}:{s.line}" for s in sites)
        for pkgname, sites in self.dropped[:1]:
            from ..runtime.dropped import DROPPED_FILE, dropped_file
            from ..settings import flag_or_default

            dest = os.path.join(self.outdir, DROPPED_FILE)
            write_private(dest, dropped_file(pkgname, sites, flag_or_default("REHAB_LOG_DROPPED")))
            new_files.append(dest)
        argv = ca.with_files(new_files)
        if ca.response_file:
            from .compileargs import write_response_file

            rsp = os.path.join(self.outdir, "compile.rsp")
            write_response_file(rsp, argv[1:])
            argv = [ca.tool, "@" + rsp]
        return argv


def plan(ca: CompileArgs, chosen: list[tuple[str, str]]):
    """Analyze and rewrite; returns (new argv, patch log lines, applied fixes as (diagnostic,
    its GoFile) pairs) or None when nothing changes."""
    from ..analysis import Analyzer
    from ..golang.package import Package

    cache = _CompileCache.open(chosen, ca.goroot)
    if cache is not None and cache.unchanged():
        return None  # the same findings as last time, none of them applied
    files, cgo = _load_chosen(chosen)
    if not files:
        return None
    policy = cache.policy if cache is not None else _Policy(_config())
    if not policy.rules:
        return None
    # without instrumentation a build uses only the findings it patches
    analyzer = Analyzer(ca.goroot, rules=policy.rules, modes=policy.modes, fixable_only=not policy.instrument)
    groups: dict[str, list] = {}
    for gf in files:
        groups.setdefault(gf.pkgname, []).append(gf)
    rw = _Rewrite(ca, policy, cgo)
    findings: list = []
    if cache is not None:
        cache.begin()
    try:
        for pkgname, fs in groups.items():
            got = analyzer.analyze(Package(fs))
            findings += got
            rw.package(pkgname, fs, got)
    except BaseException:
        if cache is not None:
            cache.end(None, analyzer, files)  # recording stops, nothing is kept
        raise
    if cache is not None:
        cache.end(findings, analyzer, files)
    for w in analyzer.engine.warnings:
        _warn(w)
    if not rw.replaced:
        return None
    return rw.argv(), rw.log, rw.applied


class _CompileCache:
    """The compile result cache (resultcache.compile_*): a compile of the main module's files
    (none of them cgo's or the cover tool's) under the plain fix policy (no markers, no trace)
    keeps its findings; the next compile of the same files reuses them while all the analysis
    read is unchanged, and compiles as written when none of them is a fix to apply."""

    def __init__(self, store, key: str, directory: str, policy: _Policy, chosen: list[tuple[str, str]]):
        self.store, self.key, self.directory, self.policy, self.chosen = store, key, directory, policy, chosen
        self._notes = self._consults = None

    @classmethod
    def open(cls, chosen: list[tuple[str, str]], goroot: str | None):
        """The cache for this compile; None when it does not apply (or fails: a cache is never
        a reason to skip the analysis)."""
        try:
            return cls._open(chosen, goroot)
        except Exception:  # noqa: BLE001
            return None

    @classmethod
    def _open(cls, chosen: list[tuple[str, str]], goroot: str | None):
        from ..resultcache import ResultCache, compile_key

        if not chosen or any(p != o for p, o in chosen):
            return None
        cfg = _config()
        if cfg.fix_policy() != "on" or cfg.instrument():
            return None
        policy = _Policy(cfg)
        if not policy.rules:
            return None
        store = ResultCache.open(cfg, policy.rules, policy.modes, "compile", True, False)
        if store is None:
            return None
        importpath = os.environ.get("TOOLEXEC_IMPORTPATH", "")
        key = compile_key(store, importpath, chosen, goroot)
        if key is None:
            return None
        return cls(store, key, os.path.dirname(os.path.abspath(chosen[0][1])), policy, chosen)

    def unchanged(self) -> bool:
        from ..resultcache import compile_get

        try:
            got = compile_get(self.store, self.directory, self.key)
        except Exception:  # noqa: BLE001 - a miss
            return False
        return got is not None and not any(self.policy.wanted(d) for d in got)

    def begin(self) -> None:
        from ..golang import inputs, types

        types.forget_module_packages()  # (every read recorded: no resolver answers from before)
        self._notes, self._consults = inputs.begin(), inputs.begin_consults()

    def end(self, findings: list | None, analyzer, files: list) -> None:
        from ..golang import declsum, inputs, types

        notes, consults = inputs.end(), inputs.end_consults()
        if findings is None or self._notes is None or notes is not self._notes or consults is not self._consults:
            return
        if analyzer.engine.warnings or any(f.has_error for f in files):
            return  # nothing half-known is kept
        from ..resultcache import compile_put, compile_reads

        try:
            tables = {p: declsum.from_files(r.pkg.files if r is not None else None)
                      for p, r in types._MODULE_PACKAGES.items()}
            compile_put(self.store, self.key, self.chosen,
                        compile_reads(self.store, self.directory, notes, consults, tables), findings)
        except Exception:  # noqa: BLE001 - nothing kept; the compile goes on with its findings
            pass


def as_written(argv: list[str]) -> bool:
    """True when run_compile would compile argv as written without analyzing: none of its
    files is ours to analyze, or the compile result cache holds its findings, unchanged, and
    none is a fix to apply. False when that takes the analysis (or says a reason: a bad
    setting stops the build there). Raises nothing it does not have to: the compile server
    asks this before it forks a request (server._answer_here)."""
    if "-V=full" in argv[1:]:
        return False
    ca = CompileArgs.parse(argv)
    chosen = select_files(ca)
    if not chosen:
        return True
    cache = _CompileCache.open(chosen, ca.goroot)
    return cache is not None and cache.unchanged()


def run_compile(argv: list[str], runner=None) -> int:
    """argv[0] is the real compile tool. runner (toolexec.runner.Runner) carries the decision
    out: this process's, or the compile server's on behalf of its client."""
    if runner is None:
        from .runner import Runner

        runner = Runner()
    if "-V=full" in argv[1:]:
        return version_full(argv)
    importpath = os.environ.get("TOOLEXEC_IMPORTPATH", "?")
    planned = None
    try:
        ca = CompileArgs.parse(argv)
        chosen = select_files(ca)
        if chosen:
            planned = plan(ca, chosen)
    except Exception as e:  # noqa: BLE001 - fail open, always
        _log_rejection(importpath, f"internal error: {type(e).__name__}: {e}")
        planned = None
    if planned is None:
        return runner.original(argv)
    new_argv, log, applied = planned
    from ..audit import AuditError

    try:
        audit = _open_audit(applied)
    except AuditError as e:  # fail closed: a fix that cannot be recorded is not applied
        _warn(f"{importpath}: {e}; compiled as written")
        _log_rejection(importpath, f"audit log: {e}")
        return runner.original(argv)
    r = runner.run_rewritten(new_argv)  # after the speculative compile (same -o) is stopped
    if r.returncode != 0:
        msg = (r.stdout + r.stderr).decode("utf-8", "replace").strip().splitlines()
        _log_rejection(importpath, "compiler rejected the rewritten files: " + " | ".join(msg[:5]))
        runner.exec(argv)
    if audit is not None:
        from ..pipeline import audit_entry

        try:
            audit.append([audit_entry(fd, gf) for fd, gf in applied], source="build")
        except AuditError as e:  # the rewritten object is replaced by the original's
            _warn(f"{importpath}: {e}; compiled as written")
            runner.exec(argv)
        finally:
            audit.close()
    sys.stdout.buffer.write(r.stdout)
    sys.stderr.buffer.write(r.stderr)
    if _verbose():
        for line in log:
            print(line, file=sys.stderr)
    return 0
