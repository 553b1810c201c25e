"""Every testdata package: findings match `// want`, fixes match `.go.golden`."""

import os

import analysistest
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "testdata", "src")
PKGS = sorted(d for d in os.listdir(SRC) if os.path.isdir(os.path.join(SRC, d)))


@pytest.mark.parametrize("pkg", PKGS)
def test_package(pkg):
    from toolexec_rehab.analysis import go_env_goroot

    res = analysistest.run(analysistest.analyzer_for(pkg, go_env_goroot()), os.path.join(SRC, pkg))
    problems = [f"missing: {f}:{ln}: want {rx!r}" for f, ln, rx in res.missing]
    problems += [f"unexpected: {f}:{ln}: {t}" for f, ln, t in res.unexpected]
    problems += [f"golden mismatch: {f} vs {g}" for f, g in res.golden_diffs]
    assert not problems, "\n".join(problems)
    if any(analysistest.wants(os.path.join(SRC, pkg, n)) for n in os.listdir(os.path.join(SRC, pkg)) if n.endswith(".go")):
        assert res.matched > 0


def test_goldens_build_and_vet(tmp_path):
    """Every golden package compiles and passes go vet (the fixes are valid Go)."""
    import shutil
    import subprocess

    from helpers import go_env

    dst = tmp_path / "src"
    shutil.copytree(SRC, dst)
    n = 0
    for golden in dst.rglob("*.go.golden"):
        golden.with_suffix("").write_bytes(golden.read_bytes())
        golden.unlink()
        n += 1
    assert n >= 5
    for cmd in (["go", "build", "./..."], ["go", "vet", "./..."]):
        r = subprocess.run(cmd, cwd=dst, env=go_env(), capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{' '.join(cmd)}:\n{r.stderr}"


@pytest.mark.parametrize("pkg", PKGS)
def test_fixing_twice_is_fixing_once(pkg, tmp_path):
    """Re-analysing fixed output finds nothing more to fix."""
    import shutil

    from toolexec_rehab.analysis import PackageInput, build_packages, go_env_goroot
    from toolexec_rehab.rules.engine import apply_fixes

    analyzer = analysistest.analyzer_for(pkg, go_env_goroot())
    d = tmp_path / pkg
    shutil.copytree(os.path.join(SRC, pkg), d)
    files = sorted(str(p) for p in d.glob("*.go"))
    for pkgobj in build_packages(PackageInput(str(d), files)):
        fs = analyzer.analyze(pkgobj)
        for gf in pkgobj.files:
            res = apply_fixes(gf, [x for x in fs if x.path == gf.path])
            if res.new_src is not None:
                open(gf.path, "wb").write(res.new_src)
    for pkgobj in build_packages(PackageInput(str(d), files)):
        again = [x for x in analyzer.analyze(pkgobj) if x.fix]
        assert not again, [(x.path, x.line, x.rule) for x in again]


@pytest.mark.parametrize("pkg", PKGS)
def test_one_build_pass_is_the_fixed_point(pkg, tmp_path):
    """A build applies its fixes once (issue 16, item 10): what it compiles, analysed as a
    build would again - every rule in fix mode, the opt-in ones too - has nothing left to fix
    (the unchecked-error chain that once needed a second build: its build form only records
    the dropped error, control flow as written)."""
    import shutil

    from toolexec_rehab.analysis import Analyzer, PackageInput, build_packages, go_env_goroot
    from toolexec_rehab.rules.engine import apply_fixes
    from toolexec_rehab.rules.loader import all_rules

    modes = {r.id: "fix" for r in all_rules() if r.rule.fix is not None}
    rules = [r for r in all_rules() if r.rule.fix is not None]
    analyzer = Analyzer(go_env_goroot(), rules=rules, modes=modes, fixable_only=True)
    d = tmp_path / pkg
    shutil.copytree(os.path.join(SRC, pkg), d, ignore=shutil.ignore_patterns("*.golden"))
    files = sorted(str(p) for p in d.glob("*.go"))
    fixed = 0
    for pkgobj in build_packages(PackageInput(str(d), files)):
        fs = analyzer.analyze(pkgobj)
        for gf in pkgobj.files:
            res = apply_fixes(gf, [x for x in fs if x.path == gf.path and x.fixable])
            if res.new_src is not None:
                assert res.new_src.count(b"\n") == gf.src.count(b"\n")  # a build keeps every line
                open(gf.path, "wb").write(res.new_src)
                fixed += 1
    for pkgobj in build_packages(PackageInput(str(d), files)):
        again = [x for x in analyzer.analyze(pkgobj) if x.fixable]
        assert not again, [(x.path, x.line, x.rule) for x in again]
    if pkg in ("rows", "files", "body", "uncheckederr"):
        assert fixed > 0
