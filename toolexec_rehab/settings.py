"""Every REHAB_* environment variable, parsed in one place, with one boolean parser.

Imports only `os`: the build's hot paths (the compile client, the launcher's Python side)
read their switches through here.

- Booleans: 1/true/yes/on and 0/false/no/off, any case. Anything else is an error that
  names the variable.
- `validate()` checks every variable that is set; a build runs it at `compile -V=full`
  (so a bad value stops the build with a message, as a bad .rehab.yaml does), and every
  CLI command runs it first (exit 2).
- Hot paths that must fail open (the compile client) use `flag(..., default)` inside a
  try: a bad value there can only mean that -V=full already failed the build.

The README's settings table is generated from VARS (tests/test_settings.py checks it).
"""

from __future__ import annotations

import os

from .errors import SettingError  # noqa: F401 - re-exported

TRUE = frozenset(("1", "true", "yes", "on"))
FALSE = frozenset(("0", "false", "no", "off"))




class Var:
    __slots__ = ("name", "kind", "default", "choices", "keyed", "doc")

    def __init__(self, name: str, kind: str, doc: str, default=None, choices: tuple = (), keyed: bool = False):
        self.name, self.kind, self.doc = name, kind, doc
        self.default, self.choices, self.keyed = default, choices, keyed


# kind: bool | choice | text | path | paths | number | int | internal
# keyed: part of the build cache key (`compile -V=full`): it can change the compiled program
# or what a build prints.
_VARS = (
    Var("REHAB_VERBOSE", "bool", "one stderr line per patch: `REHAB: patched <rule> defer@ast-node-<id> "
        "<file>:<line>`", False, keyed=True),
    Var("REHAB_FIX", "choice", "`off`: analyze nothing, compile the originals (still a separate cache key); "
        "`confirmed`: only the fixes whose sites a trace confirmed (with `REHAB_TRACE`)", "on",
        ("on", "off", "confirmed"), keyed=True),
    Var("REHAB_INSTRUMENT", "bool", "insert runtime markers for `trace` (with `REHAB_FIX=off`: markers only; "
        "see \"Runtime evidence\")", False, keyed=True),
    Var("REHAB_LOG_DROPPED", "bool", "a build that fixes `unchecked-error` prints one stderr line per dropped "
        "error at run time (the fix only records it; see \"Rules\")", False, keyed=True),
    Var("REHAB_TRACE", "path", "the `trace --json` report that `REHAB_FIX=confirmed` reads (absolute)", keyed=True),
    Var("REHAB_RULES", "text", "only these rules, comma-separated (opt-in rules such as `error-wrap` run only "
        "when named); an unknown id is an error", keyed=True),
    Var("REHAB_MODES", "text", "override rule modes: `unchecked-error=fix,other=report`", keyed=True),
    Var("REHAB_RULE_DIRS", "paths", "add your own rule directories (`dir1:dir2`; see \"Writing a rule\"); a "
        "missing directory is an error", keyed=True),
    Var("REHAB_REPO_RULES", "bool", "`off`: ignore the rule directories a repository's `.rehab.yaml` names "
        "(CI on untrusted pull requests; see \"Trust\")", True, keyed=True),
    Var("REHAB_SCOPE", "choice", "`all`: also rewrite GOROOT, module-cache and vendored packages", "user",
        ("user", "all"), keyed=True),
    Var("REHAB_PACKAGES", "text", "only these import paths (comma-separated; `/...` and globs)", keyed=True),
    Var("REHAB_EXCLUDE", "text", "never these import paths", keyed=True),
    Var("REHAB_CONFIG", "path", "use this config file (`off`: none) instead of the module root's "
        "`.rehab.yaml`", keyed=True),
    Var("REHAB_AUDIT_LOG", "path", "the audit log (see \"Audit log\")", keyed=True),
    Var("REHAB_SERVER", "bool", "`off`: no compile server: analyze in the compile's own process "
        "(see \"Performance\")", True),
    Var("REHAB_RESULT_CACHE", "bool", "`off`: `check` and a build's compiles analyze every package again instead "
        "of reusing the findings of one whose files, settings and what it read did not change (see \"Performance\")",
        True),
    Var("REHAB_SERVER_IDLE", "number", "seconds a compile server waits for work before it exits", 300.0),
    Var("REHAB_NATIVE_CLIENT", "bool", "`off`: every intercepted compile asks the compile server through Python, "
        "not through the small client the server builds with your Go toolchain (see \"Performance\")", True),
    Var("REHAB_SPECULATE", "bool", "`off`: do not compile the original files while the analysis runs", True),
    Var("REHAB_JOBS", "int", "`1`: `check` analyzes in one process (default: a second process for large "
        "inputs)", 2),
    Var("REHAB_RULE_CACHE", "bool", "`off`: never read or write the compiled-rule cache", True),
    Var("REHAB_DEBUG", "bool", "print a traceback on an internal error (exit code 3)", False),
    Var("REHAB_BPFTRACE", "path", "the bpftrace binary `trace` runs (default: from PATH)"),
    Var("REHAB_SERVER_TRACE", "path", "tests: append `served <importpath> parsed=<files parsed>` per compile the server served "
        "(` client=native` after it when the native client asked)"),
    Var("REHAB_SERVER_STATS", "path", "benchmarks: append the server's CPU seconds per request"),
    Var("REHAB_LAUNCHER_NO_S", "bool", "tests: the launcher starts Python without `-S`", False),
    Var("REHAB_FIX_PAUSE", "number", "tests: seconds `fix --write` waits after each file it writes (a test "
        "signals it there)"),
    Var("REHAB_SPEC", "internal", "internal: the launcher's speculative compile (pid)"),
    Var("REHAB_LAUNCHER", "internal", "internal: the launcher's directory (its `compile -V=full` cache entry is "
        "this install's)"),
)
VARS: dict[str, Var] = {v.name: v for v in _VARS}
KEYED: tuple[str, ...] = tuple(v.name for v in _VARS if v.keyed)


def raw(name: str) -> str | None:
    """The variable's text, or None when it is unset or blank."""
    v = os.environ.get(name)
    return v if v is not None and v.strip() else None


def parse_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise SettingError(f"{name}={value!r}: not a boolean (use 1, true, yes, on or 0, false, no, off)")


def flag(name: str, default: bool | None = None) -> bool:
    """A boolean variable; unset gives its default. A bad value raises SettingError."""
    v = raw(name)
    if v is None:
        return bool(VARS[name].default if default is None else default)
    return parse_bool(name, v)


def flag_or_default(name: str) -> bool:
    """For paths that must fail open: a bad value reads as the default (validate() has
    already stopped the build over it)."""
    try:
        return flag(name)
    except SettingError:
        return bool(VARS[name].default)


def choice(name: str) -> str:
    var = VARS[name]
    v = raw(name)
    if v is None:
        return var.default
    w = v.strip().lower()
    if var.name == "REHAB_FIX":  # a boolean spelling of on/off is accepted too
        if w in TRUE:
            return "on"
        if w in FALSE:
            return "off"
    if w not in var.choices:
        raise SettingError(f"{name}={v!r}: must be one of {', '.join(var.choices)}")
    return w


def number(name: str) -> float:
    var = VARS[name]
    v = raw(name)
    if v is None:
        return float(var.default)
    try:
        x = float(v)
    except ValueError:
        raise SettingError(f"{name}={v!r}: not a number") from None
    if not x > 0 or x != x or x == float("inf"):
        raise SettingError(f"{name}={v!r}: must be a positive number")
    return x


def integer(name: str) -> int:
    var = VARS[name]
    v = raw(name)
    if v is None:
        return int(var.default)
    try:
        x = int(v.strip())
    except ValueError:
        raise SettingError(f"{name}={v!r}: not a whole number") from None
    if x < 1:
        raise SettingError(f"{name}={v!r}: must be 1 or more")
    return x


def split_list(value: str | None) -> list[str]:
    return [x.strip() for x in (value or "").split(",") if x.strip()]


def rule_dirs_env() -> list[str]:
    return [d for d in (os.environ.get("REHAB_RULE_DIRS") or "").split(os.pathsep) if d.strip()]


def _check_one(var: Var) -> None:
    v = raw(var.name)
    if v is None:
        return
    if var.kind == "bool":
        parse_bool(var.name, v)
    elif var.kind == "choice":
        choice(var.name)
    elif var.kind == "number":
        number(var.name)
    elif var.kind == "int":
        integer(var.name)
    elif var.name == "REHAB_RULE_DIRS":
        for d in rule_dirs_env():
            if not os.path.isdir(d):
                raise SettingError(f"REHAB_RULE_DIRS: {d}: no such directory")
    elif var.name == "REHAB_CONFIG":
        if v.strip().lower() not in ("off", "none") and not os.path.isfile(v):
            raise SettingError(f"REHAB_CONFIG={v!r}: no such file")
    elif var.name == "REHAB_MODES":
        parse_modes(v)
    elif var.name == "REHAB_RULES":
        if not split_list(v):
            raise SettingError(f"REHAB_RULES={v!r}: no rule ids")


def validate() -> list[str]:
    """Every problem with the REHAB_* variables that are set: bad values, and unknown names
    that look like a misspelling of a known one."""
    import difflib

    problems = []
    for var in _VARS:
        try:
            _check_one(var)
        except SettingError as e:
            problems.append(str(e))
    for name in sorted(os.environ):
        if name.startswith("REHAB_") and name not in VARS:
            close = difflib.get_close_matches(name, list(VARS), n=1, cutoff=0.85)
            if close:
                problems.append(f"{name}: unknown setting (did you mean {close[0]}?)")
    return problems


def check() -> None:
    """Raise SettingError with every problem, one per line."""
    problems = validate()
    if problems:
        raise SettingError("\n".join(problems))


def debug() -> bool:
    return flag_or_default("REHAB_DEBUG")


def markdown_table() -> str:
    """The README's settings table (tests/test_settings.py keeps the README in step)."""
    rows = ["| variable | kind | default | effect |", "|---|---|---|---|"]
    for v in _VARS:
        if v.kind == "internal":
            continue
        kind = {"bool": "boolean", "choice": " \\| ".join(v.choices), "paths": "dirs (`:`)",
                "number": "seconds", "int": "count"}.get(v.kind, v.kind)
        if v.default is None:
            default = ""
        elif v.kind == "bool":
            default = "on" if v.default else "off"
        else:
            default = f"`{v.default:g}`" if isinstance(v.default, float) else f"`{v.default}`"
        rows.append(f"| `{v.name}` | {kind}{' · *key*' if v.keyed else ''} | {default} | {v.doc} |")
    return "\n".join(rows)


def parse_modes(spec: str | None) -> dict[str, str]:
    """`rule=fix,other=report` (REHAB_MODES) -> {rule: mode}."""
    out = {}
    for part in filter(None, (x.strip() for x in (spec or "").split(","))):
        rid, _, mode = part.partition("=")
        if not rid.strip() or mode not in ("fix", "report"):
            raise SettingError(f"REHAB_MODES: {part!r}: use RULE=fix or RULE=report")
        out[rid.strip()] = mode
    return out
