""".rehab.yaml: the project's settings, found by searching from the module root upward.

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
from dataclasses import dataclass, field

from .paths import cache_dir, find_upward

NAME = ".rehab.yaml"
FIX_POLICIES = ("on", "off", "confirmed")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class ConfigError(Exception):
    """str() is `file:line: message`."""


@dataclass
class RuleSetting:
    enabled: bool | None = None
    mode: str | None = None  # "fix" | "report"
    line: int = 0


@dataclass
class BuildSettings:
    fix: str = "on"
    instrument: bool = False
    trace: str | None = None
    audit: bool = False


@dataclass
class Config:
    path: str | None = None
    text: bytes = b""
    rules: dict[str, RuleSetting] = field(default_factory=dict)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    rule_dirs: list[str] = field(default_factory=list)
    audit_log: str | None = None
    build: BuildSettings = field(default_factory=BuildSettings)

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update((self.path or "").encode() + b"\0" + self.text)
        return h.hexdigest()[:16]

    # ---- effective values: environment first, then the file

    def fix_policy(self) -> str:
        env = os.environ.get("REHAB_FIX", "").strip().lower()
        if env:
            if env in _FALSE:
                return "off"
            if env == "confirmed":
                return "confirmed"
            return "on"
        return self.build.fix

    def instrument(self) -> bool:
        env = os.environ.get("REHAB_INSTRUMENT", "").strip().lower()
        if env:
            return env not in _FALSE
        return self.build.instrument

    def trace(self) -> str | None:
        return os.environ.get("REHAB_TRACE") or self.build.trace

    def audit_path(self) -> str:
        """REHAB_AUDIT_LOG, else the file's audit_log, else audit.jsonl in our cache dir."""
        if os.environ.get("REHAB_AUDIT_LOG") or self.audit_log:
            return os.environ.get("REHAB_AUDIT_LOG") or self.audit_log
        return os.path.join(cache_dir(), "audit.jsonl")

    def package_globs(self) -> tuple[list[str], list[str]]:
        inc = os.environ.get("REHAB_PACKAGES")
        exc = os.environ.get("REHAB_EXCLUDE")
        return (_split(inc) if inc is not None else list(self.include),
                _split(exc) if exc is not None else list(self.exclude))

    def modes(self) -> dict[str, str]:
        """rule id -> mode: the file's modes, then REHAB_MODES over them."""
        from .rules.loader import parse_modes

        out = {rid: s.mode for rid, s in self.rules.items() if s.mode}
        out.update(parse_modes(os.environ.get("REHAB_MODES")))
        return out

    def check_rule_ids(self, known: set[str]) -> None:
        for rid, s in self.rules.items():
            if rid not in known:
                raise ConfigError(f"{self.path}:{s.line}: unknown rule {rid!r} "
                                  f"(known: {', '.join(sorted(known))})")


def _split(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


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

def module_root(start: str) -> str | None:
    return find_upward(start, "go.mod")


def find_config(start_dir: str | None = None) -> str | None:
    explicit = os.environ.get("REHAB_CONFIG")
    if explicit:
        if explicit.lower() in ("off", "none"):
            return None
        return os.path.abspath(explicit)
    start = os.path.abspath(start_dir or os.getcwd())
    d = find_upward(module_root(start) or start, NAME)
    return os.path.join(d, NAME) if d else None


_cache: dict[str | None, Config] = {}


def load_config(start_dir: str | None = None) -> Config:
    path = find_config(start_dir)
    if path in _cache:
        return _cache[path]
    cfg = Config() if path is None else parse_file(path)
    _cache[path] = cfg
    return cfg


# ------------------------------------------------------------------ parsing

def parse_file(path: str) -> Config:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        raise ConfigError(f"{path}: {e.strerror}") from None
    return parse(raw, path)


def parse(raw: bytes, path: str) -> Config:
    import yaml

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}:1: not UTF-8: {e}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "context_mark", None) or getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {getattr(e, 'problem', None) or e}") from None
    cfg = Config(path=path, text=raw)
    if root is None:
        return cfg
    p = _Parser(path)
    base = os.path.dirname(path)
    for key, val in p.mapping(root, "the config file"):
        k = key.value
        if k == "rules":
            for rk, rv in p.mapping(val, "rules"):
                cfg.rules[rk.value] = p.rule_setting(rk.value, rv)
        elif k == "packages":
            for pk, pv in p.mapping(val, "packages"):
                if pk.value == "include":
                    cfg.include = p.strings(pv, "packages.include")
                elif pk.value == "exclude":
                    cfg.exclude = p.strings(pv, "packages.exclude")
                else:
                    p.unknown(pk, "packages", ("include", "exclude"))
        elif k == "rule_dirs":
            for node in p.nodes(val, "rule_dirs"):
                d = os.path.normpath(os.path.join(base, p.string(node, "rule_dirs")))
                if not os.path.isdir(d):
                    p.fail(node, f"rule_dirs: {d}: no such directory")
                cfg.rule_dirs.append(d)
        elif k == "audit_log":
            cfg.audit_log = os.path.normpath(os.path.join(base, p.string(val, "audit_log")))
        elif k == "build":
            for bk, bv in p.mapping(val, "build"):
                b = bk.value
                if b == "fix":
                    v = p.string(bv, "build.fix").lower()
                    if v in _TRUE:
                        v = "on"
                    elif v in _FALSE:
                        v = "off"
                    if v not in FIX_POLICIES:
                        raise ConfigError(f"{path}:{_line(bv)}: build.fix: {v!r}: must be on, off or confirmed")
                    cfg.build.fix = v
                elif b == "instrument":
                    cfg.build.instrument = p.boolean(bv, "build.instrument")
                elif b == "trace":
                    cfg.build.trace = os.path.normpath(os.path.join(base, p.string(bv, "build.trace")))
                elif b == "audit":
                    cfg.build.audit = p.boolean(bv, "build.audit")
                else:
                    p.unknown(bk, "build", ("fix", "instrument", "trace", "audit"))
        else:
            p.unknown(key, "the top level", ("rules", "packages", "rule_dirs", "audit_log", "build"))
    return cfg


def _line(node) -> int:
    return node.start_mark.line + 1


class _Parser:
    def __init__(self, path: str):
        self.path = path

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
