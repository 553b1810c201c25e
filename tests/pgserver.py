"""A throwaway PostgreSQL server for integration tests.

Usage::

    with pgserver.running() as pg:
        print(pg.dsn)   # postgres://postgres@127.0.0.1:PORT/rehab?sslmode=disable

The server lives in a fresh temporary directory (data directory, unix
sockets, log), listens on 127.0.0.1 on a free port, trusts every local
connection, and is stopped and deleted on exit. PostgreSQL refuses to run as
root, so when we are root every server command runs as the ``postgres`` OS
user through ``runuser``.

If the server binaries cannot be found, :class:`PostgresUnavailable` is
raised; test fixtures turn it into a skip. Binaries are looked up in
``$REHAB_PG_BINDIR``, then ``/usr/lib/postgresql/<version>/bin`` (Debian's
layout, newest version first), then ``$PATH``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["PostgresUnavailable", "PgServer", "find_bindir", "running"]

SERVER_USER = "postgres"
DEFAULT_DB = "rehab"
_REQUIRED = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (or a user to run them) are missing."""


@dataclasses.dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    dbname: str
    root: Path  # temporary directory holding data/, the sockets and the log

    @property
    def dsn(self) -> str:
        """A URL DSN usable by github.com/lib/pq."""
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.dbname}?sslmode=disable"

    @property
    def logfile(self) -> Path:
        return self.root / "postgres.log"


def _version_key(path: str) -> tuple:
    m = re.search(r"/postgresql/([0-9.]+)/bin", path)
    return tuple(int(p) for p in m.group(1).split(".")) if m else ()


def find_bindir() -> Path:
    """Return the directory holding initdb, pg_ctl and postgres."""
    candidates: list[str] = []
    if os.environ.get("REHAB_PG_BINDIR"):
        candidates.append(os.environ["REHAB_PG_BINDIR"])
    candidates += sorted(
        (os.path.dirname(p) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=_version_key,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(os.path.dirname(on_path))
    for cand in candidates:
        if all(os.access(os.path.join(cand, exe), os.X_OK) for exe in _REQUIRED):
            return Path(cand)
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
        "$REHAB_PG_BINDIR, /usr/lib/postgresql/*/bin or $PATH; "
        "install them with: apt-get install -y postgresql"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Runner:
    """Runs server commands, as the postgres user when we are root."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.pw = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root but there is no {SERVER_USER!r} OS user to run PostgreSQL as"
                ) from None
            if not shutil.which("runuser"):
                raise PostgresUnavailable("running as root but runuser(1) is missing")
        else:
            self.pw = pwd.getpwuid(os.geteuid())

    def give(self, path: Path) -> None:
        if self.as_root:
            os.chown(path, self.pw.pw_uid, self.pw.pw_gid)

    def run(self, exe: str, args: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / exe), *args]
        if self.as_root:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        env = dict(os.environ, LC_ALL="C", LANG="C")
        env.pop("PGDATA", None)
        return subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            env=env,
            cwd="/",
        )


def _check(cp: subprocess.CompletedProcess, what: str, log: Path | None = None) -> None:
    if cp.returncode == 0:
        return
    msg = f"{what} failed (exit {cp.returncode}): {' '.join(cp.args)}\n{cp.stdout}"
    if log is not None and log.exists():
        msg += "\n--- server log ---\n" + log.read_text(errors="replace")[-4000:]
    raise RuntimeError(msg)


@contextlib.contextmanager
def running(dbname: str = DEFAULT_DB, *, start_attempts: int = 3) -> Iterator[PgServer]:
    """Start a throwaway server, create ``dbname``, yield it, then tear down."""
    bindir = find_bindir()
    runner = _Runner(bindir)
    # Not under pytest's tmp dirs: those are mode 0700 and owned by root, so
    # the postgres user could not reach anything below them.
    root = Path(tempfile.mkdtemp(prefix="rehab-pg-"))
    started = False
    try:
        runner.give(root)
        data = root / "data"
        cp = runner.run(
            "initdb",
            ["-D", str(data), "-U", SERVER_USER, "--auth=trust", "--encoding=UTF8",
             "--locale=C", "--no-sync"],
            timeout=120,
        )
        _check(cp, "initdb")
        log = root / "postgres.log"
        port = 0
        for attempt in range(start_attempts):
            port = _free_port()
            opts = " ".join([
                f"-p {port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=40",
                "-c shared_buffers=16MB",
            ])
            cp = runner.run(
                "pg_ctl",
                ["-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"],
                timeout=90,
            )
            if cp.returncode == 0:
                started = True
                break
            # Most likely someone grabbed the port between probe and bind.
            if attempt == start_attempts - 1:
                _check(cp, "pg_ctl start", log)
        if (bindir / "createdb").exists():
            cp = runner.run(
                "createdb",
                ["-h", "127.0.0.1", "-p", str(port), "-U", SERVER_USER, dbname],
                timeout=60,
            )
            _check(cp, f"createdb {dbname}", log)
        else:  # client tools missing: fall back to the database initdb made
            dbname = "postgres"
        yield PgServer(host="127.0.0.1", port=port, user=SERVER_USER, dbname=dbname, root=root)
    finally:
        if started:
            cp = runner.run("pg_ctl", ["-D", str(root / "data"), "-m", "immediate", "-w", "-t", "30", "stop"],
                            timeout=60)
            if cp.returncode != 0:  # pragma: no cover - best effort
                _kill_postmaster(root / "data")
        shutil.rmtree(root, ignore_errors=True)


def _kill_postmaster(data: Path) -> None:
    """Last resort when pg_ctl stop fails: SIGKILL the postmaster by its pid file."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, 9)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)


if __name__ == "__main__":  # manual smoke test: python tests/pgserver.py
    with running() as pg:
        print(pg.dsn)
