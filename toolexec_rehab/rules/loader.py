"""Load and validate rules: patterns/<id>.yaml plus templates/<template>."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import RuleError  # noqa: F401 - re-exported
from ..paths import builtin_dirs, hash_dir
from ..records import Record
from ..settings import parse_modes  # noqa: F401 - re-exported
from .conditions import CONDITIONS, check_chain, provided_by
from .dirs import extra_rule_dirs
from .frozen import Frozen, freeze


class LoadedRule(Record):
    _fields = ("rule", "path", "template_dirs", "conditions")
    rule: Frozen  # a schema.Rule, frozen
    path: str
    template_dirs: tuple[str, ...]
    conditions: list  # [(name, params (frozen), fn)]

    def __init__(self, rule: Frozen, path: str, template_dirs: tuple[str, ...], conditions: list | None = None) -> None:
        self.rule = rule
        self.path = path
        self.template_dirs = template_dirs
        self.conditions = [] if conditions is None else conditions

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def releases(self) -> bool:
        """Its fix adds a release of the resource its `resource` condition declares (a
        close, a cancel): the engine lets it patch only when no carrier of the resource can
        outlive the function (ownership.py). Moving an existing defer releases nothing new."""
        fix = self.rule.fix
        return fix is not None and fix.placement in ("after-error-check", "after-statement") and \
            any(name in ("resource", "acquires") for name, _, _ in self.conditions)


def _load_one(path: str, template_dirs: tuple[str, ...]) -> LoadedRule:
    """Read, validate and compile one rule file; every error names the file and line."""
    text = _read_rule_text(path)
    rule = _validate(path, text, _parse_yaml(path, text))
    from ..golang import parse as P
    from .schema import yaml_line_of

    if Path(path).stem != rule.id:
        raise RuleError(f"{path}:{yaml_line_of(text, ('id',)) or 1}: rule id {rule.id!r} must match the file name")
    try:
        P.query(rule.match.query)
    except Exception as e:  # tree_sitter.QueryError
        raise RuleError(f"{path}:{yaml_line_of(text, ('match', 'query')) or 1}: bad tree-sitter query: {e}") from None
    conds = [_condition(path, text, c) for c in rule.match.conditions]
    _check_inputs(path, text, rule, [name for name, _, _ in conds])
    _check_resources(path, text, rule.id, conds)
    _check_message(path, text, rule.message)
    if rule.fix is not None:
        from ..rewrite.render import environment

        for key in ("template", "build_template"):
            name = getattr(rule.fix, key)
            if name is None:
                continue
            try:
                environment(*template_dirs).get_template(name)
            except Exception as e:
                raise RuleError(f"{path}:{yaml_line_of(text, ('fix', key)) or 1}: "
                                f"template {name!r}: {type(e).__name__}: {e}") from None
    return LoadedRule(rule=freeze(rule), path=path, template_dirs=template_dirs, conditions=conds)


def _read_rule_text(path: str) -> str:
    from ..paths import read_confined

    try:  # never through a symbolic link, never outside its rule directory
        return read_confined(path, os.path.dirname(path)).decode("utf-8")
    except UnicodeDecodeError as e:
        raise RuleError(f"{path}:1: not UTF-8: {e}") from None
    except OSError as e:
        raise RuleError(f"{path}:1: {getattr(e, 'strerror', None) or e}") from None


def _parse_yaml(path: str, text: str) -> dict:
    import yaml  # here, not at the top: a build reads the rules from the cache (see below)

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        # the start of the unfinished construct says more than where the parser gave up
        mark = getattr(e, "context_mark", None) or getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RuleError(f"{path}:{line}: invalid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise RuleError(f"{path}:1: a rule file must be a mapping")
    return data


def _validate(path: str, text: str, data: dict):
    from pydantic import ValidationError

    from .schema import Rule, yaml_line_of

    try:
        return Rule.model_validate(data)
    except ValidationError as e:
        # an unknown key (a typo) explains a missing one: name it first
        errs = sorted(e.errors(), key=lambda x: x["type"] != "extra_forbidden")
        msgs = []
        for err in errs[:3]:
            loc = tuple(err["loc"])
            line = yaml_line_of(text, loc) or 1
            where = ".".join(str(x) for x in loc)
            what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            msgs.append(f"{path}:{line}: {where}: {what}")
        raise RuleError("\n".join(msgs)) from None


def _condition(path: str, text: str, c: dict) -> tuple:
    """(name, frozen params, function) of one `match.conditions` entry."""
    from pydantic import ValidationError

    from .params import MODELS
    from .schema import yaml_line_of

    (name, params), = c.items()
    where = f"{path}:{yaml_line_of(text, ('match', 'conditions', name)) or 1}"
    if name not in CONDITIONS:
        raise RuleError(f"{where}: unknown condition {name!r} (known: {', '.join(sorted(CONDITIONS))})")
    try:
        return name, freeze(MODELS[name].model_validate(params or {})), CONDITIONS[name].fn
    except ValidationError as e:
        err = e.errors()[0]
        raise RuleError(f"{where}: condition {name}: {'.'.join(str(x) for x in err['loc'])}: {err['msg']}") from None


def _check_inputs(path: str, text: str, rule, names: list[str]) -> None:
    """Each condition (and the fix's placement) gets what it reads from a condition before it:
    `leaks` without `resource` before it is refused here, not a KeyError at analysis time."""
    from .fixes import PLACEMENT_NEEDS
    from .schema import yaml_line_of

    for i, msg in check_chain(names):
        line = _nth_condition_line(text, names, i)
        raise RuleError(f"{path}:{line}: {msg}")
    if rule.fix is not None:
        missing = PLACEMENT_NEEDS[rule.fix.placement] - provided_by(names)
        if missing:
            line = yaml_line_of(text, ("fix", "placement")) or yaml_line_of(text, ("fix",)) or 1
            raise RuleError(f"{path}:{line}: fix placement {rule.fix.placement!r} needs "
                            f"{', '.join(sorted(missing))}, which none of the rule's conditions provides")


def _check_resources(path: str, text: str, rule_id: str, conds) -> None:
    """An `acquires` condition tracks catalogue entries: the ones it names, which must exist,
    or those whose `rule` is this rule, of which there must be one (a shipped rule copied
    under a new id would otherwise find nothing, silently)."""
    from .catalogue import load
    from .schema import yaml_line_of

    for name, params, _ in conds:
        if name != "acquires":
            continue
        where = f"{path}:{yaml_line_of(text, ('match', 'conditions', 'acquires')) or 1}"
        cat = load()
        ids = {r.id for r in cat.resources}
        unknown = [x for x in params.resources if x not in ids]
        if unknown:
            raise RuleError(f"{where}: acquires: no resource {', '.join(map(repr, unknown))} in the catalogue "
                            f"(known: {', '.join(sorted(ids))})")
        if not params.resources and not cat.for_rule(rule_id):
            raise RuleError(f"{where}: acquires: no catalogue entry has rule: {rule_id}; name the entries "
                            "this rule tracks (acquires: {resources: [os-file]}) or add one to a resources.yaml")


def _nth_condition_line(text: str, names: list[str], i: int) -> int:
    """The line of the i-th condition's key in the rule file (best effort)."""
    import re

    lines = text.splitlines()
    start = next((k for k, ln in enumerate(lines) if re.match(r"^\s*conditions\s*:", ln)), 0)
    seen = -1
    for k in range(start, len(lines)):
        if re.match(r"^\s*-?\s*(" + "|".join(re.escape(n) for n in set(names)) + r")\s*:", lines[k]):
            seen += 1
            if seen == i:
                return k + 1
    return start + 1


def _check_message(path: str, text: str, message: str) -> None:
    """The message renders with every name a message may use (a misspelt one is an error here,
    with file:line, not a failure at the first finding)."""
    from jinja2 import TemplateError

    from ..rewrite.render import RenderLimitError, render_string
    from .context import MESSAGE_SAMPLE
    from .schema import yaml_line_of

    try:
        render_string(message, dict(MESSAGE_SAMPLE))
    except RenderLimitError:
        pass  # depends on the finding; the engine reports the summary then
    except TemplateError as e:
        raise RuleError(f"{path}:{yaml_line_of(text, ('message',)) or 1}: message: {type(e).__name__}: {e} "
                        f"(a message may use {', '.join(sorted(MESSAGE_SAMPLE))})") from None


def load_dir(pattern_dir: str, template_dir: str | None = None) -> list[LoadedRule]:
    tdirs = (template_dir,) if template_dir else (str(Path(pattern_dir).parent / "templates"),)
    try:  # a user rule may use (or {% include %}) a shipped template
        builtin = builtin_dirs()[1]
        if builtin not in tdirs:
            tdirs += (builtin,)
    except FileNotFoundError:
        pass
    if not os.path.isdir(pattern_dir):
        raise RuleError(f"{pattern_dir}: no such rule directory")
    sig = _stat_signature((pattern_dir, *tdirs))
    seen = _LOADED.get((pattern_dir, tdirs))
    if sig is not None and seen is not None and seen[0] == sig:
        return list(seen[1])
    key = _cache_key(pattern_dir, tdirs)
    cached = _cache_get(key)
    if cached is None:
        cached = []
        for name in sorted(os.listdir(pattern_dir)):
            if name.endswith((".yaml", ".yml")) and name != "resources.yaml":  # the catalogue: catalogue.py
                cached.append(_load_one(os.path.join(pattern_dir, name), tdirs))
        _cache_put(key, cached)
    if sig is not None:
        _LOADED[(pattern_dir, tdirs)] = (sig, tuple(cached))
    return cached


# The rules this process loaded, with the lstat of every file and directory they came from.
# The compile server loads them before it forks a child per request, so a child that finds
# the same signature skips hashing the files for the compiled-rule cache's key (~3 ms a
# compile). The signature holds each entry's inode, size, mtime and ctime: a file written
# again, even with its old mtime put back, has a new ctime.
_LOADED: dict[tuple, tuple[tuple, tuple]] = {}


def _stat_signature(dirs: tuple[str, ...]) -> tuple | None:
    out: list = []
    try:
        for d in dirs:
            for top, subdirs, files in os.walk(d):
                subdirs.sort()
                for name in sorted(files) + [""]:
                    st = os.lstat(os.path.join(top, name) if name else top)
                    out.append((top, name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode))
    except OSError:
        return None
    return tuple(out)


# ------------------------------------------------------------------ compiled-rule cache
#
# Every compile a build intercepts loads the rules. Parsing the YAML, validating it and
# compiling its queries and templates costs ~80 ms; the validated rules are pickled under
# the private cache dir instead, keyed by a digest of the rule and template files (names
# and contents), our own rule code and the Python version. A rule file that changes gets a
# new key, so a stale entry is never read. REHAB_RULE_CACHE=off disables the cache.

_CACHE_FORMAT = "2"


def _cache_key(pattern_dir: str, tdirs: tuple[str, ...]) -> str | None:
    import hashlib
    import sys

    from .. import __version__
    from ..settings import flag_or_default

    if not flag_or_default("REHAB_RULE_CACHE"):
        return None
    h = hashlib.sha256(f"{_CACHE_FORMAT}\0{__version__}\0{sys.version}\0{pattern_dir}\0{tdirs}\0".encode())
    here = os.path.dirname(os.path.abspath(__file__))
    # the schema and the condition library shape the pickle, and so does the records' base
    # (LoadedRule is a records.Record)
    shaping = [os.path.join(here, n) for n in sorted(os.listdir(here)) if n.endswith(".py")]
    for path in [*shaping, os.path.join(os.path.dirname(here), "records.py")]:
        st = os.stat(path)
        h.update(f"{os.path.basename(path)}\0{st.st_mtime_ns}\0{st.st_size}\0".encode())
    for d in (pattern_dir, *tdirs):
        hash_dir(h, d, recursive=True, root=d)  # a template may include one from a subdirectory
    return h.hexdigest()[:32]


def _cache_path(key: str) -> str:
    from ..paths import cache_dir

    return os.path.join(cache_dir(), "rules", key + ".pickle")


def _ours_only(fd: int, directory: str) -> bool:
    """Unpickling runs code: only a file that no one but us could have written (owned by us,
    not group/other-writable, in directories that are the same), never one in a cache dir
    that XDG_CACHE_HOME points at some shared place."""
    uid = os.geteuid()
    try:
        stats = [os.fstat(fd), os.stat(directory), os.stat(os.path.dirname(directory))]
    except OSError:
        return False
    return all(st.st_uid == uid and not st.st_mode & 0o022 for st in stats)


def _cache_get(key: str | None) -> list[LoadedRule] | None:
    if key is None:
        return None
    import pickle

    try:
        with open(_cache_path(key), "rb") as fh:
            if not _ours_only(fh.fileno(), os.path.dirname(fh.name)):
                return None
            rules = pickle.load(fh)
    except Exception:  # missing, truncated, written by other code: load from source
        return None
    if not (isinstance(rules, list) and all(isinstance(r, LoadedRule) for r in rules)):
        return None
    return rules


def _cache_put(key: str | None, rules: list[LoadedRule]) -> None:
    if key is None:
        return
    import pickle

    from ..paths import write_private

    try:
        write_private(_cache_path(key), pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # a read-only cache dir costs speed, never correctness
        pass


def all_rules() -> list[LoadedRule]:
    """Every rule, opt-in ones included."""
    return load_rules(include_disabled=True)


def load_rules(enabled: set[str] | None = None, include_disabled: bool = False) -> list[LoadedRule]:
    try:
        p, t = builtin_dirs()
    except FileNotFoundError as e:
        raise RuleError(str(e)) from None
    rules = load_dir(p, t)
    seen = {r.id: r.path for r in rules}
    for up, ut, _root in extra_rule_dirs():
        for r in load_dir(up, ut):
            if r.id in seen:
                raise RuleError(f"{r.path}:1: rule id {r.id!r} is already defined in {seen[r.id]}")
            seen[r.id] = r.path
            rules.append(r)
    if enabled is not None:
        unknown = enabled - {r.id for r in rules}
        if unknown:
            raise RuleError(f"unknown rule(s): {', '.join(sorted(unknown))}")
        rules = [r for r in rules if r.id in enabled]
    elif not include_disabled:
        rules = [r for r in rules if r.rule.enabled]
    return rules
