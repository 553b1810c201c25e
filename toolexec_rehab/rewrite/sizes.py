"""What one operation of a template would build, checked BEFORE it runs (no timer interrupts
C code): `*`, `**`, `+` and `%` (a string, list or int past the limit is never built), every
filter and every call (huge widths and counts such as `center(10**10)`, `ljust`, `indent`,
`batch` are refused; what amplifies - `replace`, `join`, `expandtabs`, `wordwrap`, `format`,
str.format widths - is estimated before running), and every value a template builds or
prints (`_check_value`). Past the limit: `_Limit` (limits.py). The sandbox (sandbox.py)
calls these from its hooks.
"""

from __future__ import annotations

import math
import re
import types

from .limits import MAX_INT_BITS, _budget, _Limit, _limit_of, _tick, size_text

# ------------------------------------------------------------------ sizes

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


# ------------------------------------------------------------------ binops: + * ** %

# `left OP right` for the intercepted binops, before computing it: (left, right, limit).
# An int operand is isinstance(x, int) (so bool too), as Python's own operators see it.

_SEQUENCES = (str, bytes, list, tuple)


def _int_too_big(op: str) -> _Limit:
    return _Limit("size", f"'{op}' would compute an integer of more than {MAX_INT_BITS} bits")


def _binop_pow(left, right, limit: int) -> None:
    if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1 and \
            right * math.log2(abs(left)) > MAX_INT_BITS:
        raise _int_too_big("**")


def _binop_mul(left, right, limit: int) -> None:
    lint = isinstance(left, int)
    rint = isinstance(right, int)
    if lint and rint:
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise _int_too_big("*")
        return
    seq, n = (left, right) if rint else (right, left) if lint else (None, 0)
    if n > 0 and isinstance(seq, _SEQUENCES) and len(seq):  # a repeat: n copies of seq
        if n > limit or _weight(seq, limit // n + 1) * n > limit:
            raise _too_big("'*'", limit)


def _binop_add(left, right, limit: int) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if max(left.bit_length(), right.bit_length()) >= MAX_INT_BITS:
            raise _int_too_big("+")
        return
    if isinstance(left, _SEQUENCES) or isinstance(right, _SEQUENCES):  # a concatenation
        w = _weight(left, limit)
        if w > limit or w + _weight(right, limit - w) > limit:
            raise _too_big("'+'", limit)


def _binop_mod(left, right, limit: int) -> None:
    if isinstance(left, str):
        _check_percent(left, right, limit)


# the sandbox intercepts exactly these operators (sandbox.py calls the table directly)
_BINOP_CHECKS = {"**": _binop_pow, "*": _binop_mul, "+": _binop_add, "%": _binop_mod}


def _check_binop(op: str, left, right, limit: int) -> None:
    check = _BINOP_CHECKS.get(op)
    if check is not None:
        check(left, right, limit)


# ------------------------------------------------------------------ formats and arguments

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
    total += _percent_args_weight(specs, args, limit, total)
    if total > limit:
        raise _too_big("'%'", limit)


def _percent_args_weight(specs: list, args, limit: int, total: int) -> int:
    """About what `% args` prints of args: all of it, or (a dict and %(name)s specs) the
    values named, counted until total plus them is past the limit."""
    if isinstance(args, dict) and any(m.group(1) is not None for m in specs):
        n = 0
        for m in specs:
            n += _weight(args.get(m.group(1), ""), limit)
            if total + n > limit:
                break
        return n
    return _weight(args, limit)  # a tuple, or one value


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


# ------------------------------------------------------------------ filters

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


# ------------------------------------------------------------------ calls

# Calls from a template. A string method is C code (or markupsafe's wrapper of it) that
# nothing interrupts once it runs; its int arguments are widths, counts and positions (the
# immutable sandbox leaves list and dict no method that builds from an int). Per method, an
# estimate of what it would build: (the string, args, kwargs, limit, what) -> the args to
# call with.

_METHODS = (types.BuiltinMethodType, types.MethodType)


def _m_expandtabs(owner, args: tuple, kwargs: dict, limit: int, what: str) -> tuple:
    tab = _arg(args, kwargs, 0, "tabsize", 8)
    tabs = owner.count("\t" if isinstance(owner, str) else b"\t")
    if isinstance(tab, int) and len(owner) + tabs * tab > limit:
        raise _too_big(what, limit)
    return args


def _m_replace(owner, args: tuple, kwargs: dict, limit: int, what: str) -> tuple:
    _check_replace(owner, _arg(args, kwargs, 0, "old"), _arg(args, kwargs, 1, "new"),
                   _arg(args, kwargs, 2, "count", -1), limit, what)
    return args


def _m_join(owner, args: tuple, kwargs: dict, limit: int, what: str) -> tuple:
    if not args:
        return args
    items = _sized(args[0])  # a generator is measured as a list, and passed on as one
    if _join_size(owner, items, limit) > limit:
        raise _too_big(what, limit)
    return (items, *args[1:])


def _m_translate(owner, args: tuple, kwargs: dict, limit: int, what: str) -> tuple:
    if args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, (str, bytes))), default=1)
        if len(owner) * max(longest, 1) > limit:
            raise _too_big(what, limit)
    return args


_METHOD_CHECKS = {"expandtabs": _m_expandtabs, "replace": _m_replace, "join": _m_join,
                  "translate": _m_translate}


def _check_str_method(obj, owner, args: tuple, kwargs: dict, limit: int) -> tuple:
    name = getattr(obj, "__name__", "")
    what = f"{type(owner).__name__}.{name}"
    _check_ints(args, kwargs, limit, what)
    check = _METHOD_CHECKS.get(name)
    return args if check is None else check(owner, args, kwargs, limit, what)


def _check_lipsum(args: tuple, kwargs: dict, limit: int) -> None:
    n = _arg(args, kwargs, 0, "n", 5)
    most = _arg(args, kwargs, 3, "max", 100)
    if isinstance(n, int) and isinstance(most, int) and n * most * 12 > limit:
        raise _too_big("lipsum", limit)


def _check_call(obj, args: tuple, kwargs: dict, limit: int, lipsum) -> tuple:
    """Before a call from a template: refuse what would build too much. Returns the args to
    call with (a generator passed to str.join is measured as a list)."""
    owner = getattr(obj, "__self__", None)
    if isinstance(obj, _METHODS) and isinstance(owner, (str, bytes)):
        return _check_str_method(obj, owner, args, kwargs, limit)
    if lipsum is not None and obj is lipsum:
        _check_lipsum(args, kwargs, limit)
    return args
