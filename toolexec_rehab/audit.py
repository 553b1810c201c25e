"""The audit log: one JSON line per fix written (by `fix --write`, or by builds with `build.audit`).

Each entry carries the hash of the previous entry and its own hash over its canonical JSON,
so that changing an entry breaks its own hash and removing one breaks the next entry's
`prev`. Removing entries from the end leaves a shorter valid chain: `audit verify` prints
the head hash and count, and `--head HASH` checks against a head recorded elsewhere
(a CI log, a commit message).

Appends are serialised with flock, so parallel compiles of one build can share a log.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import time

from .errors import AuditError  # noqa: F401 - re-exported

GENESIS = "0" * 64
FIELDS = ("time", "user", "rule", "node_id", "file", "line", "patch_hash", "source", "prev")




def _hash(entry: dict) -> str:
    body = {k: entry.get(k) for k in FIELDS}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return str(os.getuid())


def _last_hash(fh, name: str | None = None) -> str:
    name = name or str(fh.name)
    try:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
    except OSError as e:
        raise AuditError(f"{name}: cannot read the audit log: {e.strerror or e}") from None
    if size == 0:
        return GENESIS
    back = min(size, 65536)
    try:
        fh.seek(size - back)
        tail = fh.read(back).rstrip(b"\n").rsplit(b"\n", 1)[-1]
    except OSError as e:
        raise AuditError(f"{name}: cannot read the audit log: {e.strerror or e}") from None
    try:
        return json.loads(tail)["hash"]
    except (ValueError, KeyError, TypeError):
        raise AuditError(f"{name}: the last entry is not a valid audit line; run `audit verify`") from None


def _open(path: str, root: str | None = None) -> int:
    """The log for appending: created 0600, never through a symbolic link, only a regular
    file of ours; with root (a log a repository's config named), only inside root."""
    import stat

    from .paths import confined

    d = os.path.dirname(os.path.abspath(path))
    try:
        if root is not None and not confined(d, root):
            raise AuditError(f"{path}: outside the repository {root}; nothing written")
        os.makedirs(d, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0), 0o600)
    except OSError as e:
        raise AuditError(f"{path}: cannot write the audit log: {e.strerror or e}; nothing written") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or (st.st_size == 0 and path.startswith("/proc/")):
        os.close(fd)
        raise AuditError(f"{path}: not a regular file of yours; cannot write the audit log there; nothing written")
    return fd


class Log:
    """An audit log opened for appending (fails now, not after the fixes are made)."""

    def __init__(self, path: str, root: str | None = None):
        self.path = path
        self.fh = os.fdopen(_open(path, root), "a+b")
        try:
            _last_hash(self.fh, path)
        except BaseException:
            self.fh.close()
            raise

    def append(self, entries: list[dict], source: str) -> None:
        """entries: dicts with rule, node_id, file, line, patch_hash. One write + fsync under
        flock: an entry is never half there. AuditError when it cannot be recorded."""
        import fcntl

        if not entries:
            return
        fh = self.fh
        try:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                prev = _last_hash(fh, self.path)
                lines = []
                for e in entries:
                    rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user": _user(),
                           "rule": e["rule"], "node_id": e["node_id"], "file": e["file"], "line": e["line"],
                           "patch_hash": e["patch_hash"], "source": source, "prev": prev}
                    rec["hash"] = _hash(rec)
                    prev = rec["hash"]
                    lines.append(json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n")
                fh.write("".join(lines).encode())
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        except OSError as e:
            raise AuditError(f"{self.path}: cannot write the audit log: {e.strerror or e}") from None

    def close(self) -> None:
        try:
            self.fh.close()
        except OSError:
            pass


def check_writable(path: str, root: str | None = None) -> None:
    """Raise AuditError unless `path` can be appended to (and its last entry is sound)."""
    Log(path, root).close()


def append(path: str, entries: list[dict], source: str, root: str | None = None) -> None:
    """entries: dicts with rule, node_id, file, line, patch_hash."""
    if not entries:
        return
    log = Log(path, root)
    try:
        log.append(entries, source)
    finally:
        log.close()


def verify(path: str) -> tuple[int, str, list[str]]:
    """(entries, head hash, problems): a problem names the line and what is wrong."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise AuditError(f"{path}: {e.strerror}") from None
    prev = GENESIS
    problems = []
    n = 0
    for i, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        n += 1
        try:
            rec = json.loads(raw)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
        except ValueError as e:
            problems.append(f"{path}:{i}: not a JSON object: {e}")
            prev = None
            continue
        missing = [k for k in (*FIELDS, "hash") if k not in rec]
        if missing:
            problems.append(f"{path}:{i}: missing field(s) {', '.join(missing)}")
        if rec.get("hash") != _hash(rec):
            problems.append(f"{path}:{i}: entry was changed (its hash does not match its content)")
        if prev is not None and rec.get("prev") != prev:
            problems.append(f"{path}:{i}: chain broken: an entry before this one was removed or changed")
        prev = rec.get("hash")
    return n, prev or "", problems
