"""Tables for the build-constraint evaluator (buildtags.py): the GOOS and GOARCH values Go
knows (go/src/internal/syslist, internal/platform), which of them are unix and which pairs
support cgo, how a Python host's sys.platform / machine name map to GOOS / GOARCH, and the
GOARCH feature tags (buildcfg: amd64.v1, arm64.v8.0, ...) for the GO<ARCH> settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# past, present and future GOOS values: used for file-name matching
KNOWN_OS = frozenset({
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux",
    "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
})

# the GOOS values that satisfy the `unix` tag (`unix` is not a file-name constraint)
UNIX_OS = frozenset({
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "linux",
    "netbsd", "openbsd", "solaris",
})

# past, present and future GOARCH values: used for file-name matching
KNOWN_ARCH = frozenset({
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle",
    "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv",
    "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
})

# GOOS/GOARCH pairs whose native builds support cgo
CGO_SUPPORTED = frozenset({
    "aix/ppc64", "android/386", "android/amd64", "android/arm", "android/arm64", "darwin/amd64",
    "darwin/arm64", "dragonfly/amd64", "freebsd/386", "freebsd/amd64", "freebsd/arm",
    "freebsd/arm64", "freebsd/riscv64", "illumos/amd64", "ios/amd64", "ios/arm64", "linux/386",
    "linux/amd64", "linux/arm", "linux/arm64", "linux/loong64", "linux/mips", "linux/mips64",
    "linux/mips64le", "linux/mipsle", "linux/ppc64", "linux/ppc64le", "linux/riscv64",
    "linux/s390x", "linux/sparc64", "netbsd/386", "netbsd/amd64", "netbsd/arm", "netbsd/arm64",
    "openbsd/386", "openbsd/amd64", "openbsd/arm", "openbsd/arm64", "openbsd/mips64",
    "openbsd/ppc64", "openbsd/riscv64", "solaris/amd64", "windows/386", "windows/amd64",
    "windows/arm64",
})

# release tags go1.1..go1.N when the installed Go's version cannot be read
DEFAULT_GO_MINOR = 30

# sys.platform prefix -> GOOS, first match wins (default linux; solaris may be illumos)
HOST_OS = (("linux", "linux"), ("darwin", "darwin"), ("win32", "windows"), ("cygwin", "windows"),
           ("msys", "windows"), ("freebsd", "freebsd"), ("openbsd", "openbsd"), ("netbsd", "netbsd"),
           ("dragonfly", "dragonfly"), ("sunos", "solaris"), ("aix", "aix"), ("android", "android"),
           ("ios", "ios"), ("emscripten", "js"), ("wasi", "wasip1"), ("gnu", "hurd"), ("zos", "zos"))

# platform.machine(), lower case -> GOARCH: these names exactly, then HOST_ARCH_PREFIXES,
# else the machine name itself (amd64 when there is none)
HOST_ARCH = {
    **dict.fromkeys(("x86_64", "amd64", "x64"), "amd64"),
    **dict.fromkeys(("i386", "i486", "i586", "i686", "x86", "i86pc"), "386"),
    **dict.fromkeys(("aarch64", "arm64", "armv8l", "aarch64_be"), "arm64"),
    **dict.fromkeys(("ppc64le", "powerpc64le"), "ppc64le"),
    **dict.fromkeys(("ppc64", "powerpc64"), "ppc64"),
    **dict.fromkeys(("loongarch64", "loong64"), "loong64"),
    **{m: m for m in ("riscv64", "s390x", "sparc64")},
}
# (machine prefix, GOARCH on a big-endian host, GOARCH on a little-endian one), in order
HOST_ARCH_PREFIXES = (("arm", "arm", "arm"), ("mips64", "mips64", "mips64le"), ("mips", "mips", "mipsle"),
                      ("wasm", "wasm", "wasm"))


# ---- GOARCH feature tags: (goarch, getenv) -> the tags, for the GO<ARCH> setting

def _num(s: str, default: int) -> int:
    """The first number in s (v3 -> 3, power9 -> 9), else default."""
    m = re.match(r"\D*(\d+)", s)
    return int(m.group(1)) if m else default


def _amd64(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    return [f"amd64.v{i}" for i in range(1, _num(getenv("GOAMD64") or "v1", 1) + 1)]


def _386(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    return ["386." + (getenv("GO386") or "sse2")]


def _arm(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    return [f"arm.{i}" for i in range(5, _num(getenv("GOARM") or "7", 7) + 1)]


def _arm64(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    m = re.match(r"v(\d)\.(\d)", getenv("GOARM64") or "v8.0")
    major, minor = (int(m.group(1)), int(m.group(2))) if m else (8, 0)
    out = [f"arm64.v{major}.{i}" for i in range(minor + 1)]
    if major == 9:
        out += [f"arm64.v8.{i}" for i in range(min(minor + 5, 9) + 1)]
    return out


def _mips(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    return [f"{goarch}." + ((getenv("GOMIPS") or "hardfloat").split(",")[0])]


def _mips64(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    return [f"{goarch}." + ((getenv("GOMIPS64") or "hardfloat").split(",")[0])]


def _ppc64(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    return [f"{goarch}.power{i}" for i in range(8, _num(getenv("GOPPC64") or "power8", 8) + 1)]


def _riscv64(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    level = _num(getenv("GORISCV64") or "rva20u64", 20)
    return ["riscv64.rva20u64"] + [f"riscv64.rva{v}u64" for v in (22, 23) if level >= v]


def _wasm(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    return ["wasm.satconv", "wasm.signext"]


ARCH_FEATURES: dict[str, Callable[[str, Callable[[str], str]], list[str]]] = {
    "amd64": _amd64, "386": _386, "arm": _arm, "arm64": _arm64, "mips": _mips, "mipsle": _mips,
    "mips64": _mips64, "mips64le": _mips64, "ppc64": _ppc64, "ppc64le": _ppc64, "riscv64": _riscv64,
    "wasm": _wasm,
}


def arch_tags(goarch: str, getenv: Callable[[str], str]) -> list[str]:
    """buildcfg's GOARCH feature tags (amd64.v1, arm64.v8.0, ...) for the GO<ARCH> settings."""
    features = ARCH_FEATURES.get(goarch)
    return features(goarch, getenv) if features is not None else []
