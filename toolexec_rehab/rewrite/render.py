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
"""

from __future__ import annotations

import math
import os
import re
import signal
import threading
import time
from functools import lru_cache

from ..errors import RuleError

# jinja2 is imported on first use (~25 ms): a build imports this module, but renders only
# when a rule matched.

MAX_OUTPUT = 64 * 1024  # characters of one render's output, and of any value a template builds
TIME_LIMIT = 2.0  # seconds of wall time for one render (compiling the template included)
# the largest int a template may compute: ~4200 decimal digits, under Python's default
# int-to-str limit (4300 digits), so that printing it cannot fail either
MAX_INT_BITS = 14_000
# The shipped runtime templates (templates/runtime/: the bpftrace program, the markers file
# with the sites table) render whole files whose size grows with the program: they are ours,
# not a repository's, and get a larger output limit (same time limit).
RUNTIME_MAX_OUTPUT = 64 * 1024 * 1024


@lru_cache(maxsize=16)
def environment(*dirs: str):
    from jinja2 import StrictUndefined

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
    from jinja2 import TemplateError

    if max_output is None:
        max_output = RUNTIME_MAX_OUTPUT if _runtime_dirs(dirs) else MAX_OUTPUT
    try:
        return _bounded(lambda: environment(*dirs).get_template(name).generate(**context), max_output, time_limit)
    except _Limit as e:
        raise _limit_error(e, _limit_where(e, dirs, name), max_output, time_limit) from None
    except TemplateError as e:
        raise RuleError(f"{_where(e, dirs, name)}: template error: {type(e).__name__}: {e}") from None


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


# ------------------------------------------------------------------ limits: errors

class _Limit(Exception):
    """Raised inside a render past a limit. An Exception (not BaseException) so that Jinja
    rewrites its traceback to the template's lines; `where` when the template's frame is
    suspended rather than on the stack (output counted by a consumer)."""

    def __init__(self, kind: str, detail: str, where: tuple[str, int] | None = None):
        super().__init__(detail)
        self.kind = kind
        self.where = where


class RenderLimitError(RuleError):
    """A template render went past a limit. str(): `file:line: template exceeded its
    <limit>`; `kind` "time" or "size", `limit` e.g. "time limit (2 s)", `where` file:line,
    `detail` what exactly (e.g. "'*' would build a value of more than 64 KiB")."""

    def __init__(self, where: str, kind: str, limit: str, detail: str = ""):
        super().__init__(f"{where}: template exceeded its {limit}" + (f" ({detail})" if detail else ""))
        self.where, self.kind, self.limit, self.detail = where, kind, limit, detail


def size_text(n: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} characters"


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


# ------------------------------------------------------------------ limits: the budget

_local = threading.local()


class _Budget:
    """One render's limits. `poll`: check the clock in the hooks (no SIGALRM); `expired`:
    the time is up (set by the alarm or a hook; every hook then stops the render)."""

    __slots__ = ("max_output", "time_limit", "deadline", "poll", "active", "expired")

    def __init__(self, max_output: int, time_limit: float | None):
        self.max_output = max_output
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit if time_limit else math.inf
        self.poll = True
        self.active = True
        self.expired = False

    def time_up(self) -> _Limit:
        self.expired = True
        return _Limit("time", f"took more than {self.time_limit:g} s")


def _budget() -> _Budget | None:
    b = getattr(_local, "budget", None)
    return b if b is not None and b.active else None


def _tick(b: _Budget | None) -> None:
    if b is not None and (b.expired or (b.poll and time.monotonic() > b.deadline)):
        raise b.time_up()


def _limit_of(b: _Budget | None) -> int:
    return b.max_output if b is not None else MAX_OUTPUT


def _bounded(make, max_output: int, time_limit: float | None) -> str:
    """Run make() (which compiles the template and returns its generate() generator) and
    collect its output within the limits; _Limit past them."""
    b = _Budget(max_output, time_limit)
    outer = getattr(_local, "budget", None)
    if outer is not None and outer.active:  # a render inside a render: never more time than the outer has
        b.deadline = min(b.deadline, outer.deadline)
    _local.budget = b
    try:
        if time_limit and (outer is None or not outer.active) and _alarm_free():
            return _with_alarm(b, lambda: _stream(make, b))
        return _stream(make, b)
    finally:
        b.active = False
        _local.budget = outer


def _stream(make, b: _Budget) -> str:
    gen = make()
    out: list[str] = []
    n = 0
    for chunk in gen:
        n += len(chunk)
        if n > b.max_output:
            raise _Limit("size", f"output of more than {size_text(b.max_output)}", _suspended_where(gen))
        if b.expired or (b.poll and time.monotonic() > b.deadline):
            e = b.time_up()
            e.where = _suspended_where(gen)
            raise e
        out.append(chunk)
    return "".join(out)


def _alarm_free() -> bool:
    """SIGALRM is ours to use: the main thread, and no ITIMER_REAL (or alarm()) armed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        return signal.getitimer(signal.ITIMER_REAL)[0] == 0
    except (AttributeError, OSError):  # no setitimer on this platform
        return False


def _with_alarm(b: _Budget, fn):
    def on_alarm(signum, frame):
        # one raise per render: a later signal (none is expected) must not replace the error
        # being handled; the hooks keep stopping the render through b.expired
        if b.active and not b.expired:
            raise b.time_up()

    try:
        old = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main interpreter's main thread after all
        return fn()
    try:
        b.poll = False
        signal.setitimer(signal.ITIMER_REAL, b.time_limit)
        try:
            return fn()
        finally:
            b.active = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        b.active = False  # if the alarm interrupted the inner finally, it has fired: the timer is off
        _run_pending_handlers()
        signal.signal(signal.SIGALRM, old if old is not None else signal.SIG_DFL)


def _run_pending_handlers() -> None:
    """A SIGALRM that arrived just before the timer was disarmed runs its (now inert)
    handler at the next bytecode boundary that checks for signals: a loop's backward jump."""
    for _ in range(2):
        pass


def _suspended_where(it) -> tuple[str, int] | None:
    """file:line of the innermost template whose generator is suspended below `it` (the
    template that produced the last chunk)."""
    where = None
    for _ in range(1000):
        if it is None:
            break
        if isinstance(it, _RenderGuard):
            it = it.inner
            continue
        frame = getattr(it, "gi_frame", None)
        if frame is None:
            break
        t = frame.f_globals.get("__jinja_template__")
        if t is not None:
            where = (t.filename or "<template>", t.get_corresponding_lineno(frame.f_lineno))
        it = getattr(it, "gi_yieldfrom", None)
    return where


# ------------------------------------------------------------------ limits: sizes

_NAMESPACE: type | None = None  # jinja2.utils.Namespace, set with the environment class
_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))


def _weight(v, budget: int) -> int:
    """About len(str(v)): every element counts each time it is held (a list holding one big
    string N times weighs N times that string); stops counting past `budget`."""
    total = 0
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, (str, bytes, bytearray)):
            total += len(x)
        elif isinstance(x, int):
            total += x.bit_length() // 3 + 1
        elif isinstance(x, (list, tuple, set, frozenset, dict)) or type(x) in _VIEWS:
            total += 2 + 2 * len(x)
            if total > budget:
                return total
            if isinstance(x, dict):
                stack.extend(x.keys())
                stack.extend(x.values())
            else:
                stack.extend(x)
        elif _NAMESPACE is not None and isinstance(x, _NAMESPACE):
            total += 12
            stack.append(object.__getattribute__(x, "_Namespace__attrs"))
        elif isinstance(x, float):
            total += 8
        else:  # None, ranges, generators, Undefined, macros, loop objects: short or lazy
            total += 1
        if total > budget:
            return total
    return total


def _depth(v, budget: int) -> int:
    """Nesting depth of lists/tuples/dicts (for pprint/tojson indentation), visiting at
    most `budget` elements."""
    deepest = 0
    stack = [(v, 0)]
    seen = 0
    while stack and seen <= budget:
        x, d = stack.pop()
        seen += 1
        if isinstance(x, (list, tuple, set, frozenset, dict)):
            deepest = max(deepest, d + 1)
            stack.extend((y, d + 1) for y in (x.values() if isinstance(x, dict) else x))
    return deepest


def _too_big(what: str, limit: int) -> _Limit:
    return _Limit("size", f"{what} would be more than {size_text(limit)}")


def _check_value(v, limit: int, what: str = "a value") -> None:
    if isinstance(v, str) and len(v) <= limit:
        return
    if _weight(v, limit) > limit:
        raise _too_big(what, limit)


def _check_int(n: int, limit: int, what: str) -> None:
    if abs(n) > limit:
        raise _Limit("size", f"{what}: {n if abs(n) < 10 ** 30 else 'a huge number'} is more than {limit}")


def _check_ints(args, kwargs: dict, limit: int, what: str) -> None:
    for a in (*args, *kwargs.values()):
        if isinstance(a, int) and not isinstance(a, bool):
            _check_int(a, limit, what)


def _check_binop(op: str, left, right, limit: int) -> None:
    lint = isinstance(left, int)
    rint = isinstance(right, int)
    if op == "**":
        if lint and rint and right > 0 and abs(left) > 1 and right * math.log2(abs(left)) > MAX_INT_BITS:
            raise _Limit("size", f"'**' would compute an integer of more than {MAX_INT_BITS} bits")
    elif op == "*":
        if lint and rint:
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _Limit("size", f"'*' would compute an integer of more than {MAX_INT_BITS} bits")
            return
        seq, n = (left, right) if rint else (right, left) if lint else (None, 0)
        if n > 0 and isinstance(seq, (str, bytes, list, tuple)) and len(seq):
            if n > limit or _weight(seq, limit // n + 1) * n > limit:
                raise _too_big("'*'", limit)
    elif op == "+":
        if lint and rint:
            if max(left.bit_length(), right.bit_length()) >= MAX_INT_BITS:
                raise _Limit("size", f"'+' would compute an integer of more than {MAX_INT_BITS} bits")
            return
        if isinstance(left, (str, bytes, list, tuple)) or isinstance(right, (str, bytes, list, tuple)):
            w = _weight(left, limit)
            if w > limit or w + _weight(right, limit - w) > limit:
                raise _too_big("'+'", limit)
    elif op == "%" and isinstance(left, str):
        _check_percent(left, right, limit)


_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)
_DIGITS = re.compile(r"\d+")


def _check_digits(s: str, limit: int, what: str) -> int:
    """Refuse a width or precision (any digit run) past the limit; their sum."""
    total = 0
    for m in _DIGITS.finditer(s):
        d = m.group()
        if len(d) > 12 or int(d) > limit:
            raise _Limit("size", f"{what}: width or precision {d[:20]} is more than {limit}")
        total += int(d)
    return total


def _check_percent(fmt: str, args, limit: int) -> None:
    """`fmt % args`: widths, precisions and the values it prints, before formatting."""
    specs = [m for m in _PERCENT.finditer(fmt) if m.group(4) != "%"]
    total = len(fmt)
    for m in specs:
        total += _check_digits((m.group(2) or "") + "." + (m.group(3) or ""), limit, "'%'")
    if any(m.group(2) == "*" or m.group(3) == "*" for m in specs):
        _check_ints(args if isinstance(args, tuple) else (args,), {}, limit, "'%' with '*'")
    if isinstance(args, tuple):
        total += _weight(args, limit)
    elif isinstance(args, dict) and any(m.group(1) is not None for m in specs):
        for m in specs:
            total += _weight(args.get(m.group(1), ""), limit)
            if total > limit:
                break
    else:
        total += _weight(args, limit)
    if total > limit:
        raise _too_big("'%'", limit)


def _arg(a: tuple, kw: dict, i: int, key: str, default=None):
    return a[i] if len(a) > i else kw.get(key, default)


def _sized(value):
    """value itself if it has a length, else its items in a list (so that a generator can be
    measured and still be passed on)."""
    try:
        len(value)
        return value
    except TypeError:
        return list(value)


def _join_size(sep, items, limit: int) -> int:
    n = len(items)
    return len(sep if isinstance(sep, str) else str(sep)) * max(n - 1, 0) + _weight(items, limit)


def _check_replace(s, old, new, count, limit: int, what: str) -> None:
    if not (isinstance(s, str) and isinstance(old, str) and isinstance(new, str)):
        return
    grow = len(new) - len(old)
    if grow <= 0:
        return
    n = len(s) + 1 if old == "" else s.count(old)
    if isinstance(count, int) and count >= 0:
        n = min(n, count)
    if len(s) + n * grow > limit:
        raise _too_big(what, limit)


# Per-filter estimates of what a call would build, run before it: (value, args after the
# value, kwargs, limit) -> the value to pass on (a generator is measured as a list) or None.

def _f_replace(v, a, kw, limit):
    _check_replace(v, _arg(a, kw, 0, "old"), _arg(a, kw, 1, "new"), _arg(a, kw, 2, "count"), limit, "replace")


def _f_join(v, a, kw, limit):
    v = _sized(v)
    if _join_size(_arg(a, kw, 0, "d", ""), v, limit) > limit:
        raise _too_big("join", limit)
    return v


def _f_indent(v, a, kw, limit):
    width = _arg(a, kw, 0, "width", 4)
    if isinstance(v, str):
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        if len(v) + (v.count("\n") + 1) * pad > limit:
            raise _too_big("indent", limit)


def _f_wordwrap(v, a, kw, limit):
    width = _arg(a, kw, 0, "width", 79)
    wrap = _arg(a, kw, 2, "wrapstring") or "\n"
    if isinstance(v, str) and isinstance(wrap, str):
        lines = len(v) // max(width if isinstance(width, int) else 1, 1) + len(v.split()) + v.count("\n") + 1
        if len(v) + lines * len(wrap) > limit:
            raise _too_big("wordwrap", limit)


def _f_urlize(v, a, kw, limit):
    if isinstance(v, str):
        extra = sum(len(x) for x in (_arg(a, kw, 2, "target"), _arg(a, kw, 3, "rel")) if isinstance(x, str))
        if 12 * len(v) + (len(v.split()) + 1) * (extra + 64) > limit:
            raise _too_big("urlize", limit)


def _f_sum(v, a, kw, limit):
    start = _arg(a, kw, 1, "start", 0)
    if isinstance(start, (int, float)):
        return None
    v = _sized(v)
    if _weight(start, limit) + _weight(v, limit) > limit:
        raise _too_big("sum", limit)
    return v


def _f_format(v, a, kw, limit):
    if isinstance(v, str):
        _check_percent(v, kw or tuple(a), limit)


def _f_tojson(v, a, kw, limit):
    indent = _arg(a, kw, 0, "indent")
    if indent:
        pad = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
        if _weight(v, limit) * (2 + _depth(v, limit) * pad) > limit:
            raise _too_big("tojson", limit)


def _f_pprint(v, a, kw, limit):
    if _weight(v, limit) * (2 + _depth(v, limit)) > limit:
        raise _too_big("pprint", limit)


_FILTER_CHECKS = {"replace": _f_replace, "join": _f_join, "indent": _f_indent, "wordwrap": _f_wordwrap,
                  "urlize": _f_urlize, "sum": _f_sum, "format": _f_format, "tojson": _f_tojson,
                  "pprint": _f_pprint}
# filters whose arguments are values, not widths or counts (an int of any size is fine; map
# and select pass them to a filter or test, which checks them itself)
_VALUE_FILTERS = frozenset({"default", "d", "format", "map", "select", "reject", "selectattr", "rejectattr",
                            "attr", "sum", "truncate", "int", "float", "round"})


def _limit_filter(name: str, f):
    import functools

    from jinja2.utils import _PassArg

    skip = 0 if _PassArg.from_obj(f) is None else 1  # the context, eval context or environment
    estimate = _FILTER_CHECKS.get(name)
    ints = name not in _VALUE_FILTERS
    what = f"filter {name}"

    @functools.wraps(f)  # keeps jinja_pass_arg
    def limited(*args, **kwargs):
        b = _budget()
        _tick(b)
        limit = _limit_of(b)
        if len(args) > skip:
            rest = args[skip + 1:]
            if ints:
                _check_ints(rest, kwargs, limit, what)
            if estimate is not None:
                v = estimate(args[skip], rest, kwargs, limit)
                if v is not None and v is not args[skip]:
                    args = (*args[:skip], v, *rest)
        rv = f(*args, **kwargs)
        _check_value(rv, limit, f"the result of {what}")
        return rv

    return limited


_STR_WIDTH = frozenset({"ljust", "rjust", "center", "zfill"})


def _check_call(obj, args: tuple, kwargs: dict, limit: int, lipsum) -> tuple:
    """Before a call from a template: refuse what would build too much. Returns the args to
    call with (a generator passed to str.join is measured as a list)."""
    import types

    owner = getattr(obj, "__self__", None)
    if isinstance(obj, (types.BuiltinMethodType, types.MethodType)) and isinstance(owner, (str, bytes)):
        # a string method: C code (or markupsafe's wrapper of it) that nothing interrupts once
        # it runs; its int arguments are widths, counts and positions (the immutable sandbox
        # leaves list and dict no method that builds from an int)
        name = getattr(obj, "__name__", "")
        what = f"{type(owner).__name__}.{name}"
        _check_ints(args, kwargs, limit, what)
        if name == "expandtabs":
            tab = _arg(args, kwargs, 0, "tabsize", 8)
            tabs = owner.count("\t" if isinstance(owner, str) else b"\t")
            if isinstance(tab, int) and len(owner) + tabs * tab > limit:
                raise _too_big(what, limit)
        elif name == "replace":
            _check_replace(owner, _arg(args, kwargs, 0, "old"), _arg(args, kwargs, 1, "new"),
                           _arg(args, kwargs, 2, "count", -1), limit, what)
        elif name == "join" and args:
            items = _sized(args[0])
            if _join_size(owner, items, limit) > limit:
                raise _too_big(what, limit)
            args = (items, *args[1:])
        elif name == "translate" and args and isinstance(args[0], dict):
            longest = max((len(v) for v in args[0].values() if isinstance(v, (str, bytes))), default=1)
            if len(owner) * max(longest, 1) > limit:
                raise _too_big(what, limit)
    elif lipsum is not None and obj is lipsum:
        n = _arg(args, kwargs, 0, "n", 5)
        most = _arg(args, kwargs, 3, "max", 100)
        if isinstance(n, int) and isinstance(most, int) and n * most * 12 > limit:
            raise _too_big("lipsum", limit)
    return args


# ------------------------------------------------------------------ limits: the environment

class _RenderGuard:
    """Around a template's root or block render function: counts what that one call
    produces (the whole output for the top template; an imported module's body; the text of
    `self.block()`) and checks the clock per chunk."""

    __slots__ = ("inner", "b", "n")

    def __init__(self, inner, b: _Budget):
        self.inner, self.b, self.n = inner, b, 0

    def __iter__(self):
        return self

    def close(self) -> None:  # `{% include %}` closes the generator it iterates
        self.inner.close()

    def __next__(self):
        chunk = next(self.inner)
        b = self.b
        self.n += len(chunk)
        if self.n > b.max_output:
            raise _Limit("size", f"output of more than {size_text(b.max_output)}", _suspended_where(self.inner))
        if b.active and (b.expired or (b.poll and time.monotonic() > b.deadline)):
            e = b.time_up()
            e.where = _suspended_where(self.inner)
            raise e
        return chunk


class _GuardedRenderFunc:
    """A template's root or block render function, returning its generator in a
    _RenderGuard. Equal to the function it wraps: `super()` looks the running block's
    function up in the context's list of blocks (`blocks.index(block_body)`)."""

    __slots__ = ("func",)

    def __init__(self, func):
        self.func = func

    def __call__(self, context, *args, **kwargs):
        gen = self.func(context, *args, **kwargs)
        b = _budget()
        return gen if b is None else _RenderGuard(gen, b)

    def __eq__(self, other) -> bool:
        return other is self.func or (isinstance(other, _GuardedRenderFunc) and other.func is self.func)

    def __hash__(self) -> int:
        return hash(self.func)


class _LoopGuard:
    """A for loop's iterable: checks the clock per iteration (a loop with no output and no
    call would not be stopped otherwise when there is no SIGALRM)."""

    __slots__ = ("src", "it", "b")

    def __init__(self, src, b: _Budget):
        self.src, self.it, self.b = src, None, b

    def __iter__(self):
        if self.it is None:
            self.it = iter(self.src)
        return self

    def __next__(self):
        b = self.b
        if b.active and (b.expired or (b.poll and time.monotonic() > b.deadline)):
            raise b.time_up()
        if self.it is None:
            self.it = iter(self.src)
        return next(self.it)

    def __len__(self):  # loop.length, loop.last
        return len(self.src)


class _Buffer(list):
    """The list a macro, `{% set %}` block, `{% filter %}` block or recursive loop collects
    its output in."""

    __slots__ = ("n", "b", "limit")

    def __init__(self, b: _Budget | None):
        super().__init__()
        self.n, self.b, self.limit = 0, b, _limit_of(b)

    def append(self, s) -> None:
        self._add(len(s))
        list.append(self, s)

    def extend(self, items) -> None:
        items = tuple(items)
        self._add(sum(len(s) for s in items))
        list.extend(self, items)

    def _add(self, n: int) -> None:
        self.n += n
        if self.n > self.limit:
            raise _too_big("a block's output", self.limit)
        _tick(self.b if self.b is not None and self.b.active else None)


def _finalize(value):
    """Every `{{ ... }}` before str(): a value past the limit is refused before printing it."""
    b = _budget()
    _tick(b)
    _check_value(value, _limit_of(b), "the printed value")
    return value


@lru_cache(maxsize=1)
def _limited_environment_class():
    global _NAMESPACE
    from jinja2.compiler import CodeGenerator
    from jinja2.environment import Template
    from jinja2.runtime import markup_join, str_join
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
    from jinja2.utils import Namespace, generate_lorem_ipsum
    from markupsafe import EscapeFormatter, Markup

    _NAMESPACE = Namespace

    class LimitedCodeGenerator(CodeGenerator):
        """Compiles block buffers, loops, `~` and literals to the environment's checks."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._guarded_iters: set[int] = set()

        def visit(self, node, *args, **kwargs):
            if id(node) in self._guarded_iters:
                self.write("environment.rehab_iter(")
                super().visit(node, *args, **kwargs)
                self.write(")")
                return None
            return super().visit(node, *args, **kwargs)

        def buffer(self, frame):
            frame.buffer = self.temporary_identifier()
            self.writeline(f"{frame.buffer} = environment.rehab_buffer()")

        def visit_For(self, node, frame):
            self._guarded_iters.add(id(node.iter))
            super().visit_For(node, frame)

        def visit_Concat(self, node, frame):
            if frame.eval_ctx.volatile:
                markup = "context.eval_ctx.autoescape"
            else:
                markup = "True" if frame.eval_ctx.autoescape else "False"
            self.write("environment.rehab_concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write(f"), {markup})")

        def _checked(self, visit, node, frame):
            self.write("environment.rehab_value(")
            visit(node, frame)
            self.write(")")

        def visit_List(self, node, frame):
            self._checked(super().visit_List, node, frame)

        def visit_Dict(self, node, frame):
            self._checked(super().visit_Dict, node, frame)

        def visit_Tuple(self, node, frame):
            if node.ctx == "load":
                self._checked(super().visit_Tuple, node, frame)
            else:  # an assignment target
                super().visit_Tuple(node, frame)

    class LimitedTemplate(Template):
        @classmethod
        def _from_namespace(cls, environment, namespace, globals):
            t = super()._from_namespace(environment, namespace, globals)
            t.root_render_func = _GuardedRenderFunc(t.root_render_func)
            t.blocks = {k: _GuardedRenderFunc(f) for k, f in t.blocks.items()}
            return t

    class LimitedFormatter(SandboxedFormatter):
        """str.format from a template: widths, precisions and the total, before formatting."""

        def vformat(self, format_string, args, kwargs):
            self._rehab_n = len(format_string)
            return super().vformat(format_string, args, kwargs)

        def format_field(self, value, format_spec):
            b = _budget()
            _tick(b)
            limit = _limit_of(b)
            self._rehab_n = getattr(self, "_rehab_n", 0) + _check_digits(format_spec, limit, "format")
            self._rehab_n += _weight(value, limit)
            if self._rehab_n > limit:
                raise _too_big("format", limit)
            return super().format_field(value, format_spec)

    class LimitedEscapeFormatter(LimitedFormatter, EscapeFormatter):
        pass

    class LimitedEnvironment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"+", "*", "**", "%"})
        code_generator_class = LimitedCodeGenerator
        template_class = LimitedTemplate

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("finalize", _finalize)
            super().__init__(*args, **kwargs)
            self.filters = {name: _limit_filter(name, f) for name, f in self.filters.items()}

        def call_binop(self, context, operator, left, right):
            b = _budget()
            _tick(b)
            _check_binop(operator, left, right, _limit_of(b))
            return self.binop_table[operator](left, right)

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - the sandbox's signature
            b = _budget()
            _tick(b)
            limit = _limit_of(b)
            args = _check_call(__obj, args, kwargs, limit, generate_lorem_ipsum)
            rv = super().call(__context, __obj, *args, **kwargs)
            _check_value(rv, limit, "the result of a call")
            return rv

        def wrap_str_format(self, value):
            # as the sandbox's, with our formatters
            import types
            from functools import update_wrapper

            if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or \
                    value.__name__ not in ("format", "format_map"):
                return None
            f_self = value.__self__
            if not isinstance(f_self, str):
                return None
            str_type = type(f_self)
            is_format_map = value.__name__ == "format_map"
            if isinstance(f_self, Markup):
                formatter = LimitedEscapeFormatter(self, escape=f_self.escape)
            else:
                formatter = LimitedFormatter(self)

            def wrapper(*args, **kwargs):
                if is_format_map:
                    if kwargs:
                        raise TypeError("format_map() takes no keyword arguments")
                    if len(args) != 1:
                        raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                    kwargs = args[0]
                    args = ()
                return str_type(formatter.vformat(f_self, args, kwargs))

            return update_wrapper(wrapper, value)

        # called by the compiled templates (LimitedCodeGenerator)
        def rehab_buffer(self):
            return _Buffer(_budget())

        def rehab_iter(self, iterable):
            b = _budget()
            return iterable if b is None else _LoopGuard(iterable, b)

        def rehab_value(self, value):
            b = _budget()
            _tick(b)
            _check_value(value, _limit_of(b), "a literal")
            return value

        def rehab_concat(self, items, markup=False):
            b = _budget()
            _tick(b)
            limit = _limit_of(b)
            total = 0
            for x in items:
                total += len(x) if isinstance(x, str) else _weight(x, limit)
                if total > limit:
                    raise _too_big("'~'", limit)
            return markup_join(items) if markup else str_join(items)

    return LimitedEnvironment
