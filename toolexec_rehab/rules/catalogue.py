"""The resource catalogue (patterns/resources.yaml, and a resources.yaml in any rule
directory): the resource types the leak rules track, how each is acquired and released,
and what calls do with a resource they are given. Every part of the tool that knows a
resource reads it from here: the `acquires` condition, the path analysis (flow.py), the
ownership model (ownership.py), the instrumenter and the tracer.

Loading is cheap after the first time: the validated catalogue is kept as JSON in the
private cache dir under a digest of the files' contents and this module, so a build reads
neither YAML nor pydantic; in-process it is memoized by the files' lstat signature.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache

from ..errors import RuleError
from ..records import FrozenRecord

FILE = "resources.yaml"
DEFAULT_RULE = "resource-not-released"
_FORMAT = "1"
_ENTRY_KEYS = {"type", "embedded_by", "acquire", "not_acquired_by", "result", "handle", "release", "release_error",
               "closers", "rule", "doc", "idempotent", "finalizer", "release_discarded", "waits_for"}
_CALL_KINDS = ("consume", "borrow", "non_owning")


class Resource(FrozenRecord):
    _fields = ("id", "type", "release", "rule", "embedded_by", "acquire", "not_acquired_by", "result", "handle",
               "release_error", "closers", "idempotent", "finalizer", "release_discarded", "waits_for", "doc", "path")
    id: str
    type: str
    release: tuple[str, ...]  # method names; ("call",): the value is a func to call
    rule: str
    embedded_by: tuple[str, ...]
    acquire: tuple[str, ...]
    not_acquired_by: tuple[str, ...]
    result: int
    handle: str
    release_error: bool
    closers: tuple[str, ...]
    idempotent: bool  # a second release is harmless (a fix may add one on a path that releases)
    # the runtime releases one that is collected (a finalizer: files, network connections and
    # listeners, tickers): a discarded one is reported, not released at once - that release
    # could be seen (a listener's port freed, a connection's peer told), the collector's is late
    finalizer: bool
    # a discarded one is released right after the call (false: reported only - a transaction
    # thrown away may be ended by the program's own SQL on the same connection)
    release_discarded: bool
    # methods that make a value its release waits for (a *sql.Conn's BeginTx: Close blocks until
    # that transaction ends): a handle on which one is called is reported, not patched
    waits_for: tuple[str, ...]
    doc: str
    path: str  # the file it came from

    def __init__(self, id: str, type: str, release: tuple[str, ...], rule: str = DEFAULT_RULE,
                 embedded_by: tuple[str, ...] = (), acquire: tuple[str, ...] = (),
                 not_acquired_by: tuple[str, ...] = (), result: int = 0, handle: str = "{{ var }}",
                 release_error: bool = True, closers: tuple[str, ...] = (), idempotent: bool = False,
                 finalizer: bool = False, release_discarded: bool = True, waits_for: tuple[str, ...] = (),
                 doc: str = "", path: str = "") -> None:
        self._init_fields(id, type, release, rule, embedded_by, acquire, not_acquired_by, result, handle,
                          release_error, closers, idempotent, finalizer, release_discarded, waits_for, doc, path)

    def has_type(self, t: str | None, rv=None) -> bool:
        """A value of type t is one of these: the type itself, one it is known to be embedded
        by, or (with a resolver, types.Resolver.embeds) an alias of it or a type embedding it."""
        if t is None:
            return False
        return t == self.type or t in self.embedded_by or (rv is not None and rv.embeds(t, self.type))

    def lists(self, name: str | None) -> bool:
        """`name` is one of the calls known to hand over a new one (`acquire`: names or
        fnmatch patterns)."""
        return bool(name) and _matches(self.acquire, name)

    @property
    def by_call(self) -> bool:
        return self.release == ("call",)

    def symbols(self) -> list[str]:
        """The symbols of its release methods in a binary (`database/sql.(*Rows).Close`), for
        a pointer to a named type; its `closers`."""
        out = list(self.closers)
        if self.type.startswith("*") and not self.by_call and self.handle == "{{ var }}":
            pkg, _, name = self.type[1:].rpartition(".")
            out += [f"{pkg}.(*{name}).{m}" for m in self.release]
        return out


class Catalogue(FrozenRecord):
    _fields = ("resources", "calls")  # and _listing, listing()'s memo: not compared, not shown
    resources: tuple[Resource, ...]
    calls: dict[str, frozenset[str]]

    def __init__(self, resources: tuple[Resource, ...], calls: dict[str, frozenset[str]] | None = None) -> None:
        self._init_fields(resources, {} if calls is None else calls)
        object.__setattr__(self, "_listing", {})

    def entry(self, rid: str | None) -> Resource | None:
        return next((r for r in self.resources if r.id == rid), None)

    def for_rule(self, rule_id: str) -> list[Resource]:
        return [r for r in self.resources if r.rule == rule_id]

    def rules(self) -> set[str]:
        return {r.rule for r in self.resources}

    def listing(self, name: str | None) -> tuple[Resource, ...]:
        """The entries whose `acquire` names the call (memoized per name)."""
        if not name:
            return ()
        memo = self._listing
        got = memo.get(name)
        if got is None:
            if not memo:  # the index, made once: names, and patterns by their literal end
                exact: dict[str, set[int]] = {}  # (entries by their position: hashing one hashes all its fields)
                pats = []
                for i, r in enumerate(self.resources):
                    for p in r.acquire:
                        if _wild(p):
                            pats.append((_literal_end(p), p, i))
                        else:
                            exact.setdefault(p, set()).add(i)
                memo[None] = (exact, pats)
            exact, pats = memo[None]
            hit = set(exact.get(name, ()))
            hit.update(i for tail, p, i in pats if i not in hit and name.endswith(tail) and _matches((p,), name))
            got = memo[name] = tuple(r for i, r in enumerate(self.resources) if i in hit) if hit else ()
        return got

    def acquire_tails(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """What the last name of a listed call must be (acquire.fixable_screen): the exact
        names (a name, or a pattern whose literal end holds a dot: `*.Query` -> Query), and
        the endings (a pattern whose literal end after its last wildcard has no dot:
        `os.Open*File` -> File; "" for one that ends in a wildcard)."""
        exact, ends = set(), set()
        for r in self.resources:
            for p in r.acquire:
                tail = _literal_end(p)
                if "." in tail:
                    exact.add(tail.rpartition(".")[2])
                else:
                    ends.add(tail)
        return frozenset(exact), tuple(sorted(ends))

    def call_set(self, kind: str) -> frozenset[str]:
        return self.calls.get(kind, frozenset())

    def closers(self) -> list[str]:
        seen: list[str] = []
        for r in self.resources:
            for s in r.symbols():
                if s not in seen:
                    seen.append(s)
        return seen


def _wild(p: str) -> bool:
    """An fnmatch pattern, not a plain name."""
    return "*" in p or "?" in p or "[" in p


def _literal_end(p: str) -> str:
    """What a name matching p must end with: p after its last wildcard (all of a name)."""
    return p[max(p.rfind(c) for c in "*?[]") + 1:]


@lru_cache(maxsize=8192)
def _matches(patterns: tuple[str, ...], name: str) -> bool:
    """`name` is one of the names or matches one of the fnmatch patterns (memoized: every
    call of every package is asked about every entry)."""
    if name in patterns:
        return True
    from fnmatch import fnmatchcase

    return any(_wild(p) and fnmatchcase(name, p) for p in patterns)


# ------------------------------------------------------------------ validation

def _where(path: str, text: str, *keys: str) -> str:
    from .schema import yaml_line_of

    return f"{path}:{yaml_line_of(text, keys) or 1}"


def _strings(path: str, text: str, rid: str, key: str, v) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise RuleError(f"{_where(path, text, 'resources', rid, key)}: {rid}.{key}: a list of names")
    return tuple(v)


def _entry(path: str, text: str, rid: str, e) -> Resource:
    import re

    from .schema import RULE_ID_RE

    if not isinstance(e, dict):
        raise RuleError(f"{_where(path, text, 'resources', rid)}: resource {rid!r}: a mapping")
    unknown = set(e) - _ENTRY_KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise RuleError(f"{_where(path, text, 'resources', rid, k)}: {rid}.{k}: unknown key "
                        f"(known: {', '.join(sorted(_ENTRY_KEYS))})")
    t = e.get("type")
    if not isinstance(t, str) or not re.fullmatch(r"\*?[\w./-]+\.[A-Za-z_]\w*", t):
        raise RuleError(f"{_where(path, text, 'resources', rid, 'type')}: {rid}.type: a canonical type with its "
                        f"full import path, like \"*database/sql.Rows\" (got {t!r})")
    release = _strings(path, text, rid, "release", e.get("release", ["Close"]))
    if release != ("call",) and not all(re.fullmatch(r"[A-Z]\w*", m) for m in release):
        raise RuleError(f"{_where(path, text, 'resources', rid, 'release')}: {rid}.release: exported method "
                        "names, or `call` for a func value")
    rule = e.get("rule", DEFAULT_RULE)
    if not isinstance(rule, str) or not re.fullmatch(RULE_ID_RE, rule):
        raise RuleError(f"{_where(path, text, 'resources', rid, 'rule')}: {rid}.rule: a rule id")
    result = e.get("result", 0)
    if not isinstance(result, int) or isinstance(result, bool) or not 0 <= result < 8:
        raise RuleError(f"{_where(path, text, 'resources', rid, 'result')}: {rid}.result: a result index 0-7")
    handle = e.get("handle", "{{ var }}")
    if not isinstance(handle, str) or "{{ var }}" not in handle:
        raise RuleError(f"{_where(path, text, 'resources', rid, 'handle')}: {rid}.handle: must use {{{{ var }}}}")
    rerr, idem, fin = e.get("release_error", True), e.get("idempotent", False), e.get("finalizer", False)
    rdis = e.get("release_discarded", True)
    for key, v in (("release_error", rerr), ("idempotent", idem), ("finalizer", fin), ("release_discarded", rdis)):
        if not isinstance(v, bool):
            raise RuleError(f"{_where(path, text, 'resources', rid, key)}: {rid}.{key}: true or false")
    return Resource(
        id=rid, type=t, release=release, rule=rule, result=result, handle=handle, release_error=rerr, idempotent=idem,
        finalizer=fin, release_discarded=rdis,
        waits_for=_strings(path, text, rid, "waits_for", e.get("waits_for", [])),
        embedded_by=_strings(path, text, rid, "embedded_by", e.get("embedded_by", [])),
        acquire=_strings(path, text, rid, "acquire", e.get("acquire", [])),
        not_acquired_by=_strings(path, text, rid, "not_acquired_by", e.get("not_acquired_by", [])),
        closers=_strings(path, text, rid, "closers", e.get("closers", [])),
        doc=str(e.get("doc", "")), path=path)


def parse(path: str, text: str) -> tuple[list[Resource], dict[str, set[str]]]:
    """One catalogue file: (resources, calls). RuleError with file:line on anything wrong."""
    from .loader import _parse_yaml

    data = _parse_yaml(path, text) if text.strip() else {}
    unknown = set(data) - {"resources", "calls"}
    if unknown:
        k = sorted(unknown)[0]
        raise RuleError(f"{_where(path, text, k)}: {k}: unknown key (a catalogue has resources and calls)")
    res = data.get("resources") or {}
    if not isinstance(res, dict):
        raise RuleError(f"{_where(path, text, 'resources')}: resources: a mapping of id to entry")
    out = [_entry(path, text, str(rid), e) for rid, e in res.items()]
    calls: dict[str, set[str]] = {}
    for kind, names in (data.get("calls") or {}).items():
        if kind not in _CALL_KINDS:
            raise RuleError(f"{_where(path, text, 'calls', kind)}: calls.{kind}: unknown (known: "
                            f"{', '.join(_CALL_KINDS)})")
        calls[kind] = set(_strings(path, text, kind, kind, names or []))
    return out, calls


# ------------------------------------------------------------------ loading

def _files() -> list[tuple[str, str | None]]:
    from ..paths import builtin_dirs
    from .dirs import extra_rule_dirs

    out = [(os.path.join(builtin_dirs()[0], FILE), None)]
    for d, _t, root in extra_rule_dirs():
        out.append((os.path.join(d, FILE), root if root is not None else d))
    return out


def _signature(files) -> tuple:
    sig = []
    for p, _ in files:
        try:
            st = os.lstat(p)
            sig.append((p, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        except OSError:
            sig.append((p, None))
    return tuple(sig)


_MEMO: dict[tuple, Catalogue] = {}
_CURRENT: list[Catalogue] = []


def current() -> Catalogue:
    """The catalogue the latest load() gave (load() if none yet): for the per-call questions of
    the path analysis and the ownership model, which must not stat the files each time. The
    engine calls load() once per package analysed, so a changed file is seen by the next."""
    return _CURRENT[0] if _CURRENT else load()


def load() -> Catalogue:
    """The shipped catalogue plus the user's and the repository's (RuleError on a bad file)."""
    files = _files()
    sig = _signature(files)
    got = _MEMO.get(sig)
    if got is not None:
        _CURRENT[:] = [got]
        return got
    texts = []
    from ..paths import read_confined

    for p, root in files:
        if not os.path.lexists(p):
            continue
        try:
            texts.append((p, read_confined(p, root or os.path.dirname(p)).decode("utf-8")))
        except (OSError, UnicodeDecodeError) as e:
            raise RuleError(f"{p}:1: {getattr(e, 'strerror', None) or e}") from None
    cat = _from_cache(texts) or _build(texts)
    _MEMO.clear()
    _MEMO[sig] = cat
    _CURRENT[:] = [cat]
    return cat


def _key(texts) -> str:
    h = hashlib.sha256(f"{_FORMAT}\0".encode())
    with open(__file__, "rb") as fh:
        h.update(fh.read())
    for p, t in texts:
        h.update(f"\0{p}\0{t}".encode())
    return h.hexdigest()[:32]


def _cache_file(texts) -> str | None:
    from ..paths import cache_dir
    from ..settings import flag_or_default

    if not flag_or_default("REHAB_RULE_CACHE"):
        return None
    try:
        return os.path.join(cache_dir(), "rules", f"catalogue-{_key(texts)}.json")
    except OSError:
        return None


def _from_cache(texts) -> Catalogue | None:
    cf = _cache_file(texts)
    if cf is None:
        return None
    try:
        with open(cf, "rb") as fh:
            data = json.loads(fh.read())
        return Catalogue(tuple(Resource(**{k: tuple(v) if isinstance(v, list) else v for k, v in r.items()})
                               for r in data["resources"]),
                         {k: frozenset(v) for k, v in data["calls"].items()})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _build(texts) -> Catalogue:
    resources: list[Resource] = []
    calls: dict[str, set[str]] = {}
    seen: dict[str, str] = {}
    for p, t in texts:
        rs, cs = parse(p, t)
        for r in rs:
            if r.id in seen:
                raise RuleError(f"{_where(p, t, 'resources', r.id)}: resource {r.id!r} is already defined in "
                                f"{seen[r.id]}")
            seen[r.id] = p
            resources.append(r)
        for k, v in cs.items():
            calls.setdefault(k, set()).update(v)
    cat = Catalogue(tuple(resources), {k: frozenset(v) for k, v in calls.items()})
    cf = _cache_file(texts)
    if cf is not None:
        from ..paths import write_private

        data = {"resources": [r.__dict__ for r in resources], "calls": {k: sorted(v) for k, v in calls.items()}}
        try:
            write_private(cf, json.dumps(data, sort_keys=True).encode())
        except OSError:
            pass
    return cat
