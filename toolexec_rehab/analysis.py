"""The shared front half: turn paths or compile inputs into packages and findings."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from .golang.package import GoFile, Package, load_file
from .golang.stdapi import StdAPI
from .golang.stdapi import load as load_api
from .rules.engine import Engine, Finding
from .rules.loader import load_rules

SKIP_DIRS = {"vendor", "testdata", "node_modules"}


class UsageError(Exception):
    """Bad input from the user: message is printed, exit code 2."""


@dataclass
class PackageInput:
    directory: str
    files: list[str]  # all .go files of one package (same package clause)
    report: set[str] | None = None  # report only on these (a file given by name)


def go_env_goroot() -> str | None:
    g = os.environ.get("GOROOT")
    if g and os.path.isdir(g):
        return g
    go = shutil.which("go")
    if not go:
        return None
    real = os.path.realpath(go)
    cand = os.path.dirname(os.path.dirname(real))
    if os.path.isdir(os.path.join(cand, "api")):
        return cand
    try:
        out = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _go_files(directory: str) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError as e:
        raise UsageError(f"{directory}: {e.strerror}") from None
    return [os.path.join(directory, n) for n in names
            if n.endswith(".go") and not n.startswith((".", "_")) and os.path.isfile(os.path.join(directory, n))]


def expand_patterns(patterns: list[str]) -> list[PackageInput]:
    """./... patterns, directories and files -> packages (grouped by directory)."""
    out: list[PackageInput] = []
    seen: set[str] = set()
    for pat in patterns or ["./..."]:
        recursive = pat == "..." or pat.endswith("/...")
        base = pat[:-4] if pat.endswith("/...") else ("." if pat == "..." else pat)
        base = base or "."
        if not os.path.exists(base):
            raise UsageError(f"stat {base}: no such file or directory")
        if os.path.isfile(base):
            if not base.endswith(".go"):
                raise UsageError(f"{base}: not a .go file")
            d = os.path.dirname(os.path.abspath(base))
            out.append(PackageInput(d, _go_files(d), {os.path.abspath(base)}))
            continue
        if recursive:
            for root, dirs, _files in os.walk(base):
                dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith((".", "_")))
                ab = os.path.abspath(root)
                if ab in seen:
                    continue
                seen.add(ab)
                files = _go_files(root)
                if files:
                    out.append(PackageInput(ab, [os.path.abspath(x) for x in files]))
        else:
            ab = os.path.abspath(base)
            files = _go_files(base)
            if not files:
                raise UsageError(f"{base}: no Go files")
            if ab not in seen:
                seen.add(ab)
                out.append(PackageInput(ab, [os.path.abspath(x) for x in files]))
    return out


def _load(path: str) -> GoFile:
    try:
        return load_file(path)
    except OSError as e:  # unreadable, vanished: the user's problem, said plainly (exit 2)
        raise UsageError(f"{path}: {e.strerror or e}") from None


def build_packages(inp: PackageInput, loaded: dict[str, GoFile] | None = None) -> list[Package]:
    """One Package per package clause in the directory (p and p_test are separate)."""
    files = [loaded[p] if loaded and p in loaded else _load(p) for p in inp.files]
    groups: dict[str, list[GoFile]] = {}
    for f in files:
        groups.setdefault(f.pkgname or "?", []).append(f)
    return [Package(fs) for _, fs in sorted(groups.items())]


class Analyzer:
    def __init__(self, goroot: str | None = None, rules=None, modes: dict[str, str] | None = None,
                 source: bool = False):
        self.api: StdAPI = load_api(goroot)
        self.rules = rules if rules is not None else load_rules()
        # source=True: fixes for the source tree (fix, check), which may add imports; a build's may not
        self.engine = Engine(self.rules, self.api, modes=modes, source=source)

    def analyze(self, pkg: Package, only: set[str] | None = None) -> list[Finding]:
        return self.engine.analyze(pkg, only)
