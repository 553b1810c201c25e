"""Fix templates: Jinja, sandboxed, StrictUndefined, one environment per template dir.

A rule (and so its templates) may come from the repository being built, so a render is
bounded: at most MAX_OUTPUT characters of output and TIME_LIMIT seconds of wall time.
Past either, the render stops with RenderLimitError (a RuleError naming the template's
file:line); the engine then reports the finding without a fix.

Output is counted as it streams (`generate()`, not `render()`), and so is every text a
template builds on the side (macro and `{% set %}` blocks, `{% filter %}`, imported modules,
`self.block()`). What a single operation could allocate is checked BEFORE it runs, since
no timer interrupts C code: `*`, `**`, `+` and `%` are intercepted (a string, list or int
past the limit is never built), `~` and list/tuple/dict literals are checked, every filter
and every call refuses huge widths and counts (`center(10**10)`, `ljust`, `indent`,
`batch`, ...) and estimates the size of what amplifies (`replace`, `join`, `expandtabs`,
`wordwrap`, `format`, str.format widths) before running, and refuses a result past the
limit. Time: SIGALRM (setitimer) in the main thread, restoring the previous handler; in
another thread (or when an ITIMER_REAL is already armed) the same hooks and every loop
iteration check the clock instead.

This module is the API (environment(), render(), render_string(), and the Jinja-free
fast path for rule messages, _substitute) and says where a limit was hit. The rest:

- limits.py: the limits, RenderLimitError, the per-render budget, the alarm, the output
  stream (`_bounded`);
- sizes.py: what an operation would build, checked before it runs (binops, filters, calls);
- sandbox.py: the Jinja environment class whose hooks call those checks;
- tmplloader.py: ConfinedLoader, the template files (no links, nothing outside the dir).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from ..errors import RuleError
from .limits import (  # noqa: F401 - MAX_INT_BITS, RUNTIME_MAX_OUTPUT, size_text: re-exported
    MAX_INT_BITS,
    MAX_OUTPUT,
    RUNTIME_MAX_OUTPUT,
    TIME_LIMIT,
    RenderLimitError,
    _bounded,
    _Limit,
    size_text,
)

# jinja2 is imported on first use (~25 ms): a build imports this module, but renders only
# when a rule matched.


@lru_cache(maxsize=16)
def environment(*dirs: str):
    from jinja2 import StrictUndefined

    from .sandbox import _limited_environment_class
    from .tmplloader import ConfinedLoader

    return _limited_environment_class()(
        loader=ConfinedLoader(list(dirs)),  # no symbolic links, nothing outside its directory
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(dirs: tuple[str, ...], name: str, context: dict, *, max_output: int | None = None,
           time_limit: float = TIME_LIMIT) -> str:
    """Render a fix template. Any template error (syntax, an undefined name, an access the
    sandbox refuses) is the rule's fault: a RuleError naming the template file and line
    (exit 2 in the CLI; a build falls back to the original files). Past max_output
    characters (default MAX_OUTPUT; RUNTIME_MAX_OUTPUT for the shipped runtime templates) or
    time_limit seconds: RenderLimitError, a RuleError whose `kind` is "time" or "size"."""
    if max_output is None:
        max_output = RUNTIME_MAX_OUTPUT if _runtime_dirs(dirs) else MAX_OUTPUT
    key = _memo_key(dirs, name, context, max_output)
    if key is not None:
        got = _memo_get(key)
        if got is not None:
            return got
    from jinja2 import TemplateError

    try:
        text = _bounded(lambda: environment(*dirs).get_template(name).generate(**context), max_output, time_limit)
        if key is not None:
            _memo_put(key, text)
        return text
    except _Limit as e:
        raise _limit_error(e, _limit_where(e, dirs, name), max_output, time_limit) from None
    except TemplateError as e:
        raise RuleError(f"{_where(e, dirs, name)}: template error: {type(e).__name__}: {e}") from None


# ------------------------------------------------------------------ the render memo
# A render of a shipped template is a pure function of the template files, the context and
# the output limit: its text is kept in the private cache dir, keyed by a digest of all
# three (and of our code and of the installed jinja2), so that a `check` or a build that
# renders the same fix as the last one does not import Jinja (~15 ms) and compile the
# template (~10 ms). Only our own templates: a rule directory's may use what is not
# deterministic (the `random` filter), and is rendered every time. Errors are not kept.

_MEMO_MAX_FILES = 4096  # past this many texts in the memo dir, it is emptied


def _memo_key(dirs: tuple[str, ...], name: str, context: dict, max_output: int) -> str | None:
    import hashlib
    import json

    if not dirs or not _shipped_dirs(dirs):
        return None
    try:
        ctx = json.dumps(context, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):  # a value JSON does not carry exactly: render it
        return None
    h = hashlib.sha256(_templates_digest(dirs).encode())
    h.update(f"\0{name}\0{max_output}\0".encode())
    h.update(ctx.encode())
    return h.hexdigest()


@lru_cache(maxsize=16)
def _shipped_dirs(dirs: tuple[str, ...]) -> bool:
    from ..paths import builtin_dirs

    top = os.path.join(os.path.realpath(builtin_dirs()[1]), "")
    return all(os.path.join(os.path.realpath(d), "").startswith(top) for d in dirs)


@lru_cache(maxsize=16)
def _templates_digest(dirs: tuple[str, ...]) -> str:
    """Every file under the dirs (a template may include another), our code, and jinja2's
    installed version (its module file's size and time)."""
    import hashlib
    import importlib.util

    from ..paths import code_digest

    h = hashlib.sha256(code_digest().encode())
    spec = importlib.util.find_spec("jinja2")
    try:
        st = os.stat(spec.origin) if spec is not None and spec.origin else None
    except OSError:
        st = None
    h.update(f"\0jinja2:{st.st_size}:{st.st_mtime_ns}\0".encode() if st else b"\0jinja2:?\0")
    for d in dirs:
        for top, subdirs, files in os.walk(d):
            subdirs.sort()
            for fn in sorted(files):
                fp = os.path.join(top, fn)
                try:
                    with open(fp, "rb") as fh:
                        h.update(f"{os.path.relpath(fp, d)}\0".encode() + fh.read() + b"\0")
                except OSError:
                    h.update(f"{fp}\0unreadable\0".encode())
    return h.hexdigest()


def _memo_dir() -> str | None:
    from ..paths import cache_dir

    try:
        return os.path.join(cache_dir(), "render")
    except OSError:
        return None


def _memo_get(key: str) -> str | None:
    d = _memo_dir()
    if d is None:
        return None
    try:
        fd = os.open(os.path.join(d, key), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            return fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _memo_put(key: str, text: str) -> None:
    from ..paths import private_dir, write_private

    d = _memo_dir()
    if d is None:
        return
    try:
        private_dir(d)
        if len(os.listdir(d)) >= _MEMO_MAX_FILES:
            for fn in os.listdir(d):
                try:
                    os.unlink(os.path.join(d, fn))
                except OSError:
                    pass
        write_private(os.path.join(d, key), text.encode("utf-8"))
    except OSError:  # a cache: never a reason to fail
        pass


def _where(e, dirs: tuple[str, ...], name: str) -> str:
    path = getattr(e, "filename", None)
    line = getattr(e, "lineno", None)
    if path is None:
        path = next((os.path.join(d, name) for d in dirs if os.path.isfile(os.path.join(d, name))), name)
    if line is None:  # a runtime error: Jinja puts the template's own frame in the traceback
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == path:
                line = tb.tb_lineno
            tb = tb.tb_next
    return f"{path}:{line or 1}"


@lru_cache(maxsize=256)
def _string_template(source: str):
    return environment().from_string(source)


_NAME_RE = re.compile(r"""\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*join\(\s*('[^'\\{}]*'|"[^"\\{}]*")\s*\)\s*)?\}\}""")
_IF_RE = re.compile(r"\{%\s*if\s+([A-Za-z_][A-Za-z0-9_]*)\s*%\}((?:(?!\{%).)*)\{%\s*endif\s*%\}", re.S)


def _substitute(source: str, context: dict) -> str | None:
    """What Jinja renders for the subset rule messages use, without importing it (~16 ms):
    `{{ name }}` of a string, `{{ name | join(', ') }}` of a list of strings or ints, and
    `{% if name %}...{% endif %}` (not nested, no else) on a name that is defined. None for
    anything else (other filters or tags, comments, a newline, a missing name): Jinja renders
    it."""
    if "\n" in source or "{#" in source:
        return None
    ok = True

    def cond(m: re.Match) -> str:
        nonlocal ok
        if m.group(1) not in context:
            ok = False
            return ""
        return m.group(2) if context[m.group(1)] else ""

    def value(m: re.Match) -> str:
        nonlocal ok
        v = context.get(m.group(1))
        if m.group(2) is None:
            if isinstance(v, str):
                return v
        elif isinstance(v, (list, tuple)) and all(type(x) in (str, int) for x in v):
            return m.group(2)[1:-1].join(str(x) for x in v)
        ok = False
        return ""

    # the tags first: a name inside a false branch need not be defined
    body = _IF_RE.sub(cond, source)
    if not ok or "{%" in body:
        return None
    rest = _NAME_RE.sub("", body)
    if "{{" in rest:
        return None
    out = _NAME_RE.sub(value, body)
    return out if ok else None


def render_string(source: str, context: dict) -> str:
    """A rule message (or a condition's handle): the Jinja-free fast path when it applies,
    else a render with the same limits as a fix template (RenderLimitError past them)."""
    fast = _substitute(source, context)
    if fast is not None:
        return fast
    try:
        return _bounded(lambda: _string_template(source).generate(**context), MAX_OUTPUT, TIME_LIMIT)
    except _Limit as e:
        raise _limit_error(e, _limit_where(e, (), "<template>"), MAX_OUTPUT, TIME_LIMIT) from None


def _limit_error(e: _Limit, where: str, max_output: int, time_limit: float):
    limit = f"time limit ({time_limit:g} s)" if e.kind == "time" else f"size limit ({size_text(max_output)})"
    return RenderLimitError(where, e.kind, limit, "" if e.kind == "time" else str(e))


def _limit_where(e: _Limit, dirs: tuple[str, ...], name: str) -> str:
    """file:line of the innermost template frame the limit was hit in."""
    if e.where is not None:
        return f"{e.where[0]}:{e.where[1]}"
    roots = tuple(os.path.join(os.path.abspath(d), "") for d in dirs)
    found = None
    tb = e.__traceback__
    while tb is not None:
        f = tb.tb_frame
        t = f.f_globals.get("__jinja_template__")
        if t is not None:  # a frame Jinja did not rewrite (it does, on the way out of generate())
            found = (t.filename or "<template>", t.get_corresponding_lineno(tb.tb_lineno))
        else:
            fn = f.f_code.co_filename
            if fn == "<template>" or (roots and os.path.abspath(fn).startswith(roots)):
                found = (fn, tb.tb_lineno)
        tb = tb.tb_next
    if found is not None:
        return f"{found[0]}:{found[1]}"
    return _where(e, dirs, name)


@lru_cache(maxsize=16)
def _runtime_dirs(dirs: tuple[str, ...]) -> bool:
    from ..paths import builtin_dirs

    rt = os.path.join(os.path.abspath(builtin_dirs()[1]), "runtime")
    return bool(dirs) and all(os.path.abspath(d) == rt for d in dirs)
