"""`go vet -vettool=toolexec-rehab`: cmd/go caches each package's vet result, keyed by the
package's files, our tool ID and its dependencies' facts files. Our analysis also reads the
sources of the module's other packages, so a change there that leaves their export data
alone (a function body) must still make the packages that import them be vetted again:
vettool.facts puts a digest of each package, and of its dependencies' facts, in its facts
file."""

from __future__ import annotations

import subprocess
import textwrap

from helpers import BIN, go_env

OPENER = textwrap.dedent("""\
    package a

    import "os"

    var kept *os.File

    //go:noinline
    func Open(p string) (*os.File, error) {
    	f, err := os.Open(p)
    	return f, err
    }
    """)

# the same declarations on the same lines, no inlinable body; Open now hands out a file it
# keeps (nothing for the caller to close)
KEEPER = OPENER.replace("\treturn f, err", "\tkept = f\n\treturn kept, err")

USER = textwrap.dedent("""\
    package b

    import "example.com/vc/a"

    func Name(p string) (string, error) {
    	f, err := a.Open(p)
    	if err != nil {
    		return "", err
    	}
    	return f.Name(), nil
    }
    """)


def _vet(root) -> subprocess.CompletedProcess:
    return subprocess.run(["go", "vet", f"-vettool={BIN}", "./..."], cwd=root, env=go_env(),
                          capture_output=True, text=True, timeout=600)


def test_a_body_change_in_an_imported_package_is_vetted_again(tmp_path):
    root = tmp_path / "vc"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "go.mod").write_text("module example.com/vc\n\ngo 1.22\n")
    (root / "a" / "a.go").write_text(OPENER)
    (root / "b" / "b.go").write_text(USER)
    r = _vet(root)
    assert r.returncode == 1 and "b.go:6:" in r.stderr and "a.Open" in r.stderr, r.stderr
    again = _vet(root)  # cached: the same result
    assert again.returncode == 1 and again.stderr == r.stderr
    (root / "a" / "a.go").write_text(KEEPER)
    r = _vet(root)
    assert r.returncode == 0 and "b.go" not in r.stderr, r.stderr
    (root / "a" / "a.go").write_text(OPENER)
    r = _vet(root)
    assert r.returncode == 1 and "b.go:6:" in r.stderr, r.stderr


def test_the_facts_file_changes_with_the_package_and_its_dependencies(tmp_path):
    from toolexec_rehab.vettool import facts

    src = tmp_path / "a.go"
    src.write_text("package a\n")
    dep = tmp_path / "dep.vetx"
    dep.write_bytes(b"one\n")
    cfg = {"ImportPath": "example.com/m/a", "Dir": str(tmp_path), "GoFiles": [str(src)],
           "PackageVetx": {"example.com/m/dep": str(dep)}, "Standard": {"fmt": True}}
    first = facts(cfg)
    assert facts(cfg) == first and first.strip()
    src.write_text("package a\n\nfunc f() {}\n")
    second = facts(cfg)
    assert second != first
    dep.write_bytes(b"two\n")  # a change anywhere below: the dependency's own facts changed
    assert facts(cfg) != second
    # a std package and a module-cache one are named, not read
    gone = {**cfg, "GoFiles": [str(tmp_path / "missing.go")], "PackageVetx": {}}
    assert facts({**gone, "ImportPath": "fmt"}) == facts({**gone, "ImportPath": "fmt", "Dir": "/elsewhere"})
