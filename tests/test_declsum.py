"""golang/declsum.py: the digests that keep a compile's cached findings valid. A declaration
that an analysis read must change its digest when its text, its place or its file's imports
change, and a declaration it did not read must not matter."""

from __future__ import annotations

import os
import textwrap
import time

from toolexec_rehab.golang import declsum, inputs
from toolexec_rehab.golang.package import Package, load_file

HUB = textwrap.dedent("""\
    package hub

    import "os"

    type Hash [32]byte

    type Conn struct{ f *os.File }

    func (c *Conn) Close() error { return c.f.Close() }

    func Open(p string) (*Conn, error) {
    	f, err := os.Open(p)
    	return &Conn{f}, err
    }

    var Default, Other = 1, 2
    """)


def _table(d):
    root = d.parent
    return declsum.current(str(root), "example.com/m", "example.com/m/" + d.name)


def _module(tmp_path, src=HUB):
    d = tmp_path / "hub"
    d.mkdir(exist_ok=True)
    (tmp_path / "go.mod").write_text("module example.com/m\n")
    (d / "hub.go").write_text(src)
    return d


READ = (("funcs", "Open"), ("types", "Conn"), ("methods", ("Conn", "Close")), ("vars", "Other"), ("pkg", ""))


def test_a_new_function_leaves_the_digest_of_what_was_read(tmp_path):
    d = _module(tmp_path)
    before = declsum.digest(_table(d), READ)
    with open(d / "hub.go", "a") as fh:
        fh.write("\nfunc BenchEdit() int { return 1 }\n")
    assert declsum.digest(_table(d), READ) == before
    # but one who read that name, or the names of the funcs, sees it
    assert declsum.digest(_table(d), READ + (("funcs", "*"),)) != declsum.digest(
        declsum.from_files([load_file(str(d / "hub.go"), HUB.encode())]), READ + (("funcs", "*"),))


def test_a_changed_declaration_changes_the_digest(tmp_path):
    for old, new in (("(*Conn, error)", "(*os.File, error)"),  # a result type
                     ("type Conn struct{ f *os.File }", "type Conn struct{ *os.File }"),  # an embedding
                     ("var Default, Other = 1, 2", "var Other, Default = 1, 2"),  # a var's place in its spec
                     ('import "os"', 'import os "io/fs"'),  # what a name in the file means
                     ("package hub\n", "package hub\n\n// a line before everything\n")):  # where it is
        d = _module(tmp_path)
        before = declsum.digest(_table(d), READ)
        assert old in HUB
        (d / "hub.go").write_text(HUB.replace(old, new))
        assert declsum.digest(_table(d), READ) != before, (old, new)


def test_files_join_leave_and_break(tmp_path):
    d = _module(tmp_path)
    before = declsum.digest(_table(d), READ)
    (d / "more.go").write_text("package hub\n\nfunc More() {}\n")
    assert declsum.digest(_table(d), READ) != before  # ("pkg", ""): the files the package has
    (d / "more.go").write_text("package hub\n\nfunc More( {}\n")  # a syntax error: left out, as module_package does
    assert declsum.digest(_table(d), READ) == before
    (d / "more_test.go").write_text("package hub\n\nfunc Open() {}\n")  # tests are never read
    assert declsum.digest(_table(d), READ) == before
    (d / "hub.go").unlink()
    (d / "more.go").unlink()
    assert _table(d) == {("pkg", ""): declsum.NONE}
    assert declsum.current(str(tmp_path), "example.com/m", "example.com/other") == {("pkg", ""): declsum.NONE}


def test_the_kept_digest_and_the_checked_one_agree(tmp_path):
    """from_files (what the analysis loaded, when the result is kept) and current (the files
    now, when it is reused) give one digest for one content, the memo's or not."""
    d = _module(tmp_path)
    (d / "b.go").write_text("package hub\n\nfunc Open() {}\n")  # a later file's declaration wins
    files = [load_file(str(d / n)) for n in ("b.go", "hub.go")]
    kept = declsum.digest(declsum.from_files(files), READ)
    declsum._MEMO.clear()
    assert declsum.digest(_table(d), READ) == kept
    assert declsum.digest(_table(d), READ) == kept  # from the memo
    assert declsum.digest(declsum.from_files(files), READ) == kept


def test_a_module_package_records_what_is_read(tmp_path):
    d = _module(tmp_path)
    gf = load_file(str(d / "hub.go"))
    inputs.begin_consults()
    try:
        pkg = Package([gf], consulted="example.com/m/hub")
        assert pkg.funcs.get("Open") is not None
        assert ("Conn", "Close") in pkg.methods
        assert "Nope" not in pkg.types
        set(pkg.vars)
    finally:
        got = inputs.end_consults()
    assert got == {("example.com/m/hub", "funcs", "Open"), ("example.com/m/hub", "methods", ("Conn", "Close")),
                   ("example.com/m/hub", "types", "Nope"), ("example.com/m/hub", "vars", "*")}
    assert not inputs.consulting()
    pkg.funcs.get("Open")  # not recording: nothing kept, nothing fails
    assert inputs.end_consults() == set()


def test_a_package_checked_again_is_merged_again_only_when_a_file_changed(tmp_path):
    """The server checks one package for request after request: the table merged before
    answers while every file's summary is the memo's, and a change shows at once."""
    d = _module(tmp_path)
    old = time.time() - 60  # (older than the racy window: kept by stat)
    os.utime(d / "hub.go", (old, old))
    first = _table(d)
    assert _table(d) is first
    (d / "hub.go").write_text(HUB.replace("Other", "Another"))
    os.utime(d / "hub.go", (old, old))  # the same mtime: its size and ctime tell
    assert declsum.digest(_table(d), READ) != declsum.digest(first, READ)
    (d / "more.go").write_text("package hub\n")
    os.utime(d / "more.go", (old, old))
    assert _table(d)[("pkg", "")] != first[("pkg", "")]  # a file that came
