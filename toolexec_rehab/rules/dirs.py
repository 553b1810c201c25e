"""Where rules come from: the shipped patterns/ and templates/, the user's REHAB_RULE_DIRS,
and the rule_dirs of the config files (a repository's confined to the repository), and
the digest of all of them that keys the build cache."""

from __future__ import annotations

import hashlib
import os

from ..config import load_config
from ..paths import UnsafePathError, builtin_dirs, confined, hash_dir
from ..settings import rule_dirs_env


def extra_rule_dirs() -> list[tuple[str, str, str | None]]:
    """User rule directories: REHAB_RULE_DIRS (os.pathsep-separated; the user's own), then
    the config's rule_dirs. (patterns, templates, confining root) triples: a directory a
    repository's config named may only be read inside that repository (root), one the user
    named anywhere (None).

    A directory holds <rule>.yaml files and either a templates/ subdirectory or
    the templates themselves.
    """
    out = []
    seen = set()
    dirs = [(d, None) for d in rule_dirs_env()] + load_config().rule_dirs_with_roots()
    for d, root in dirs:
        d = os.path.abspath(d)
        if d in seen:
            continue
        seen.add(d)
        t = os.path.join(d, "templates")
        t = t if os.path.isdir(t) else d
        if root is not None and not (confined(d, root) and confined(t, root)):
            raise UnsafePathError(f"{d}: rule directory resolves outside the repository {root} (refused)")
        out.append((d, t, root))
    return out


def rules_digest() -> str:
    """Hash of the shipped and user rule and template files, recursively (a template may
    include one from a subdirectory; the catalogue and the instrumenter's templates live
    there too): part of the build cache key."""
    h = hashlib.sha256()
    dirs = [(d, None) for d in builtin_dirs()]
    for p, t, root in extra_rule_dirs():
        dirs += [(p, root), (t, root)]
    for d, root in dirs:
        hash_dir(h, d, recursive=True, root=root)
    return h.hexdigest()
