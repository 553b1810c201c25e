"""Where our own files live, and how we open other people's. Imports nothing heavy: the
-V=full path uses it.

Trust (README "Trust"):
- directories we write (cache, runtime, logs, overlays) are ours alone: created 0700,
  used only when owned by us and not a symlink (`private_dir`);
- files we write are created with O_EXCL|O_NOFOLLOW under a fresh name and renamed into
  place (`write_private`), so a planted file or link is never written through;
- files we read on behalf of a repository (its rules and templates) are opened with
  O_NOFOLLOW, must be regular files, and must resolve inside their root (`open_confined`);
- a config file is trusted only when it and its directory are owned by us (or root) and
  nobody else can write them (`trust_problem`).
"""

from __future__ import annotations

import errno
import os
import stat

_HERE = os.path.dirname(os.path.abspath(__file__))


class UnsafePathError(OSError):
    """A path we refuse to use (owned by someone else, a symlink, writable by others,
    outside its root). str() says which and why."""

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg

    def __str__(self) -> str:
        return self.msg


def builtin_dirs() -> tuple[str, str]:
    """patterns/ and templates/ shipped in the wheel, or at the repo top in a checkout."""
    for base in (_HERE, os.path.dirname(_HERE)):
        p, t = os.path.join(base, "patterns"), os.path.join(base, "templates")
        if os.path.isdir(p) and os.path.isdir(t):
            return p, t
    raise FileNotFoundError(f"{_HERE}: no patterns/ directory found (broken install?)")


def find_upward(start: str, name: str, want_file: bool = True) -> str | None:
    """The nearest directory at or above `start` that holds `name` (a regular file, or with
    want_file=False anything: a .git may be a directory or a file)."""
    d = os.path.abspath(start)
    while True:
        p = os.path.join(d, name)
        if os.path.isfile(p) if want_file else os.path.exists(p):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def modcache() -> str:
    mc = os.environ.get("GOMODCACHE")
    if mc:
        return mc
    gp = os.environ.get("GOPATH", "").split(os.pathsep)[0] or os.path.join(os.path.expanduser("~"), "go")
    return os.path.join(gp, "pkg", "mod")


def under(path: str, root: str | None) -> bool:
    return bool(root) and (path == root or path.startswith(root.rstrip(os.sep) + os.sep))


# ------------------------------------------------------------------ trust

def _private_group(gid: int) -> bool:
    """The user-private-group convention (Debian's umask 002): our primary group, named as we
    are, with nobody else in it. Group write permission on such a group grants no one else."""
    if gid != os.getegid():
        return False
    try:
        import grp
        import pwd

        me = pwd.getpwuid(os.geteuid()).pw_name
        g = grp.getgrgid(gid)
    except (KeyError, ImportError, OSError):
        return False
    return g.gr_name == me and set(g.gr_mem) <= {me}


def trust_problem(path: str, st: os.stat_result | None = None) -> str | None:
    """Why we may not trust `path` (a file or directory) to steer a build, or None: it must
    be owned by us or root and writable by no one else."""
    try:
        st = st or os.lstat(path)
    except OSError as e:
        return f"{path}: {e.strerror}"
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link"
    if st.st_uid not in (os.geteuid(), 0):
        return f"{path} is owned by uid {st.st_uid}, not by you (uid {os.geteuid()}) or root"
    if st.st_mode & 0o002:
        return f"{path} is writable by every user (mode {stat.S_IMODE(st.st_mode):04o})"
    if st.st_mode & 0o020 and not _private_group(st.st_gid):
        return f"{path} is writable by group {st.st_gid} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def confined(path: str, root: str) -> bool:
    """`path`, with every symbolic link resolved, is `root` or inside it."""
    r = os.path.realpath(root)
    return under(os.path.realpath(path), r)


def open_confined(path: str, root: str | None) -> int:
    """A read-only fd for a regular file that is not a symbolic link and (with a root) lies
    inside root once resolved. Raises UnsafePathError or OSError."""
    if root is not None and not confined(path, root):
        raise UnsafePathError(f"{path}: resolves outside {root}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafePathError(f"{path}: is a symbolic link (refused)") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UnsafePathError(f"{path}: not a regular file (refused)")
    return fd


def read_confined(path: str, root: str | None) -> bytes:
    fd = open_confined(path, root)
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


# ------------------------------------------------------------------ digests

def os_bytes(s: str) -> bytes:
    """A str from the OS (a path, a setting) as the bytes it came from: UTF-8, with the bytes
    that were not UTF-8 back as they were (surrogateescape). For digests."""
    return s.encode("utf-8", "surrogateescape")


def hash_dir(h, d: str, recursive: bool = False, root: str | None = None) -> None:
    """Feed the names (relative to d) and contents of d's regular files into hashlib object
    h. Symbolic links are named, never followed (a template may not read through one), and
    with a root nothing outside it is read."""
    if not os.path.isdir(d) or (root is not None and not confined(d, root)):
        # (its name only: a digest in the build-cache key is the same on every machine)
        h.update(f"missing {os.path.basename(os.path.normpath(d))}\0".encode())
        return
    for top, dirs, files in os.walk(d):
        dirs[:] = sorted(dirs) if recursive else []
        for name in sorted(files):
            fp = os.path.join(top, name)
            rel = os.path.relpath(fp, d)
            try:
                data = read_confined(fp, root)
            except OSError:  # a link, a fifo, unreadable: its name only
                h.update(f"{rel}\0unreadable\0".encode())
                continue
            h.update(f"{rel}\0".encode() + data + b"\0")


def code_digest() -> str:
    """A digest of our own installed files (the package's .py and data files): two installs
    of the same version with different code never share build-cache entries. Computed from
    the contents once per set of (name, size, mtime, inode) and remembered in the cache dir,
    so that a build pays a stat of each file, not a read."""
    import hashlib

    if _FROZEN_DIGEST:
        return _FROZEN_DIGEST[0]
    entries = []
    for top, dirs, files in os.walk(_HERE):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")) or (top == _NATIVE and name.startswith(_NATIVE_BUILT)):
                continue
            fp = os.path.join(top, name)
            try:
                st = os.stat(fp)
            except OSError:
                continue
            entries.append((os.path.relpath(fp, _HERE), st))
    sig = hashlib.sha256("\0".join(f"{r}:{s.st_size}:{s.st_mtime_ns}:{s.st_ino}" for r, s in entries).encode())
    key = sig.hexdigest()[:32]
    memo = _CODE_DIGEST.get(key)
    if memo:
        return memo
    stamp = None
    try:
        stamp = os.path.join(cache_dir(), "code", key)
        with open(stamp, "rb") as fh:
            text = fh.read(64).decode("ascii")
        if len(text) == 64:
            _CODE_DIGEST[key] = text
            return text
    except (OSError, UnicodeDecodeError):
        pass
    h = hashlib.sha256()
    for rel, _ in entries:
        try:
            with open(os.path.join(_HERE, rel), "rb") as fh:
                h.update(f"{rel}\0".encode() + fh.read() + b"\0")
        except OSError:
            h.update(f"{rel}\0unreadable\0".encode())
    text = h.hexdigest()
    _CODE_DIGEST[key] = text
    if stamp:
        try:
            write_private(stamp, text.encode())
        except OSError:
            pass
    return text


_CODE_DIGEST: dict[str, str] = {}
_FROZEN_DIGEST: list[str] = []
# the compile server's client, built in the install (toolexec/native.py): it only relays
# answers, so it is no part of the code that decides them (and its bytes differ with the Go
# toolchain that built it: in the digest, each build of it would rebuild the user's packages)
_NATIVE = os.path.join(_HERE, "native")
_NATIVE_BUILT = ("rehab-client", ".rehab-client.")


def freeze_code_digest() -> None:
    """The compile server: its code cannot change under it (an edited install has another
    socket key, protocol.code_key, and so another server), so the digest is computed once
    instead of a walk of the package per request."""
    _FROZEN_DIGEST[:] = [code_digest()]


# ------------------------------------------------------------------ private dirs and files

_WARNED: set[str] = set()


def warn_once(msg: str) -> None:
    """Say it once per process, on stderr. A compile prints only with REHAB_VERBOSE (cmd/go
    caches and replays a compile's output); commands always print."""
    if msg in _WARNED:
        return
    _WARNED.add(msg)
    if os.environ.get("TOOLEXEC_IMPORTPATH"):
        from .settings import flag_or_default

        if not flag_or_default("REHAB_VERBOSE"):
            return
    import sys

    print(f"toolexec-rehab: warning: {msg}", file=sys.stderr)


def private_dir(d: str, parents: bool = True) -> str:
    """Create d (0700) if needed and return it, if it is ours alone: a directory, not a
    symbolic link, owned by us, writable by no one else. Otherwise UnsafePathError (and we
    write nothing there)."""
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        if not parents:
            raise
        os.makedirs(os.path.dirname(d), mode=0o700, exist_ok=True)
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
    st = os.lstat(d)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafePathError(f"{d} is not a directory of ours (a symbolic link or a file); not using it")
    if st.st_uid != os.geteuid():
        raise UnsafePathError(f"{d} is owned by uid {st.st_uid}, not by you; not using it")
    if st.st_mode & 0o077:
        if st.st_mode & 0o022:  # someone else may already have put files there
            raise UnsafePathError(f"{d} is writable by others (mode {stat.S_IMODE(st.st_mode):04o}); not using it")
        os.chmod(d, 0o700)
    return d


def cache_dir() -> str:
    """$XDG_CACHE_HOME/toolexec-rehab (default ~/.cache/toolexec-rehab), if it is ours alone;
    else UnsafePathError, said once."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(base, "toolexec-rehab")
    try:
        return private_dir(d)
    except UnsafePathError as e:
        warn_once(f"{e} (no caches, logs or default audit log until this is fixed)")
        raise
    except OSError as e:  # a HOME that cannot be written (a service account): say so, run uncached
        warn_once(f"cannot create {d}: {e.strerror or e}; set XDG_CACHE_HOME (no caches, logs or default "
                  f"audit log until then)")
        raise


def write_private(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write atomically: a fresh file (O_EXCL|O_NOFOLLOW, 0600) in the same directory, then
    renamed over path. Never half-written, never written through a planted file or link."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    _replace(path, data, mode)


def replace_keeping(path: str, data: bytes, like: os.stat_result) -> None:
    """Replace a user's file as write_private writes ours (a fresh file beside it, renamed
    over it), the new file taking the old one's owner, group and permission bits before the
    rename: a fixed file on a shared tree stays its owner's and as readable (or executable)
    as it was, at every moment. Synced before the rename: a crash leaves the old file or the
    new one. path must not be a symbolic link (the rename would replace the link, not the
    file it names): resolve it first; keep_owner_problem says beforehand whether we can."""
    def keep(fd: int) -> None:
        os.fchown(fd, like.st_uid, like.st_gid)  # before the mode: a chown clears set-id bits
        os.fchmod(fd, stat.S_IMODE(like.st_mode))
        os.fsync(fd)

    _replace(path, data, 0o600, keep)


def keep_owner_problem(st: os.stat_result) -> str | None:
    """Why a file replaced by replace_keeping could not get its owner and group back (only
    root may give a file away; anyone else only to a group of theirs), or None."""
    if os.geteuid() == 0:
        return None
    if st.st_uid != os.geteuid():
        return f"owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
    if st.st_gid != os.getegid() and st.st_gid not in os.getgroups():
        return f"its group {st.st_gid} is not one of yours"
    return None


def _replace(path: str, data: bytes, mode: int, before_rename=None) -> None:
    """data into a fresh temporary file beside path (O_EXCL|O_NOFOLLOW: never a planted one),
    before_rename(fd) on it, then renamed over path; on any failure or interruption
    (KeyboardInterrupt included) the temporary file is removed."""
    d = os.path.dirname(path) or "."
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(8):
        tmp = os.path.join(d, f".{os.path.basename(path)}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(tmp, flags, mode)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"{d}: cannot create a temporary file")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if before_rename is not None:
                fh.flush()
                before_rename(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def open_append(path: str) -> int:
    """An O_APPEND fd for a log of ours: never through a symbolic link, only a regular file
    owned by us. Raises OSError."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0), 0o600)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        os.close(fd)
        raise UnsafePathError(f"{path}: not a regular file of ours; not writing to it")
    return fd
