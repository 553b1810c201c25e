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
