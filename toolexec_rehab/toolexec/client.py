"""Client of the compile server (server.py): hand one compile to a warm process.

Imports next to nothing (os, sys, _socket, marshal, zlib: no socket/json/subprocess), so
that the cost of an intercepted compile is interpreter start-up plus the analysis, not
the ~150 ms of imports and rule loading. Any failure returns None and the caller runs
the compile in this process (fail open). REHAB_SERVER=off disables the server.
"""

from __future__ import annotations

import os
import sys

from .protocol import address, recv_msg, send_msg, socket_path
from .runner import SPEC_RC, Runner


def enabled() -> bool:
    from ..settings import flag_or_default

    return flag_or_default("REHAB_SERVER")


def run(argv: list[str], cli: bool = False, runner: Runner | None = None) -> int | None:
    """Send the compile (argv[0] is the real tool) to the server, or with cli=True a command
    (`check ...`). Returns its exit code, or execs the tool as the server says, or returns
    None: run it here (with the same runner: the launcher's compile may still be running)."""
    runner = runner or Runner()
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
    from .protocol import peer_is_us

    if not peer_is_us(s):  # not our server (a socket planted on our path): tell it nothing
        s.close()
        from ..paths import warn_once

        warn_once(f"{path}: the compile server there is not yours; compiling without it")
        return None

    # Speculation: the compiler starts on the original files now, while the server analyzes
    # them. Most compiles need no fix, and then its result is the answer (the analysis cost
    # hides behind the compile on a second core). If a fix is needed, the server asks us to
    # kill it before the rewritten files are compiled.
    if cli or argv[1:] == ["-V=full"]:
        spec = _NoSpec()
    elif runner.spec_pid is not None:
        spec = _LauncherSpec(runner)
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
    if not cli and argv[1:] != ["-V=full"]:
        from .native import launcher_dir, write_pointer

        if launcher_dir() is not None:
            write_pointer()
    trace = os.environ.get("REHAB_SERVER_TRACE")  # tests: which compiles the server served
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(f"served {os.environ.get('TOOLEXEC_IMPORTPATH', '?')} parsed={rep.get('parsed')}\n")
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


class _NoSpec:
    """No compile of the original files is running."""

    running = False

    def kill(self) -> None:
        pass

    def abandon(self) -> None:
        """The compile is going to run in this process instead (the server failed)."""
        self.kill()


class _LauncherSpec(_NoSpec):
    """The sh launcher's compile (runner.spec_pid): the launcher relays it when we exit SPEC_RC."""

    running = True

    def __init__(self, runner: Runner):
        self.runner = runner

    def kill(self) -> None:
        self.runner.kill_spec()

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
        from .server import serve  # the launcher's compile stays the client's (its runner)

        serve(path, tool)
    except BaseException:  # noqa: BLE001 - a server that cannot start is simply absent
        pass
    os._exit(0)
