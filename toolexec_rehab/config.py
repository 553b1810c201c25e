""".rehab.yaml at the module root (the repository's settings) over the user's own
~/.config/toolexec-rehab/config.yaml; see "discovery" below for what is trusted.

    # .rehab.yaml
    rules:
      unchecked-error: report          # on | off | fix | report
      error-wrap: {enabled: true, mode: fix}
    packages:
      include: [example.com/svc/...]   # import-path globs; `/...` matches a subtree
      exclude: [example.com/svc/internal/gen/...]
    rule_dirs: [rehab-rules]           # extra rule directories, relative to this file
    audit_log: .rehab/audit.jsonl      # relative to this file
    build:
      fix: on                          # on | off | confirmed (only sites a trace confirmed)
      instrument: false                # insert runtime markers (REHAB_INSTRUMENT)
      trace: trace.json                # the trace that `fix: confirmed` reads
      audit: false                     # builds append the fixes they apply to the audit log

Environment variables win over the file: REHAB_FIX, REHAB_INSTRUMENT, REHAB_TRACE,
REHAB_RULES, REHAB_MODES, REHAB_PACKAGES, REHAB_EXCLUDE, REHAB_RULE_DIRS, REHAB_AUDIT_LOG.
REHAB_CONFIG names a file explicitly (REHAB_CONFIG=off: no file).

The file is parsed into YAML nodes (safe: no tags, no code) and checked key by key, so
that an unknown key or a bad value is reported at its line. Only PyYAML is imported:
the -V=full path reads this file for the build cache key.
"""

from __future__ import annotations

import hashlib
import os

from .errors import ConfigError  # noqa: F401 - re-exported
from .paths import find_upward, modcache, trust_problem, under
from .records import Record
from .settings import FALSE as _FALSE
from .settings import TRUE as _TRUE
from .settings import choice, flag, parse_modes, raw, split_list

NAME = ".rehab.yaml"
USER_NAME = "config.yaml"
FIX_POLICIES = ("on", "off", "confirmed")




class RuleSetting(Record):
    _fields = ("enabled", "mode", "line")
    enabled: bool | None
    mode: str | None  # "fix" | "report"
    line: int

    def __init__(self, enabled: bool | None = None, mode: str | None = None, line: int = 0) -> None:
        self.enabled = enabled
        self.mode = mode
        self.line = line


class BuildSettings(Record):
    _fields = ("fix", "instrument", "trace", "audit")
    fix: str | None
    instrument: bool | None
    trace: str | None
    audit: bool | None

    def __init__(self, fix: str | None = None, instrument: bool | None = None, trace: str | None = None,
                 audit: bool | None = None) -> None:
        self.fix = fix
        self.instrument = instrument
        self.trace = trace
        self.audit = audit


class Config(Record):
    """One config file as parsed, or (load_config) the user's file with the repository's
    over it. `root` is the directory a repository's config is confined to (its module
    root); None for the user's own files, which may name anything."""

    _fields = ("path", "text", "root", "rules", "include", "exclude", "rule_dirs", "repo_rule_dirs", "audit_log",
               "repo_rules", "build", "files", "_rule_file", "_audit_root")
    path: str | None
    text: bytes
    root: str | None
    rules: dict[str, RuleSetting]
    include: list[str] | None
    exclude: list[str] | None
    rule_dirs: list[str]
    repo_rule_dirs: list[str]  # named by a repository's config
    audit_log: str | None
    repo_rules: bool | None  # the user's config only: use repositories' rule_dirs
    build: BuildSettings
    files: list[tuple[str, bytes]]  # every file read, for the digest
    _rule_file: dict  # rule id -> the file that set it
    _audit_root: str | None  # where audit_log must stay (a repository's config)

    def __init__(self, path: str | None = None, text: bytes = b"", root: str | None = None,
                 rules: dict[str, RuleSetting] | None = None, include: list[str] | None = None,
                 exclude: list[str] | None = None, rule_dirs: list[str] | None = None,
                 repo_rule_dirs: list[str] | None = None, audit_log: str | None = None,
                 repo_rules: bool | None = None, build: BuildSettings | None = None,
                 files: list[tuple[str, bytes]] | None = None, _rule_file: dict | None = None,
                 _audit_root: str | None = None) -> None:
        self.path = path
        self.text = text
        self.root = root
        self.rules = {} if rules is None else rules
        self.include = include
        self.exclude = exclude
        self.rule_dirs = [] if rule_dirs is None else rule_dirs
        self.repo_rule_dirs = [] if repo_rule_dirs is None else repo_rule_dirs
        self.audit_log = audit_log
        self.repo_rules = repo_rules
        self.build = BuildSettings() if build is None else build
        self.files = [] if files is None else files
        self._rule_file = {} if _rule_file is None else _rule_file
        self._audit_root = _audit_root

    def digest(self) -> str:
        h = hashlib.sha256()
        for path, text in self.files or [(self.path or "", self.text)]:
            h.update(path.encode() + b"\0" + text + b"\0")
        return h.hexdigest()[:16]

    # ---- effective values: environment first, then the file

    def fix_policy(self) -> str:
        if raw("REHAB_FIX") is not None:
            return choice("REHAB_FIX")
        return self.build.fix or "on"

    def instrument(self) -> bool:
        if raw("REHAB_INSTRUMENT") is not None:
            return flag("REHAB_INSTRUMENT")
        return bool(self.build.instrument)

    def audit_enabled(self) -> bool:
        return bool(self.build.audit)

    def trace(self) -> str | None:
        return raw("REHAB_TRACE") or self.build.trace

    def audit_path(self) -> str:
        """REHAB_AUDIT_LOG, else the config's audit_log, else audit.jsonl in our cache dir
        (UnsafePathError when that is not ours alone)."""
        if raw("REHAB_AUDIT_LOG") or self.audit_log:
            return raw("REHAB_AUDIT_LOG") or self.audit_log
        from .paths import cache_dir

        return os.path.join(cache_dir(), "audit.jsonl")

    def audit_root(self) -> str | None:
        """The directory the audit log must stay inside: a repository's config may name one
        only inside its repository; the user's own choices are not confined."""
        if raw("REHAB_AUDIT_LOG"):
            return None
        return self._audit_root

    def package_globs(self) -> tuple[list[str], list[str]]:
        inc = os.environ.get("REHAB_PACKAGES")
        exc = os.environ.get("REHAB_EXCLUDE")
        return (split_list(inc) if inc is not None else list(self.include or []),
                split_list(exc) if exc is not None else list(self.exclude or []))

    def modes(self) -> dict[str, str]:
        """rule id -> mode: the file's modes, then REHAB_MODES over them."""
        out = {rid: s.mode for rid, s in self.rules.items() if s.mode}
        out.update(parse_modes(os.environ.get("REHAB_MODES")))
        return out

    def check_rule_ids(self, known: set[str]) -> None:
        for rid, s in self.rules.items():
            if rid not in known:
                raise ConfigError(f"{self._rule_file.get(rid, self.path)}:{s.line}: unknown rule {rid!r} "
                                  f"(known: {', '.join(sorted(known))})")

    def use_repo_rules(self) -> bool:
        if raw("REHAB_REPO_RULES") is not None:
            return flag("REHAB_REPO_RULES")
        return self.repo_rules is not False

    def rule_dirs_with_roots(self) -> list[tuple[str, str | None]]:
        """(directory, confining root): the user's own, then the repository's (unless
        REHAB_REPO_RULES=off or the user's config says repo_rules: off)."""
        out = [(d, None) for d in self.rule_dirs]
        if self.use_repo_rules():
            out += [(d, self.root) for d in self.repo_rule_dirs]
        return out


def package_selected(importpath: str, include: list[str], exclude: list[str]) -> bool:
    if exclude and glob_match(importpath, exclude):
        return False
    return not include or glob_match(importpath, include)


def glob_match(importpath: str, patterns: list[str]) -> bool:
    """`a/b/...` matches a/b and everything below; otherwise fnmatch on the whole path."""
    import fnmatch

    for pat in patterns:
        if pat.endswith("/..."):
            base = pat[:-4]
            if importpath == base or importpath.startswith(base + "/"):
                return True
        elif fnmatch.fnmatchcase(importpath, pat):
            return True
    return False


# ------------------------------------------------------------------ discovery
#
# Trust (README "Trust"): the repository's config is read only from its module root (the
# directory with go.mod), never from above it, never from a module in the module cache or
# under vendor/ (someone else's code), and only when the file and the module root are ours
# (or root's) and nobody else can write them. The user's own config lives in
# $XDG_CONFIG_HOME/toolexec-rehab/config.yaml under the same ownership rule. REHAB_CONFIG
# names a file explicitly: the user's choice, trusted as the user's own config.


def module_root(start: str) -> str | None:
    return find_upward(start, "go.mod")


def user_config_path() -> str:
    base = os.environ.get("XDG_CONFIG_HOME")
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "toolexec-rehab", USER_NAME)


def repo_config_path(start_dir: str | None = None) -> str | None:
    """The module root's .rehab.yaml that applies from start_dir (it may not exist); None
    outside a module or in someone else's module (module cache, vendor/)."""
    start = os.path.abspath(start_dir or os.getcwd())
    root = module_root(start)
    if root is None or under(root, modcache()) or f"{os.sep}vendor{os.sep}" in root + os.sep:
        return None
    return os.path.join(root, NAME)


def find_config(start_dir: str | None = None) -> str | None:
    """The project config file in effect (REHAB_CONFIG, else the module root's .rehab.yaml
    when it exists), or None."""
    explicit = raw("REHAB_CONFIG")
    if explicit:
        if explicit.strip().lower() in ("off", "none"):
            return None
        return os.path.abspath(explicit)
    p = repo_config_path(start_dir)
    return p if p and os.path.lexists(p) else None


_cache: dict[tuple, Config] = {}


def forget() -> None:
    """Drop the configs read so far: a long-lived process (the language server) calls it when
    a config file changed, so that the next load_config reads it again."""
    _cache.clear()


def load_config(start_dir: str | None = None) -> Config:
    explicit = raw("REHAB_CONFIG")
    user = user_config_path()
    path = find_config(start_dir)
    key = (path, explicit, user, raw("REHAB_REPO_RULES"))
    if key in _cache:
        return _cache[key]
    layers = []
    if os.path.lexists(user):
        _check_trust(user, "your config")
        layers.append(parse_file(user, root=None))
    if path is not None:
        if explicit:
            layers.append(parse_file(path, root=None))
        else:
            _check_trust(path, "the module's config")
            layers.append(parse_file(path, root=os.path.dirname(path)))
    cfg = merge(layers)
    _cache[key] = cfg
    return cfg


def _check_trust(path: str, what: str) -> None:
    for p in (path, os.path.dirname(path)):
        why = trust_problem(p)
        if why:
            raise ConfigError(f"{path}:1: refusing to read {what}: {why}. A config steers what is "
                              f"compiled into your programs; fix the owner or mode, or name a file you "
                              f"trust with REHAB_CONFIG=path (REHAB_CONFIG=off: no config)")


def merge(layers: list[Config]) -> Config:
    """The user's config, then the repository's over it, key by key."""
    if not layers:
        return Config()
    out = Config(path=layers[-1].path, text=layers[-1].text, root=layers[-1].root)
    for c in layers:
        out.files.append((c.path or "", c.text))
        for rid, s in c.rules.items():
            out.rules[rid] = s
            out._rule_file[rid] = c.path
        if c.include is not None:
            out.include = c.include
        if c.exclude is not None:
            out.exclude = c.exclude
        out.rule_dirs += c.rule_dirs
        out.repo_rule_dirs += c.repo_rule_dirs
        if c.audit_log:
            out.audit_log = c.audit_log
            out._audit_root = c.root
        if c.repo_rules is not None:
            out.repo_rules = c.repo_rules
        for k in ("fix", "instrument", "trace", "audit"):
            v = getattr(c.build, k)
            if v is not None:
                setattr(out.build, k, v)
    return out


# ------------------------------------------------------------------ parsing

def parse_file(path: str, root: str | None = None) -> Config:
    """Parse one config file. With root (a repository's config), everything it names must
    lie inside root."""
    try:
        from .paths import read_confined

        raw_bytes = read_confined(path, None)
    except OSError as e:
        raise ConfigError(f"{path}: {getattr(e, 'strerror', None) or e}") from None
    return parse(raw_bytes, path, root)


def _refuse_tags(text: str, path: str) -> None:
    """A tag (`!!python/object`, `!foo`, even `!!str`) is an error: the file is plain data."""
    import yaml

    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        tag = getattr(ev, "tag", None)
        if tag is not None and not isinstance(ev, (yaml.DocumentStartEvent, yaml.DocumentEndEvent)):
            raise ConfigError(f"{path}:{ev.start_mark.line + 1}: YAML tag {tag!r} not allowed "
                              f"(the config is plain data)")


def parse(raw: bytes, path: str, root: str | None = None) -> Config:
    import yaml

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}:1: not UTF-8: {e}") from None
    try:
        _refuse_tags(text, path)
        root_node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "context_mark", None) or getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {getattr(e, 'problem', None) or e}") from None
    cfg = Config(path=path, text=raw, root=root)
    if root_node is None:
        return cfg
    p = _Parser(path, root)
    for key, val in p.mapping(root_node, "the config file"):
        p.top_level(cfg, key, val)
    return cfg


def _line(node) -> int:
    return node.start_mark.line + 1


class _Parser:
    """Checks a config file's YAML nodes: every error is ConfigError `path:line: ...`. With
    root (a repository's config), every path it names must lie inside root."""

    # the top-level keys: the method that reads each into the Config
    _TOP_LEVEL = {"rules": "_rules", "packages": "_packages", "rule_dirs": "_rule_dirs",
                  "audit_log": "_audit_log", "repo_rules": "_repo_rules", "build": "_build"}
    _BUILD = {"fix": "_build_fix", "instrument": "_build_instrument", "trace": "_build_trace",
              "audit": "_build_audit"}

    def __init__(self, path: str, root: str | None = None):
        self.path, self.root = path, root
        self.base = os.path.dirname(path)  # what relative paths in the file are relative to

    def top_level(self, cfg: Config, key, val) -> None:
        method = self._TOP_LEVEL.get(key.value)
        if method is None:
            known = ("rules", "packages", "rule_dirs", "audit_log", "build") + \
                (("repo_rules",) if self.root is None else ())
            self.unknown(key, "the top level", known)  # raises
        getattr(self, method)(cfg, key, val)

    def _rules(self, cfg: Config, key, val) -> None:
        for rk, rv in self.mapping(val, "rules"):
            cfg.rules[rk.value] = self.rule_setting(rk.value, rv)

    def _packages(self, cfg: Config, key, val) -> None:
        for pk, pv in self.mapping(val, "packages"):
            if pk.value == "include":
                cfg.include = self.strings(pv, "packages.include")
            elif pk.value == "exclude":
                cfg.exclude = self.strings(pv, "packages.exclude")
            else:
                self.unknown(pk, "packages", ("include", "exclude"))

    def _path(self, node, what: str) -> str:
        """A path the file names (relative to the file), confined to the module root."""
        return self.inside(node, os.path.normpath(os.path.join(self.base, self.string(node, what))), what)

    def _rule_dirs(self, cfg: Config, key, val) -> None:
        for node in self.nodes(val, "rule_dirs"):
            d = self._path(node, "rule_dirs")
            if not os.path.isdir(d):
                self.fail(node, f"rule_dirs: {d}: no such directory")
            (cfg.repo_rule_dirs if self.root is not None else cfg.rule_dirs).append(d)

    def _audit_log(self, cfg: Config, key, val) -> None:
        log = self._path(val, "audit_log")
        if self.root is not None and (os.sep + ".git" + os.sep) in (os.path.realpath(log) + os.sep):
            self.fail(val, "audit_log: a repository's config may not write into .git")
        cfg.audit_log = log

    def _repo_rules(self, cfg: Config, key, val) -> None:
        if self.root is not None:
            self.fail(key, "repo_rules: only your own config (~/.config/toolexec-rehab/config.yaml) may say "
                           "whether repositories' rules are used")
        cfg.repo_rules = self.boolean(val, "repo_rules")

    def _build(self, cfg: Config, key, val) -> None:
        for bk, bv in self.mapping(val, "build"):
            method = self._BUILD.get(bk.value)
            if method is None:
                self.unknown(bk, "build", ("fix", "instrument", "trace", "audit"))  # raises
            getattr(self, method)(cfg.build, bv)

    def _build_fix(self, build: BuildSettings, node) -> None:
        v = self.string(node, "build.fix").lower()
        if v in _TRUE:
            v = "on"
        elif v in _FALSE:
            v = "off"
        if v not in FIX_POLICIES:
            self.fail(node, f"build.fix: {v!r}: must be on, off or confirmed")
        build.fix = v

    def _build_instrument(self, build: BuildSettings, node) -> None:
        build.instrument = self.boolean(node, "build.instrument")

    def _build_trace(self, build: BuildSettings, node) -> None:
        build.trace = self._path(node, "build.trace")

    def _build_audit(self, build: BuildSettings, node) -> None:
        build.audit = self.boolean(node, "build.audit")

    def inside(self, node, path: str, what: str) -> str:
        """A repository's config may only name paths inside its repository (symbolic links
        resolved)."""
        from .paths import confined

        if self.root is not None and not confined(path, self.root):
            self.fail(node, f"{what}: {path} is outside the module root {self.root} (a repository's "
                            f"config may only name its own files)")
        return path

    def fail(self, node, msg: str):
        raise ConfigError(f"{self.path}:{_line(node)}: {msg}")

    def unknown(self, key, where: str, known) -> None:
        self.fail(key, f"unknown key {key.value!r} in {where} (known: {', '.join(known)})")

    def mapping(self, node, what: str):
        import yaml

        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
        seen = set()
        for k, _v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                self.fail(k, f"{what}: keys must be plain words")
            if k.value in seen:
                self.fail(k, f"{what}: duplicate key {k.value!r}")
            seen.add(k.value)
        return node.value

    def string(self, node, what: str) -> str:
        import yaml

        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null") or not node.value.strip():
            self.fail(node, f"{what} must be a non-empty string")
        return node.value.strip()

    def nodes(self, node, what: str) -> list:
        """A list, or one scalar taken as a list of one."""
        import yaml

        if isinstance(node, yaml.ScalarNode):
            return [node]
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list of strings")
        return node.value

    def strings(self, node, what: str) -> list[str]:
        return [self.string(x, what) for x in self.nodes(node, what)]

    def boolean(self, node, what: str) -> bool:
        v = self.string(node, what).lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
        self.fail(node, f"{what}: {v!r} must be true or false")

    def rule_setting(self, rid: str, node) -> RuleSetting:
        import yaml

        s = RuleSetting(line=_line(node))
        if isinstance(node, yaml.ScalarNode):
            v = self.string(node, f"rules.{rid}").lower()
            if v in ("fix", "report"):
                s.enabled, s.mode = True, v
            elif v in _TRUE:
                s.enabled = True
            elif v in _FALSE:
                s.enabled = False
            else:
                self.fail(node, f"rules.{rid}: {v!r} must be on, off, fix or report")
            return s
        for k, v in self.mapping(node, f"rules.{rid}"):
            if k.value == "enabled":
                s.enabled = self.boolean(v, f"rules.{rid}.enabled")
            elif k.value == "mode":
                m = self.string(v, f"rules.{rid}.mode").lower()
                if m not in ("fix", "report"):
                    self.fail(v, f"rules.{rid}.mode: {m!r} must be fix or report")
                s.mode = m
            else:
                self.unknown(k, f"rules.{rid}", ("enabled", "mode"))
        return s
