"""What cmd/go would read for a build's settings, without running it: the host's GOOS and
GOARCH, a setting from the environment, else the user's `go env -w` file, else
$GOROOT/go.env; GOROOT (the `go` on PATH); the installed Go's release (go1.N); GOFLAGS'
-tags; whether cgo is on by default. buildtags.py turns these into a Context.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping

from .buildtags_data import CGO_SUPPORTED, DEFAULT_GO_MINOR, HOST_ARCH, HOST_ARCH_PREFIXES, HOST_OS


def _host() -> tuple[str, str]:
    """The GOOS and GOARCH of the machine we run on (what an unset GOOS/GOARCH means)."""
    if hasattr(os, "uname"):  # what platform.machine() reads on POSIX, without its import (~2 ms)
        machine = os.uname().machine
    else:
        import platform

        machine = platform.machine()
    return _host_os(sys.platform), _host_arch(machine.lower(), sys.byteorder == "big")


def _host_os(plat: str) -> str:
    goos = "linux"
    for prefix, g in HOST_OS:
        if plat.startswith(prefix):
            goos = g
            break
    if goos == "solaris":
        try:
            if "illumos" in os.uname().version.lower():
                goos = "illumos"
        except (AttributeError, OSError):
            pass
    return goos


def _host_arch(m: str, big: bool) -> str:
    arch = HOST_ARCH.get(m)
    if arch is not None:
        return arch
    for prefix, big_arch, little_arch in HOST_ARCH_PREFIXES:
        if m.startswith(prefix):
            return big_arch if big else little_arch
    return m or "amd64"


def _read_env_file(path: str | None) -> dict[str, str]:
    """A `go env -w` file: KEY=VALUE lines (others ignored)."""
    out: dict[str, str] = {}
    if not path:
        return out
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return out
    for raw in data.split(b"\n"):
        i = raw.find(b"=")
        if i < 0 or not raw[:1].isupper():
            continue
        out[raw[:i].decode("utf-8", "replace")] = raw[i + 1:].decode("utf-8", "replace")
    return out


def _user_env_file(env: Mapping[str, str]) -> str | None:
    """cmd/go's EnvFile: $GOENV (off: none), else os.UserConfigDir()/go/env."""
    f = env.get("GOENV", "")
    if f:
        return None if f == "off" else f
    if sys.platform == "win32":
        d = env.get("AppData", "") or env.get("APPDATA", "")
    elif sys.platform == "darwin":
        home = env.get("HOME", "")
        d = os.path.join(home, "Library", "Application Support") if home else ""
    else:
        d = env.get("XDG_CONFIG_HOME", "")
        if not d:
            home = env.get("HOME", "")
            d = os.path.join(home, ".config") if home else ""
        elif not os.path.isabs(d):
            return None  # os.UserConfigDir fails: cmd/go reads no file
    return os.path.join(d, "go", "env") if d else None


def _find_goroot(env: Mapping[str, str], user: Mapping[str, str]) -> str | None:
    g = env.get("GOROOT") or user.get("GOROOT")
    if g:
        return os.path.normpath(g)
    import shutil

    go = shutil.which("go", path=env.get("PATH", os.defpath))
    if not go:
        return None
    root = os.path.dirname(os.path.dirname(os.path.realpath(go)))
    if os.path.isdir(os.path.join(root, "pkg", "tool")) or os.path.isfile(os.path.join(root, "VERSION")):
        return root
    return None


def settings(env: Mapping[str, str]) -> tuple[Callable[[str], str], str | None]:
    """(getenv, GOROOT): a setting as cmd/go reads it - the environment, then the user's
    `go env -w` file, then $GOROOT/go.env ("" when none sets it) - and the GOROOT in use."""
    user = _read_env_file(_user_env_file(env))
    goroot = _find_goroot(env, user)
    rootenv = _read_env_file(os.path.join(goroot, "go.env")) if goroot else {}

    def getenv(k: str) -> str:
        return env.get(k) or user.get(k) or rootenv.get(k) or ""

    return getenv, goroot


_GO_MINOR = re.compile(r"\bgo1\.(\d+)")


def _go_minor(goroot: str | None) -> int:
    if goroot:
        try:
            with open(os.path.join(goroot, "VERSION"), encoding="utf-8", errors="replace") as fh:
                m = _GO_MINOR.search(fh.readline())
            if m:
                return int(m.group(1))
        except OSError:
            pass
    return DEFAULT_GO_MINOR


def _split_quoted(s: str) -> list[str]:
    """cmd/internal/quoted.Split: white-space separated fields; a field may be '...' or "..."."""
    out, i, n = [], 0, len(s)
    while i < n:
        while i < n and s[i] in " \t\n\r":
            i += 1
        if i >= n:
            break
        if s[i] in "'\"":
            j = s.find(s[i], i + 1)
            if j < 0:  # unterminated: go refuses the whole GOFLAGS; take the rest
                out.append(s[i + 1:])
                break
            out.append(s[i + 1:j])
            i = j + 1
            continue
        j = i
        while j < n and s[j] not in " \t\n\r":
            j += 1
        out.append(s[i:j])
        i = j
    return out


def _tags_value(v: str) -> list[str]:
    # cmd/go's -tags: comma-separated; the old space-separated (or quoted) list still works
    if " " in v or "'" in v:
        return [x for x in _split_quoted(v) if x]
    return [x for x in v.split(",") if x]


def goflags_tags(goflags: str) -> list[str]:
    """The -tags of a GOFLAGS value (the last one wins, as with repeated flags)."""
    tags: list[str] = []
    words = _split_quoted(goflags)
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        name = w[2:] if w.startswith("--") else w[1:] if w.startswith("-") else None
        if name is None:
            continue
        if name.startswith("tags="):
            tags = _tags_value(name[len("tags="):])
        elif name == "tags" and i < len(words) and not words[i].startswith("-"):
            tags = _tags_value(words[i])  # "-tags a,b": go refuses it in GOFLAGS; we read it
            i += 1
    return tags


def default_cc(goos: str) -> str:
    return "clang" if goos in ("darwin", "ios", "freebsd", "openbsd") else "gcc"


def cgo_enabled(env: Mapping[str, str], getenv: Callable[[str], str], goos: str, goarch: str,
                host: tuple[str, str]) -> bool:
    """CGO_ENABLED=0/1, else off when cross-compiling, else on where cgo is supported and a C
    compiler ($CC, or the platform's default on PATH) is there."""
    cgo = getenv("CGO_ENABLED")
    if cgo in ("0", "1"):
        return cgo == "1"
    if (goos, goarch) != host:
        return False  # cross-compiling: cgo only when asked for
    import shutil

    return f"{goos}/{goarch}" in CGO_SUPPORTED and bool(
        env.get("CC") or shutil.which(default_cc(goos), path=env.get("PATH", os.defpath)))
