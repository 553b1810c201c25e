import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "toolexec-rehab"

# a package whose file is left open on the success path (file-not-closed at 9:12, return at 13)
LEAKY = """\
package p

import (
	"io"
	"os"
)

func Read(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}
"""


def rehab(*args, cwd=None, env=None, check=False):
    e = dict(os.environ)
    e.pop("GOFLAGS", None)
    if env:
        e.update(env)
    r = subprocess.run([str(BIN), *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"exit {r.returncode}\nstdout:{r.stdout}\nstderr:{r.stderr}")
    return r


def go_env(**extra):
    e = dict(os.environ)
    e.pop("GOFLAGS", None)
    e["GOTOOLCHAIN"] = "local"
    e.update(extra)
    return e


def compile_tool() -> str:
    out = subprocess.run(["go", "env", "GOTOOLDIR"], capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(out, "compile")


def tree_digest(root) -> dict[str, str]:
    """sha256 of every file under root, keyed by relative path."""
    import hashlib

    out = {}
    for p in sorted(Path(root).rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def digest_diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        [f"added {k}" for k in after.keys() - before.keys()]
        + [f"removed {k}" for k in before.keys() - after.keys()]
        + [f"changed {k}" for k in before.keys() & after.keys() if before[k] != after[k]]
    )


def copytree(src, dst):
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------------ other users (root only)

def world_reachable(path: str, need: int = 0o005) -> bool:
    """Whether a user in no special group can reach `path` (symlinks resolved): every parent
    directory o+x, the file itself `need` (default o+rx)."""
    try:
        real = os.path.realpath(path)
        if os.stat(real).st_mode & need != need:
            return False
        d = os.path.dirname(real)
        while True:
            if not os.stat(d).st_mode & 0o001:
                return False
            if d == "/":
                return True
            d = os.path.dirname(d)
    except OSError:
        return False


def procs_of(uid: int) -> list[int]:
    """Pids whose real uid is `uid` (a throwaway test user's: only processes the test started)."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(p))
                        break
        except (OSError, ValueError, IndexError):
            continue
    return pids


def stop_procs(uid: int) -> None:
    """SIGTERM, then SIGKILL, the processes of a test user (the compile servers its builds
    started), waiting up to 5 s after each."""
    import signal
    import time

    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = procs_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and procs_of(uid):
            time.sleep(0.1)


def listeners(sock_path) -> list[int]:
    """Pids with an fd on the Unix socket bound at sock_path (by its inode in /proc/net/unix)."""
    inodes = set()
    try:
        with open("/proc/net/unix") as fh:
            for line in fh:
                f = line.split()
                if len(f) >= 8 and f[-1] == str(sock_path):
                    inodes.add(f[6])
    except OSError:
        return []
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{d}/fd"):
                link = os.readlink(f"/proc/{d}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    pids.append(int(d))
                    break
        except OSError:
            continue
    return pids
