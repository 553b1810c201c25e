"""The compile server runs requests in parallel (toolexec/server.py: a forked child per
request, no lock): `go build -p 8` and two concurrent `go build`s of the same user share one
server without waiting for each other. Throughput against -p: tools/bench_parallel.py.

- A barrier: eight clients ask at once for `compile -V=full` of a stand-in compiler whose
  -V=full returns only once eight of its runs are running at the same time. Served one after
  another, the first would wait for the other seven forever (it gives up after 20 s and the
  request fails); served in parallel, all eight return together.
- Two `go build`s at once, with one runtime dir (one server): both are patched, both served.
- Both ends of a connection check who is at the other end (protocol.peer_is_us); the checks
  against another uid are in tests/test_two_users.py (it needs root).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from helpers import BIN, LEAKY, go_env, listeners

N = 8

FAKE_COMPILE = """\
#!/bin/sh
# a stand-in compiler: -V=full returns once $BARRIER_N of its runs are running at the same time
: > "$BARRIER/$$"
i=0
while [ "$(ls "$BARRIER" | wc -l)" -lt "$BARRIER_N" ]; do
	i=$((i + 1))
	if [ "$i" -gt 400 ]; then
		echo "barrier: $(ls "$BARRIER" | wc -l) of $BARRIER_N running at once" >&2
		exit 3
	fi
	sleep 0.05
done
echo "compile version go1.99.0"
"""


class Env:
    def __init__(self, tmp_path: Path):
        rt = tmp_path / "rt"
        rt.mkdir(mode=0o700)
        self.sockdir = rt / "toolexec-rehab"
        self.trace = tmp_path / "served.trace"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("REHAB_", "GOFLAGS"))}
        self.env.update({"XDG_RUNTIME_DIR": str(rt), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
                         "REHAB_SERVER_IDLE": "60", "REHAB_SERVER_TRACE": str(self.trace), "GOTOOLCHAIN": "local"})

    def wait_for_socket(self) -> Path:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            socks = sorted(self.sockdir.glob("srv-*.sock")) if self.sockdir.is_dir() else []
            if socks:
                return socks[0]
            time.sleep(0.05)
        raise AssertionError("the compile server's socket never appeared")

    def served(self) -> list[str]:
        return self.trace.read_text().splitlines() if self.trace.exists() else []

    def stop_server(self) -> None:
        """The server of this test: the process listening on its socket (found through /proc)."""
        socks = sorted(self.sockdir.glob("srv-*.sock")) if self.sockdir.is_dir() else []
        for s in socks:
            for pid in listeners(s):
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass


@pytest.fixture
def srv(tmp_path):
    e = Env(tmp_path)
    yield e
    e.stop_server()


def _fake_compile(tmp_path: Path) -> Path:
    tool = tmp_path / "goroot" / "pkg" / "tool" / "linux_amd64" / "compile"
    tool.parent.mkdir(parents=True)
    tool.write_text(FAKE_COMPILE)
    tool.chmod(0o755)
    return tool


def test_eight_requests_run_at_the_same_time(srv, tmp_path):
    tool = _fake_compile(tmp_path)

    # the first request starts the server (and is answered here)
    first = tmp_path / "barrier-1"
    first.mkdir()
    r = subprocess.run([str(BIN), str(tool), "-V=full"], env={**srv.env, "BARRIER": str(first), "BARRIER_N": "1"},
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("compile version go1.99.0 rehab"), (r.stdout, r.stderr)
    srv.wait_for_socket()
    time.sleep(0.5)  # the server binds after its imports: let it reach its accept loop

    barrier = tmp_path / f"barrier-{N}"
    barrier.mkdir()
    env = {**srv.env, "BARRIER": str(barrier), "BARRIER_N": str(N)}
    t0 = time.monotonic()
    procs = [subprocess.Popen([str(BIN), str(tool), "-V=full"], env=env, cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(N)]
    outs = [p.communicate(timeout=120) for p in procs]
    took = time.monotonic() - t0
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0 and out.startswith("compile version go1.99.0 rehab"), (p.returncode, out, err)
    assert len(set(out for out, _ in outs)) == 1, outs
    assert len(os.listdir(barrier)) == N
    # all eight went through the server, none was compiled by its client alone
    assert len(srv.served()) == N, srv.served()
    print(f"\n{N} concurrent served -V=full requests behind an {N}-way barrier: {took:.2f}s")


def _leaky_module(root: Path, name: str) -> Path:
    root.mkdir(parents=True)
    (root / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.22\n")
    (root / "leak.go").write_text(LEAKY.replace("package p\n", "package main\n", 1))
    (root / "main.go").write_text(f'package main\n\nfunc main() {{ _, _ = Read("go.mod") }}\n\n// {os.urandom(8).hex()}\n')
    return root


def test_two_concurrent_go_builds_share_one_server(srv, tmp_path):
    """Two `go build -p 8`s at once (fresh copies: their packages really compile; std comes from
    the default GOCACHE), one server: both patched, and the server served both."""
    mods = [_leaky_module(tmp_path / f"m{i}", f"conc{i}") for i in range(2)]
    env = go_env(**srv.env, GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1")
    # start the server first, so that both builds find it
    warm = _leaky_module(tmp_path / "warm", "warm")
    r = subprocess.run(["go", "build", "-o", str(tmp_path / "warm.bin"), "."], cwd=warm, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    srv.wait_for_socket()
    time.sleep(0.5)
    before = len(srv.served())
    procs = [subprocess.Popen(["go", "build", "-p", "8", "-o", str(m / "bin"), "."], cwd=m, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for m in mods]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "REHAB: patched file-not-closed" in err and "leak.go:9" in err, err
    served = srv.served()[before:]
    for i in range(2):
        assert any(x.startswith(f"served example.com/conc{i} ") for x in served), served


def test_peer_is_us_on_a_socket_of_our_own():
    from toolexec_rehab.toolexec.protocol import peer_is_us

    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        assert peer_is_us(a) and peer_is_us(b)
    finally:
        a.close()
        b.close()


def test_warming_gives_the_socket_back_between_slices():
    """The server parses the files of the last build when idle (warm) a slice at a time: a
    request that comes meanwhile waits one slice, not the whole warm-up."""
    from toolexec_rehab.toolexec import server

    parsed = []

    def warm(paths):
        time.sleep(0.01)
        parsed.extend(paths)

    pending = {f"/m/f{i:03d}.go" for i in range(100)}  # ~1 s of parsing in all
    t0 = time.monotonic()
    assert server._warm_slice(warm, pending) is True
    took = time.monotonic() - t0
    assert took < server.WARM_SLICE + 0.2, took
    assert 0 < len(parsed) < 100 and not pending & set(parsed)
    while server._warm_slice(warm, pending):
        pass
    assert sorted(parsed) == sorted(f"/m/f{i:03d}.go" for i in range(100)) and not pending


def test_a_bad_message_leaves_the_server_serving(srv, tmp_path):
    """The listening loop reads each request itself (it answers some without a fork): a message
    that is not one - bytes that do not unmarshal, an empty frame, a client that hangs up in
    the middle - closes that connection, and the server goes on serving."""
    from toolexec_rehab.toolexec.protocol import address

    tool = _fake_compile(tmp_path)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**srv.env, "BARRIER": str(barrier), "BARRIER_N": "1"}

    def ask() -> None:
        r = subprocess.run([str(BIN), str(tool), "-V=full"], env=env, capture_output=True, text=True, timeout=120,
                           cwd=tmp_path)
        assert r.returncode == 0 and r.stdout.startswith("compile version go1.99.0 rehab"), (r.stdout, r.stderr)

    ask()  # starts the server
    path = srv.wait_for_socket()
    time.sleep(0.5)  # the server binds after its imports: let it reach its accept loop
    ask()
    served = len(srv.served())
    assert served >= 1
    for payload in (b"\x00\x00\x00\x05hello", b"\x00\x00\x00\x00", b"\x00\x00\x10\x00abc"):
        addr, dfd = address(str(path))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(30)
            s.connect(addr)
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            assert s.recv(1) == b""  # closed without an answer
        finally:
            s.close()
            if dfd is not None:
                os.close(dfd)
    ask()
    assert len(srv.served()) == served + 1, srv.served()  # the same server answered
    assert sorted(srv.sockdir.glob("srv-*.sock")) == [path]


def test_the_environment_of_a_request_is_taken_whole_and_given_back(monkeypatch):
    """_answer_here looks at a request in the listening server under the request's environment
    (changing only what differs), then gives the server's back: nothing of one is left for the
    next, and a value the OS refuses raises before anything is decided."""
    from toolexec_rehab.toolexec.server import _set_environ

    monkeypatch.setenv("REHAB_T_KEEP", "1")
    monkeypatch.setenv("REHAB_T_GONE", "x")
    mine = dict(os.environ)
    req = {k: v for k, v in mine.items() if k != "REHAB_T_GONE"} | {"REHAB_T_KEEP": "2", "REHAB_T_NEW": "y"}
    try:
        _set_environ(req)
        assert dict(os.environ) == req
        with pytest.raises(ValueError):
            _set_environ(req | {"BAD": "a\0b"})
    finally:
        _set_environ(mine)
    assert dict(os.environ) == mine


def test_only_files_loaded_as_another_package_s_types_are_parsed_during_a_build(monkeypatch):
    """A child reports the files it loaded; the server parses at once (hot) those that HOT
    requests loaded for another package's types (a hub many packages import), and leaves a
    file only its own package's compiles loaded (the edited file of a warm rebuild) for when
    the build is over, so as not to take a core from the compiler."""
    from toolexec_rehab.golang import package
    from toolexec_rehab.toolexec import server

    monkeypatch.setattr(server, "AS_TYPES", {})
    monkeypatch.setattr(package, "USES", {})
    r, w = os.pipe()
    os.set_blocking(r, False)  # (as the server's end)
    monkeypatch.setattr(server, "_WARM", [r, w])
    pending: set[str] = set()
    try:
        for _ in range(server.HOT):
            monkeypatch.setattr(package, "LOADED", ["/m/own.go", "/m/hub/types.go"])
            server._report_loaded({"/m/own.go"})
            server._read_loaded(r, pending)
    finally:
        os.close(r)
        os.close(w)
    assert pending == {"/m/own.go", "/m/hub/types.go"}
    assert package.USES == {"/m/own.go": server.HOT, "/m/hub/types.go": server.HOT}
    parsed = []
    server._warm_slice(parsed.extend, pending, hot_only=True)
    assert parsed == ["/m/hub/types.go"] and pending == {"/m/own.go"}
    server._warm_slice(parsed.extend, pending)  # idle: the rest
    assert parsed == ["/m/hub/types.go", "/m/own.go"] and not pending
