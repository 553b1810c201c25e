"""Fix templates: Jinja, sandboxed, StrictUndefined, one environment per template dir."""

from __future__ import annotations

import re
from functools import lru_cache

# jinja2 is imported on first use (~25 ms): a build imports this module, but renders only
# when a rule matched.


@lru_cache(maxsize=16)
def environment(*dirs: str):
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(list(dirs)),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(dirs: tuple[str, ...], name: str, context: dict) -> str:
    """Render a fix template. Any template error (syntax, an undefined name, an access the
    sandbox refuses) is the rule's fault: a RuleError naming the template file and line
    (exit 2 in the CLI; a build falls back to the original files)."""
    from jinja2 import TemplateError

    try:
        return environment(*dirs).get_template(name).render(**context)
    except TemplateError as e:
        from ..rules.loader import RuleError

        raise RuleError(f"{_where(e, dirs, name)}: template error: {type(e).__name__}: {e}") from None


def _where(e, dirs: tuple[str, ...], name: str) -> str:
    import os

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
    fast = _substitute(source, context)
    if fast is not None:
        return fast
    return _string_template(source).render(**context)
