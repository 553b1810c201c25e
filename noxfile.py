"""Developer sessions: `nox -s tests`, `nox -s lint`."""

import glob
import os
import shutil

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
ROOT = os.path.dirname(os.path.abspath(__file__))


def _build_wheel(session) -> str:
    dist = os.path.join(session.create_tmp(), "dist")
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, ROOT)
    (wheel,) = glob.glob(os.path.join(dist, "toolexec_rehab-*.whl"))
    return wheel


@nox.session
def tests(session):
    """Build the wheel, install it (not editable), run pytest against the installed package."""
    wheel = _build_wheel(session)
    session.install("--force-reinstall", "--no-deps", wheel)
    session.install(wheel, "pytest>=8", "jsonschema>=4", "hypothesis>=6", "pytest-lsp>=1.0")
    # run from tests/ so that `import toolexec_rehab` resolves to the installed wheel
    session.chdir(os.path.join(ROOT, "tests"))
    session.run("pytest", "-p", "no:cacheprovider", *(session.posargs or ["."]))


@nox.session
def lint(session):
    session.install("ruff>=0.6", "import-linter>=2.1", "pyyaml", "pydantic", "jinja2", "tree-sitter>=0.25,<0.27",
                    "tree-sitter-go==0.25.0")
    session.run("ruff", "check", "toolexec_rehab", "tests", "tools", "noxfile.py")
    # the layers in README "Architecture" (pyproject.toml [tool.importlinter]): no arrow points up
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": ROOT})
    # every shipped rule loads and validates
    session.run("python", "-c", "from toolexec_rehab.rules.loader import load_rules; "
                "rs = load_rules(); print(f'{len(rs)} rules valid')", env={"PYTHONPATH": ROOT})


@nox.session
def accuracy(session):
    """Per-rule cases, recall and false positives on testdata/ (targets: recall >= 95%, fp <= 2%)."""
    session.install("-e", ROOT)
    session.run("python", os.path.join(ROOT, "tools", "accuracy.py"))


@nox.session
def corpus(session):
    """Reliability on code no one here wrote (long; not in the default sessions): 23 pinned
    open-source modules built, vetted and tested plain and under the shim (table), then the
    standard library: `go build -a std` with scope=all and every rule in fix mode, and
    `go test` of os, net/http, database/sql, encoding/json, bufio under the shim.
    `nox -s corpus -- --only uuid,sqlx` passes its arguments to tools/corpus.py."""
    wheel = _build_wheel(session)
    session.install("--force-reinstall", "--no-deps", wheel)
    session.install(wheel)
    session.run("python", os.path.join(ROOT, "tools", "corpus.py"), *session.posargs)
    if not session.posargs:
        session.run("python", os.path.join(ROOT, "tools", "stdstress.py"))


@nox.session
def compat(session):
    """The integration tests on the installed Go and on two older minor versions, fetched with
    GOTOOLCHAIN through the module proxy (long; not in the default sessions).
    `nox -s compat -- --go local,go1.24.13` picks the toolchains."""
    wheel = _build_wheel(session)
    session.install("--force-reinstall", "--no-deps", wheel)
    session.install(wheel, "pytest>=8", "jsonschema>=4", "hypothesis>=6")
    session.run("python", os.path.join(ROOT, "tools", "compat.py"), *session.posargs)


@nox.session
def bench(session):
    """The cost against plain `go build` and `go vet` (tools/bench.py -> BENCH.md). Not in the default sessions:
    it takes several minutes (cold builds with a fresh GOCACHE, std included)."""
    wheel = _build_wheel(session)
    session.install("--force-reinstall", "--no-deps", wheel)
    session.install(wheel)
    session.run("python", os.path.join(ROOT, "tools", "bench.py"), *session.posargs)
