"""A machine-wide install used by a user who is not root.

README "Machine-wide install": a venv outside root's home (here a fresh 0755 directory under
/tmp) created with an interpreter every user can execute, the wheel installed into it as
root, the launcher reached through a symlink on PATH (the stand-in for /usr/local/bin: this
test does not touch machine-wide paths). A throwaway user (useradd; removed with userdel -r)
then runs `toolexec-rehab --version`, `check` and a `GOFLAGS=-toolexec=toolexec-rehab go build`
with only the symlink's directory, Go and /usr/bin:/bin on PATH, and its own HOME, GOCACHE and
GOPATH. Checked: the launcher resolves its symlink and takes the fast `-S` start, the patch is
applied and the binary no longer leaks, the user's cache dir, rules pickle and the compile
server's runtime dir are the user's own (0700 / 0600), and nothing under the venv changed
(the install works read-only).

Runs only as root (it creates a user); ~25 s on 2 cores, most of it the first build, which
compiles the program's part of std into the new user's empty GOCACHE.
"""

import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import LEAKY, stop_procs, world_reachable

# LEAKY's Read (file-not-closed at leak.go:9) in package main, and a main that counts the
# process's open descriptors across one call: 1 when the file leaks, 0 once patched.
LEAK_GO = LEAKY.replace("package p\n", "package main\n", 1)
MAIN_GO = """\
package main

import (
	"fmt"
	"os"
)

func fds() int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		panic(err)
	}
	return len(es)
}

func main() {
	if _, err := Read("go.mod"); err != nil { // the first open also starts the runtime's poller
		panic(err)
	}
	before := fds()
	if b, err := Read("go.mod"); err != nil || len(b) == 0 {
		fmt.Println("read failed:", err)
		os.Exit(1)
	}
	fmt.Printf("leaked=%d\\n", fds()-before)
}
"""
PATCH_LINE = "REHAB: patched file-not-closed defer@ast-node-"

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                       reason="creates a throwaway user: runs only as root"),
]


def _interpreter_candidates() -> list[str]:
    """Debian's /usr/bin/python3 first (what the README's recipe uses), then the interpreter
    under this venv and any python3.x on PATH. Deduplicated by real path."""
    names = ["/usr/bin/python3", getattr(sys, "_base_executable", sys.executable), sys.executable,
             "/usr/local/bin/python3"]
    names += [shutil.which(f"python3.{m}") or "" for m in range(10, 15)]
    out, seen = [], set()
    for n in names:
        if n and os.path.exists(n) and os.path.realpath(n) not in seen:
            seen.add(os.path.realpath(n))
            out.append(n)
    return out


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every file, directory and link under root: mtime, ctime, size, mode, owner."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in [*dirs, *files, "."]:
            p = os.path.join(d, name)
            st = os.lstat(p)
            out[os.path.normpath(os.path.relpath(p, root))] = (
                st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_mode, st.st_uid, st.st_gid)
    return out


def _private_dir(p: Path, uid: int) -> None:
    st = os.lstat(p)
    assert stat.S_ISDIR(st.st_mode), f"{p}: not a directory"
    assert st.st_uid == uid, f"{p}: owned by uid {st.st_uid}, not {uid}"
    assert stat.S_IMODE(st.st_mode) == 0o700, f"{p}: mode {stat.S_IMODE(st.st_mode):o}, not 700"


def _wait_for_socket(d: Path, uid: int, timeout: float = 15.0) -> Path:
    """The compile server binds its socket in the detached process it forks: wait for it."""
    deadline = time.monotonic() + timeout
    while True:
        socks = sorted(d.glob("srv-*.sock"))
        if socks:
            assert os.lstat(socks[0]).st_uid == uid
            return socks[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no compile-server socket in {d}: {sorted(os.listdir(d))}")
        time.sleep(0.1)


class Install:
    """The system venv, the PATH symlink, the throwaway user and how to run things as it."""

    def __init__(self, base: Path):
        self.base = base
        self.venv = base / "venv"
        self.bindir = base / "bin"  # stands in for /usr/local/bin
        self.home = base / "home"
        self.timings: dict[str, float] = {}
        self.user = ""
        self.uid = self.gid = -1
        self.runas: list[str] = []
        self.godir = ""
        self.python = ""  # the interpreter the venv was created with

    def env(self, **extra) -> dict[str, str]:
        e = {
            "HOME": str(self.home), "USER": self.user, "LOGNAME": self.user,
            "PATH": f"{self.bindir}:{self.godir}:/usr/bin:/bin", "LANG": "C.UTF-8",
            "GOTOOLCHAIN": "local", "GOPROXY": "off",
            "REHAB_SERVER_IDLE": "120",  # teardown stops it anyway
        }
        e.update(extra)
        return e

    def run(self, args, cwd=None, timeout=120, **extra) -> subprocess.CompletedProcess:
        return subprocess.run([*self.runas, *args], cwd=cwd or self.home, env=self.env(**extra),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def _timed(inst: Install, name: str, fn):
    t = time.monotonic()
    try:
        return fn()
    finally:
        inst.timings[name] = time.monotonic() - t


@pytest.fixture
def install(root):
    if not shutil.which("useradd") or not shutil.which("userdel"):
        pytest.skip("needs useradd/userdel (Debian: apt-get install passwd) to create a throwaway user")
    if shutil.which("setpriv"):
        runas_kind = "setpriv"
    elif shutil.which("runuser"):
        runas_kind = "runuser"
    else:
        pytest.skip("needs setpriv or runuser (util-linux) to run commands as another user")
    go = shutil.which("go")
    if not go:
        pytest.skip("needs go on PATH")
    go = os.path.realpath(go)
    if not world_reachable(go):
        pytest.skip(f"{go} cannot be executed by a non-root user (install Go outside root's home, e.g. /usr/local/go)")

    t0 = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="rehab-mi-", dir="/tmp"))
    os.chmod(base, 0o755)
    inst = Install(base)
    inst.godir = os.path.dirname(go)
    old_umask = os.umask(0o022)  # the recipe's `umask 022`: the install must be world-readable
    created_user = False
    try:
        # the wheel, as nox builds it
        dist = base / "dist"
        r = _timed(inst, "wheel", lambda: subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), root],
            capture_output=True, text=True, timeout=600))
        assert r.returncode == 0, r.stdout + r.stderr
        (wheel,) = dist.glob("toolexec_rehab-*.whl")

        # a venv with an interpreter every user can run
        tried = []
        t = time.monotonic()
        for cand in _interpreter_candidates():
            if not world_reachable(cand):
                tried.append(f"{cand} -> {os.path.realpath(cand)}: not reachable by other users")
                continue
            q = subprocess.run([cand, "-c", "import sys; print(sys.version_info >= (3, 10)); print(sys.base_prefix)"],
                               capture_output=True, text=True, timeout=60)
            lines = q.stdout.split("\n")
            if q.returncode != 0 or lines[0] != "True":
                tried.append(f"{cand}: not Python >= 3.10")
                continue
            if not world_reachable(lines[1], need=0o005):
                tried.append(f"{cand}: its prefix {lines[1]} is not reachable by other users")
                continue
            v = subprocess.run([cand, "-m", "venv", str(inst.venv)], capture_output=True, text=True, timeout=300)
            if v.returncode == 0:
                inst.python = f"{cand} -> {os.path.realpath(cand)}"
                break
            tried.append(f"{cand}: venv failed ({(v.stdout + v.stderr).strip().splitlines()[-1:]})")
            shutil.rmtree(inst.venv, ignore_errors=True)
        else:
            pytest.skip("no Python >= 3.10 that other users can execute and that can create a venv "
                        "(Debian: apt-get install python3-venv): " + "; ".join(tried))
        inst.timings["venv"] = time.monotonic() - t
        r = _timed(inst, "pip install", lambda: subprocess.run(
            [str(inst.venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             str(wheel)], capture_output=True, text=True, timeout=600))
        assert r.returncode == 0, r.stdout + r.stderr
        inst.bindir.mkdir(mode=0o755)
        (inst.bindir / "toolexec-rehab").symlink_to(inst.venv / "bin" / "toolexec-rehab")

        # the throwaway user
        name = f"rehabmi{os.getpid()}{secrets.token_hex(3)}"[:32]
        r = subprocess.run(["useradd", "--create-home", "--home-dir", str(inst.home), "--shell", "/bin/sh",
                            "--user-group", name], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        created_user = True
        pw = pwd.getpwnam(name)
        inst.user, inst.uid, inst.gid = name, pw.pw_uid, pw.pw_gid
        # a /tmp/toolexec-rehab-<uid> left by a removed user whose uid this one got is stale
        shutil.rmtree(f"/tmp/toolexec-rehab-{inst.uid}", ignore_errors=True)
        if runas_kind == "setpriv":
            inst.runas = ["setpriv", f"--reuid={inst.uid}", f"--regid={inst.gid}", "--init-groups", "--"]
        else:
            inst.runas = ["runuser", "-u", name, "--"]
        inst.timings["setup"] = time.monotonic() - t0
        os.umask(old_umask)
        yield inst
    finally:
        os.umask(old_umask)
        problems = []
        if created_user:
            stop_procs(inst.uid)  # the compile servers it started
            r = subprocess.run(["userdel", "-r", inst.user], capture_output=True, text=True, timeout=60)
            if r.returncode != 0 and "mail spool" not in r.stderr:
                problems.append(f"userdel -r {inst.user}: exit {r.returncode}: {r.stderr.strip()}")
            shutil.rmtree(f"/tmp/toolexec-rehab-{inst.uid}", ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
        assert not problems, problems


def test_machine_wide_install_serves_a_non_root_user(install, capsys):
    inst = install
    t_test = time.monotonic()
    home, uid = inst.home, inst.uid
    site = sorted(inst.venv.glob("lib/python3*/site-packages"))
    assert len(site) == 1, site
    pkg = site[0] / "toolexec_rehab"

    # pip compiled the bytecode as root: users (who cannot write there) never recompile it
    tag = subprocess.run([str(inst.venv / "bin" / "python"), "-c", "import sys; print(sys.implementation.cache_tag)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    missing = [str(p.relative_to(pkg)) for p in pkg.rglob("*.py")
               if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()]
    assert not missing, f"no .pyc for {missing}"
    before = _snapshot(inst.venv)

    mod = home / "leaky"
    r = inst.run(["mkdir", "-p", str(mod)])
    assert r.returncode == 0, r.stderr
    for fname, text in (("go.mod", "module example.com/leaky\n\ngo 1.22\n"), ("leak.go", LEAK_GO),
                        ("main.go", MAIN_GO)):
        r = subprocess.run([*inst.runas, "sh", "-c", 'cat > "$1"', "sh", str(mod / fname)], input=text,
                           env=inst.env(), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr

    # the commands below really run as the throwaway user
    r = inst.run(["id", "-u"])
    assert r.stdout.strip() == str(uid), r.stdout + r.stderr

    # --version through the PATH symlink (neither the venv's bin nor toolexec-rehab-py on PATH)
    r = inst.run(["toolexec-rehab", "--version"])
    assert r.returncode == 0 and r.stdout.startswith("toolexec-rehab "), r.stdout + r.stderr
    # ... by the fast start: the launcher resolved the symlink and runs the venv's python -S
    r = inst.run(["sh", "-x", str(inst.bindir / "toolexec-rehab"), "--version"])
    assert r.returncode == 0, r.stderr
    fast = [ln for ln in r.stderr.splitlines() if ln.startswith("+ exec ") and " -S -c " in ln]
    assert fast and str(inst.venv / "bin") in fast[0] and "site-packages" in r.stderr, r.stderr
    # ... and the console script's own shebang works as well (REHAB_LAUNCHER_NO_S)
    r = inst.run(["toolexec-rehab", "--version"], REHAB_LAUNCHER_NO_S="1")
    assert r.returncode == 0 and r.stdout.startswith("toolexec-rehab "), r.stdout + r.stderr

    # check: exit 1 with the finding (non-terminal: served by a compile server it starts)
    r = _timed(inst, "check", lambda: inst.run(["toolexec-rehab", "check", "."], cwd=mod))
    assert r.returncode == 1 and "leak.go:9:" in r.stdout and "(file-not-closed)" in r.stdout, r.stdout + r.stderr

    # Go's own state is the user's: GOCACHE and GOPATH under its HOME
    r = inst.run(["go", "env", "GOCACHE", "GOPATH"], cwd=mod)
    gocache, gopath = r.stdout.split()
    assert gocache.startswith(str(home) + "/") and gopath.startswith(str(home) + "/"), r.stdout + r.stderr

    def build(label):
        r = _timed(inst, label, lambda: inst.run(["go", "build", "-o", "leaky", "."], cwd=mod, timeout=900,
                                                 GOFLAGS="-toolexec=toolexec-rehab", REHAB_VERBOSE="1"))
        assert r.returncode == 0, r.stdout + r.stderr
        assert PATCH_LINE in r.stderr and "leak.go:9" in r.stderr, r.stderr
        p = inst.run([str(mod / "leaky")], cwd=mod, timeout=60)
        assert p.returncode == 0 and p.stdout.strip() == "leaked=0", p.stdout + p.stderr

    build("first build")  # std too, into the user's empty GOCACHE
    r = inst.run(["sh", "-c", 'echo "// edited" >> main.go'], cwd=mod)
    assert r.returncode == 0, r.stderr
    build("second build")  # only example.com/leaky: compiled and patched again

    # per-user state: private, the user's own
    cache = home / ".cache" / "toolexec-rehab"
    _private_dir(cache, uid)
    _private_dir(cache / "rules", uid)
    pickles = sorted((cache / "rules").glob("*.pickle"))
    assert pickles, sorted(os.listdir(cache / "rules"))
    for p in [*pickles, cache / "vfull.cache"]:
        st = os.lstat(p)
        assert st.st_uid == uid and stat.S_IMODE(st.st_mode) == 0o600, (p, oct(st.st_mode), st.st_uid)
    assert os.lstat(gocache).st_uid == uid
    rt = Path(f"/tmp/toolexec-rehab-{uid}")
    _private_dir(rt, uid)
    _wait_for_socket(rt, uid)

    # XDG_CACHE_HOME and XDG_RUNTIME_DIR are honoured
    for d in ("xdg-cache", "xdg-run"):
        r = inst.run(["mkdir", "-m", "700", str(home / d)])
        assert r.returncode == 0, r.stderr
    r = inst.run(["toolexec-rehab", "check", "."], cwd=mod,
                 XDG_CACHE_HOME=str(home / "xdg-cache"), XDG_RUNTIME_DIR=str(home / "xdg-run"))
    assert r.returncode == 1 and "(file-not-closed)" in r.stdout, r.stdout + r.stderr
    _private_dir(home / "xdg-cache" / "toolexec-rehab", uid)
    _private_dir(home / "xdg-run" / "toolexec-rehab", uid)
    _wait_for_socket(home / "xdg-run" / "toolexec-rehab", uid)

    # the install is read-only for users: nothing under the venv changed
    after = _snapshot(inst.venv)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the user's run changed the system venv: {changed[:20]}"

    inst.timings["test body"] = time.monotonic() - t_test
    with capsys.disabled():
        print(f"\nmachine install: venv from {inst.python}; timings (s): "
              + ", ".join(f"{k} {v:.1f}" for k, v in inst.timings.items()))
