"""The compile server's client without Python (toolexec_rehab/native/main.go, toolexec/native.py).

- Against a stand-in server (a socket in this process, real marshal): the client sends the
  request the Python client sends, relays each kind of answer (the speculative compile is
  the answer; an exit status with output; stop the speculative compile, then an answer;
  "not answered"), and answers nothing (exit 215, nothing printed) when any line of its
  pointer does not hold.
- Through the launcher, in a real `go build`: once the Python client has written the
  pointer, the next compile is answered by the native client, with the same fix and the
  same program.
"""

from __future__ import annotations

import marshal
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from helpers import BIN, compile_tool, go_env, listeners

from toolexec_rehab.toolexec import native
from toolexec_rehab.toolexec.protocol import code_key

NOT_ANSWERED, NOT_ANSWERED_KILLED, SPEC_RC = 215, 216, 213


@pytest.fixture(scope="module")
def client() -> str:
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain")
    if native.needs_build():
        if not os.access(native.SRC, os.W_OK):
            pytest.skip("the install is not writable: no native client")
        assert native.build(compile_tool()), "go build of the native client failed"
    assert not native.needs_build()
    return native.BINARY


class Stage:
    """A cache dir, a runtime dir with a stand-in server's socket, and a pointer to it."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.rt = tmp / "rt"
        self.rt.mkdir(mode=0o700)
        self.sockdir = self.rt / "toolexec-rehab"
        self.sockdir.mkdir(mode=0o700)
        self.cache = tmp / "cache"
        self.cache.mkdir(mode=0o700)
        self.pkg = tmp / "pkg"  # stands for our package: its .py files are in the socket's name
        (self.pkg / "sub").mkdir(parents=True)
        (self.pkg / "__pycache__").mkdir()
        for f in ("a.py", "sub/b.py", "__pycache__/c.py", "data.txt"):
            (self.pkg / f).write_text("x = 1\n")
        self.interp = tmp / "python"  # stands for the interpreter's files (F)
        self.interp.write_text("")
        self.head = ["/venv/bin/python", "3.11.0 (stand-in)", str(self.pkg), ":/usr/lib/python311.zip"]
        self.launcher = "/opt/venv/bin"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("REHAB_", "PYTHON", "XDG_RUNTIME_DIR", "TOOLEXEC_", "LC_", "LANG"))}
        self.env.update(XDG_RUNTIME_DIR=str(self.rt), PYTHONFOO="1", TOOLEXEC_IMPORTPATH="example.com/p",
                        REHAB_SERVER_TRACE=str(tmp / "trace"), FOO="bar", LANG="C.UTF-8")
        self.ack = tmp / "ack"
        self.requests: list[dict] = []
        self.script: list = []
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(str(self.sockdir / f"srv-{code_key(self.head, str(self.pkg))}.sock"))
        self.srv.listen(4)
        threading.Thread(target=self._serve, daemon=True).start()

    def lines(self) -> list[str]:
        st = os.stat(self.interp)
        return [f"V {native.source_version()}", f"K {self.launcher}",
                *[f"Q {x.encode().hex()}" for x in self.head], "P 1", "E PYTHONFOO=1",
                "W LC_ALL", "W LC_CTYPE", "W LANG=C.UTF-8", "Z LC_CTYPE=C.UTF-8", "U utf-8:surrogateescape",
                f"F {st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {self.interp}"]

    def point(self, lines: list[str] | None = None, mode: int = 0o600) -> None:
        p = self.cache / native.POINTER
        p.write_text("\n".join(self.lines() if lines is None else lines) + "\n")
        p.chmod(mode)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            with conn:
                self.requests.append(_recv(conn))
                for step in self.script:
                    if step == "kill":
                        _send(conn, {"kill": True})
                        assert _recv(conn) == {"ok": True}
                    else:
                        _send(conn, step)

    def run(self, argv: list, spec: int | None = None, **env) -> subprocess.CompletedProcess:
        e = {**self.env, **env}
        if spec is not None:
            e["REHAB_SPEC"] = str(spec)
        return subprocess.run([native.BINARY, str(self.cache), self.launcher, str(self.ack), *argv], env=e,
                              cwd=self.tmp, capture_output=True, timeout=60)

    def close(self) -> None:
        self.srv.close()


def _send(conn, obj) -> None:
    data = marshal.dumps(obj)
    conn.sendall(len(data).to_bytes(4, "big") + data)


def _recv(conn):
    def exact(n):
        b = b""
        while len(b) < n:
            c = conn.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b

    return marshal.loads(exact(int.from_bytes(exact(4), "big")))


@pytest.fixture
def stage(client):
    tmp = Path(tempfile.mkdtemp(prefix="nc", dir="/tmp"))  # a short path: a socket's name holds ~107 bytes
    s = Stage(tmp)
    yield s
    s.close()
    shutil.rmtree(tmp, ignore_errors=True)


def _sibling() -> subprocess.Popen:
    """The launcher's speculative compile stands for this: a child of ours, as the client is."""
    return subprocess.Popen(["sleep", "60"])


def test_the_request_is_the_python_client_s_and_the_speculative_compile_answers(stage):
    argv = ["/go/pkg/tool/linux_amd64/compile", "-o", "/tmp/x/_pkg_.a", "-p", "example.com/p", "a.go"]
    stage.point()
    stage.script = [{"exec": list(argv), "out": b"", "err": b"", "parsed": 0}]
    spec = _sibling()
    try:
        r = stage.run(argv, spec=spec.pid)
        assert r.returncode == SPEC_RC, r
        assert spec.poll() is None, "the speculative compile is the answer: it must run on"
    finally:
        spec.kill()
        spec.wait()
    (req,) = stage.requests
    assert req["argv"] == argv and req["cwd"] == os.path.realpath(stage.tmp)
    assert req["spec"] is True and req["cli"] is False and req["umask"] == _umask()
    # the environment as Python's os.environ holds it: less REHAB_SPEC, plus what Python adds (Z)
    assert req["env"] == {**stage.env, "LC_CTYPE": "C.UTF-8"}
    assert (stage.tmp / "trace").read_text() == "served example.com/p parsed=0 client=native\n"
    assert stage.ack.exists()


def _umask() -> int:
    m = os.umask(0o022)
    os.umask(m)
    return m


def test_an_answer_with_output_and_a_status_stops_the_speculative_compile(stage):
    stage.point()
    same = "repeated " * 3  # one object twice: a back-reference in marshal
    stage.script = [{"rc": 2, "out": b"to stdout\n", "err": b"x.go:3:1: an error\n", "parsed": 4,
                     "extra": [same, same]}]
    spec = _sibling()
    try:
        r = stage.run(["/go/pkg/tool/linux_amd64/compile", "a.go"], spec=spec.pid)
        assert spec.wait(timeout=10) == -9, "the speculative compile was not stopped"
    finally:
        spec.kill()
    assert (r.returncode, r.stdout, r.stderr) == (2, b"to stdout\n", b"x.go:3:1: an error\n")


def test_a_stop_asked_before_the_answer_is_done_first(stage):
    stage.point()
    stage.script = ["kill", {"rc": 0, "out": b"", "err": b"REHAB: patched file-not-closed\n", "parsed": 1}]
    spec = _sibling()
    try:
        r = stage.run(["/go/pkg/tool/linux_amd64/compile", "a.go"], spec=spec.pid)
        assert spec.poll() == -9, "stopped before the answer"
    finally:
        spec.kill()
    assert (r.returncode, r.stderr) == (0, b"REHAB: patched file-not-closed\n")


@pytest.mark.parametrize("script, rc", [
    ([{"fallback": True}], NOT_ANSWERED),
    (["kill", {"fallback": True}], NOT_ANSWERED_KILLED),
    ([b"not a dict"], NOT_ANSWERED),
    ([], NOT_ANSWERED),  # the server closed without an answer
    ([{"rc": 1.5}], NOT_ANSWERED),
    ([{"rc": 215, "out": b"x", "err": b""}], NOT_ANSWERED),  # a status the launcher reads otherwise
    ([{"rc": 127 + 256, "out": b"", "err": b"y"}], NOT_ANSWERED),
    ([{"exec": [], "rc": 213}], NOT_ANSWERED),
    ([{"exec": "not a list"}], NOT_ANSWERED),
    ([{"rc": 0, "out": "not bytes"}], NOT_ANSWERED),
])
def test_no_answer_leaves_the_compile_to_python_and_prints_nothing(stage, script, rc):
    stage.point()
    stage.script = script
    spec = _sibling()
    try:
        r = stage.run(["/go/pkg/tool/linux_amd64/compile", "a.go"], spec=spec.pid)
        assert (spec.poll() == -9) == (rc == NOT_ANSWERED_KILLED)
    finally:
        spec.kill()
        spec.wait()
    assert (r.returncode, r.stdout, r.stderr, stage.ack.exists()) == (rc, b"", b"", False)


@pytest.mark.parametrize("spoil", [
    "valid", "version", "launcher", "sys.path", "python var changed", "python var added", "locale changed",
    "code file edited", "code file added", "code dir added", "cache file added", "interpreter touched",
    "interpreter rewritten, mtime kept", "unknown line", "line missing", "pointer readable by others",
    "pointer a symlink", "runtime dir not private", "REHAB_SERVER=off", "no REHAB_SPEC", "not UTF-8",
    "non-ASCII, not a UTF-8 file system", "non-ASCII",
])
def test_a_pointer_that_does_not_hold_is_not_followed(stage, spoil):
    lines = stage.lines()
    env: dict = {}
    swap = {"version": ("V ", "V 0000"), "launcher": ("K ", "K /elsewhere/bin"),
            "python var changed": ("E ", "E PYTHONFOO=2"), "non-ASCII, not a UTF-8 file system": ("U ", "U ascii:strict")}
    if spoil in swap:
        head, new = swap[spoil]
        lines = [new if x.startswith(head) else x for x in lines]
    elif spoil == "sys.path":
        lines = [x if x != f"Q {stage.head[3].encode().hex()}" else f"Q {'/x'.encode().hex()}" for x in lines]
    elif spoil == "unknown line":
        lines.append("Y what")
    elif spoil == "line missing":
        lines = [x for x in lines if not x.startswith("U ")]
    stage.point(lines, mode=0o644 if spoil == "pointer readable by others" else 0o600)
    if spoil == "pointer a symlink":
        p = stage.cache / native.POINTER
        p.rename(stage.cache / "real")
        p.symlink_to(stage.cache / "real")
    elif spoil == "python var added":
        env["PYTHONBAR"] = "1"
    elif spoil == "locale changed":
        env["LC_ALL"] = "C"
    elif spoil == "code file edited":
        t = os.stat(stage.pkg / "sub" / "b.py").st_mtime_ns + 1000
        os.utime(stage.pkg / "sub" / "b.py", ns=(t, t))
    elif spoil == "code file added":
        (stage.pkg / "sub" / "c.py").write_text("")
    elif spoil == "code dir added":
        (stage.pkg / "more").mkdir()
        (stage.pkg / "more" / "d.py").write_text("")
    elif spoil == "cache file added":  # not .py, or under __pycache__: not in the key, as for Python
        (stage.pkg / "__pycache__" / "d.py").write_text("")
        (stage.pkg / "notes.txt").write_text("")
    elif spoil == "interpreter touched":
        os.utime(stage.interp)
    elif spoil == "interpreter rewritten, mtime kept":
        st = os.stat(stage.interp)
        time.sleep(0.01)
        stage.interp.write_text("")  # (as an upgrade that keeps the packaged mtime: the ctime moves)
        os.utime(stage.interp, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif spoil == "runtime dir not private":
        stage.sockdir.chmod(0o750)
    elif spoil == "REHAB_SERVER=off":
        env["REHAB_SERVER"] = "off"
    argv = ["/go/pkg/tool/linux_amd64/compile", "a.go"]
    if spoil == "not UTF-8":
        argv.append("b\udcff.go")
    elif spoil.startswith("non-ASCII"):
        argv.append("caf\u00e9.go")
    stage.script = [{"exec": list(argv), "out": b"", "err": b"", "parsed": 0}]
    spec = _sibling()
    try:
        r = subprocess.run([native.BINARY, str(stage.cache), stage.launcher, str(stage.ack),
                            *[os.fsencode(a) for a in argv]],
                           env={**stage.env, **env, **({} if spoil == "no REHAB_SPEC" else {"REHAB_SPEC": str(spec.pid)})},
                           cwd=stage.tmp, capture_output=True, timeout=60)
    finally:
        spec.kill()
        spec.wait()
        stage.sockdir.chmod(0o700)
    if spoil in ("valid", "cache file added", "non-ASCII"):
        assert r.returncode == SPEC_RC and len(stage.requests) == 1, r
    else:
        assert (r.returncode, r.stdout, r.stderr, stage.requests) == (NOT_ANSWERED, b"", b"", []), r


def test_the_socket_it_names_is_the_one_python_names():
    """Against the real interpreter: the parts the pointer gives, and the key the client
    computes from them and the files, are protocol.code_key's (the key is the socket's name)."""
    from toolexec_rehab.toolexec.protocol import key_head

    head, pkg = key_head()
    assert code_key(head, pkg) == code_key()


MAIN = """\
package main

import (
	"fmt"
	"io"
	"os"
)

func read(name string) (int, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(f)
	return len(b), err
}

func main() {
	n, err := read("go.mod")
	fmt.Println(n, err)
}
"""


def test_a_build_is_answered_by_the_native_client_once_python_has_pointed_it(client, tmp_path):
    if not list(BIN.parent.glob("../lib/python3*/site-packages/toolexec_rehab/shim.py")):
        pytest.skip("not a wheel install: the launcher has no -S fast path, the native client no pointer")
    rt = Path(tempfile.mkdtemp(prefix="ncb", dir="/tmp"))
    rt.chmod(0o700)
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    (mod / "main.go").write_text(MAIN)
    trace = tmp_path / "trace"
    env = go_env(XDG_RUNTIME_DIR=str(rt), XDG_CACHE_HOME=str(tmp_path / "xdg"), REHAB_SERVER_TRACE=str(trace),
                 REHAB_SERVER_IDLE="60", REHAB_VERBOSE="1", GOFLAGS=f"-toolexec={BIN}")
    env = {k: v for k, v in env.items() if not (k.startswith("REHAB_") and k not in (
        "REHAB_SERVER_TRACE", "REHAB_SERVER_IDLE", "REHAB_VERBOSE"))}
    try:
        outs = []
        for i in range(3):  # spawns the server; Python writes the pointer; the native client asks
            (mod / "main.go").write_text(MAIN + f"\n// edit {i}\n")
            r = subprocess.run(["go", "build", "-o", "prog", "."], cwd=mod, env=env, capture_output=True, text=True,
                               timeout=300)
            assert r.returncode == 0, r.stderr
            assert "REHAB: patched file-not-closed" in r.stderr, (i, r.stderr)
            outs.append(subprocess.run([str(mod / "prog")], cwd=mod, capture_output=True, text=True).stdout)
            if i == 0:
                _wait_for_socket(rt / "toolexec-rehab")
        served = trace.read_text().splitlines()
        mine = [x for x in served if x.startswith("served example.com/m ")]
        # (the first build's compile may be served already: its -V=full started the server)
        assert len(mine) >= 2 and "client=native" not in mine[0] and mine[-1].endswith("client=native"), served
        assert len(set(outs)) == 1 and outs[0].split()[1] == "<nil>", outs
        # the same program as a build without us
        plain = {k: v for k, v in env.items() if k != "GOFLAGS"}
        subprocess.run(["go", "build", "-o", "plain", "."], cwd=mod, env=plain, check=True, timeout=300)
        assert subprocess.run([str(mod / "plain")], cwd=mod, capture_output=True, text=True).stdout == outs[0]
    finally:
        for s in (rt / "toolexec-rehab").glob("srv-*.sock"):
            for pid in listeners(s):
                os.kill(pid, 15)
        shutil.rmtree(rt, ignore_errors=True)


def _wait_for_socket(d: Path) -> None:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if d.is_dir() and list(d.glob("srv-*.sock")):
            time.sleep(0.5)  # the server binds after its imports: let it reach its accept loop
            return
        time.sleep(0.05)
    raise AssertionError("the compile server's socket never appeared")


def test_the_server_s_background_build_puts_a_working_client_in_place(tmp_path, monkeypatch):
    """native.build_in_background, as the idle server runs it (SIGCHLD ignored there), on a
    copy of the source: the client and its version appear, and nothing half-made is left."""
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain")
    import signal

    src = tmp_path / "native"
    src.mkdir()
    for name in ("go.mod", "main.go"):
        shutil.copy(os.path.join(native.SRC, name), src / name)
    monkeypatch.setattr(native, "SRC", str(src))
    monkeypatch.setattr(native, "BINARY", str(src / "rehab-client"))
    assert native.needs_build()
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        native.build_in_background(compile_tool())
    finally:
        signal.signal(signal.SIGCHLD, old)
    end = time.monotonic() + 300
    while native.needs_build() and time.monotonic() < end:
        time.sleep(0.2)
    assert not native.needs_build(), sorted(os.listdir(src))
    assert sorted(os.listdir(src)) == ["go.mod", "main.go", "rehab-client"]
    assert native.installed_version() == native.source_version()
    st = os.stat(native.BINARY)
    assert st.st_mode & 0o777 == 0o700
    r = subprocess.run([native.BINARY, str(tmp_path), "/x", str(tmp_path / "ack"), "/bin/true"],
                       env={"REHAB_SPEC": "1"}, timeout=30)
    assert r.returncode == NOT_ANSWERED  # (no pointer there)
