"""`check`'s result cache: each package directory's findings, kept on disk and reused while
nothing they came from has changed (what go vet's cache does for its analyses).

An entry is found by a key computed before any parse:
- the settings: our version and code, every rule, template and catalogue file (shipped and
  the user's), the config files read, the rule selection and modes, the environment that
  selects files or tables (GO*, CGO_*, CC, REHAB_*), cmd/go's env file, the Go release;
- the build list's files (go.mod, go.work, vendor/modules.txt): the version of every
  dependency;
- the directory's files: names and contents, and which of them are reported.

The entry holds the findings and what their analysis read beyond those files
(golang/inputs.py): the main module's other packages it resolved names in, and the
dependency packages it asked about. Before the findings are reused, each of those is
checked again: a package of the module by the names and contents of its Go files, a
dependency by its module@version in the module cache (immutable) or, for a local replace or
vendor/, by its files too, and whether it is there at all. So an edit of a package changes
the findings of the packages that use it, and never those of the others.

Entries are written only for a directory whose files all parsed, by a run that had no
warning and whose helper process finished: nothing half-known is kept. They live in the
private cache dir (paths.cache_dir: ours alone, 0700) and are read back with an unpickler
that builds nothing but findings. REHAB_RESULT_CACHE=off turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import pickle

from .paths import os_bytes

FORMAT = 1
_MAX_ENTRIES = 20000  # past this many entries, the older half is removed (once per process)
_ENV_PREFIXES = ("GO", "CGO_", "REHAB_")
_ENV_NAMES = ("CC", "CXX", "HOME", "XDG_CONFIG_HOME")  # cgo's default; where cmd/go's env file is


def enabled() -> bool:
    from .settings import flag_or_default

    return flag_or_default("REHAB_RESULT_CACHE")


class ResultCache:
    def __init__(self, base: str, directory: str):
        self.base, self.dir = base, directory
        self._digests: dict[tuple, str] = {}
        self._pruned = False

    @classmethod
    def open(cls, cfg, rules, modes: dict, spec: str | None, fix_only: bool, source: bool) -> ResultCache | None:
        """The cache for these settings; None when it is off or there is no private cache dir."""
        from .paths import cache_dir, private_dir

        if not enabled():
            return None
        try:
            d = private_dir(os.path.join(cache_dir(), "results"))
        except OSError:
            return None
        return cls(_settings_digest(cfg, rules, modes, spec, fix_only, source), d)

    # ------------------------------------------------------------------ keys
    def key(self, inp) -> str | None:
        """The entry's name for a PackageInput (None: a file cannot be read)."""
        h = hashlib.sha256(os_bytes(self.base))
        h.update(os_bytes(f"\0dir={os.path.abspath(inp.directory)}\0"))
        self._hash_build_list(h, inp.directory)
        for p in inp.files:
            d = self._file_digest(p)
            if d is None:
                return None
            h.update(os_bytes(f"file={p}\0{d}\0"))
        report = sorted(inp.report) if inp.report is not None else None
        h.update(os_bytes(f"report={report!r}\0"))
        return h.hexdigest()

    def _hash_build_list(self, h, directory: str) -> None:
        """The build list's files (every dependency's version) into the key."""
        for f in _build_list_files(directory):
            h.update(os_bytes(f"{f}\0{self._file_digest(f)}\0"))

    def _file_digest(self, path: str) -> str | None:
        k = ("file", path)
        if k not in self._digests:
            self._digests[k] = _sha256_file(path)
        return self._digests[k]

    def _dir_digest(self, d: str, tests: bool) -> str:
        """The names and contents of a directory's Go files (without _test.go ones unless
        `tests`): a superset of what any build configuration selects."""
        k = ("dir", d, tests)
        if k not in self._digests:
            h = hashlib.sha256()
            try:
                names = sorted(n for n in os.listdir(d) if n.endswith(".go") and (tests or not n.endswith("_test.go")))
            except OSError:
                names = None
            if names is None:
                h.update(b"absent")
            for n in names or ():
                h.update(os_bytes(f"{n}\0{self._file_digest(os.path.join(d, n))}\0"))
            self._digests[k] = h.hexdigest()
        return self._digests[k]

    def _read_digest(self, directory: str, kind: str, path: str) -> str:
        """Where an import path the analysis read stands now."""
        if kind == "mod":
            from .golang.package import find_module

            mod = find_module(os.path.abspath(directory))
            if mod is None or (path != mod[1] and not path.startswith(mod[1] + "/")):
                return "none"
            return "dir:" + self._dir_digest(os.path.join(mod[0], path[len(mod[1]):].lstrip("/")), False)
        from .golang.modules import BuildList

        bl = BuildList.find(directory)
        found = bl.package_dir(path) if bl is not None and path else None
        if found is None:
            return "none"
        mod, pkgdir = found
        if not mod.available:
            return "missing"
        if mod.cache_key is not None:
            return "cache:" + mod.cache_key
        return "dir:" + self._dir_digest(pkgdir, False)

    def _reads(self, directory: str, record) -> list[tuple[str, str, str]]:
        return sorted((kind, path, self._read_digest(directory, kind, path)) for kind, path in record)

    # ------------------------------------------------------------------ entries
    def get(self, inp, key: str):
        """The findings kept for the input, if what they came from is unchanged; else None."""
        got = _load(self, key)
        if got is None:
            return None
        reads, diags = got
        for kind, path, digest in reads:
            if self._read_digest(inp.directory, kind, path) != digest:
                return None
        return diags

    def put(self, inp, key: str, record, diags) -> None:
        try:
            reads = self._reads(inp.directory, record)
        except (OSError, TypeError, AttributeError):
            return  # a cache: never a reason to fail
        _store(self, key, reads, diags)

    def _prune(self) -> None:
        if self._pruned:
            return
        self._pruned = True
        try:
            entries = list(os.scandir(self.dir))
        except OSError:
            return
        if len(entries) < _MAX_ENTRIES:
            return
        def age(e):
            try:
                return e.stat(follow_symlinks=False).st_mtime
            except OSError:
                return 0.0
        for e in sorted(entries, key=age)[: len(entries) // 2]:
            try:
                os.unlink(e.path)
            except OSError:
                pass


# ------------------------------------------------------------------ compiles
# A build's compile of a package of the main module keeps its findings here too (toolexec/
# wrap.py), keyed by the settings, the import path and the compiled files (names and
# contents), and valid while the dependency packages it asked about stand where they stood and
# every declaration it read in the module's other packages is the same (golang/declsum.py):
# a rebuild after a new function in a package that a hundred others import analyzes that
# package alone.

def compile_key(store: ResultCache, importpath: str, chosen: list[tuple[str, str]], goroot: str | None) -> str | None:
    h = hashlib.sha256(os_bytes(store.base))
    h.update(os_bytes(f"\0compile={importpath}\0goroot={goroot}\0"))
    store._hash_build_list(h, os.path.dirname(os.path.abspath(chosen[0][1])))
    for path, origin in chosen:
        d = store._file_digest(path)
        if d is None:
            return None
        h.update(os_bytes(f"file={path}\0{origin}\0{d}\0"))
    return h.hexdigest()


def compile_reads(store: ResultCache, directory: str, notes, consults, tables: dict) -> list:
    """What a compile read, digested: ("dep", path, where it stands) and ("decl", path,
    (its keys read, their digest)); tables: the module packages' tables as the analysis loaded
    them (golang.declsum.from_files)."""
    from .golang import declsum

    reads = [(k, p, store._read_digest(directory, k, p)) for k, p in sorted(notes) if k == "dep"]
    by_path: dict[str, set] = {}
    for path, kind, key in consults:
        by_path.setdefault(path, set()).add((kind, key))
    for path in sorted(by_path):
        keys = tuple(sorted(by_path[path], key=repr))
        table = tables.get(path) or {("pkg", ""): declsum.NONE}
        reads.append(("decl", path, (keys, declsum.digest(table, keys))))
    return reads


def compile_get(store: ResultCache, directory: str, key: str):
    """The findings kept for a compile, if all it read is unchanged; else None."""
    got = _load(store, key)
    if got is None:
        return None
    reads, diags = got
    from .golang import declsum
    from .golang.package import find_module

    mod = find_module(os.path.abspath(directory))
    for kind, path, digest in reads:
        if kind == "decl":
            if mod is None or not isinstance(digest, tuple) or len(digest) != 2:
                return None
            keys, want = digest
            if declsum.digest(declsum.current(mod[0], mod[1], path), keys) != want:
                return None
        elif kind != "dep" or store._read_digest(directory, kind, path) != digest:
            return None
    return diags


def compile_put(store: ResultCache, key: str, chosen: list[tuple[str, str]], reads: list, diags) -> None:
    """Keep a compile's findings, if its files still hold what the key was made of (an edit
    during the analysis: nothing is kept)."""
    for path, _ in chosen:
        now = _sha256_file(path)  # (read again: _file_digest answers from the key's reads)
        if now is None or now != store._digests.get(("file", path)):
            return
    _store(store, key, reads, diags)


def _load(store: ResultCache, key: str):
    try:
        fd = os.open(os.path.join(store.dir, key), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            fmt, reads, diags = _Unpickler(fh).load()
    except Exception:  # noqa: BLE001 - an unreadable entry is a miss (and is written again)
        return None
    if fmt != FORMAT or not isinstance(reads, list) or not isinstance(diags, list):
        return None
    from .rules.diagnostic import Diagnostic

    if not all(isinstance(d, Diagnostic) for d in diags):
        return None
    if not all(isinstance(r, tuple) and len(r) == 3 for r in reads):
        return None
    return reads, diags


def _store(store: ResultCache, key: str, reads: list, diags) -> None:
    from .paths import write_private

    try:
        data = pickle.dumps((FORMAT, reads, list(diags)), protocol=pickle.HIGHEST_PROTOCOL)
        store._prune()
        write_private(os.path.join(store.dir, key), data)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a cache: never a reason to fail


class _Unpickler(pickle.Unpickler):
    """Builds findings and nothing else: the classes of rules/diagnostic.py and rewrite/edits.py,
    and the plain containers they hold."""

    _OK = {("toolexec_rehab.rules.diagnostic", n) for n in ("Diagnostic", "SuggestedFix", "Related")} | \
        {("toolexec_rehab.rewrite.edits", "Edit")} | \
        {("builtins", n) for n in ("set", "frozenset", "tuple", "list", "dict")}

    def find_class(self, module, name):
        if (module, name) not in self._OK:
            raise pickle.UnpicklingError(f"{module}.{name} is not a finding's part")
        return super().find_class(module, name)


def _sha256_file(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def _build_list_files(directory: str) -> list[str]:
    from .golang.modules import BuildList

    bl = BuildList.find(directory)
    return [f for f, _ in bl._files] if bl is not None else []


def _settings_digest(cfg, rules, modes: dict, spec: str | None, fix_only: bool, source: bool) -> str:
    from . import __version__
    from .golang.goenv import _user_env_file
    from .golang.goroot import go_env_goroot
    from .paths import code_digest
    from .rules.dirs import rules_digest

    h = hashlib.sha256(os_bytes(f"results {FORMAT}\0toolexec-rehab {__version__}\0code={code_digest()}\0"))
    h.update(os_bytes(f"rules={rules_digest()}\0config={cfg.digest()}\0"))
    h.update(os_bytes(f"selected={[lr.id for lr in rules]!r}\0modes={sorted(modes.items())!r}\0"))
    h.update(os_bytes(f"spec={spec!r}\0fix_only={fix_only}\0source={source}\0"))
    for k in sorted(os.environ):
        if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES:
            h.update(os_bytes(f"env {k}={os.environ[k]}\0"))
    envfile = _user_env_file(os.environ)
    goroot = go_env_goroot()
    for label, path in (("goenv", envfile), ("goversion", os.path.join(goroot, "VERSION") if goroot else None)):
        try:
            with open(path, "rb") as fh:  # type: ignore[arg-type]
                h.update(f"{label}\0".encode() + fh.read() + b"\0")
        except (OSError, TypeError):
            h.update(os_bytes(f"{label}\0-\0"))
    h.update(os_bytes(f"goroot={goroot}\0"))
    return h.hexdigest()
