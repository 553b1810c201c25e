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


_NAME_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _substitute(source: str, context: dict) -> str | None:
    """`{{ name }}` substitutions of strings only: what Jinja renders, without importing it.
    None for anything else (blocks, filters, comments, a trailing newline, a missing name)."""
    if source.endswith("\n") or "{%" in source or "{#" in source:
        return None
    names = _NAME_RE.findall(source)
    if "{{" in _NAME_RE.sub("", source):
        return None
    if not all(isinstance(context.get(n), str) for n in names):
        return None
    return _NAME_RE.sub(lambda m: context[m.group(1)], source)


def render_string(source: str, context: dict) -> str:
    fast = _substitute(source, context)
    if fast is not None:
        return fast
    return _string_template(source).render(**context)
