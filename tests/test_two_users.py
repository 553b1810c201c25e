"""Two users of one machine: each gets a compile server of their own, and neither is ever
served by, or serves, the other (toolexec/protocol.py: a private runtime dir, and
peer_is_us on both ends of every connection: SO_PEERCRED, the same uid and gid).

Two real users (rehab_a and rehab_b: created with useradd unless they exist, removed at the
end if this test created them) build go_fixtures/paniccheck, each in a copy of their own,
with their own HOME and GOCACHE, through a venv that every user can run: an interpreter
outside root's home, of this Python's version, whose site-packages point (a .pth file) at
this test's own install (skipped when that is not readable by other users). Checked:

- each user's builds are patched and served, by a server of that user's uid, listening on a
  socket in that user's 0700 runtime dir (/tmp/toolexec-rehab-<uid>);
- user B whose XDG_RUNTIME_DIR is user A's, or whose runtime dir's toolexec-rehab is a
  symbolic link to A's: no server (the directory is not B's), the build still patched;
- a socket of A's server planted in B's own private runtime dir under B's socket name, A's
  directory and socket opened up for B: B's client connects, sees uid A at the other end and
  sends nothing (it says so under REHAB_VERBOSE), the build compiles without a server;
- a request sent straight to A's server by B, or by root, gets no answer; A's server still
  serves A.

Runs only as root; ~40 s on 2 cores (mostly each user's first build: std into an empty GOCACHE).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest
from helpers import BIN, listeners, stop_procs, world_reachable

REPO = Path(__file__).resolve().parents[1]
USERS = ("rehab_a", "rehab_b")

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="creates users and runs builds as them: runs only as root")


def _uid_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError(pid)


def _interpreter() -> str | None:
    """A Python of this one's version (its site-packages must load) that every user can run."""
    want = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for cand in ("/usr/bin/python3", f"/usr/bin/python{want}", "/usr/local/bin/python3",
                 f"/usr/local/bin/python{want}", shutil.which(f"python{want}") or ""):
        if not cand or not os.path.exists(cand) or not world_reachable(cand):
            continue
        q = subprocess.run([cand, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.base_prefix)"],
                           capture_output=True, text=True, timeout=60)
        lines = q.stdout.split("\n")
        if q.returncode == 0 and lines[0] == want and world_reachable(lines[1]):
            return cand
    return None


class User:
    def __init__(self, name: str, base: Path, venv: Path, godir: str):
        self.name = name
        pw = pwd.getpwnam(name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.home = base / f"home-{name}"
        self.venv, self.godir = venv, godir
        self.home.mkdir(mode=0o700)
        os.chown(self.home, self.uid, self.gid)
        self.rundir = Path(f"/tmp/toolexec-rehab-{self.uid}")
        shutil.rmtree(self.rundir, ignore_errors=True)  # left by an earlier user of this uid
        self.src = self.home / "paniccheck"
        shutil.copytree(REPO / "go_fixtures" / "paniccheck", self.src)
        for d, dirs, files in os.walk(self.home):
            for n in [*dirs, *files]:
                os.lchown(os.path.join(d, n), self.uid, self.gid)
        self.builds = 0

    def env(self, **extra) -> list[str]:
        e = {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name, "LANG": "C.UTF-8",
             "PATH": f"{self.venv / 'bin'}:{self.godir}:/usr/bin:/bin", "GOTOOLCHAIN": "local", "GOPROXY": "off",
             "GOCACHE": str(self.home / "gocache"), "GOPATH": str(self.home / "go"),
             "GOFLAGS": f"-buildvcs=false -toolexec={self.venv / 'bin' / 'toolexec-rehab'}",
             "REHAB_VERBOSE": "1", "REHAB_SERVER_IDLE": "120"}
        e.update(extra)
        return [f"{k}={v}" for k, v in e.items()]

    def run(self, args, cwd=None, timeout=300, **extra) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", self.name, "--", "env", "-i", *self.env(**extra), *map(str, args)],
                              cwd=cwd or self.home, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)

    def build(self, **extra) -> tuple[subprocess.CompletedProcess, list[str]]:
        """go build of the user's copy (a new comment each time: the package really compiles);
        the trace of the compiles a server served."""
        self.builds += 1
        trace = self.home / f"trace{self.builds}"
        r = self.run(["sh", "-c", f'echo "// build {self.builds}" >> main.go'], cwd=self.src)
        assert r.returncode == 0, r.stderr
        r = self.run(["go", "build", "-o", "bin", "."], cwd=self.src, REHAB_SERVER_TRACE=str(trace), **extra)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "REHAB: patched file-not-closed" in r.stderr, r.stderr
        p = self.run([self.src / "bin"], cwd=self.src, timeout=60)
        assert p.returncode == 0 and "leaked_fds=0" in p.stdout, p.stdout + p.stderr
        served = trace.read_text().splitlines() if trace.exists() else []
        return r, served

    def server(self) -> Path:
        """The socket of the user's running server; a build starts one if there is none."""
        socks = sorted(self.rundir.glob("srv-*.sock")) if self.rundir.is_dir() else []
        if not (socks and listeners(socks[0])):
            self.build()
            time.sleep(1)  # the server binds after its imports
        return self.socket()

    def socket(self, timeout: float = 30) -> Path:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            socks = sorted(self.rundir.glob("srv-*.sock")) if self.rundir.is_dir() else []
            if socks:
                return socks[0]
            time.sleep(0.1)
        raise AssertionError(f"no compile server socket in {self.rundir}")


@pytest.fixture(scope="module")
def users():
    for tool in ("useradd", "userdel", "runuser"):
        if not shutil.which(tool):
            pytest.skip(f"needs {tool} to run builds as two users")
    go = shutil.which("go")
    if not go or not world_reachable(os.path.realpath(go)):
        pytest.skip("needs a go command that every user can run (e.g. /usr/local/go)")
    py = _interpreter()
    if py is None:
        pytest.skip(f"no Python {sys.version_info[0]}.{sys.version_info[1]} that every user can run")
    import toolexec_rehab

    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                    str(Path(toolexec_rehab.__file__).resolve().parents[1])})
    for p in [*paths, str(Path(toolexec_rehab.__file__).resolve().parent)]:
        if not world_reachable(p):
            pytest.skip(f"{p} (this test's install) is not readable by other users")
    if not BIN.is_file():
        pytest.skip(f"no launcher at {BIN}")

    base = Path(tempfile.mkdtemp(prefix="rehab-2u-", dir="/tmp"))
    os.chmod(base, 0o755)
    created: list[str] = []
    made: list[User] = []
    old = os.umask(0o022)
    try:
        venv = base / "venv"
        r = subprocess.run([py, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            pytest.skip(f"{py} -m venv failed: {r.stderr.strip()[-200:]}")
        (site,) = venv.glob("lib/python3*/site-packages")
        (site / "zz_rehab_test.pth").write_text("".join(p + "\n" for p in paths))
        shutil.copy(BIN, venv / "bin" / "toolexec-rehab")
        entry = venv / "bin" / "toolexec-rehab-py"
        entry.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom toolexec_rehab.shim import main\n"
                         "sys.exit(main())\n")
        entry.chmod(0o755)
        os.umask(old)
        for name in USERS:
            try:
                pwd.getpwnam(name)
            except KeyError:
                r = subprocess.run(["useradd", "--no-create-home", "--home-dir", str(base / f"home-{name}"),
                                    "--shell", "/bin/sh", "--user-group", name],
                                   capture_output=True, text=True, timeout=60)
                assert r.returncode == 0, r.stderr
                created.append(name)
        for name in USERS:
            made.append(User(name, base, venv, os.path.dirname(os.path.realpath(go))))
        yield made
    finally:
        os.umask(old)
        for u in made:
            stop_procs(u.uid)
            shutil.rmtree(u.rundir, ignore_errors=True)
        for name in created:
            subprocess.run(["userdel", name], capture_output=True, text=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _private(p: Path, uid: int) -> None:
    st = os.lstat(p)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == uid and stat.S_IMODE(st.st_mode) == 0o700, (p, st)


def _raw_request(python: Path, who: list[str], sock: Path, cwd: Path, env: list[str]) -> subprocess.CompletedProcess:
    """Connect to sock and send a `check` request as a client would; print what came back."""
    code = ("import sys\nfrom toolexec_rehab.toolexec.protocol import send_msg, recv_msg\nimport socket\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\ns.connect(sys.argv[1])\n"
            "try:\n"
            "    send_msg(s, {'argv': ['check', '.'], 'cwd': sys.argv[2], 'env': {'PATH': '/usr/bin:/bin'}, "
            "'spec': False, 'cli': True, 'umask': 0o22})\n"
            "    reply = recv_msg(s)\n"
            "except OSError as e:  # closed (reset: it did not read the request)\n"
            "    reply = None\n"
            "print('reply', reply)\n")
    return subprocess.run([*who, "env", "-i", *env, str(python), "-c", code, str(sock), str(cwd)],
                          capture_output=True, text=True, timeout=60)


def test_each_user_has_a_server_of_their_own(users):
    a, b = users
    assert a.uid != b.uid
    for u in (a, b):
        sock = u.server()  # the first build starts the user's server
        _, served = u.build()
        assert any(x.startswith("served example.com/paniccheck") for x in served), served
        _private(u.rundir, u.uid)
        st = os.lstat(sock)
        assert st.st_uid == u.uid and stat.S_IMODE(st.st_mode) == 0o600, (sock, st)
        pids = listeners(sock)
        assert pids and {_uid_of(p) for p in pids} == {u.uid}, (sock, pids)
    assert a.socket().parent != b.socket().parent


def test_b_never_uses_as_runtime_dir_what_is_as(users):
    a, b = users
    a_sock = a.server()
    # B's XDG_RUNTIME_DIR is A's (reachable: 0755), where A's server listens
    a_rt = a.home / "xdg-run"
    r = a.run(["mkdir", "-m", "755", str(a_rt)])
    assert r.returncode == 0, r.stderr
    os.chmod(a.home, 0o711)
    try:
        a.build(XDG_RUNTIME_DIR=str(a_rt))  # starts A's server there
        _private(a_rt / "toolexec-rehab", a.uid)
        end = time.monotonic() + 30
        while not list((a_rt / "toolexec-rehab").glob("srv-*.sock")) and time.monotonic() < end:
            time.sleep(0.1)
        assert list((a_rt / "toolexec-rehab").glob("srv-*.sock")), "A's server did not start there"
        r, served = b.build(XDG_RUNTIME_DIR=str(a_rt))
        assert not served, served
        assert "not a private directory of yours" in r.stderr, r.stderr
    finally:
        os.chmod(a.home, 0o700)
    # ... or B's own runtime dir, whose toolexec-rehab is a symbolic link to A's
    b_rt = b.home / "xdg-run"
    for cmd in (["mkdir", "-m", "700", str(b_rt)], ["ln", "-s", str(a.rundir), str(b_rt / "toolexec-rehab")]):
        r = b.run(cmd)
        assert r.returncode == 0, r.stderr
    r, served = b.build(XDG_RUNTIME_DIR=str(b_rt))
    assert not served, served
    assert "not a private directory of yours" in r.stderr, r.stderr
    assert listeners(a_sock), "A's server is gone"


def test_a_socket_of_as_server_planted_for_b_is_refused_by_both_ends(users):
    a, b = users
    a_sock = a.server()
    b_sock = b.server()
    python = b.venv / "bin" / "python"
    # B's own socket name, in B's own private dir: B's server stopped, its socket replaced by
    # a link to A's; A's directory and socket opened so that B's connect() succeeds
    for pid in listeners(b_sock):
        os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + 10
    while listeners(b_sock) and time.monotonic() < end:
        time.sleep(0.1)
    if os.path.lexists(b_sock):
        b_sock.unlink()
    os.symlink(a_sock, b_sock)
    os.chmod(a.rundir, 0o711)
    os.chmod(a_sock, 0o666)
    try:
        r, served = b.build()
        assert not served, served
        assert "is not yours; compiling without it" in r.stderr, r.stderr
        assert os.readlink(b_sock) == str(a_sock)  # B's client left it alone (and started no server over it)
        # B, and root, send a request to A's server directly: no answer
        rb = _raw_request(python, ["runuser", "-u", b.name, "--"], a_sock, b.src, [f"HOME={b.home}"])
        assert rb.returncode == 0 and rb.stdout.strip() == "reply None", rb.stdout + rb.stderr
        rr = _raw_request(python, [], a_sock, a.src, [])
        assert rr.returncode == 0 and rr.stdout.strip() == "reply None", rr.stdout + rr.stderr
    finally:
        os.chmod(a.rundir, 0o700)
        os.chmod(a_sock, 0o600)
        if os.path.lexists(b_sock):
            os.unlink(b_sock)
    # A's server lives on and serves A
    assert listeners(a_sock), "A's server is gone"
    _, served = a.build()
    assert any(x.startswith("served example.com/paniccheck") for x in served), served
