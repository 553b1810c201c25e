"""The compile server's client without Python (toolexec_rehab/native/main.go, "rehab-client").

An intercepted compile whose findings the result cache holds costs the server ~5 ms, and
the Python client that asks for them ~7.5 ms of CPU, 6 ms of it the interpreter's own
start. The native client asks the same server for the same answer in ~1 ms:

- **Built** by the compile server when it has been idle for BUILD_IDLE seconds (never
  during a build), with the Go toolchain of the compiles it serves, at the lowest CPU
  priority, next to its source: toolexec_rehab/native/rehab-client (`build`). So once per
  install (an install that is not ours to write, a machine-wide one, goes without), and
  whoever could replace it could replace our Python code as well. rehab-client.version
  says which source it was built from. A failure is not retried by that server; nothing
  depends on the client being there.
- **Run** by the sh launcher for an in-scope compile, in place of Python, while its
  speculative compile runs (launcher `speculate`), when the binary is a regular file of
  ours. Exit 215 or 216 means "not answered": the launcher runs the Python client as before.
- **Told which server** by the Python client (`write_pointer`, after a compile the server
  answered): native.ptr names the socket, and everything the socket's name stands for
  (protocol.code_key and _runtime_dir) in a form the client can check without Python:
  the launcher's directory (the site-packages the launcher put on sys.path), the
  credentials, the runtime dir, the PYTHON* variables, our code's directories and the
  interpreter's files. The pointer's mtime is set to the moment before the code key's
  stats were taken, less MARGIN_NS (the kernel stamps files with a coarse clock): a file
  of ours or of the interpreter modified since then is newer than the pointer, and the
  client leaves the compile to Python, which computes the new key and so reaches (or
  starts) the server that runs the new code.

Imports only os and sys at the top: the Python client imports it.
"""

from __future__ import annotations

import os
import sys

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "native")
BINARY = os.path.join(SRC, "rehab-client")
VERSION_FILE = BINARY + ".version"
POINTER = "native.ptr"  # in cache_dir(): the user's, not the install's
MARGIN_NS = 50_000_000
BUILD_IDLE = 3.0  # seconds without a request before the server builds the client
BUILD_TIMEOUT = 600.0


def enabled() -> bool:
    """REHAB_NATIVE_CLIENT (default on): `off` leaves every compile to the Python client."""
    from ..settings import flag_or_default

    return flag_or_default("REHAB_NATIVE_CLIENT")


def source_version() -> str:
    """The client's version: a digest of its source (the build stamps it in, the pointer names it)."""
    import zlib

    blob = b""
    for name in ("go.mod", "main.go"):
        with open(os.path.join(SRC, name), "rb") as fh:
            blob += name.encode() + b"\0" + fh.read() + b"\0"
    return f"{zlib.crc32(blob):08x}{zlib.adler32(blob):08x}"


def launcher_dir() -> str | None:
    """The sh launcher's directory, as it passes it to the client: it started this
    interpreter with -S and put "$here/../lib/python3*/site-packages" first on sys.path
    (launcher run_py). None otherwise (no pointer: the client is for that fast path only)."""
    if not sys.flags.no_site or not sys.path:
        return None
    sp = sys.path[0]
    i = sp.rfind("/../lib/python3")
    if i <= 0 or not sp.endswith("/site-packages") or "/" in sp[i + len("/../lib/"):-len("/site-packages")]:
        return None
    return sp[:i]


def pointer_text(sock: str) -> str | None:
    """What native.ptr says for a compile that reached the server on sock (main.go `pointer`
    checks each line), or None when it cannot be said (not the launcher's fast path, a
    newline in a value)."""
    from .protocol import _credentials

    here = launcher_dir()
    if here is None:
        return None
    rt = os.path.dirname(sock)
    lines = [f"V {source_version()}", f"K {here}", f"C {_credentials()}", f"D {rt}", f"S {sock}"]
    py = sorted(k for k in os.environ if k.startswith("PYTHON"))
    lines.append(f"P {len(py)}")
    lines += [f"E {k}={os.environ[k]}" for k in py]
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root, dirs, _files in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        lines.append(f"M {root}")
    lines.append(f"F {os.path.realpath(sys.executable)}")
    cfg = os.path.join(sys.prefix, "pyvenv.cfg")
    if os.path.exists(cfg):
        lines.append(f"F {cfg}")
    if any("\n" in x for x in lines):
        return None
    return "\n".join(lines) + "\n"


def write_pointer(sock: str, t0_ns: int) -> None:
    """After a compile the server on sock answered: point the native client at it (only when
    the client is there: nothing to tell otherwise). t0_ns: time.time_ns() taken before the
    socket's code key was computed. Never raises."""
    try:
        from ..paths import cache_dir, write_private

        if not os.path.isfile(BINARY):
            return
        cd = cache_dir()
        text = pointer_text(sock)
        if text is None:
            return
        t = t0_ns - MARGIN_NS
        write_private(os.path.join(cd, POINTER), text.encode("utf-8", "surrogateescape"),
                      before_rename=lambda fd: os.utime(fd, ns=(t, t)))
    except Exception:  # noqa: BLE001 - the client is an optimization
        pass


def needs_build() -> bool:
    """The client is missing or of another version, and the install is ours to write."""
    if not os.access(SRC, os.W_OK):
        return False
    try:
        with open(VERSION_FILE, encoding="utf-8") as fh:
            have = fh.read().strip()
        return have != source_version() or not os.path.isfile(BINARY)
    except (OSError, ValueError):
        return True


def build_env(goroot: str, tool: str) -> dict[str, str]:
    """The environment of the client's `go build`: the server's (the user's: GOCACHE, HOME,
    PATH), with nothing of the user's build that could change or break it: no GOFLAGS (a
    -toolexec of ours would call us), no toolchain switch, no workspace, a host build without cgo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO_", "REHAB_"))}
    for k in ("GOCACHE", "GOTMPDIR", "GOENV"):
        if k in os.environ:
            env[k] = os.environ[k]
    host = os.path.basename(os.path.dirname(tool))  # $GOROOT/pkg/tool/<GOHOSTOS>_<GOHOSTARCH>/compile
    goos, _, goarch = host.partition("_")
    env.update(GOROOT=goroot, GOFLAGS="", GOTOOLCHAIN="local", GOWORK="off", GO111MODULE="on", CGO_ENABLED="0",
               GOOS=goos, GOARCH=goarch, GOPROXY="off", REHAB_SERVER="off")
    return env


def build(tool: str) -> bool:
    """Build the client with the Go toolchain of `tool` (a compile's path) next to its
    source: a fresh file there, made executable (by us only), then renamed into place, and
    its version beside it. In the calling process (the server forks for it). False on any
    failure."""
    import subprocess

    from ..paths import write_private

    goroot = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(tool))))
    go = os.path.join(goroot, "bin", "go")
    if not (os.path.isfile(go) and os.access(go, os.X_OK)):
        return False
    ver = source_version()
    tmp = os.path.join(SRC, f".rehab-client.{os.urandom(6).hex()}.tmp")
    try:
        r = subprocess.run([go, "build", "-buildvcs=false", f"-ldflags=-s -w -X main.version={ver}",
                            "-o", tmp, "."], cwd=SRC, env=build_env(goroot, tool), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=BUILD_TIMEOUT)
        if r.returncode != 0 or not os.path.isfile(tmp):
            return False
        os.chmod(tmp, 0o700)
        os.replace(tmp, BINARY)
        write_private(VERSION_FILE, ver.encode())
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def build_in_background(tool: str, close: tuple[int, ...] = ()) -> None:
    """From the compile server's loop: build() in a child at the lowest CPU priority (it
    never competes with a build's compiles), which the server does not wait for. close: the
    server's descriptors the child lets go of at once (its listening socket)."""
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        return
    code = 1
    try:
        import signal

        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # (the server ignores it: go build's status must be seen)
        for fd in close:
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except (OSError, AttributeError):
            pass
        try:
            os.nice(19)
        except OSError:
            pass
        code = 0 if build(tool) else 1
    finally:
        os._exit(code)
