"""The compile server's client without Python (toolexec_rehab/native/main.go, "rehab-client").

An intercepted compile whose findings the result cache holds costs the server ~5 ms, and
the Python client that asks for them ~7.5 ms of CPU, 6 ms of it the interpreter's own
start. The native client asks the same server for the same answer in ~1 ms:

- **Built** by the compile server when no request has come for BUILD_IDLE seconds, with
  the Go toolchain of the compiles it serves, at the lowest CPU priority (SCHED_IDLE: it
  runs only on a core nothing else wants), next to its source: toolexec_rehab/native/
  rehab-client (`build`). So once per install (an install that is not ours to write, a
  machine-wide one, goes without), and whoever could replace it could replace our Python
  code as well. `rehab-client -version` says which source it was built from. A failure is
  not retried by that server; nothing depends on the client being there. (`pip uninstall`
  leaves the built file behind: it is not in the wheel's record.)
- **Run** by the sh launcher for an in-scope compile, in place of Python, while its
  speculative compile runs (launcher `speculate`), when the launcher would start Python
  with -S and the binary is a regular file of ours. Exit 215 or 216, or no answer
  acknowledged, means "not answered": the launcher runs the Python client as before.
- **Told** by the Python client (`write_pointer`, after a compile the server answered) what
  it cannot know itself: the parts of protocol.code_key that only the interpreter knows
  (sys.executable, sys.version, our package's directory, sys.path), with what they depend
  on (the PYTHON* and locale variables; the interpreter's files by device, inode, size,
  mtime and ctime). It computes the rest as code_key does (the credentials, the stat of
  each of our .py files) and so names the socket Python would name: an edited or
  reinstalled file of ours gives another name, as it does for Python.

Imports only os and sys at the top: the Python client imports it.
"""

from __future__ import annotations

import os
import sys

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "native")
BINARY = os.path.join(SRC, "rehab-client")
POINTER = "native.ptr"  # in cache_dir(): the user's, not the install's
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


def pointer_text() -> str | None:
    """What native.ptr says (main.go readPointer checks each line), or None when it cannot be
    said (not the launcher's fast path, a newline in a value, a variable taken out of the
    environment). The client computes the socket's name from it as protocol.code_key does."""
    from .protocol import key_head

    here = launcher_dir()
    given = _given_environ()
    if here is None or given is None:
        return None
    head, _pkg = key_head()
    lines = [f"V {source_version()}", f"K {here}"]
    lines += [f"Q {x.encode('utf-8', 'surrogateescape').hex()}" for x in head]
    py = sorted(k for k in os.environ if k.startswith("PYTHON"))
    lines.append(f"P {len(py)}")
    lines += [f"E {k}={os.environ[k]}" for k in py]
    # the locale as given (it decides the file-system encoding, and PEP 538's coercion), and
    # what this interpreter added to its environment (LC_CTYPE=C.UTF-8 under a C locale)
    lines += [f"W {k}={given[k]}" if k in given else f"W {k}" for k in ("LC_ALL", "LC_CTYPE", "LANG")]
    if any(k not in os.environ for k in given if k != "REHAB_SPEC"):  # (shim takes REHAB_SPEC out)
        return None
    lines += [f"Z {k}={v}" for k, v in sorted(os.environ.items()) if given.get(k) != v]
    lines.append(f"U {sys.getfilesystemencoding()}:{sys.getfilesystemencodeerrors()}")
    # the interpreter's files: a Python upgraded in place (its mtime kept) is still seen
    files = [os.path.realpath(sys.executable), *_libpython(), os.path.join(here, "toolexec-rehab-py")]
    cfg = os.path.join(sys.prefix, "pyvenv.cfg")
    if os.path.exists(cfg):
        files.append(cfg)
    for f in files:
        st = os.stat(f)
        lines.append(f"F {st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {f}")
    if any("\n" in x for x in lines):
        return None
    return "\n".join(lines) + "\n"


def _given_environ() -> dict[str, str] | None:
    """The environment this process was started with (/proc/self/environ), before Python changed it."""
    try:
        with open("/proc/self/environ", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    out: dict[str, str] = {}
    for item in raw.split(b"\0"):
        k, eq, v = item.partition(b"=")
        if eq and k and os.fsdecode(k) not in out:
            out[os.fsdecode(k)] = os.fsdecode(v)
    return out


def _libpython() -> list[str]:
    """The shared libpython this interpreter runs on, if any (from /proc/self/maps)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="surrogateescape") as fh:
            paths = {line.split(None, 5)[5].strip() for line in fh if "libpython" in line and line.count(" ") >= 5}
    except (OSError, IndexError):
        return []
    return sorted(p for p in paths if p.startswith("/") and os.path.basename(p).startswith("libpython"))


def write_pointer() -> None:
    """After a compile the server answered: point the native client at it (only when the
    client is there: nothing to tell otherwise; and only when what it says changed). Never raises."""
    try:
        if not os.path.isfile(BINARY):
            return
        from ..paths import cache_dir, write_private

        text = pointer_text()
        if text is None:
            return
        path = os.path.join(cache_dir(), POINTER)
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                if fh.read() == text:
                    return
        except OSError:
            pass
        write_private(path, text.encode("utf-8", "surrogateescape"))
    except Exception:  # noqa: BLE001 - the client is an optimization
        pass


def needs_build() -> bool:
    """The client is missing or of another version, and the install is ours to write."""
    if not os.access(SRC, os.W_OK):
        return False
    return installed_version() != source_version()


def installed_version() -> str | None:
    """The version the built client says it is (`rehab-client -version`), None if none runs."""
    import subprocess

    try:
        r = subprocess.run([BINARY, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def build_env(goroot: str, tool: str) -> dict[str, str]:
    """The environment of the client's `go build`: the server's (the user's: HOME, PATH,
    GOCACHE), with nothing of the user's build that could change or break it: no go env
    file (GOFLAGS=-toolexec=... there would call us; an empty GOFLAGS does not override it),
    no toolchain switch, no workspace, no proxy, a host build without cgo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO_", "REHAB_"))}
    for k in ("GOCACHE", "GOTMPDIR"):
        if k in os.environ:
            env[k] = os.environ[k]
    host = os.path.basename(os.path.dirname(tool))  # $GOROOT/pkg/tool/<GOHOSTOS>_<GOHOSTARCH>/compile
    goos, _, goarch = host.partition("_")
    env.update(GOROOT=goroot, GOENV="off", GOFLAGS="-buildvcs=false", GOTOOLCHAIN="local", GOWORK="off",
               GO111MODULE="on", CGO_ENABLED="0", GOOS=goos, GOARCH=goarch, GOPROXY="off", REHAB_SERVER="off")
    return env


def build(tool: str) -> bool:
    """Build the client with the Go toolchain of `tool` (a compile's path) next to its
    source: a fresh file there, made executable (by us only), then renamed into place. In
    the calling process (the server forks for it). False on any failure."""
    import signal
    import subprocess

    from .compileargs import tool_goroot

    goroot = tool_goroot(tool)
    go = os.path.join(goroot, "bin", "go")
    if not (os.path.isfile(go) and os.access(go, os.X_OK)):
        return False
    ver = source_version()
    tmp = os.path.join(SRC, f".rehab-client.{os.urandom(6).hex()}.tmp")
    try:
        # its own process group: a timeout stops the compiler and linker under go as well
        p = subprocess.Popen([go, "build", "-buildvcs=false", f"-ldflags=-s -w -X main.version={ver}", "-o", tmp,
                              "."], cwd=SRC, env=build_env(goroot, tool), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = p.wait(timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return False
        if rc != 0 or not os.path.isfile(tmp):
            return False
        os.chmod(tmp, 0o700)
        os.replace(tmp, BINARY)
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
