#!/usr/bin/env python3
"""Run toolexec-rehab over real-world Go modules that no one here wrote.

For every module in tests/corpus/modules.txt (module path + pinned version):

1. `go mod download -json` it through the configured module proxy into a
   cache directory outside the repository (default
   ~/.cache/toolexec-rehab-corpus/modcache), then copy it into a fresh
   temporary work directory, where it is the main module (so the shim's
   default "user" scope applies to it);
2. `go build ./...` and `go vet ./...`, plain and with
   GOFLAGS=-toolexec=toolexec-rehab;
3. `go test -short` of a bounded subset of its packages, plain and rehab;
4. `toolexec-rehab check --format json ./...` for the findings; the patches
   are the shim's REHAB_VERBOSE lines; the fallbacks are new lines in its
   rejections.log.

The source tree is checksummed around every rehab step: rehab must leave it
byte-identical. Prints a table and exits 1 when any build, vet or test that
passes plain fails with rehab, when a rehab step touched the tree, or when
the shim fell back (an internal error or a rewrite the compiler refused).

    python tools/corpus.py [--only uuid,sqlx] [--max-test-pkgs 6] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "tests" / "corpus" / "modules.txt"
PATCH_RE = re.compile(r"^REHAB: patched (\S+) defer@(ast-node-[0-9a-f]{16}) (\S+):(\d+)$", re.M)
RESULT_RE = re.compile(r"^(ok|FAIL|\?|---)\s+(\S+)", re.M)


def read_modules(path: Path) -> list[tuple[str, str]]:
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].startswith("v"):
            sys.exit(f"{path}:{n}: want '<module> <version>', got {line!r}")
        out.append((parts[0], parts[1]))
    return out


def tree_digest(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def digest_diff(a: dict, b: dict) -> list[str]:
    return sorted([f"+{k}" for k in b.keys() - a.keys()] + [f"-{k}" for k in a.keys() - b.keys()]
                  + [f"~{k}" for k in a.keys() & b.keys() if a[k] != b[k]])


@dataclass
class Step:
    rc: int
    seconds: float
    out: str = ""

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass
class ModResult:
    module: str
    version: str
    packages: int = 0
    build: dict = field(default_factory=dict)  # mode -> rc
    vet: dict = field(default_factory=dict)
    tests: dict = field(default_factory=dict)  # mode -> {pkg: status}
    test_pkgs: list = field(default_factory=list)
    findings: dict = field(default_factory=dict)  # rule -> n
    check_rc: int | None = None
    patches: list = field(default_factory=list)  # sorted unique "rule node file:line"
    fallbacks: list = field(default_factory=list)
    tree_changes: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0


class Runner:
    def __init__(self, args):
        self.args = args
        self.cache = Path(args.cache).resolve()
        self.modcache = self.cache / "modcache"
        self.modcache.mkdir(parents=True, exist_ok=True)
        self.bin = Path(args.rehab) if args.rehab else Path(sys.executable).parent / "toolexec-rehab"
        if not os.access(self.bin, os.X_OK):
            found = shutil.which("toolexec-rehab")
            if not found:
                sys.exit(f"toolexec-rehab not found next to {sys.executable} nor on PATH")
            self.bin = Path(found)
        self.work = Path(tempfile.mkdtemp(prefix="rehab-corpus-"))
        self.xdg = self.work / "xdg"  # our rejections.log lives here
        self.xdg.mkdir()
        gocache = args.gocache or subprocess.run(["go", "env", "GOCACHE"], capture_output=True,
                                                 text=True, check=True).stdout.strip()
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("REHAB_") and k not in ("GOFLAGS", "GOWORK", "TOOLEXEC_IMPORTPATH")}
        base.update(GOTOOLCHAIN="local", GOWORK="off", GOMODCACHE=str(self.modcache), GOCACHE=gocache,
                    XDG_CACHE_HOME=str(self.xdg), GOFLAGS="-mod=mod -buildvcs=false")
        self.env = {"plain": base,
                    "rehab": {**base, "GOFLAGS": f"{base['GOFLAGS']} -toolexec={self.bin}", "REHAB_VERBOSE": "1"}}
        if args.modes:
            self.env["rehab"]["REHAB_MODES"] = args.modes
        if args.all_fix:
            # every rule, opt-in ones included, in fix mode: the most rewrites the compiler must accept
            out = subprocess.run([str(self.bin), "rules", "list"], capture_output=True, text=True, check=True).stdout
            ids = [ln.split()[0] for ln in out.splitlines() if ln.strip()]
            self.env["rehab"].update(REHAB_RULES=",".join(ids), REHAB_MODES=",".join(f"{i}=fix" for i in ids))
        self.rejections = self.xdg / "toolexec-rehab" / "rejections.log"

    def go(self, argv, cwd, mode, timeout) -> Step:
        t0 = time.monotonic()
        try:
            cp = subprocess.run(["go", *argv], cwd=cwd, env=self.env[mode], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=timeout, errors="replace")
            rc, out = cp.returncode, cp.stdout + cp.stderr
        except subprocess.TimeoutExpired as e:
            rc = -9
            out = ((e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")) \
                + f"\n[timeout after {timeout}s]"
        step = Step(rc, time.monotonic() - t0, out)
        if self.args.verbose:
            print(f"    [{mode}] go {' '.join(argv[:3])}... rc={rc} {step.seconds:.1f}s", flush=True)
        return step

    def fetch(self, mod: str, ver: str) -> Path:
        cp = subprocess.run(["go", "mod", "download", "-json", f"{mod}@{ver}"], cwd=self.work,
                            env=self.env["plain"], capture_output=True, text=True, timeout=600)
        try:
            info = json.loads(cp.stdout)
        except json.JSONDecodeError:
            raise RuntimeError(f"go mod download {mod}@{ver}: {cp.stderr.strip()}") from None
        if info.get("Error") or not info.get("Dir"):
            raise RuntimeError(f"go mod download {mod}@{ver}: {info.get('Error') or cp.stderr.strip()}")
        return Path(info["Dir"])

    def rejection_lines(self) -> list[str]:
        try:
            return self.rejections.read_text().splitlines()
        except FileNotFoundError:
            return []

    def run_module(self, mod: str, ver: str) -> ModResult:
        r = ModResult(mod, ver)
        t0 = time.monotonic()
        try:
            self._run(r)
        except Exception as e:  # noqa: BLE001 - one module's trouble must not end the corpus
            r.error = f"{type(e).__name__}: {e}"
        r.seconds = time.monotonic() - t0
        return r

    def _run(self, r: ModResult):
        a = self.args
        src = self.fetch(r.module, r.version)
        d = self.work / re.sub(r"[^A-Za-z0-9._-]+", "_", f"{r.module}@{r.version}")
        shutil.copytree(src, d, symlinks=True)
        for p in [d, *d.rglob("*")]:
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
        if not (d / "go.mod").exists():
            # a pre-modules release (e.g. pkg/errors v0.9.1): give it the go.mod `go mod init` would
            (d / "go.mod").write_text(f"module {r.module}\n\ngo 1.16\n")
            tidy = self.go(["mod", "tidy", "-e"], d, "plain", 900)
            if not tidy.ok:
                raise RuntimeError(f"go mod tidy failed: {tidy.out[-800:]}")
        # settle go.mod/go.sum (-mod=mod may add entries) before the tree is checksummed
        settle = self.go(["list", "-e", "-deps", "-test", "./..."], d, "plain", 900)
        if not settle.ok:
            raise RuntimeError(f"go list failed plain: {settle.out[-800:]}")
        lst = self.go(["list", "-e", "-f", "{{.ImportPath}}\t{{if or .TestGoFiles .XTestGoFiles}}T{{end}}", "./..."],
                      d, "plain", 300)
        pkgs = [ln.split("\t") for ln in lst.out.splitlines() if "\t" in ln]
        r.packages = len(pkgs)
        r.test_pkgs = [p for p, t in pkgs if t == "T"][: a.max_test_pkgs]
        rej0 = len(self.rejection_lines())

        plain_build = self.go(["build", "./..."], d, "plain", a.timeout)
        plain_vet = self.go(["vet", "./..."], d, "plain", a.timeout)
        before = tree_digest(d)
        rehab_build = self.go(["build", "./..."], d, "rehab", a.timeout)
        rehab_vet = self.go(["vet", "./..."], d, "rehab", a.timeout)
        r.tree_changes += digest_diff(before, tree_digest(d))
        r.build = {"plain": plain_build.rc, "rehab": rehab_build.rc}
        r.vet = {"plain": plain_vet.rc, "rehab": rehab_vet.rc}
        patches = set()
        for st in (rehab_build, rehab_vet):
            patches |= {" ".join(m.groups()[:2]) + f" {m[3]}:{m[4]}" for m in PATCH_RE.finditer(st.out)}
        if plain_build.ok and not rehab_build.ok:
            r.problems.append("build broken: " + rehab_build.out[-1500:])
        if plain_vet.ok and not rehab_vet.ok:
            r.problems.append("vet broken: " + rehab_vet.out[-1500:])

        if r.test_pkgs and a.max_test_pkgs > 0:
            targs = ["test", "-short", "-count=1", f"-timeout={a.test_timeout}s", *r.test_pkgs]
            before = tree_digest(d)
            plain_t = self.go(targs, d, "plain", a.test_timeout + 300)
            # tests may write into their own tree (xxhash builds dynamic/plugin.so there): what a
            # plain run writes too is the tests' doing; rehab must change nothing else
            written = {c[1:] for c in digest_diff(before, tree_digest(d))}
            before = tree_digest(d)
            rehab_t = self.go(targs, d, "rehab", a.test_timeout + 300)
            after = tree_digest(d)
            r.tree_changes += [c for c in digest_diff(before, after) if c[1:] not in written]
            r.tests = {"plain": _test_status(plain_t.out, r.test_pkgs), "rehab": _test_status(rehab_t.out, r.test_pkgs)}
            patches |= {" ".join(m.groups()[:2]) + f" {m[3]}:{m[4]}" for m in PATCH_RE.finditer(rehab_t.out)}
            newly = [p for p in r.test_pkgs if r.tests["plain"].get(p) == "ok" and r.tests["rehab"].get(p) != "ok"]
            if newly:
                r.problems.append(f"tests newly failing: {newly}\n{rehab_t.out[-3000:]}")
        r.patches = sorted(patches)

        chk = subprocess.run([str(self.bin), "check", "--format", "json", "./..."], cwd=d, env=self.env["plain"],
                             capture_output=True, text=True, timeout=a.timeout)
        r.check_rc = chk.returncode
        if chk.returncode in (0, 1):
            for f in json.loads(chk.stdout or "[]"):
                r.findings[f["rule"]] = r.findings.get(f["rule"], 0) + 1
        else:
            r.problems.append(f"check exited {chk.returncode}: {chk.stderr[-1500:]}")
        r.fallbacks = self.rejection_lines()[rej0:]
        if r.fallbacks:
            r.problems.append(f"{len(r.fallbacks)} fallback(s): " + " || ".join(r.fallbacks[:5]))
        if r.tree_changes:
            r.problems.append(f"rehab changed the source tree: {r.tree_changes[:10]}")
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)


def _test_status(out: str, pkgs: list[str]) -> dict[str, str]:
    st = {}
    for m in RESULT_RE.finditer(out):
        word, pkg = m.groups()
        if pkg in pkgs and word in ("ok", "FAIL", "?"):
            st[pkg] = {"?": "notest"}.get(word, word)
    for p in pkgs:
        st.setdefault(p, "FAIL")  # build failure or timeout: no result line
    return st


def _rc(d: dict, mode: str) -> str:
    return "-" if mode not in d else ("ok" if d[mode] == 0 else "FAIL")


def table(results: list[ModResult]) -> str:
    hdr = ["module", "version", "pkgs", "build p/r", "vet p/r", "tests ok p/r", "findings", "patches",
           "fallbk", "tree", "secs"]
    rows = []
    for r in results:
        if r.error:
            rows.append([r.module, r.version, str(r.packages), "ERROR", r.error[:60], "", "", "", "", "", f"{r.seconds:.0f}"])
            continue
        n = len(r.test_pkgs)
        tp = sum(1 for s in r.tests.get("plain", {}).values() if s == "ok")
        tr = sum(1 for s in r.tests.get("rehab", {}).values() if s == "ok")
        rows.append([r.module, r.version, str(r.packages), f"{_rc(r.build, 'plain')}/{_rc(r.build, 'rehab')}",
                     f"{_rc(r.vet, 'plain')}/{_rc(r.vet, 'rehab')}", f"{tp}/{tr} of {n}" if n else "-",
                     str(sum(r.findings.values())), str(len(r.patches)), str(len(r.fallbacks)),
                     "same" if not r.tree_changes else "CHANGED", f"{r.seconds:.0f}"])
    w = [max(len(x[i]) for x in [hdr, *rows]) for i in range(len(hdr))]
    line = lambda cells: "  ".join(c.ljust(w[i]) for i, c in enumerate(cells)).rstrip()  # noqa: E731
    return "\n".join([line(hdr), line(["-" * x for x in w]), *map(line, rows)])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--modules", default=str(MODULES))
    p.add_argument("--only", help="comma-separated substrings of module paths")
    p.add_argument("--cache", default=os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                                   "toolexec-rehab-corpus"))
    p.add_argument("--gocache", help="GOCACHE to share (default: go env GOCACHE)")
    p.add_argument("--rehab", help="toolexec-rehab executable (default: next to this Python)")
    p.add_argument("--modes", help="REHAB_MODES for the rehab builds, e.g. unchecked-error=fix")
    p.add_argument("--all-fix", action="store_true",
                   help="every rule (opt-in ones too) in fix mode; their fixes change behaviour on purpose, "
                        "so use with --max-test-pkgs 0")
    p.add_argument("--max-test-pkgs", type=int, default=6)
    p.add_argument("--test-timeout", type=int, default=120, help="go test -timeout, seconds")
    p.add_argument("--timeout", type=int, default=600, help="per go build/vet command, seconds")
    p.add_argument("--json", help="write the full results here")
    p.add_argument("--keep", action="store_true", help="keep the work directories")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    mods = read_modules(Path(args.modules))
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        mods = [m for m in mods if any(k in m[0] for k in keys)]
    runner = Runner(args)
    print(f"corpus: {len(mods)} modules, rehab={runner.bin}, work={runner.work}, "
          f"GOMODCACHE={runner.modcache}", flush=True)
    t0 = time.monotonic()
    results = []
    for mod, ver in mods:
        print(f"== {mod}@{ver}", flush=True)
        r = runner.run_module(mod, ver)
        results.append(r)
        status = "ERROR " + r.error if r.error else ("PROBLEM" if r.problems else "ok")
        print(f"   {status} ({r.seconds:.0f}s, {len(r.patches)} patches, {sum(r.findings.values())} findings)",
              flush=True)
    total = time.monotonic() - t0
    print()
    print(table(results))
    bad = [r for r in results if r.error or r.problems]
    broken = sum(1 for r in results if r.build.get("plain") == 0 and r.build.get("rehab") != 0)
    newly = sum(len([p for p in r.test_pkgs if r.tests.get("plain", {}).get(p) == "ok"
                     and r.tests.get("rehab", {}).get(p) != "ok"]) for r in results)
    print(f"\n{len(results)} modules, {sum(r.packages for r in results)} packages, "
          f"{sum(len(r.test_pkgs) for r in results)} test packages; builds broken: {broken}; "
          f"tests newly failing: {newly}; findings: {sum(sum(r.findings.values()) for r in results)}; "
          f"patches: {sum(len(r.patches) for r in results)}; wall time {total:.0f}s")
    for r in bad:
        print(f"\n!! {r.module}@{r.version}: {r.error}")
        for pr in r.problems:
            print("   " + pr.replace("\n", "\n   "))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2))
    if not args.keep:
        shutil.rmtree(runner.work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
