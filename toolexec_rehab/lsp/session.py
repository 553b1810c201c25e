"""The language server's state and analyses, with no LSP library in sight.

- **Buffers.** Each open Go document is kept as the editor's bytes and one parsed GoFile per
  version (load_file from those bytes). The other files of its package come from disk.
- **Packages in memory, per directory.** The directory's file list (build constraints
  applied: analysis.expand_patterns) is kept with a signature of the directory's .go files
  (name, mtime, size) and recomputed only when that changes; each file read from disk is
  kept as its GoFile, keyed by (mtime, size, inode). An edit re-parses only the edited
  buffer and re-analyses the open files of that one package with the module's Analyzer.
- **Config per module.** The module root's `.rehab.yaml` and the user's config, read (with
  their trust rules) from the module root as the working directory, exactly as `check` run
  there reads them; the rules selected once, and again when a config file's stat or the
  client's `rules` setting changes (checked before every analysis: a stat per file).
- **Trace per module.** The `trace --json` report (runtime/report.py) at the `trace` setting,
  else REHAB_TRACE / build.trace, else `.rehab/trace.json` in the module root; reloaded when
  its stat changes.
- **Fixes** come from the fix pipeline (pipeline.source_fix / fixed_files / source_form), and
  hover text from explain.finding_text: what `fix` writes and what `explain` prints.

Everything runs with the module root as the working directory (config discovery, rule
directories and display paths depend on it), one analysis at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass, field

NAME = "toolexec-rehab"
DEFAULT_TRACE = os.path.join(".rehab", "trace.json")
MAX_FILE_BYTES = 1 << 20


# ------------------------------------------------------------------ settings

@dataclass
class Settings:
    """What the client may set (initializationOptions, workspace/didChangeConfiguration), under
    a "toolexec-rehab" section or at the top level."""

    trace: str | None = None  # the trace report; relative: to the module root
    rules: str | None = None  # like --rules: comma-separated rule ids
    max_file_bytes: int = MAX_FILE_BYTES  # larger documents (and package files) are not analysed
    debounce_ms: int = 20  # wait this long after an edit for the next one before analysing

    KEYS = {"trace": "trace", "tracePath": "trace", "rules": "rules", "maxFileBytes": "max_file_bytes",
            "debounceMs": "debounce_ms"}

    @classmethod
    def parse(cls, raw, base: Settings | None = None) -> tuple[Settings, list[str]]:
        """Settings from a client's JSON value, over `base`; and what was wrong in it (those
        keys keep their previous value)."""
        s = dataclasses.replace(base) if base is not None else cls()
        if raw is None:
            return s, []
        if not isinstance(raw, dict):
            return s, [f"settings: expected an object, got {type(raw).__name__}"]
        if isinstance(raw.get(NAME), dict):
            raw = raw[NAME]
        problems = []
        for key, val in raw.items():
            attr = cls.KEYS.get(key)
            if attr is None:
                if key not in (NAME, "path"):  # path: the editor's, to start us (editors/vscode)
                    problems.append(f"unknown setting {key!r} (known: {', '.join(sorted(cls.KEYS))})")
                continue
            if attr in ("trace", "rules"):
                if isinstance(val, list) and attr == "rules" and all(isinstance(x, str) for x in val):
                    val = ",".join(val)
                if val is not None and not isinstance(val, str):
                    problems.append(f"setting {key}: expected a string")
                    continue
                setattr(s, attr, val or None)
            else:
                if isinstance(val, bool) or not isinstance(val, int) or val < (1 if attr == "max_file_bytes" else 0):
                    problems.append(f"setting {key}: expected a {'positive' if attr == 'max_file_bytes' else 'non-negative'}"
                                    " integer")
                    continue
                setattr(s, attr, val)
        return s, problems


# ------------------------------------------------------------------ state

@dataclass
class Buffer:
    """An open Go document: the editor's text, not the file on disk."""

    path: str
    uri: str
    version: int | None
    src: bytes
    real: str = ""
    _file: object = None

    def gofile(self):
        if self._file is None:
            from ..golang.package import load_file

            # origin given: the editor's file is the user's file (no //line mapping)
            self._file = load_file(self.path, self.src, origin=self.path)
        return self._file


@dataclass
class TraceData:
    path: str
    taken: str  # when the report was written (its mtime), for the messages
    sites: dict[str, list]  # real path of the file -> runtime.report.SiteCount


@dataclass
class FileResult:
    """The latest analysis of one open document."""

    path: str
    uri: str
    version: int | None
    src: bytes
    root: str | None = None  # its module root (the working directory of the analysis)
    findings: list = field(default_factory=list)  # rules.diagnostic.Diagnostic of this file
    syntax: tuple[int, int, str] | None = None  # (line, byte column, message), 1-based, from gofmt
    notice: str | None = None  # why the file was not analysed (shown as one diagnostic)
    files: dict = field(default_factory=dict)  # the package's GoFiles by path (for the fix pipeline)
    run: object = None  # pipeline.Run of the package (fix-all's later rounds)
    fixable: bool = True  # the build compiles the file, so `fix` would fix it
    trace: TraceData | None = None
    sites: dict = field(default_factory=dict)  # node id -> SiteCount, this file's traced sites

    def finding(self, node_id: str):
        return next((fd for fd in self.findings if fd.node_id == node_id), None)


def _sig(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def _trust_sig(path: str):
    """A config file's stat and its directory's owner and mode: what reading it depends on,
    its trust check included (a chmod that makes it trusted changes only ctime and mode)."""
    out = []
    for p in (path, os.path.dirname(path)):
        try:
            st = os.lstat(p)
        except OSError:
            out.append(None)
            continue
        out.append((st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_mode, st.st_uid, st.st_gid))
    return tuple(out)


@contextlib.contextmanager
def working_dir(d: str | None):
    """Run with d as the working directory (config discovery, rule directories and display
    paths are relative to it, as for a command run there)."""
    if d is None:
        yield
        return
    try:
        before = os.getcwd()
    except OSError:
        before = None
    os.chdir(d)
    try:
        yield
    finally:
        if before is not None:
            with contextlib.suppress(OSError):
                os.chdir(before)


class ModuleState:
    """One module's config, rules, Analyzer and trace."""

    def __init__(self, root: str):
        self.root = root
        self.stamp = None
        self.cfg = None
        self.rules: list = []
        self.analyzer = None
        self.error: str | None = None  # a bad config or rule: nothing is analysed
        self.warned = 0  # engine warnings already told
        self.trace_key = None
        self.trace: TraceData | None = None
        self.trace_error: str | None = None
        self.rule_dirs: tuple[str, ...] = ()  # the config's rule directories (and their templates)

    def _stamp(self, settings: Settings):
        from ..config import find_config, user_config_path
        from ..rules.loader import _stat_signature

        cfg = find_config(self.root)
        user = user_config_path()
        # a rule directory's files too: a rule added, edited or fixed there is read again
        return cfg, _trust_sig(cfg) if cfg else None, _trust_sig(user), settings.rules, \
            _stat_signature(self.rule_dirs)

    def _rule_dirs(self) -> tuple[str, ...]:
        from ..rules.dirs import extra_rule_dirs

        try:
            return tuple(sorted({x for d, t, _root in extra_rule_dirs() for x in (d, t)}))
        except Exception:  # noqa: BLE001 - a bad directory: select_rules says so
            return ()

    def refresh(self, settings: Settings) -> bool:
        """Re-read the config and select the rules when a config file or the rules setting
        changed (call with the module root as the working directory). True when it did."""
        stamp = self._stamp(settings)
        if stamp == self.stamp:
            return False
        from .. import config
        from ..analysis import Analyzer, go_env_goroot
        from ..errors import is_user_error
        from ..pipeline import select_rules
        from ..settings import SettingError

        config.forget()
        self.stamp, self.error, self.analyzer, self.warned = stamp, None, None, 0
        self.trace_key = None  # build.trace may have changed
        try:
            self.cfg = config.load_config(self.root)
            self.rule_dirs = self._rule_dirs()
            self.rules, modes = select_rules(self.cfg, settings.rules)
            self.analyzer = Analyzer(go_env_goroot(), rules=self.rules, modes=modes, source=True)
        except Exception as e:  # noqa: BLE001 - the user's file: said, and nothing analysed
            if not is_user_error(e, SettingError):
                self.stamp = None  # tried again at the next analysis (not left without an Analyzer)
                raise
            self.error = str(e)
        self.stamp = self._stamp(settings)  # with the rule directories now known
        return True

    def trace_path(self, settings: Settings) -> str:
        if settings.trace:
            return os.path.normpath(os.path.join(self.root, os.path.expanduser(settings.trace)))
        t = self.cfg.trace() if self.cfg is not None else None
        return os.path.normpath(os.path.join(self.root, t)) if t else os.path.join(self.root, DEFAULT_TRACE)

    def refresh_trace(self, settings: Settings) -> TraceData | None:
        """The trace report, read again when its stat changed; None when there is none (or it
        is not a trace: trace_error says why)."""
        path = self.trace_path(settings)
        key = (path, _sig(path))
        if key == self.trace_key:
            return self.trace
        self.trace_key, self.trace, self.trace_error = key, None, None
        if key[1] is None:
            return None
        from ..runtime.report import load

        try:
            sites = load(path)
        except (ValueError, TypeError) as e:  # TypeError: a site's node_id that is not a string
            self.trace_error = str(e) if isinstance(e, ValueError) else f"{path}: not a toolexec-rehab trace ({e})"
            return None
        by_file: dict[str, list] = {}
        for s in sites:
            if not isinstance(s.file, str) or not s.file:
                continue
            f = s.file if os.path.isabs(s.file) else os.path.join(self.root, s.file)
            by_file.setdefault(os.path.realpath(f), []).append(s)
        taken = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.stat(path).st_mtime)) \
            if os.path.exists(path) else "?"
        self.trace = TraceData(path, taken, by_file)
        return self.trace


class Session:
    """Open buffers, what is kept per directory and per module, and the latest results."""

    def __init__(self, settings: Settings | None = None, log=None):
        self.settings = settings or Settings()
        self.log = log or (lambda level, msg: None)  # level: "error" | "warning" | "info" | "log"
        self.buffers: dict[str, Buffer] = {}
        self.modules: dict[str, ModuleState] = {}
        self.results: dict[str, FileResult] = {}
        self._scans: dict[str, tuple] = {}  # directory -> (signature, file list)
        self._disk: dict[str, tuple] = {}  # path -> (stat signature, GoFile)
        self._syntax: dict[bytes, tuple | None] = {}
        self._said: set[str] = set()
        self.last_ms = 0.0  # the latest analysis's wall time
        # the main module's packages that golang.types keeps for name resolution (read from
        # disk, keyed by import path only): whose module, and each one's directory signature
        self._mp_root: str | None = None
        self._mp_sigs: dict[str, tuple | None] = {}

    # ---- buffers

    def open(self, path: str, uri: str, version: int | None, text: str) -> Buffer:
        path = os.path.abspath(path)
        b = Buffer(path, uri, version, text.encode("utf-8", "replace"), os.path.realpath(path))
        self.buffers[path] = b
        return b

    def change(self, path: str, version: int | None, text: str | bytes) -> Buffer | None:
        b = self.buffers.get(os.path.abspath(path))
        if b is None:
            return None
        src = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
        if src != b.src:
            b.src, b._file = src, None
        b.version = version
        return b

    def close(self, path: str) -> None:
        path = os.path.abspath(path)
        self.buffers.pop(path, None)
        self.results.pop(path, None)

    # ---- invalidation (didSave, didChangeWatchedFiles, didChangeConfiguration)

    def disk_changed(self, path: str) -> None:
        """A file changed on disk: a Go file (the packages other packages see through it are
        parsed again), a config file or a trace (checked by stat anyway)."""
        path = os.path.abspath(path)
        if path.endswith(".go"):
            from ..golang.types import forget_module_packages

            forget_module_packages()
            self._disk.pop(path, None)
            self._scans.pop(os.path.dirname(path), None)
        elif os.path.basename(path) in ("go.mod", "go.work"):
            from ..golang.package import find_module
            from ..golang.types import forget_module_packages

            find_module.cache_clear()
            forget_module_packages()
            self._scans.clear()
        if os.path.basename(path) in (".rehab.yaml", "config.yaml", "go.mod"):
            self.reload()

    def is_trace(self, path: str) -> bool:
        """Whether path is (or may be) the trace report of a module we analyse."""
        path = os.path.realpath(path)
        return any(os.path.realpath(ms.trace_path(self.settings)) == path for ms in self.modules.values()) \
            or not self.modules

    def reload(self) -> None:
        """Read every config and trace again at the next analysis."""
        for ms in self.modules.values():
            ms.stamp = None
            ms.trace_key = None

    def set_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.reload()

    # ---- analysis

    def directories(self) -> list[str]:
        return sorted({os.path.dirname(p) for p in self.buffers})

    def analyze_all(self) -> list[FileResult]:
        out = []
        for d in self.directories():
            out += self.analyze_dir(d)
        return out

    def analyze_dir(self, d: str) -> list[FileResult]:
        """Analyse the open documents of directory d (their packages: the buffers, the rest of
        the package from disk); the results, also kept in self.results."""
        t0 = time.perf_counter()
        d = os.path.abspath(d)
        opened = [b for p, b in sorted(self.buffers.items()) if os.path.dirname(p) == d]
        if not opened:
            return []
        out: dict[str, FileResult] = {}
        cap = self.settings.max_file_bytes
        for b in opened:
            out[b.path] = FileResult(b.path, b.uri, b.version, b.src)
            if len(b.src) > cap:
                out[b.path].notice = (f"{NAME}: not analysed: the file is {_size(len(b.src))}, over the limit of "
                                      f"{_size(cap)} (setting maxFileBytes)")
                self.say("warning", f"{b.path}: {out[b.path].notice}")
        from ..golang import deps
        from ..golang.package import find_module

        find_module.cache_clear()  # a go.mod written, edited or removed since (a few stats)
        deps.refresh()  # local replaces and vendor/ read again, dependencies downloaded since found
        mod = find_module(d)
        if mod is None:
            self.say("info", f"{d}: not in a Go module (no go.mod above it): its files are not analysed")
            return self._keep(list(out.values()), t0)
        root = mod[0]
        ms = self.modules.get(root)
        if ms is None:
            ms = self.modules[root] = ModuleState(root)
        with working_dir(root):
            ms.refresh(self.settings)
            for r in out.values():
                r.root = root
            if ms.error:
                self.say("error", ms.error)
                for r in out.values():
                    r.notice = r.notice or f"{NAME}: not analysed: {ms.error}"
                return self._keep(list(out.values()), t0)
            self._fresh_module_packages(root, mod[1])
            try:
                self._analyze(d, ms, [b for b in opened if out[b.path].notice is None], out)
            finally:
                self._note_module_packages(root, mod[1])
        return self._keep(list(out.values()), t0)

    # ---- the module's other packages (golang.types keeps them, read from disk, per import path)

    @staticmethod
    def _package_dir_sig(root: str, modpath: str, path: str):
        if path != modpath and not path.startswith(modpath + "/"):
            return None
        d = os.path.join(root, path[len(modpath):].lstrip("/"))
        try:
            with os.scandir(d) as it:
                return tuple(sorted((e.name, st.st_mtime_ns, st.st_size, st.st_ino)
                                    for e in it if e.name.endswith(".go") for st in [e.stat()]))
        except OSError:
            return None

    def _fresh_module_packages(self, root: str, modpath: str) -> None:
        """Forget the packages kept for name resolution when they are another module's (they are
        kept by import path alone) or when a file of theirs changed on disk (no watcher told us)."""
        from ..golang.types import forget_module_packages

        stale = self._mp_root != root or any(self._package_dir_sig(root, modpath, p) != sig
                                             for p, sig in self._mp_sigs.items())
        if stale:
            forget_module_packages()
            self._mp_root, self._mp_sigs = root, {}

    def _note_module_packages(self, root: str, modpath: str) -> None:
        from ..golang.types import _MODULE_PACKAGES

        for p in list(_MODULE_PACKAGES):
            if p not in self._mp_sigs:
                self._mp_sigs[p] = self._package_dir_sig(root, modpath, p)

    def _keep(self, results: list[FileResult], t0: float) -> list[FileResult]:
        for r in results:
            if r.path in self.buffers:
                self.results[r.path] = r
        self.last_ms = (time.perf_counter() - t0) * 1000
        return results

    def _analyze(self, d: str, ms: ModuleState, opened: list[Buffer], out: dict[str, FileResult]) -> None:
        from ..analysis import PackageInput, build_packages
        from ..config import package_selected
        from ..paths import confined
        from ..pipeline import Run, import_path

        if not opened:
            return
        cap = self.settings.max_file_bytes
        loaded = {}
        for p in self._package_files(d, opened):
            b = self.buffers.get(p)
            if b is not None:
                if len(b.src) <= cap:
                    loaded[p] = b.gofile()
            else:
                gf = self._disk_file(p, cap)
                if gf is not None:
                    loaded[p] = gf
        pkgs = build_packages(PackageInput(d, sorted(loaded)), loaded)
        include, exclude = ms.cfg.package_globs()
        selected = not (include or exclude) or package_selected(import_path(d) or d, include, exclude)
        trace = ms.refresh_trace(self.settings)
        if ms.trace_error:
            self.say("warning", f"trace not used: {ms.trace_error}")
        built = self._built_files(d)
        for pkg in pkgs:
            mine = {f.path for f in pkg.files if f.path in out}
            if not mine:
                continue
            findings = ms.analyzer.analyze(pkg, mine) if selected else []
            findings.sort(key=lambda x: (x.start, x.rule))
            run = Run(ms.cfg, ms.rules, list(findings), analyzer=ms.analyzer, packages=[pkg])
            files = {f.path: f for f in pkg.files}
            for p in mine:
                r = out[p]
                b = self.buffers[p]
                r.findings = [x for x in findings if x.path == p]
                r.files, r.run = files, run
                # as `fix --write`: a file the build takes, and not a link out of the module
                r.fixable = (built is None or p in built or not os.path.exists(p)) and confined(p, ms.root)
                if files[p].has_error:
                    r.syntax = self.syntax_error(b.src)
                if trace is not None:
                    r.trace = trace
                    r.sites = {s.node_id: s for s in trace.sites.get(b.real, ())}
        warnings = ms.analyzer.engine.warnings
        for w in warnings[ms.warned:]:
            self.say("warning", w)
        ms.warned = len(warnings)

    def _package_files(self, d: str, opened: list[Buffer]) -> list[str]:
        """The directory's files that the build takes (kept while the directory's .go files
        keep their names and stats), plus the open documents of the directory (a new file not
        yet saved, one deleted while open, or one that build constraints exclude: as `check
        FILE` analyses a file named on the command line)."""
        files = self._built_files(d) or []
        return sorted(set(files) | {b.path for b in opened})

    def _built_files(self, d: str) -> list[str] | None:
        from ..analysis import UsageError, expand_patterns
        from ..golang import buildtags

        try:
            with os.scandir(d) as it:
                sig = tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size)
                                   for e in it if e.name.endswith(".go") and e.is_file()))
        except OSError:
            return None
        key = (sig, id(buildtags.current_context()))
        got = self._scans.get(d)
        if got is not None and got[0] == key:
            return got[1]
        try:
            files = expand_patterns([d])[0].files
        except (UsageError, IndexError) as e:
            if isinstance(e, UsageError) and sig:  # a bad //go:build line, say: `check` stops there
                self.say("warning", f"{d}: {e}: only the open files of the package are analysed, and not fixed")
            files = []
        self._scans[d] = (key, files)
        return files

    def _disk_file(self, path: str, cap: int):
        from ..golang.package import load_file

        sig = _sig(path)
        if sig is None:
            return None
        if sig[1] > cap:
            self.say("warning", f"{path}: {_size(sig[1])}, over the limit of {_size(cap)} (setting maxFileBytes): "
                                "left out of its package's analysis")
            return None
        got = self._disk.get(path)
        if got is not None and got[0] == sig:
            return got[1]
        try:
            gf = load_file(path)
        except OSError:
            return None
        self._disk[path] = (sig, gf)
        return gf

    def syntax_error(self, src: bytes) -> tuple[int, int, str] | None:
        key = hashlib.sha256(src).digest()
        if key not in self._syntax:
            from ..syntax import first_syntax_error

            if len(self._syntax) > 64:
                self._syntax.clear()
            self._syntax[key] = first_syntax_error(src)
        return self._syntax[key]

    def say(self, level: str, msg: str) -> None:
        """Log a message once per session."""
        if msg not in self._said:
            self._said.add(msg)
            self.log(level, msg)

    # ---- results

    def result(self, path: str) -> FileResult | None:
        """The current result for an open document: analysed again when the buffer changed
        since (a request that comes before the debounced analysis)."""
        path = os.path.abspath(path)
        b = self.buffers.get(path)
        if b is None:
            return None
        r = self.results.get(path)
        if r is None or r.version != b.version or r.src != b.src:
            self.analyze_dir(os.path.dirname(path))
            r = self.results.get(path)
        return r

    def rule(self, r: FileResult, rule_id: str):
        for lr in (r.run.rules if r.run is not None else ()):
            if lr.id == rule_id:
                return lr
        return None

    def fixed_source(self, r: FileResult, fd) -> bytes | None:
        """The file as `fix` writes it with only fd fixed (pipeline.source_fix); None: no fix."""
        if not (r.fixable and fd.fixable and fd.path == fd.origin):
            return None
        from ..pipeline import source_fix

        with working_dir(r.root):
            return source_fix(fd, r.files)

    def fix_all_findings(self, r: FileResult) -> list:
        """What `fix --write` fixes in the file: the fixable findings that are not suggestions."""
        if not r.fixable:
            return []
        return [fd for fd in r.findings if fd.fixable and fd.path == fd.origin and not fd.fix.suggestion]

    def fixed_all(self, r: FileResult) -> bytes | None:
        """The file as `fix --write` writes it (pipeline.fixed_files to a fixpoint, without
        suggestions, laid out for the source, then source_form)."""
        fds = self.fix_all_findings(r)
        if not fds:
            return None
        from ..pipeline import fixed_files, source_form

        def keep(fd):
            return not (fd.fix is not None and fd.fix.suggestion)

        with working_dir(r.root):
            for ff in fixed_files(fds, r.files, None, r.run, keep, layout=True):
                if ff.file.path == r.path:
                    return source_form(ff)
        return None

    def explain(self, r: FileResult, fd) -> str:
        from ..explain import finding_text

        with working_dir(r.root):
            return finding_text(fd, r.files, r.run.rules)


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.0f} KiB"
