"""Client of the compile server (server.py): hand one compile to a warm process.

Imports next to nothing (os, sys, _socket, marshal, zlib: no socket/json/subprocess), so
that the cost of an intercepted compile is interpreter start-up plus the analysis, not
the ~150 ms of imports and rule loading. Any failure returns None and the caller runs
the compile in this process (fail open). REHAB_SERVER=off disables the server.
"""

from __future__ import annotations

import os
import sys

# The sh launcher's speculative compile (launcher/toolexec-rehab `speculate`): its pid, from
# REHAB_SPEC (shim.main takes it out of the environment). Exit status SPEC_RC tells the
# launcher that the speculative compile is the answer.
SH_SPEC: int | None = None
SPEC_RC = 213


def kill_sh_spec() -> None:
    """Stop the launcher's speculative compile and wait until it is gone (the rewritten
    files are compiled to the same -o). It is our sibling. If it has already finished, the
    launcher's shell may have reaped it while it waits for us (dash does), and its pid could
    in principle be reused: so the process is pinned with a pidfd first and signalled only if
    its parent is our parent (a finished compile needs no kill: the rewritten files are
    compiled after it, to the same -o)."""
    global SH_SPEC
    pid, SH_SPEC = SH_SPEC, None
    if pid is None:
        return
    import signal

    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        fd = None
    try:
        if _ppid(pid) != os.getppid():
            return  # already exited and reaped
        if fd is not None:
            import select

            signal.pidfd_send_signal(fd, signal.SIGKILL)
            p = select.poll()
            p.register(fd, select.POLLIN)
            p.poll(30000)  # readable once every thread has exited
        else:
            import time

            os.kill(pid, signal.SIGKILL)
            for _ in range(30000):
                if _ppid(pid) != os.getppid() or _state(pid) in ("Z", "X", None):
                    break
                time.sleep(0.001)
    except OSError:
        pass
    finally:
        if fd is not None:
            os.close(fd)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2:].decode("ascii", "replace").split()


def _ppid(pid: int) -> int | None:
    f = _stat_fields(pid)
    return int(f[1]) if f and len(f) > 1 else None


def _state(pid: int) -> str | None:
    f = _stat_fields(pid)
    return f[0] if f else None


def enabled() -> bool:
    from ..settings import flag_or_default

    return flag_or_default("REHAB_SERVER")


def code_key() -> str:
    """Identifies the code a server runs: this interpreter, the package's files (mtime and
    size) and sys.path. A new install or an edited file gets a new server."""
    import zlib

    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parts = [sys.executable, sys.version, pkg, os.pathsep.join(sys.path), _credentials()]
    for root, dirs, files in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(root, name))
                parts.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
    blob = "\0".join(parts).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(blob):08x}{zlib.adler32(blob):08x}"


def _runtime_dir() -> str | None:
    """A private directory for the socket, shared by all builds of this user whatever their
    XDG_CACHE_HOME (one server per installed version, not one per cache dir):
    $XDG_RUNTIME_DIR/toolexec-rehab, else /tmp/toolexec-rehab-<uid>. None if it is not ours
    alone (owner, mode 0700, not a symlink)."""
    import stat

    uid = os.getuid()
    rt = os.environ.get("XDG_RUNTIME_DIR")
    if rt and os.path.isabs(rt) and os.path.isdir(rt):
        d = os.path.join(rt, "toolexec-rehab")
    else:
        d = os.path.join("/tmp", f"toolexec-rehab-{uid}")
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
        return None
    return d


def _credentials() -> str:
    """Who the server acts as: a process of the same user with other groups or capabilities
    (sg, setpriv, a container) must not be served by one that can read more."""
    caps = ""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            caps = ";".join(x.strip() for x in fh if x.startswith(("Cap", "NoNewPrivs", "Seccomp:")))
    except OSError:
        pass
    return f"{os.getuid()}:{os.geteuid()}:{os.getgid()}:{os.getegid()}:{sorted(os.getgroups())}:{caps}"


def socket_path() -> str | None:
    d = _runtime_dir()
    return os.path.join(d, f"srv-{code_key()}.sock") if d else None


def address(path: str) -> tuple[str, int | None]:
    """A socket address for path: sun_path holds ~107 bytes, so a longer path goes through
    an open descriptor of its directory (/proc/self/fd/N/name; Linux). Close the fd after use."""
    if len(path.encode()) < 100:
        return path, None
    d, name = os.path.split(path)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    return f"/proc/self/fd/{fd}/{name}", fd


def run(argv: list[str], cli: bool = False) -> int | None:
    """Send the compile (argv[0] is the real tool) to the server, or with cli=True a command
    (`check ...`). Returns its exit code, or execs the tool as the server says, or returns
    None: run it here."""
    if not enabled():
        return None
    import _socket

    path = socket_path()
    if path is None:
        return None
    addr, dfd = address(path)
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(addr)
    except OSError:
        s.close()
        if dfd is not None:
            os.close(dfd)
            dfd = None
        _spawn(path, "" if cli else argv[0])
        return None
    finally:
        if dfd is not None:
            os.close(dfd)

    # Speculation: the compiler starts on the original files now, while the server analyzes
    # them. Most compiles need no fix, and then its result is the answer (the analysis cost
    # hides behind the compile on a second core). If a fix is needed, the server asks us to
    # kill it before the rewritten files are compiled.
    if cli or argv[1:] == ["-V=full"]:
        spec = _NoSpec()
    elif SH_SPEC is not None:
        spec = _LauncherSpec()
    else:
        spec = _speculate(argv)
    rep = None
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        send_msg(s, {"argv": list(argv), "cwd": os.getcwd(), "env": dict(os.environ), "spec": spec.running,
                     "cli": cli, "umask": umask})
        while True:
            msg = recv_msg(s)
            if msg is None:
                break
            if msg.get("kill"):
                spec.kill()
                spec = _NoSpec()
                send_msg(s, {"ok": True})
                continue
            rep = msg
            break
    except BaseException:
        spec.kill()
        raise
    finally:
        s.close()
    if rep is None or rep.get("fallback"):
        spec.abandon()
        return None
    trace = os.environ.get("REHAB_SERVER_TRACE")  # tests: which compiles the server served
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(f"served {os.environ.get('TOOLEXEC_IMPORTPATH', '?')}\n")
    out, err = rep.get("out", b""), rep.get("err", b"")
    if out:
        sys.stdout.buffer.write(out)
    if err:
        sys.stderr.buffer.write(err)
    sys.stdout.flush()
    sys.stderr.flush()
    if rep.get("exec"):
        new = rep["exec"]
        if spec.running and new == argv:
            return spec.finish()
        spec.kill()
        os.execv(new[0], new)
    spec.kill()
    if rep.get("vfull_cache"):
        _write_vfull_cache(rep["vfull_cache"])
    return int(rep.get("rc", 0))


def send_msg(sock, obj) -> None:
    """One message: 4-byte length, then marshal (client and server are the same interpreter:
    the socket name carries sys.version)."""
    import marshal

    data = marshal.dumps(obj)
    sock.sendall(len(data).to_bytes(4, "big") + data)


def _recv_exact(sock, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        b = sock.recv(min(n - len(buf), 1 << 20))
        if not b:
            return None
        buf += b
    return bytes(buf)


def recv_msg(sock):
    import marshal

    head = _recv_exact(sock, 4)
    if head is None:
        return None
    data = _recv_exact(sock, int.from_bytes(head, "big"))
    return None if data is None else marshal.loads(data)


class _NoSpec:
    """No compile of the original files is running."""

    running = False

    def kill(self) -> None:
        pass

    def abandon(self) -> None:
        """The compile is going to run in this process instead (the server failed)."""
        self.kill()


class _LauncherSpec(_NoSpec):
    """The sh launcher's compile (SH_SPEC): the launcher relays it when we exit SPEC_RC."""

    running = True

    def kill(self) -> None:
        kill_sh_spec()

    def abandon(self) -> None:
        pass  # it serves the local run as well (wrap.run_compile)

    def finish(self) -> int:
        return SPEC_RC


class _OwnSpec(_NoSpec):
    """A compile this process started, its stdout/stderr in memory files."""

    running = True

    def __init__(self, pid: int, out: int, err: int):
        self.pid, self.out, self.err = pid, out, err

    def kill(self) -> None:
        import signal

        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        os.close(self.out)
        os.close(self.err)

    def finish(self) -> int:
        """The compile is the answer: its output, then its exit status."""
        _, status = os.waitpid(self.pid, 0)
        for fd, stream in ((self.out, sys.stdout), (self.err, sys.stderr)):
            os.lseek(fd, 0, os.SEEK_SET)
            while True:
                b = os.read(fd, 1 << 16)
                if not b:
                    break
                stream.buffer.write(b)
            stream.flush()
            os.close(fd)
        if os.WIFSIGNALED(status):
            import signal

            sig = os.WTERMSIG(status)
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        return os.waitstatus_to_exitcode(status)


def _speculate(argv: list[str]) -> _NoSpec:
    """Start the compiler on the original files, its stdout/stderr in memory files."""
    from ..settings import flag_or_default

    if not (hasattr(os, "posix_spawn") and hasattr(os, "memfd_create")) or not flag_or_default("REHAB_SPECULATE"):
        return _NoSpec()
    try:
        out, err = os.memfd_create("rehab-stdout"), os.memfd_create("rehab-stderr")
        pid = os.posix_spawn(argv[0], argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, err, 2)])
    except OSError:
        return _NoSpec()
    return _OwnSpec(pid, out, err)


def _write_vfull_cache(text: str) -> None:
    """For the launcher: the answer to `compile -V=full` and what it depends on (server.py).
    Only in a cache dir that is ours alone, through a fresh file (the launcher checks that
    the directory and the file are ours before it believes them)."""
    from ..paths import cache_dir, write_private

    try:
        write_private(os.path.join(cache_dir(), "vfull.cache"), text.encode("utf-8"))
    except OSError:
        pass


def _spawn(path: str, tool: str) -> None:
    """Start a detached server for the next compiles; this compile runs here meanwhile."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        # cmd/go waits for EOF on the tool's stdout/stderr: let go of them at once
        fd = os.open(os.devnull, os.O_RDWR)
        for n in (0, 1, 2):
            os.dup2(fd, n)
        if fd > 2:
            os.close(fd)
        global SH_SPEC
        SH_SPEC = None  # the launcher's compile belongs to the client, not to the server
        from .server import serve

        serve(path, tool)
    except BaseException:  # noqa: BLE001 - a server that cannot start is simply absent
        pass
    os._exit(0)
