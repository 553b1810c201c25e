"""The compile server's wire: where its socket lives (a private runtime dir, a name keyed by
our code and the caller's credentials) and its messages (a 4-byte length, then marshal).
Shared by the client and the server; imports only os and sys at the top. Both ends check
who is at the other end (peer_is_us)."""

from __future__ import annotations

import os
import sys


def code_key(head: list[str] | None = None, pkg: str | None = None) -> str:
    """Identifies the code a server runs: this interpreter, the package's files (mtime and
    size) and sys.path. A new install or an edited file gets a new server. (head, pkg: the
    key of another interpreter's, as the native client computes it; tests.)"""
    import zlib

    if head is None or pkg is None:
        head, pkg = key_head()
    parts = [*head, _credentials()]
    for root, dirs, files in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(root, name))
                parts.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
    blob = "\0".join(parts).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(blob):08x}{zlib.adler32(blob):08x}"


def key_head() -> tuple[list[str], str]:
    """The parts of code_key that only this process can know (the native client is told
    them: native.pointer_text), and our package's directory, whose .py files it stats."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [sys.executable, sys.version, pkg, os.pathsep.join(sys.path)], pkg


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
        from ..paths import warn_once  # (someone else made it: no server for us, said once)

        warn_once(f"{d} is not a private directory of yours (owner uid {st.st_uid}, mode "
                  f"{stat.S_IMODE(st.st_mode):04o}); no compile server (slower builds) until it is removed")
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


def peer_is_us(sock) -> bool:
    """The process at the other end of a connected Unix socket runs as our uid and gid
    (SO_PEERCRED, the credentials the kernel recorded at connect or listen: they cannot be
    forged). Both ends check: the client never sends its request (argv, working directory,
    environment) to a server of someone else, even one reached through a socket planted
    on its path, and the server never acts for another user (root included: the private
    runtime dir does not keep root out). Where the kernel cannot say (no SO_PEERCRED), the
    private runtime dir is all there is: True."""
    import _socket

    opt = getattr(_socket, "SO_PEERCRED", None)
    if opt is None:
        return True
    try:
        raw = sock.getsockopt(_socket.SOL_SOCKET, opt, 12)  # struct ucred: pid, uid, gid (32-bit each)
    except OSError:
        return False
    if len(raw) < 12:
        return False
    uid = int.from_bytes(raw[4:8], sys.byteorder)
    gid = int.from_bytes(raw[8:12], sys.byteorder)
    return uid == os.geteuid() and gid == os.getegid()


def address(path: str) -> tuple[str, int | None]:
    """A socket address for path: sun_path holds ~107 bytes, so a longer path goes through
    an open descriptor of its directory (/proc/self/fd/N/name; Linux). Close the fd after use."""
    if len(path.encode()) < 100:
        return path, None
    d, name = os.path.split(path)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    return f"/proc/self/fd/{fd}/{name}", fd


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
