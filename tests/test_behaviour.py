"""Plain vs rehab: a build patch may change nothing but the leak.

go_fixtures/behaviour is a Go program of resource "shapes", one function each, each
printing one line. It is built twice, plainly and through the shim, and both binaries run:

- a no-patch shape (the resource outlives the function, or is already released) must
  print the same line in both builds, and get no build patch;
- a leak shape ends its line with a counter measured after the function returned
  (`open=N`, `pinned=N`, `live=N`, `goroutines=N`, `panics=N`): the plain build must show it non-zero
  (so the check can fail), the rehab build zero, and the rest of the line must be the
  same. Its patches must be exactly the statements marked `// patch: RULE` in the source.

The expectation is data (SHAPES below); the source markers (`// shape: NAME`, `// patch:
RULE`) only say where each shape's code is, and a test checks that both agree.
`python tools/behaviour.py` prints the per-shape table.

FAILS_TODAY lists the shapes the engine gets wrong today. Each marks that shape's test, and
the aggregate tests it fails, as strict xfail: once a shape is fixed its XPASS fails the
run until the entry is removed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import BIN, digest_diff, go_env, tree_digest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "go_fixtures" / "behaviour"

# shape -> (rule involved, build patches a correct engine applies, leak counter or None).
# Counter None: a no-patch shape, whose line must be identical in both builds.
SHAPES: dict[str, tuple[str, int, str | None]] = {
    # no-patch: *os.File (or a reader over it) used after the function returned
    "scanner-returned": ("file-not-closed", 0, None),
    "csv-returned": ("file-not-closed", 0, None),
    "tar-returned": ("file-not-closed", 0, None),
    "multireader-returned": ("file-not-closed", 0, None),
    "limitreader-returned": ("file-not-closed", 0, None),
    "bufio-over-limit-returned": ("file-not-closed", 0, None),
    "alias-returned": ("file-not-closed", 0, None),
    "reader-iface-returned": ("file-not-closed", 0, None),
    "readcloser-iface-returned": ("file-not-closed", 0, None),
    "struct-field": ("file-not-closed", 0, None),
    "embedded-in-struct": ("file-not-closed", 0, None),
    "closure-reads-later": ("file-not-closed", 0, None),
    "goroutine-over-channel": ("file-not-closed", 0, None),
    "global-var": ("file-not-closed", 0, None),
    "global-registry": ("file-not-closed", 0, None),
    "map-store": ("file-not-closed", 0, None),
    "append-to-slice": ("file-not-closed", 0, None),
    "select-send": ("file-not-closed", 0, None),
    "panic-recover": ("file-not-closed", 0, None),
    "defer-in-loop": ("file-not-closed", 0, None),
    "waitgroup-goroutines": ("file-not-closed", 0, None),
    "cleanup-func-returned": ("file-not-closed", 0, None),
    "writer-type-assertion": ("file-not-closed", 0, None),
    "closed-in-helper": ("file-not-closed", 0, None),
    "gzip-returned": ("resource-not-released", 1, None),  # the *gzip.Reader is released, not the file
    "tee-returned": ("file-not-closed", 0, None),
    "section-reader-returned": ("file-not-closed", 0, None),
    "method-value-returned": ("file-not-closed", 0, None),
    "own-constructor-returned": ("file-not-closed", 0, None),
    "cleanup-registered": ("file-not-closed", 0, None),
    "deferred-flush-in-loop": ("file-not-closed", 0, None),
    "deferred-before-acquisition": ("file-not-closed", 0, None),
    # no-patch: a real leak that no build patch can remove safely (reported, why_no_fix)
    "file-loop-early-return": ("file-not-closed", 0, None),
    # no-patch: response bodies
    "response-returned": ("body-not-closed", 0, None),
    "body-bufio-returned": ("body-not-closed", 0, None),
    "body-closed-on-error-branches": ("body-not-closed", 0, None),
    "body-closed-by-deferred-arg": ("body-not-closed", 0, None),
    "decoder-over-body-returned": ("body-not-closed", 0, None),
    # no-patch: database/sql
    "rows-closure-later": ("rows-not-closed", 0, None),
    "rows-deferred-join": ("rows-not-closed", 0, None),
    "stmt-in-field": ("stmt-not-closed", 0, None),
    "rows-in-struct-returned": ("rows-not-closed", 0, None),
    "rows-over-channel": ("rows-not-closed", 0, None),
    # no-patch: contexts
    "ctx-returned-cancel-discarded": ("lost-cancel", 0, None),
    "derived-ctx-returned-cancel-discarded": ("lost-cancel", 0, None),
    "ctx-and-cancel-returned": ("lost-cancel", 0, None),
    "derived-ctx-returned": ("lost-cancel", 0, None),
    "cancel-in-field": ("lost-cancel", 0, None),
    "ctx-used-by-goroutine": ("lost-cancel", 0, None),
    # no-patch: from the review fixed in 577a17a (an earlier engine patched each of them)
    "tx-wrapper-ended-by-method": ("tx-not-finished", 0, None),  # own Rollback override; ended by a method
    "tx-wrapper-committed": ("tx-not-finished", 0, None),  # own Rollback override; its error path leaks
    "newfile-stdout": ("file-not-closed", 0, None),  # os.NewFile(1, ...) is the process's stdout
    "ticker-getter-func-value": ("resource-not-released", 0, None),
    "ticker-getter-interface": ("resource-not-released", 0, None),
    "ticker-getter-promoted": ("resource-not-released", 0, None),
    "ticker-channel-returned": ("resource-not-released", 0, None),  # a leak; stopping it kills t.C
    "zip-entries-returned": ("resource-not-released", 0, None),  # a leak; r.File reads the archive
    "zip-reader-returned": ("resource-not-released", 0, None),
    "fd-returned": ("file-not-closed", 0, None),  # f.Fd() used and closed by the caller
    "tls-netconn": ("resource-not-released", 0, None),  # tls.Conn.NetConn is the tls.Conn's
    "defer-before-check-partial-result": ("defer-before-err-check", 0, None),
    "guarded-close": ("file-not-closed", 0, None),  # closed behind a nil check on every path
    # leaks: database/sql (fakedb counts open driver rows/statements)
    "rows-first-value": ("rows-not-closed", 1, "open"),
    "rows-discarded": ("rows-not-closed", 3, "open"),  # `_, err :=`, `_, err =`, a bare call
    "body-discarded": ("body-not-closed", 1, "open"),
    "rows-early-return": ("rows-not-closed", 1, "open"),
    "rows-pin-single-conn": ("rows-not-closed", 1, "pinned"),
    "rows-from-stmt": ("rows-not-closed", 1, "open"),
    "stmt-not-closed": ("stmt-not-closed", 1, "open"),
    "stmt-preparecontext-not-closed": ("stmt-not-closed", 1, "open"),
    "rows-defer-before-check": ("defer-before-err-check", 1, "panics"),
    # leaks: files (descriptors under the shape's directory, GC off)
    "file-read-header": ("file-not-closed", 1, "open"),
    "file-create-write": ("file-not-closed", 1, "open"),
    "file-openfile-append": ("file-not-closed", 1, "open"),
    "file-branch-leak": ("file-not-closed", 1, "open"),
    "file-loop-leak": ("file-not-closed", 1, "open"),
    "file-createtemp": ("file-not-closed", 1, "open"),
    # leaks: response bodies (loopback server's open connections)
    "body-first-line": ("body-not-closed", 1, "open"),
    "body-status-only": ("body-not-closed", 1, "open"),
    "body-json-first-value": ("body-not-closed", 1, "open"),
    "body-branch-leak": ("body-not-closed", 1, "open"),
    "body-post-header": ("body-not-closed", 1, "open"),
    "body-defer-before-check": ("defer-before-err-check", 1, "panics"),
    # leaks: contexts (children registered with a counting parent)
    "cancel-lost-on-branch": ("lost-cancel", 1, "live"),
    "cancel-discarded": ("lost-cancel", 1, "live"),
    "deadline-discarded": ("lost-cancel", 1, "live"),
    # leak: context's own watcher goroutine, which ends only when cancel is called
    "cancel-watcher-goroutine": ("lost-cancel", 1, "goroutines"),
}

# Shapes the engine gets wrong today (shape -> how), each a strict xfail: none since the
# ownership model (rules/ownership.py). Before it, 14 no-patch shapes were patched (files
# closed under a returned bufio.Scanner, csv.Reader, io.MultiReader, io.LimitReader, gzip.Reader,
# io.TeeReader, io.SectionReader, method value or closure; bodies under a returned bufio.Reader
# or json.Decoder; returned contexts cancelled), and two added since (a deferred Flush in a
# loop, a deferred read registered before the open) would have been.
FAILS_TODAY: dict[str, str] = {}

OUT_LINE = re.compile(r"^(\d\d) (\S+): (.*)$")
PATCH_LINE = re.compile(r"^REHAB: patched (\S+) defer@(ast-node-[0-9a-f]+) (\S+):(\d+)$")
SHAPE_MARK = re.compile(r"^\s*// shape: (\S+)\s*$")
PATCH_MARK = re.compile(r"^\s*// patch: (\S+)\s*$")
# what is vetted: everything but internal/novet, whose shapes go vet rejects on purpose
VETTED = [".", "./internal/fakedb", "./internal/probe"]


def counter_of(line: str, name: str) -> tuple[str, int] | None:
    """(the line without its trailing counter, the counter's value)."""
    m = re.search(rf"(?:^| ){re.escape(name)}=(\d+)$", line)
    if not m:
        return None
    return line[: m.start()], int(m.group(1))


@dataclass
class Patch:
    rule: str
    node: str
    file: str  # relative to the module root
    line: int


@dataclass
class Harness:
    src: Path
    plain: dict[str, str]
    rehab: dict[str, str]
    patches: list[Patch]
    spans: dict[tuple[str, int], str]  # (file, line) -> shape, for every line of a shape
    marked: dict[str, set[tuple[str, str, int]]]  # shape -> {(rule, file, line)} a fix patches
    seen_shapes: set[str]
    digest_diff: list[str]
    build_stderr: dict[str, str]
    rejections: str  # what the rehab build appended to rejections.log (internal errors, fail-open)
    seconds: dict[str, float] = field(default_factory=dict)
    original_diff: list[str] = field(default_factory=list)

    def shape_of(self, p: Patch) -> str | None:
        return self.spans.get((p.file, p.line))

    def patches_of(self, shape: str) -> list[Patch]:
        return [p for p in self.patches if self.shape_of(p) == shape]

    def unattributed(self) -> list[Patch]:
        return [p for p in self.patches if self.shape_of(p) is None]


def _parse_output(text: str) -> dict[str, str]:
    out = {}
    for ln in text.splitlines():
        m = OUT_LINE.match(ln)
        if m:
            out[m.group(2)] = m.group(3)
    return out


def _markers(src: Path):
    spans: dict[tuple[str, int], str] = {}
    marked: dict[str, set[tuple[str, str, int]]] = {}
    seen: set[str] = set()
    for path in sorted(src.rglob("*.go")):
        rel = str(path.relative_to(src))
        shape = None
        for i, ln in enumerate(path.read_text().splitlines(), 1):
            m = SHAPE_MARK.match(ln)
            if m:
                shape = m.group(1)
                seen.add(shape)
            if shape is None:
                continue
            spans[(rel, i)] = shape
            m = PATCH_MARK.match(ln)
            if m:
                marked.setdefault(shape, set()).add((m.group(1), rel, i + 1))
    return spans, marked, seen


def _patches(stderr: str, src: Path) -> list[Patch]:
    out = []
    for ln in stderr.splitlines():
        m = PATCH_LINE.match(ln.strip())
        if m:
            f = m.group(3)
            f = os.path.relpath(f if os.path.isabs(f) else os.path.normpath(src / f), src)
            out.append(Patch(m.group(1), m.group(2), f, int(m.group(4))))
    return out


def _rejections_log() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "toolexec-rehab" / "rejections.log"


def run_harness(work: Path) -> Harness:
    """Copy the fixture to work/src, build it plain and through the shim (at the same
    time), run both binaries (at the same time) and collect everything."""
    src = work / "src"
    shutil.copytree(FIXTURE, src)
    before = tree_digest(src)
    spans, marked, seen = _markers(src)
    base = {"GOPROXY": "off", "GOFLAGS": ""}  # std only: never the network
    envs = {
        "plain": go_env(**base),
        "rehab": go_env(**{**base, "GOFLAGS": f"-toolexec={BIN}", "REHAB_VERBOSE": "1"}),
    }
    seconds = {}
    log = _rejections_log()
    log_size = log.stat().st_size if log.is_file() else 0
    t0 = time.monotonic()
    procs = {k: subprocess.Popen(["go", "build", "-o", str(work / k), "."], cwd=src, env=e, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k, e in envs.items()}
    stderr = {}
    for k, p in procs.items():
        _, stderr[k] = p.communicate(timeout=600)
        assert p.returncode == 0, f"{k} build failed:\n{stderr[k]}"
    seconds["builds (parallel)"] = time.monotonic() - t0
    after = tree_digest(src)
    rejections = ""
    if log.is_file():
        with open(log, errors="replace") as fh:
            fh.seek(log_size)
            rejections = fh.read()
    t0 = time.monotonic()
    runs = {k: subprocess.Popen([str(work / k)], cwd=work, env=go_env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in envs}
    outs = {}
    for k, p in runs.items():
        outs[k], err = p.communicate(timeout=120)
        assert p.returncode == 0, f"{k} binary exit {p.returncode}:\n{outs[k]}\n{err}"
    seconds["runs (parallel)"] = time.monotonic() - t0
    return Harness(src=src, plain=_parse_output(outs["plain"]), rehab=_parse_output(outs["rehab"]),
                   patches=_patches(stderr["rehab"], src), spans=spans, marked=marked, seen_shapes=seen,
                   digest_diff=digest_diff(before, after), build_stderr=stderr, rejections=rejections,
                   seconds=seconds)


def shape_problems(h: Harness, name: str) -> list[str]:
    """Everything wrong with one shape ([] when the rehab build got it right)."""
    rule, want, counter = SHAPES[name]
    plain, rehab = h.plain.get(name), h.rehab.get(name)
    if plain is None or rehab is None:
        return [f"no output line (plain={plain!r}, rehab={rehab!r})"]
    problems = []
    if counter is None:
        if rehab != plain:
            problems.append(f"output differs: plain {plain!r}, rehab {rehab!r}")
    else:
        p, r = counter_of(plain, counter), counter_of(rehab, counter)
        if p is None or r is None:
            return [f"no {counter}= counter (plain {plain!r}, rehab {rehab!r})"]
        if p[1] == 0:
            problems.append(f"the plain build shows no leak: {plain!r}")
        if r[1] != 0:
            problems.append(f"leak not removed: rehab {rehab!r}")
        if p[0] != r[0]:
            problems.append(f"output differs beyond the leak: plain {plain!r}, rehab {rehab!r}")
    got = h.patches_of(name)
    if len(got) != want:
        problems.append(f"{len(got)} build patches, want {want}: "
                        + (", ".join(f"{p.rule} {p.file}:{p.line}" for p in got) or "none"))
    if {(p.rule, p.file, p.line) for p in got} != h.marked.get(name, set()):
        problems.append(f"patched {sorted((p.rule, p.file, p.line) for p in got)}, "
                        f"marked {sorted(h.marked.get(name, set()))}")
    if problems and h.rejections:
        problems.append("the rehab build fell back to the originals (rejections.log): " + h.rejections.strip())
    return problems


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Harness:
    if shutil.which("go") is None:
        pytest.skip("go not on PATH")
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("the file shapes count descriptors in /proc/self/fd (Linux)")
    original = tree_digest(FIXTURE)
    h = run_harness(tmp_path_factory.mktemp("behaviour"))
    h.original_diff = digest_diff(original, tree_digest(FIXTURE))
    return h


def _xfail_if(names: list[str], what: str):
    return pytest.mark.xfail(bool(names), strict=True,
                             reason=f"{what} today: " + ", ".join(names) if names else "")


NO_PATCH = [n for n, (_, _, c) in SHAPES.items() if c is None]
LEAKS = [n for n, (_, _, c) in SHAPES.items() if c is not None]
NO_PATCH_FAILING = [n for n in NO_PATCH if n in FAILS_TODAY]
LEAKS_FAILING = [n for n in LEAKS if n in FAILS_TODAY]


def test_fixture_tree_unchanged(harness):
    """The build never writes to the source tree: neither the copy it built nor the fixture."""
    assert harness.digest_diff == []
    assert harness.original_diff == []


def test_expectations_match_fixture(harness):
    """The table, the program's output and the source markers name the same shapes, and a
    leak shape's `// patch:` markers are as many as the patches it expects, for its rule."""
    assert len(NO_PATCH) >= 25 and len(LEAKS) >= 15
    assert set(harness.plain) == set(SHAPES), set(harness.plain) ^ set(SHAPES)
    assert harness.seen_shapes == set(SHAPES), harness.seen_shapes ^ set(SHAPES)
    for name, (rule, want, _) in SHAPES.items():
        marks = harness.marked.get(name, set())
        assert len(marks) == want and all(r == rule for r, _, _ in marks), (name, marks)
    assert set(FAILS_TODAY) <= set(SHAPES)


def test_plain_build_shows_every_leak(harness):
    """The baseline: without the shim every leak line shows its leak, and nothing timed out."""
    bad = {}
    for name in LEAKS:
        c = counter_of(harness.plain.get(name, ""), SHAPES[name][2])
        if c is None or c[1] == 0:
            bad[name] = harness.plain.get(name)
    assert bad == {}
    assert [n for n, ln in harness.plain.items() if ln.startswith(("PANIC", "TIMEOUT"))] == []


def test_fixture_passes_go_vet(harness):
    r = subprocess.run(["go", "vet", *VETTED], cwd=harness.src, env=go_env(GOPROXY="off"),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_nothing_patched_outside_the_shapes(harness):
    assert [(p.rule, p.file, p.line) for p in harness.unattributed()] == []


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=FAILS_TODAY[n])) if n in FAILS_TODAY else n
    for n in SHAPES
])
def test_shape(harness, name):
    assert shape_problems(harness, name) == []


@_xfail_if(NO_PATCH_FAILING, "output changed by the rehab build")
def test_no_patch_output_identical(harness):
    differ = {n: (harness.plain.get(n), harness.rehab.get(n)) for n in NO_PATCH
              if harness.plain.get(n) != harness.rehab.get(n)}
    assert differ == {}


@_xfail_if(LEAKS_FAILING, "leak not removed")
def test_leaks_removed(harness):
    left = {}
    for n in LEAKS:
        c = counter_of(harness.rehab.get(n, ""), SHAPES[n][2])
        p = counter_of(harness.plain.get(n, ""), SHAPES[n][2])
        if c is None or c[1] != 0 or p is None or p[0] != c[0]:
            left[n] = harness.rehab.get(n)
    assert left == {}


@_xfail_if(sorted(FAILS_TODAY), "wrong number of build patches")
def test_patch_count_per_shape(harness):
    got = {n: len(harness.patches_of(n)) for n in SHAPES}
    want = {n: w for n, (_, w, _) in SHAPES.items()}
    assert {n: got[n] for n in SHAPES if got[n] != want[n]} == {}
    assert len(harness.patches) == sum(want.values())


@_xfail_if(sorted(FAILS_TODAY), "patched lines differ from the marked leak lines")
def test_patched_lines_are_the_leak_lines(harness):
    got = {(p.rule, p.file, p.line) for p in harness.patches}
    want = set().union(*harness.marked.values())
    assert sorted(got - want) == [] and sorted(want - got) == []
