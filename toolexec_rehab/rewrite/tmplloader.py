"""A Jinja loader that reads templates the way we read anything a repository supplies:
never through a symbolic link, only regular files, and only inside the template
directory the template was found in (so `{% include "k.j2" %}` with `k.j2 -> ~/.ssh/id_rsa`
is refused, not compiled into a binary)."""

from __future__ import annotations

import os

from jinja2 import BaseLoader, TemplateNotFound
from jinja2.loaders import split_template_path


class ConfinedLoader(BaseLoader):
    def __init__(self, searchpath: list[str]):
        self.searchpath = [os.path.abspath(d) for d in searchpath]

    def get_source(self, environment, template: str):
        from ..paths import UnsafePathError, read_confined

        pieces = split_template_path(template)  # refuses `..`
        for d in self.searchpath:
            path = os.path.join(d, *pieces)
            if not os.path.lexists(path):
                continue
            try:
                data = read_confined(path, d)
            except UnsafePathError as e:
                from jinja2 import TemplateError

                raise TemplateError(f"template {template!r}: {e}") from None
            except OSError:
                continue
            try:
                source = data.decode("utf-8")
            except UnicodeDecodeError:
                raise TemplateNotFound(template) from None
            mtime = os.path.getmtime(path)

            def uptodate(path=path, mtime=mtime) -> bool:
                try:
                    return os.path.getmtime(path) == mtime
                except OSError:
                    return False

            return source, os.path.normpath(path), uptodate
        raise TemplateNotFound(template)

    def list_templates(self) -> list[str]:
        out = set()
        for d in self.searchpath:
            for top, dirs, files in os.walk(d):
                dirs.sort()
                for name in files:
                    p = os.path.join(top, name)
                    if os.path.isfile(p) and not os.path.islink(p):
                        out.add(os.path.relpath(p, d).replace(os.sep, "/"))
        return sorted(out)
