"""How one compile's decision is carried out: compile the files as written, or stop the
speculative compile of the originals and compile the rewritten files. A Runner is made
per compile (shim.main) and handed down to wrap.run_compile; the compile server hands
down its own (server.ServerRunner), which asks the client instead of acting itself. So
no module keeps a compile's state in a global, and nothing is monkeypatched.

Imports only os and sys at the top: the client's process starts with it.
"""

from __future__ import annotations

import os
import sys

# Exit status that tells the sh launcher "your speculative compile is the answer"
# (launcher/toolexec-rehab `speculate`).
SPEC_RC = 213


class Runner:
    """The local process. spec_pid: the sh launcher's speculative compile of the original
    files (REHAB_SPEC, taken out of the environment by shim.main), or None."""

    def __init__(self, spec_pid: int | None = None):
        self.spec_pid = spec_pid

    def original(self, argv: list[str]) -> int:
        """Compile the files as written: the launcher's speculative compile is the answer
        when there is one (SPEC_RC), else become the compiler."""
        sys.stdout.flush()
        sys.stderr.flush()
        if self.spec_pid is not None:
            return SPEC_RC
        self.exec(argv)
        return 0  # not reached

    def exec(self, argv: list[str]) -> None:
        """Become the compiler (the rewritten compile failed, or its fix cannot be recorded:
        the original's object replaces it)."""
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)

    def kill_spec(self) -> None:
        """Stop the speculative compile before the rewritten files are compiled to the same -o."""
        pid, self.spec_pid = self.spec_pid, None
        if pid is not None:
            kill_sibling(pid)

    def run_rewritten(self, argv: list[str]):
        """Compile the rewritten files: a CompletedProcess with its output captured."""
        import subprocess

        self.kill_spec()
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_sibling(pid: int) -> None:
    """Stop the launcher's speculative compile and wait until it is gone (the rewritten
    files are compiled to the same -o). It is our sibling. If it has already finished, the
    launcher's shell may have reaped it while it waits for us (dash does), and its pid could
    in principle be reused: so the process is pinned with a pidfd first and signalled only if
    its parent is our parent (a finished compile needs no kill: the rewritten files are
    compiled after it, to the same -o)."""
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
