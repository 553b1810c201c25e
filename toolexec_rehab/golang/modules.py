"""Where the source of an imported package outside the main module and the standard library
lives, at the version the build list selects - read from go.mod, go.work, vendor/modules.txt
and the module cache, without running the go command (it is called inside compiles).

The selected version: with go >= 1.17 the main go.mod lists every module that provides a
package of the build (the pruned graph), so its require line is the selected version (the
highest among the go.mod files of a workspace). Below 1.17 (or with no go directive) the graph
is walked once, lazily, through the .mod files of the module cache (minimal version selection).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from ..records import FrozenRecord, Record
from .goenv import _split_quoted, settings


class _Malformed(ValueError):
    pass


class Module(FrozenRecord):
    _fields = ("path", "version", "dir", "source", "replacement")
    path: str  # module path, e.g. github.com/jmoiron/sqlx
    version: str  # e.g. v1.4.0; "" for a local directory (replace => ./dir, go.work use)
    dir: str  # absolute directory holding the module's source (may not exist: see available)
    source: str  # "cache" | "vendor" | "local"
    replacement: str  # the module path whose source this is, under `replace old => new vX`

    def __init__(self, path: str, version: str, dir: str, source: str, replacement: str = "") -> None:
        self._init_fields(path, version, dir, source, replacement)

    @property
    def available(self) -> bool:
        return os.path.isdir(self.dir)

    @property
    def cache_key(self) -> str | None:
        """path@version for immutable (module cache) sources; None for directories that can change."""
        if self.source != "cache":
            return None
        return f"{self.path}=>{self.replacement}@{self.version}" if self.replacement else f"{self.path}@{self.version}"


def escape_path(s: str) -> str:
    """The module cache's case encoding of a module path or version: "A" -> "!a"."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), s)


_TOKEN = re.compile(r'\s+|(//.*)|("(?:[^"\\]|\\.)*"|`[^`]*`|[()\[\]{},]|(?:[^\s()\[\]{},/"`]|/(?!/))+)|(.)')


def _tokens(line: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN.finditer(line):
        comment, tok, bad = m.groups()
        if bad:
            raise _Malformed(line)
        if comment:
            break
        if tok:  # a JSONDecodeError (bad quoting) is a ValueError: malformed
            out.append(json.loads(tok) if tok[0] == '"' else tok[1:-1] if tok[0] == "`" else tok)
    return out


def _statements(text: str) -> list[tuple[str, list[str]]]:
    """(verb, arguments) of each line, the lines of a `verb ( ... )` block included."""
    out: list[tuple[str, list[str]]] = []
    block: str | None = None
    for line in text.splitlines():
        toks = _tokens(line)
        if not toks:
            continue
        if block is not None and toks == [")"]:
            block = None
        elif "(" in toks or ")" in toks:
            if block is not None or toks[1:] not in (["("], ["(", ")"]):
                raise _Malformed(line)
            block = toks[0] if toks[1:] == ["("] else None
        else:
            out.append((block, toks) if block is not None else (toks[0], toks[1:]))
    if block is not None:
        raise _Malformed("unclosed block")
    return out


class _ModFile(Record):
    _fields = ("module", "go", "require", "replace", "use")
    module: str
    go: tuple[int, int] | None
    require: dict[str, str]
    replace: dict[tuple[str, str], tuple[str, str]]  # -> (path or dir, version)
    use: list[str]

    def __init__(self, module: str = "", go: tuple[int, int] | None = None, require: dict[str, str] | None = None,
                 replace: dict[tuple[str, str], tuple[str, str]] | None = None, use: list[str] | None = None) -> None:
        self.module = module
        self.go = go
        self.require = {} if require is None else require
        self.replace = {} if replace is None else replace
        self.use = [] if use is None else use


def _one(args: list[str]) -> str:
    if len(args) != 1:
        raise _Malformed(" ".join(args))
    return args[0]


def _add_replace(mf: _ModFile, args: list[str], base: str) -> None:
    if "=>" not in args:
        raise _Malformed(" ".join(args))
    i = args.index("=>")
    old, new = args[:i], args[i + 1:]
    local = len(new) == 1 and (new[0] in (".", "..") or new[0].startswith(("./", "../", ".\\", "..\\"))
                               or os.path.isabs(new[0]))
    if len(old) not in (1, 2) or len(new) not in (1, 2) or (len(new) == 1 and not local):
        raise _Malformed(" ".join(args))
    target = (os.path.normpath(os.path.join(base, new[0])), "") if len(new) == 1 else (new[0], new[1])
    mf.replace[(old[0], old[1] if len(old) == 2 else "")] = target


def _parse(path: str, work: bool = False) -> _ModFile:
    """A go.mod (or, work=True, a go.work) file; _Malformed (a ValueError) or OSError if unusable."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    base, mf = os.path.dirname(path), _ModFile()
    for verb, args in _statements(text):
        if verb == "module" and not work:
            mf.module = _one(args)
        elif verb == "go":
            m = re.match(r"(\d+)\.(\d+)", _one(args))
            if m is None:
                raise _Malformed(args[0])
            mf.go = (int(m.group(1)), int(m.group(2)))
        elif verb == "require" and not work:
            if len(args) != 2:
                raise _Malformed(" ".join(args))
            mf.require[args[0]] = _newer(mf.require.get(args[0], ""), args[1])
        elif verb == "replace":
            _add_replace(mf, args, base)
        elif verb == "use" and work:
            mf.use.append(os.path.normpath(os.path.join(base, _one(args))))
    if not work and not mf.module:
        raise _Malformed("no module directive")
    return mf


def _vendor_modules(path: str) -> dict[str, str]:
    """vendor/modules.txt's `# path version [=> ...]` lines: module path -> version ("" if none)."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            f = line[2:].split() if line.startswith("# ") else []
            if f:
                out[f[0]] = f[1] if len(f) > 1 and f[1] != "=>" else ""
    return out


_SEMVER = re.compile(r"v(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]*)?$")


def _vkey(v: str) -> tuple:
    """A sort key for semantic versions (pseudo-versions included); invalid ones sort first."""
    m = _SEMVER.match(v)
    if m is None:
        return (-1, 0, 0, (0,))
    pre = m.group(4)
    prek = (1,) if pre is None else (0, *((0, int(x), "") if x.isdigit() else (1, 0, x) for x in pre.split(".")))
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), prek)


def _newer(a: str, b: str) -> str:
    return b if _vkey(b) > _vkey(a) else a


def _go_env(env: Mapping[str, str]) -> tuple[str, str, str, str]:
    """(module cache dir, GOFLAGS' last -mod value, GOWORK, GO111MODULE) as cmd/go reads them."""
    getenv, _ = settings(env)
    modcache = getenv("GOMODCACHE")
    if not modcache:
        gopath = getenv("GOPATH").split(os.pathsep)[0]
        if not gopath:
            gopath = os.path.join(env.get("HOME") or os.path.expanduser("~"), "go")
        modcache = os.path.join(gopath, "pkg", "mod")
    mod_flag = ""
    for w in _split_quoted(getenv("GOFLAGS")):
        if w.startswith(("-mod=", "--mod=")):
            mod_flag = w.split("=", 1)[1]
    return modcache, mod_flag, getenv("GOWORK"), getenv("GO111MODULE")


def _up(d: str, name: str) -> str | None:
    while not os.path.isfile(os.path.join(d, name)):
        if os.path.dirname(d) == d:
            return None
        d = os.path.dirname(d)
    return os.path.join(d, name)


def _sig(path: str) -> tuple[int, int, int] | None:
    try:
        return (st := os.stat(path)).st_mtime_ns, st.st_size, st.st_ino
    except OSError:
        return None


_MEMO: dict[tuple, BuildList] = {}


class BuildList:
    def __init__(self, main_path: str, main_dir: str, mains: dict[str, str], require: dict[str, str],
                 replace: list[dict[tuple[str, str], tuple[str, str]]], vendor: dict[str, str] | None,
                 vendor_dir: str, modcache: str, walk: bool, files: list[str]):
        self.main_path, self.main_dir = main_path, main_dir
        self._mains, self._require, self._replace = mains, require, replace
        self._vendor, self._vendor_dir, self._modcache, self._walk = vendor, vendor_dir, modcache, walk
        self._files = [(f, _sig(f)) for f in files]
        self._modules: dict[str, Module] = {}

    @classmethod
    def find(cls, start_dir: str, env: Mapping[str, str] | None = None) -> BuildList | None:
        """The build list of the module holding start_dir (memoized); None outside a module or
        when its go.mod (or go.work) cannot be read."""
        env = os.environ if env is None else env
        try:
            modcache, mod_flag, gowork, go111 = _go_env(env)
            start = os.path.abspath(start_dir)
            gomod = None if go111 == "off" else _up(start, "go.mod")
            if gomod is None:
                return None
            work = None if gowork == "off" else os.path.abspath(gowork) if gowork else _up(start, "go.work")
            key = (gomod, work, modcache, mod_flag)
            bl = _MEMO.get(key)
            if bl is None or not bl._fresh():
                bl = _load(gomod, work, modcache, mod_flag)
                if len(_MEMO) >= 64:
                    _MEMO.clear()
                _MEMO[key] = bl
            return bl
        except (OSError, ValueError):
            return None

    def _fresh(self) -> bool:
        return all(_sig(f) == s for f, s in self._files)

    def _lookup(self, import_path: str) -> str | None:
        """The longest module path of the build list (main modules included) prefixing import_path."""
        if self._walk:
            self._walk = False
            self._require = self._mvs()
        mods = self._vendor if self._vendor is not None else self._require
        p = import_path
        while p:
            if p in self._mains or p in mods:
                return p
            p = p[:max(p.rfind("/"), 0)]
        return None

    def is_main(self, import_path: str) -> bool:
        return self._lookup(import_path) in self._mains

    def module_of(self, import_path: str) -> Module | None:
        path = self._lookup(import_path)
        if path is None or path == self.main_path:
            return None  # the std library (no module claims it) or the main module
        m = self._modules.get(path)
        if m is None:
            m = self._modules[path] = self._make(path)
        return m

    def package_dir(self, import_path: str) -> tuple[Module, str] | None:
        m = self.module_of(import_path)
        if m is None:
            return None
        if m.source == "vendor":
            return m, os.path.join(self._vendor_dir, *import_path.split("/"))
        rel = import_path[len(m.path):].strip("/")
        return m, os.path.join(m.dir, *rel.split("/")) if rel else m.dir

    def _replacement(self, path: str, version: str) -> tuple[str, str] | None:
        for table in self._replace:  # go.work's first, then the main modules' go.mod
            r = table.get((path, version)) or table.get((path, ""))
            if r is not None:
                return r
        return None

    def _cache_dir(self, path: str, version: str) -> str:
        return os.path.join(self._modcache, *f"{escape_path(path)}@{escape_path(version)}".split("/"))

    def _make(self, path: str) -> Module:
        if path in self._mains:
            return Module(path, "", self._mains[path], "local")
        if self._vendor is not None:
            return Module(path, self._vendor[path], os.path.join(self._vendor_dir, *path.split("/")), "vendor")
        version = self._require[path]
        rep = self._replacement(path, version)
        if rep is None:
            return Module(path, version, self._cache_dir(path, version), "cache")
        if not rep[1]:
            return Module(path, "", rep[0], "local")
        return Module(path, rep[1], self._cache_dir(*rep), "cache", replacement=rep[0])

    def _requirements(self, path: str, version: str) -> dict[str, str]:
        """The require lines of one module version's go.mod (after replacement), {} if unknown."""
        rep = self._replacement(path, version)
        if rep is not None and not rep[1]:
            files = [os.path.join(rep[0], "go.mod")]
        else:
            p, v = rep or (path, version)
            dl = os.path.join(self._modcache, "cache", "download", *escape_path(p).split("/"), "@v")
            files = [os.path.join(dl, escape_path(v) + ".mod"), os.path.join(self._cache_dir(p, v), "go.mod")]
        for f in files:
            try:
                return _parse(f).require
            except (OSError, ValueError):
                continue
        return {}

    def _mvs(self) -> dict[str, str]:
        """Minimal version selection over the unpruned graph (main go.mod below go 1.17)."""
        selected = dict(self._require)
        todo = list(selected.items())
        seen = set(todo)
        while todo:
            path, version = todo.pop()
            if path in self._mains:
                continue
            for q, w in self._requirements(path, version).items():
                selected[q] = _newer(selected.get(q, ""), w)
                if (q, w) not in seen:
                    seen.add((q, w))
                    todo.append((q, w))
        return selected


def _load(gomod: str, gowork: str | None, modcache: str, mod_flag: str) -> BuildList:
    main, main_dir = _parse(gomod), os.path.dirname(gomod)
    mods, mains, replace = [main], {main.module: main_dir}, []
    files = [gomod]
    work = _parse(gowork, work=True) if gowork else None
    if work is not None and gowork:
        files.append(gowork)
        replace.append(work.replace)
        for d in work.use:
            if d == main_dir:
                continue
            try:
                mf = _parse(os.path.join(d, "go.mod"))
            except (OSError, ValueError):
                continue  # a use entry without a readable go.mod: the go command fails; we skip it
            files.append(os.path.join(d, "go.mod"))
            mains.setdefault(mf.module, d)
            mods.append(mf)
    replace += [mf.replace for mf in mods]
    require: dict[str, str] = {}
    for mf in mods:
        for p, v in mf.require.items():
            require[p] = _newer(require.get(p, ""), v)
    # vendoring: the main module's vendor dir from go 1.14, the workspace's from go 1.22
    root, go, need = (os.path.dirname(gowork), work.go, (1, 22)) if work and gowork else (main_dir, main.go, (1, 14))
    modtxt = os.path.join(root, "vendor", "modules.txt")
    files.append(modtxt)
    vendor = None
    if mod_flag == "vendor" or (not mod_flag and go is not None and go >= need and os.path.isfile(modtxt)):
        vendor = _vendor_modules(modtxt) if os.path.isfile(modtxt) else {}
    walk = vendor is None and any((mf.go or (1, 16)) < (1, 17) for mf in mods)
    return BuildList(main.module, main_dir, mains, require, replace, vendor, os.path.join(root, "vendor"),
                     modcache, walk, files)
