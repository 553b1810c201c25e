"""Fix templates: Jinja, sandboxed, StrictUndefined, one environment per template dir."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment


@lru_cache(maxsize=16)
def environment(*dirs: str) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(list(dirs)),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(dirs: tuple[str, ...], name: str, context: dict) -> str:
    return environment(*dirs).get_template(name).render(**context)


@lru_cache(maxsize=256)
def _string_template(source: str):
    return environment().from_string(source)


def render_string(source: str, context: dict) -> str:
    return _string_template(source).render(**context)
