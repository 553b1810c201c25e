"""The compile server cancels the request of a client that went away (toolexec/server.py:
_HangupWatch): a `check` or a compile whose process was killed (Ctrl-C, cmd/go) must not keep a
forked child analysing, or a compiler it started running, for seconds. The listening server
lives on and serves the next request; a client that is still there, including one that answers
the server's request to kill its speculative compile, is never cancelled.

Each test runs its own server (a private XDG_RUNTIME_DIR holds its socket) and finds its
processes by a marker in their environment; the server runs in a session of its own (setsid), so
whatever it forked, even after being re-parented, is found by that session id."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import BIN, LEAKY, compile_tool, go_env

MARK = "SC_TEST_SERVER_MARK"  # not REHAB_*: the settings module checks those names


def _stat(pid: int):
    """(state, ppid, pgrp, session) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    f = data[data.rfind(b")") + 2:].split()
    return f[0].decode(), int(f[1]), int(f[2]), int(f[3])


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")  # a zombie does no work


def _processes() -> dict[int, tuple]:
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat(int(d))
            if st and st[0] not in ("Z", "X"):
                out[int(d)] = st
    return out


def _wait(pred, timeout: float, what: str, step: float = 0.02):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


class Server:
    """A compile server of this test alone."""

    def __init__(self, tmp_path: Path):
        self.nonce = os.urandom(8).hex()
        rt = tmp_path / "rt"
        rt.mkdir(mode=0o700)
        self.sockdir = rt / "toolexec-rehab"
        self.trace = tmp_path / "served.trace"
        self.stats = tmp_path / "server.stats"  # a line per request that ran to its end
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REHAB_", "GOFLAGS"))}
        env.update({MARK: self.nonce, "XDG_RUNTIME_DIR": str(rt), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
                    "REHAB_SERVER_IDLE": "120", "REHAB_SERVER_TRACE": str(self.trace),
                    "REHAB_SERVER_STATS": str(self.stats), "GOTOOLCHAIN": "local"})
        self.env = env
        self.pid = None

    def marked(self) -> list[int]:
        """Our processes: those started with our marker (the server inherits it from its client)."""
        tag = f"{MARK}={self.nonce}".encode()
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/environ", "rb") as fh:
                    if tag in fh.read().split(b"\0"):
                        pids.append(int(d))
            except OSError:
                pass
        return pids

    def sockets(self) -> list[Path]:
        return sorted(self.sockdir.glob("srv-*.sock")) if self.sockdir.is_dir() else []

    def start(self, cwd: Path) -> int:
        """The first request starts the server in the background (and runs here); returns the
        server's pid once its socket exists."""
        check(self, cwd)
        _wait(self.sockets, 60, "the server's socket")
        mine = os.getsid(0)

        def find():
            stats = {p: _stat(p) for p in self.marked()}
            cands = {p: st for p, st in stats.items() if st and st[0] not in ("Z", "X") and st[3] != mine}
            tops = [p for p, st in cands.items() if st[1] not in cands]  # not forked by one of them
            return tops[0] if len(tops) == 1 else None

        self.pid = _wait(find, 30, "the server process")
        return self.pid

    def session(self) -> set[int]:
        """Every live process the server forked, directly or not (the server excepted)."""
        sid = _stat(self.pid)[3]
        return {p for p, st in _processes().items() if st[3] == sid and p != self.pid}

    def served(self) -> str:
        return self.trace.read_text() if self.trace.exists() else ""

    def finished(self) -> int:
        """Requests the server ran to their end (REHAB_SERVER_STATS)."""
        return len(self.stats.read_text().splitlines()) if self.stats.exists() else 0

    def assert_consistent(self) -> None:
        """Every answered request ran to its end: the watch did not cut one short after the
        answer (the client closes the socket at once), and a cancelled one answered nothing."""
        served = self.served().count("served")
        _wait(lambda: self.finished() >= served, 5, "the server's stats lines")
        assert self.finished() == served, (self.finished(), self.served())

    def stop(self) -> None:
        for pid in self.marked():  # the server and anything of ours a failed test left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


def check(srv: Server, cwd: Path, **extra):
    r = subprocess.run([str(BIN), "check", "--format", "json", "."], cwd=cwd, env={**srv.env, **extra},
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def _module(root: Path, name: str, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.22\n")
    for n, text in files.items():
        (root / n).write_text(text)
    return root


def _big_module(root: Path, nfiles: int = 40, nfuncs: int = 600) -> Path:
    """~3.2 MB of Go, 24000 leaks: `check --format json` takes ~5.5 s on 2 cores, served or not
    (measured on the development machine), so a request is cancelled in mid-analysis."""
    files = {}
    for i in range(nfiles):
        parts = ['package big\n\nimport (\n\t"io"\n\t"os"\n)\n']
        parts += [f"\nfunc Read{i}_{j}(name string) ([]byte, error) {{\n\tf, err := os.Open(name)\n"
                  "\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn io.ReadAll(f)\n}\n" for j in range(nfuncs)]
        files[f"f{i}.go"] = "".join(parts)
    return _module(root, "big", files)


def _cancelled_promptly(srv: Server, client: subprocess.Popen) -> None:
    """Kill the client; every process of its request must be gone well within a second, the
    server alive."""
    client.send_signal(signal.SIGKILL)
    client.wait(timeout=10)
    t0 = time.monotonic()
    left = srv.session()
    while left and time.monotonic() - t0 < 5:
        time.sleep(0.01)
        left = srv.session()
    took = time.monotonic() - t0
    detail = {p: _stat(p) for p in left}
    assert not left, f"still running {took:.1f}s after the client was killed: {detail}"
    assert took < 1.0, f"the request was cancelled only after {took:.2f}s"
    assert _alive(srv.pid), "the server itself was killed"


def _serves_the_next_request(srv: Server, small: Path) -> None:
    before = srv.served()
    local = check(srv, small, REHAB_SERVER="off")
    assert local[0] == 1 and "file-not-closed" in local[1], local
    assert check(srv, small) == local
    assert srv.served().count("served") == before.count("served") + 1, "not served by the server"
    assert _alive(srv.pid)
    srv.assert_consistent()


def test_a_dead_check_clients_request_is_cancelled(server, tmp_path):
    small = _module(tmp_path / "small", "small", {"p.go": LEAKY})
    srv_pid = server.start(small)
    big = _big_module(tmp_path / "big")
    client = subprocess.Popen([str(BIN), "check", "--format", "json", "."], cwd=big, env=server.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        child = _wait(lambda: next((p for p, st in _processes().items() if st[1] == srv_pid), None), 30,
                      "the server to fork the request's child")
        # let the analysis get going: `check` forks a helper for the second core (> 192 KB)
        try:
            _wait(lambda: any(st[1] == child for st in _processes().values()), 3, "check's helper")
        except AssertionError:
            pass
        time.sleep(0.3)
        st = _stat(child)
        assert client.poll() is None and st and _alive(child), "the request ended before the client was killed"
        assert st[2] == child, "the request's child does not lead its own process group"
        assert _stat(srv_pid)[2] != child, "the server is in the request's process group"
        _cancelled_promptly(server, client)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    _serves_the_next_request(server, small)


FAKE_COMPILE = """#!/bin/sh
# the rewritten compile (its files are in the object dir's rehab/): a slow one, with a child
out=
prev=
for a; do [ "$prev" = -o ] && out=$a; prev=$a; done
case "$*" in
*/rehab/*) echo $$ > "$FAKE_PIDFILE"; printf partial > "$out"; sleep 60; printf rest >> "$out" ;;
*) printf original > "$out" ;;
esac
"""


def test_a_dead_compile_clients_compiler_is_killed(server, tmp_path):
    """The server compiles the rewritten files itself (a grandchild of the server, with a child
    of its own): killed with the request, before it writes anything more to -o."""
    small = _module(tmp_path / "small", "small", {"p.go": LEAKY})
    server.start(small)
    real = Path(compile_tool()).parent.parent.parent.parent  # GOROOT
    goroot = tmp_path / "goroot"
    tools = goroot / "pkg" / "tool" / "linux_amd64"
    tools.mkdir(parents=True)
    (goroot / "api").symlink_to(real / "api")
    (goroot / "VERSION").write_bytes((real / "VERSION").read_bytes())
    (tools / "compile").write_text(FAKE_COMPILE)
    (tools / "compile").chmod(0o755)
    app = _module(tmp_path / "app", "app", {"p.go": LEAKY})
    objdir = tmp_path / "work" / "b001"
    objdir.mkdir(parents=True)
    pidfile = tmp_path / "compile.pid"
    env = {**server.env, "FAKE_PIDFILE": str(pidfile), "REHAB_SPECULATE": "off",
           "TOOLEXEC_IMPORTPATH": "example.com/app"}
    client = subprocess.Popen([str(BIN), str(tools / "compile"), "-o", str(objdir / "_pkg_.a"), "-p",
                               "example.com/app", "-pack", str(app / "p.go")],
                              cwd=app, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: pidfile.exists() and pidfile.read_text().strip(), 60, "the rewritten compile")
        comp = int(pidfile.read_text())
        _wait(lambda: any(st[1] == comp for st in _processes().values()), 5, "the compile's child")
        assert comp in server.session(), "the rewritten files were not compiled by the server"
        assert client.poll() is None
        _cancelled_promptly(server, client)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    time.sleep(0.2)
    assert (objdir / "_pkg_.a").read_bytes() == b"partial"
    _serves_the_next_request(server, small)


def test_a_speculative_compile_handshake_is_not_a_hang_up(server, tmp_path):
    """A build through the server whose compile gets a fix: the server asks the client to kill
    its speculative compile and the client answers on the same socket; the watch takes that for
    no hang-up: the compile is served (not redone by the client) and patched."""
    gocache = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    nonce = os.urandom(8).hex()
    body = ('package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n'
            '\tf, err := os.Open(os.Args[0])\n\tif err != nil {\n\t\treturn\n\t}\n'
            '\tb := make([]byte, 4)\n\tf.Read(b)\n\tfmt.Println(b)\n}\n')
    app = _module(tmp_path / "app", "spec", {})
    outs = []
    for i in range(3):  # 0: starts the server (compiles here); 1, 2: served
        (app / "main.go").write_text(body + f"\n// build {i} {nonce}\n")  # the package really recompiles
        env = go_env(**{**server.env, "GOFLAGS": f"-toolexec={BIN}", "REHAB_VERBOSE": "1", "GOCACHE": gocache})
        r = subprocess.run(["go", "build", "-o", str(tmp_path / f"bin{i}"), "."], cwd=app, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        outs.append([x for x in r.stderr.splitlines() if x.startswith("REHAB:")])
        if i == 0:
            _wait(server.sockets, 60, "the server's socket")
            time.sleep(1)
            before = server.served()
    assert any("patched" in x for x in outs[0]) and outs[0] == outs[1] == outs[2], outs
    n = server.served().count("served example.com/spec") - before.count("served example.com/spec")
    assert n == 2, f"{n} of 2 compiles served; trace: {server.served()!r}"
    server.assert_consistent()
    p = subprocess.run([str(tmp_path / "bin2")], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.startswith("[")


@pytest.mark.parametrize("value, expected", [
    (None, 300.0), ("", 300.0), ("abc", 300.0), ("nan", 300.0), ("inf", 300.0), ("-5", 300.0), ("0", 300.0),
    ("2.5", 2.5), (" 20 ", 20.0), ("1e30", 1e9),
])
def test_idle_seconds(monkeypatch, value, expected):
    from toolexec_rehab.toolexec import server

    if value is None:
        monkeypatch.delenv("REHAB_SERVER_IDLE", raising=False)
    else:
        monkeypatch.setenv("REHAB_SERVER_IDLE", value)
    assert server.idle_seconds() == expected
    if value is not None:
        assert server.idle_seconds(value) == expected  # the settings module's way to ask


def test_a_bad_idle_setting_does_not_kill_the_server(server, tmp_path):
    """REHAB_SERVER_IDLE=abc used to raise at import in the spawned server: no server at all.
    Now the default applies (the settings module reports the value where it is checked)."""
    server.env["REHAB_SERVER_IDLE"] = "abc"
    small = _module(tmp_path / "small", "small", {"p.go": LEAKY})
    server.start(small)
    local = check(server, small, REHAB_SERVER="off")
    assert check(server, small) == local
    assert "served" in server.served()
    time.sleep(1.5)
    assert _alive(server.pid) and server.sockets()


def test_the_idle_setting_still_applies(server, tmp_path):
    server.env["REHAB_SERVER_IDLE"] = "1"
    small = _module(tmp_path / "small", "small", {"p.go": LEAKY})
    check(server, small)
    _wait(server.sockets, 60, "the server's socket")
    _wait(lambda: not server.sockets(), 20, "the idle server to exit", step=0.1)

