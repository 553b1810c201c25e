"""The compile server: a long-lived process that has imported everything once.

An intercepted compile would otherwise pay interpreter start-up plus ~150 ms of imports
(pydantic, tree-sitter, the rule engine, the stdlib API table) and rule loading. The
first intercepted compile starts this server in the background (client._spawn) and
compiles as usual; later ones connect to its Unix socket (in a private runtime dir,
$XDG_RUNTIME_DIR/toolexec-rehab or /tmp/toolexec-rehab-<uid>, checked to be ours and
0700; the socket itself 0600), and the server forks a child per request. Both ends check
the other's credentials (protocol.peer_is_us: SO_PEERCRED, our uid and gid): a server
never acts for another user, root included, and a client never talks to another user's
server. Requests run in parallel, one process each, as many as cmd/go runs at once (-p,
and every concurrent `go build` of the user): the listening loop only accepts and forks,
holds no lock, and parses files for the next build (warm) in slices of WARM_SLICE seconds
between looks at the socket.

The child takes the request's working directory and environment, forgets per-process
caches that could be stale (configuration, go.mod lookups, a changed GOROOT's API table),
and runs the same `wrap.run_compile` a local compile runs, with its output captured. When that
would exec the compiler, the child replies with the argv and the client execs it.

The socket name carries a key of the code and of the credentials (protocol.code_key: uid,
gids, groups, capabilities): an upgraded or edited install starts a new server, and a
process with fewer rights is never served by one with more. A server exits after IDLE seconds
(REHAB_SERVER_IDLE, default 300: idle_seconds) without a request.

A request's child leads its own process group, and a thread of it watches the connection
for hang-up (_HangupWatch): when the client goes away (the compile's process killed by
Ctrl-C or by cmd/go, a `check` interrupted), the whole group - the child, a compiler it
started, `check`'s helper process - is killed at once (SIGKILL). The listening server is
in another group and never touched. The watch ends before the answer is sent: a client
closes the socket as soon as it has read it.
"""

from __future__ import annotations

import io
import os
import select
import signal
import socket
import sys

DEFAULT_IDLE = 300.0
_MAX_IDLE = 1e9  # ~31 years; socket timeouts above ~9e9 s overflow


def idle_seconds(value: str | None = None) -> float:
    """How long a server waits for a request before it exits: value, else $REHAB_SERVER_IDLE.
    A value that is not a positive finite number gives DEFAULT_IDLE (never an exception: a
    server that cannot start is silently absent; the settings module reports a bad value),
    a huge one is capped."""
    import math

    raw = os.environ.get("REHAB_SERVER_IDLE", "") if value is None else value
    try:
        v = float(raw)
    except (TypeError, ValueError):
        return DEFAULT_IDLE
    if not math.isfinite(v) or v <= 0:
        return DEFAULT_IDLE
    return min(v, _MAX_IDLE)


IDLE = idle_seconds()  # read when the server process imports this module (client._spawn)


class ServerRunner:
    """wrap.run_compile's runner in a request's child, acting for the client: "compile as
    written" and "become the compiler" are replies (the client execs, or lets its
    speculative compile answer), and the client is asked to stop its speculative compile
    before the rewritten files are compiled here (same -o)."""

    def __init__(self, conn, spec: bool):
        self.conn, self.spec = conn, spec

    def original(self, argv: list[str]) -> int:
        raise _Exec(argv)

    def exec(self, argv: list[str]) -> None:
        raise _Exec(argv)

    def kill_spec(self) -> None:
        if self.spec:
            from .protocol import recv_msg, send_msg

            send_msg(self.conn, {"kill": True})
            if not (recv_msg(self.conn) or {}).get("ok"):
                raise OSError("client did not stop its compile")
            self.spec = False

    def run_rewritten(self, argv: list[str]):
        import subprocess

        self.kill_spec()
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class _Exec(Exception):
    def __init__(self, argv):
        super().__init__("exec")
        self.argv = list(argv)


_API_KEYS: dict[str, object] = {}


def _preload(tool: str) -> None:
    from ..analysis import Analyzer  # noqa: F401 - the imports are the point
    from ..golang import stdapi
    from ..pipeline import select_rules  # noqa: F401
    from ..rewrite.render import environment
    from ..rules.loader import all_rules
    from . import wrap  # noqa: F401
    from .compileargs import tool_goroot

    environment()  # jinja2, for the fixes
    from .. import cli  # noqa: F401 - `check` is served too
    goroot = tool_goroot(tool)
    if os.path.isdir(os.path.join(goroot, "api")):
        stdapi.load(goroot)
        try:
            _API_KEYS[os.path.abspath(goroot)] = stdapi.cache_path_for(goroot)
        except OSError:
            pass
    try:
        all_rules()
    except Exception:  # noqa: BLE001 - a bad rule is reported by the request that meets it
        pass
    _preload_analysis()


def _preload_analysis() -> None:
    """What a request would otherwise import or compile in its own child (~20 ms of a served
    compile): the dependency-types modules, the resource catalogue, and the tree-sitter
    queries of the default rule selections (a build's and check's), kept by query text."""
    from ..golang import declsum, deps, modules, srcapi, types  # noqa: F401 - the imports are the point
    from ..golang import parse as P
    from ..runtime import instrument  # noqa: F401

    P.query(types._DECLARED_NAMES)
    try:
        from ..paths import freeze_code_digest

        freeze_code_digest()
    except OSError:
        pass
    try:
        from ..config import load_config
        from ..pipeline import select_rules
        from ..rules.catalogue import load
        from ..rules.engine import Engine

        load()
        for fix_only in (True, False):
            rules, modes = select_rules(load_config(), None, fix_only)
            Engine(rules, None, modes)._combined  # noqa: B018 - compiled once, here
    except Exception:  # noqa: BLE001 - a request that needs them says what is wrong
        pass


def _fresh_state() -> None:
    """In the request's child: drop caches that may not hold for this request."""
    from .. import config
    from ..golang import package, stdapi

    config._cache.clear()
    package.find_module.cache_clear()
    for goroot, key in _API_KEYS.items():
        try:
            fresh = stdapi.cache_path_for(goroot)
        except OSError:
            fresh = None
        if fresh != key:
            stdapi.clear_memo()


def vfull_cache_head(argv: list[str]) -> str | None:
    """What the sh launcher needs to answer `compile -V=full` by itself next time (the
    launcher's vfull_cached): the tool and working directory (K), every REHAB_* setting (E:
    a changed or newly bad value goes back to Python, which checks it), paths that must not
    exist (N: config files and go.mod files that would change what is read), the number of
    entries of every directory whose files count (L), our code (M: nothing in it newer than
    the cache file), and the files it reads (S: the rules and templates, the config files,
    the trace, GOROOT/VERSION, each as `cksum FILE` prints it - a content check, so a file
    restored with an old mtime is still seen). The launcher reads it with one `cat` and walks
    it with parameter expansions: keep it short. None: not cacheable."""
    from .. import config as C
    from .compileargs import tool_goroot

    tool = argv[0]
    cwd = os.environ.get("PWD") or os.getcwd()
    if not os.path.isabs(cwd) or os.path.realpath(cwd) != os.path.realpath(os.getcwd()):
        return None
    settings = _vfull_settings()
    if settings is None:
        return None
    launcher = os.environ.get("REHAB_LAUNCHER", "")
    if not os.path.isabs(launcher) or "|" in launcher:
        return None  # not asked through the launcher: nobody reads the entry
    lines = [f"K {tool}|{cwd}|{launcher}", *settings]
    goroot = tool_goroot(tool)
    if not os.path.isfile(os.path.join(goroot, "VERSION")):
        return None  # a devel toolchain: no cheap identity for the compiler
    files = [os.path.join(goroot, "VERSION")]
    _vfull_dirs(lines, files)
    _vfull_config_files(cwd, lines, files)
    trace = C.load_config().trace()
    if trace:
        if not os.path.isfile(trace):
            return None
        files.append(os.path.abspath(trace))
    if any("\n" in f for f in files) or any("\n" in x for x in lines):
        return None
    sums = _vfull_cksum(files)
    if sums is None:
        return None
    lines += [f"S {x}" for x in sums]
    return "\n".join(lines) + "\n"


def _vfull_settings() -> list[str] | None:
    """The E lines (the value of every REHAB_* setting set, but the internal ones) and the R
    line (the names of the REHAB_* variables set: every other one must stay unset); None when a
    value or a name cannot be cached."""
    from ..settings import VARS

    lines = []
    for k, var in VARS.items():
        if var.kind == "internal" or k not in os.environ:
            continue  # unset: the R line says it must stay so
        v = os.environ[k]
        if "\n" in v:
            return None
        lines.append(f"E {k}={v}")
    # (the internal ones are the launcher's and ours: set after the launcher's check)
    names = sorted(k for k in os.environ if k.startswith("REHAB_") and getattr(VARS.get(k), "kind", "") != "internal")
    if any(not k.replace("_", "").isalnum() for k in names):
        return None
    lines.append("R " + " ".join(names))
    return lines


def _vfull_dirs(lines: list[str], files: list[str]) -> None:
    """Our code, the shipped rules and templates, the extra rule and template directories:
    N for one that does not exist, L with the entry count of each directory in it, and its
    files (no bytecode) to `files`."""
    from ..paths import builtin_dirs
    from ..rules.dirs import extra_rule_dirs

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # our code: M, "nothing in it modified since the cache was written", a line per directory
    # (the launcher stats its entries; no checksum of every file: -V=full runs in every
    # build). The rules and templates keep the content check (a rule file restored with an
    # old mtime is still seen).
    for root, subdirs, _names in os.walk(here):
        subdirs[:] = sorted(x for x in subdirs if x != "__pycache__")
        lines.append(f"M {root}")
    dirs = list(builtin_dirs())
    for p, t, _root in extra_rule_dirs():
        dirs += [p, t]
    seen: set[str] = set()
    for d in dirs:
        if not os.path.isdir(d):
            lines.append(f"N {d}")
        _vfull_walk(d, seen, lines, files)


def _vfull_walk(d: str, seen: set[str], lines: list[str], files: list[str]) -> None:
    for root, subdirs, names in os.walk(d):
        subdirs[:] = sorted(x for x in subdirs if x != "__pycache__")
        if root in seen:
            continue
        seen.add(root)
        files += [os.path.join(root, n) for n in sorted(names) if not n.endswith((".pyc", ".pyo"))]
        n = len([x for x in os.listdir(root) if x != "__pycache__"])
        lines.append(f"L {root} {n + (1 if '__pycache__' in os.listdir(root) else 0)}")  # added or removed


def _vfull_config_files(cwd: str, lines: list[str], files: list[str]) -> None:
    """The config files: the one in effect (to `files`), or the ones that would be read if
    they appeared (N); without REHAB_CONFIG, the go.mod files that would move the module root
    (N) too."""
    from .. import config as C

    explicit = os.environ.get("REHAB_CONFIG", "").strip()
    cands = [C.user_config_path()]
    if not explicit:
        repo = C.repo_config_path(cwd)
        if repo:
            cands.append(repo)
        lines += _vfull_nearer_go_mods(cwd)
    elif explicit.lower() not in ("off", "none"):
        cands.append(os.path.abspath(explicit))
    for cand in cands:
        if os.path.lexists(cand):
            files.append(cand)
        else:
            lines.append(f"N {cand}")


def _vfull_nearer_go_mods(cwd: str) -> list[str]:
    """N for a go.mod in cwd or a directory above it, below the module root: one appearing
    nearer would move the module root."""
    from ..paths import find_upward

    top = find_upward(cwd, "go.mod")
    out = []
    d = cwd
    while d != top:
        out.append(f"N {os.path.join(d, 'go.mod')}")
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return out


def _vfull_cksum(files: list[str]) -> list[str] | None:
    """`cksum FILES` (the S lines, one per file, as the launcher runs it), None when it fails."""
    import subprocess

    r = subprocess.run(["cksum", "--", *files], capture_output=True, text=True)
    out = r.stdout.rstrip("\n").split("\n")
    if r.returncode != 0 or len(out) != len(files):
        return None
    return out


# hang-up only: POLLIN is the client's next protocol message ({"ok": True} after a kill)
_HANGUP = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0x2000)


def _own_group() -> None:
    """In a request's child: lead a process group of its own, so that the compiler or helper
    it starts can be killed with it (_cancel). The server's group is never this one."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass  # _cancel then kills this process alone


def _cancel() -> None:
    """The client went away: kill this request's process group (this process, the compiler it
    runs, `check`'s helper) in one step, so no part of it goes on writing. Outside a group of
    our own (setpgid failed) only this process: the server's group is never signalled."""
    me = os.getpid()
    if os.getpgrp() == me:
        os.killpg(me, signal.SIGKILL)
    os.kill(me, signal.SIGKILL)


class _HangupWatch:
    """A daemon thread that polls the connection for hang-up only and cancels the request
    (_cancel) when the client's end is closed before the answer went out. stop() disarms it:
    after that the client may close at any time."""

    def __init__(self, conn: socket.socket):
        import threading

        self._fd = conn.fileno()
        self._stop_r, self._stop_w = os.pipe()
        self._lock = threading.Lock()
        self._armed = True
        threading.Thread(target=self._run, name="rehab-hangup", daemon=True).start()

    def _run(self) -> None:
        p = select.poll()
        p.register(self._fd, _HANGUP)
        p.register(self._stop_r, select.POLLIN)
        while True:
            for fd, ev in p.poll():
                if fd == self._stop_r or ev & select.POLLNVAL:
                    return
                if ev & _HANGUP:
                    with self._lock:
                        if self._armed:
                            _cancel()
                    return

    def stop(self) -> None:
        with self._lock:  # a cancel that has begun completes: this process is killed here
            self._armed = False
        try:
            os.write(self._stop_w, b"\0")
        except OSError:
            pass


def _answer_here(conn: socket.socket, req: dict) -> bool:
    """In the listening server, before a fork: a compile that is not ours to analyze (a
    dependency's, a file list we leave alone) or whose findings the compile result cache holds
    unchanged with no fix among them (wrap.as_written) is answered "compile as written" at
    once, with no child (a fork of this process and the child's set-up cost more than the
    answer; in a rebuild after an edit of a package that many import, most compiles are
    these). The request's directory and environment are taken for the look and given back
    after. False: the child does the work (also on any error here)."""
    argv = req.get("argv")
    if req.get("cli") or not isinstance(argv, list) or argv[1:] == ["-V=full"]:
        return False
    import resource

    from .. import paths
    from ..golang.package import LOADED
    from .protocol import send_msg
    from .wrap import as_written

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    env, umask = dict(os.environ), os.umask(0o022)
    said = set(paths._WARNED)
    out, err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = buf = io.StringIO()
    try:
        os.chdir(req["cwd"])
        os.umask(req.get("umask", 0o022))
        _set_environ(req["env"])
        _fresh_state()
        done = as_written(argv)
        stats = os.environ.get("REHAB_SERVER_STATS")
    except Exception:  # noqa: BLE001 - the child does it the usual way
        done, stats = False, None
    finally:
        sys.stdout, sys.stderr = out, err
        LOADED.clear()  # (files read here are no child's loads; the changed ones are warmed below)
        _set_environ(env)
        os.umask(umask)
        os.chdir("/")
    if buf.getvalue() or paths._WARNED != said:  # something to say (a warning said once): the child says it
        paths._WARNED.clear()
        paths._WARNED.update(said)
        return False
    if not done:
        return False
    try:
        send_msg(conn, {"exec": list(argv), "out": b"", "err": b"", "parsed": 0})
    except OSError:
        pass  # the client went away: nothing to stop, nothing ran
    conn.close()
    if stats:
        _add_stats(stats, cpu)
    return True


def _set_environ(new: dict) -> None:
    """os.environ becomes new, changing only what differs (the requests of one build differ
    from the server's environment in a variable or two: clearing and setting ~100 cost
    ~0.5 ms a request). Raises on a name or value the OS refuses, as os.environ does."""
    cur = os.environ
    for k in [k for k in cur if k not in new]:
        del cur[k]
    for k, v in new.items():
        if cur.get(k) != v:
            cur[k] = v


def _add_stats(path: str, since=None) -> None:
    """REHAB_SERVER_STATS (the benchmark): the CPU this request cost here, outside the build's tree."""
    import resource

    now = [resource.getrusage(resource.RUSAGE_SELF)]
    if since is None:
        now.append(resource.getrusage(resource.RUSAGE_CHILDREN))
    cpu = sum(r.ru_utime + r.ru_stime for r in now)
    if since is not None:
        cpu -= since.ru_utime + since.ru_stime
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{cpu:.6f}\n")
    except OSError:
        pass


def _handle(conn: socket.socket, req: dict) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the compile's exit status must be seen
    _own_group()
    watch = _HangupWatch(conn)
    from .protocol import send_msg

    os.chdir(req["cwd"])
    os.umask(req.get("umask", 0o022))
    _set_environ(req["env"])
    out, err = io.BytesIO(), io.BytesIO()
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors="replace", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="replace", write_through=True)
    reply: dict = {}
    from .. import short_lived_gc
    from ..golang import package

    short_lived_gc()

    parses = package.PARSES
    try:
        _fresh_state()
        from .wrap import run_compile

        if req.get("cli"):  # `check` from a non-terminal: the same command, imports done
            from ..cli import main as cli_main

            reply["rc"] = int(cli_main(req["argv"]) or 0)
            vfull = None
        else:
            vfull = vfull_cache_head(req["argv"]) if req["argv"][1:] == ["-V=full"] else None
            rc = run_compile(req["argv"], ServerRunner(conn, bool(req.get("spec"))))
            reply["rc"] = int(rc or 0)
        line = out.getvalue().decode("utf-8", "replace")
        if vfull and reply["rc"] == 0 and line.endswith("\n") and line.count("\n") == 1 and not err.getvalue():
            reply["vfull_cache"] = vfull + "V " + line
    except _Exec as e:
        reply["exec"] = e.argv
    except SystemExit as e:
        reply["rc"] = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - the client compiles on its own
        reply = {"fallback": True}
    sys.stdout.flush()
    sys.stderr.flush()
    if not reply.get("fallback"):
        reply["out"] = out.getvalue()
        reply["err"] = err.getvalue()
        reply["parsed"] = package.PARSES - parses
    watch.stop()  # the client closes the socket once it has the answer
    send_msg(conn, reply)
    conn.close()
    argv = req["argv"] if isinstance(req.get("argv"), list) else []
    _report_loaded({os.path.abspath(a) for a in argv[1:] if isinstance(a, str) and a.endswith(".go")})
    stats = os.environ.get("REHAB_SERVER_STATS")  # the benchmark: CPU spent here, outside the build's tree
    if stats:
        _add_stats(stats)


# The Go files a request's child loaded come back to the server over this pipe (paths, one
# per line, each write at most PIPE_BUF: atomic); when no request has come for WARM_DELAY
# seconds the server parses them (golang.declsum.warm), so that the next request's child,
# forked from it, reuses the trees of the files that did not change: a rebuild after an
# edit parses the edited file only.
_WARM: list[int] = []  # [read end, write end] in the server; the write end in a child
WARM_DELAY = 0.25


def _report_loaded(own: set[str] = frozenset()) -> None:
    """own: the files of the package this request compiled, marked "=" (a path is absolute:
    it never starts so): only the others, loaded as another package's types, make a file hot."""
    from ..golang.package import LOADED

    if not _WARM or not LOADED:
        return
    fd = _WARM[-1]
    chunk = b""
    try:
        os.set_blocking(fd, False)  # a full pipe drops the report, never blocks the child
        for p in dict.fromkeys(LOADED):
            line = (b"=" if p in own else b"") + os.fsencode(p) + b"\n"
            if len(line) > select.PIPE_BUF:
                continue
            if len(chunk) + len(line) > select.PIPE_BUF:
                os.write(fd, chunk)
                chunk = b""
            chunk += line
        if chunk:
            os.write(fd, chunk)
    except OSError:
        pass


def _read_loaded(fd: int, pending: set[str]) -> None:
    from ..golang.package import USES

    data = b""
    while True:
        try:
            b = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not b:
            break
        data += b
    for x in data.split(b"\n"):  # (a child reports each file once)
        own = x.startswith(b"=")
        x = x[1:] if own else x
        if x:
            p = os.fsdecode(x)
            pending.add(p)
            USES[p] = USES.get(p, 0) + 1
            if not own:
                AS_TYPES[p] = AS_TYPES.get(p, 0) + 1


AS_TYPES: dict[str, int] = {}  # requests that loaded each file for another package's types


RECV_TIMEOUT = 2.0  # seconds the listening server waits for a connected client's request
WARM_SLICE = 0.02  # seconds of parsing between two looks at the socket
HOT = 2  # a file that this many requests loaded for another package's types is parsed here at once, even during a build


def _warm_slice(warm, pending: set[str], hot_only: bool = False) -> bool:
    """Parse some of the pending files (golang.declsum.warm), the most used first, for about
    WARM_SLICE seconds, then give the loop back: a request that arrives meanwhile waits one
    slice, never the whole warm-up (a big module's files take seconds). hot_only: only the
    files that HOT requests or more loaded for another package's types (during a build: every
    later request that needs one finds it parsed, instead of parsing it again: a changed file
    that many packages' types come from, a package that many import). A file only ever
    loaded by its own package's compiles waits for the build to end: parsed during it, it
    would take a core from the compiler for no request of this build (the edited file of a
    warm rebuild). True while files (of that kind) are left."""
    import time

    from ..golang.package import USES

    t0 = time.monotonic()
    todo = [p for p in pending if AS_TYPES.get(p, 0) >= HOT] if hot_only else pending
    for p in sorted(todo, key=lambda x: (-USES.get(x, 0), x)):
        pending.discard(p)
        warm([p])
        if time.monotonic() - t0 >= WARM_SLICE:
            break
    return bool(pending)


def serve(path: str, tool: str) -> None:
    os.chdir("/")
    _preload(tool)
    from .protocol import address, peer_is_us, recv_msg

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    addr, dfd = address(path)
    old = os.umask(0o177)
    try:
        try:
            sock.bind(addr)
        except OSError:
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(addr)
                return  # another server got there first
            except OSError:
                pass
            finally:
                probe.close()
            os.unlink(path)  # left by a server that died
            sock.bind(addr)
    finally:
        os.umask(old)
        if dfd is not None:
            os.close(dfd)
    ident = os.stat(path).st_ino
    sock.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    import time

    from ..golang.declsum import warm  # parse memo + summaries for the compile result cache

    sock.setblocking(False)
    _WARM[:] = os.pipe()
    os.set_blocking(_WARM[0], False)
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    poll.register(_WARM[0], select.POLLIN)
    pending: set[str] = set()
    warming = False  # parsing `pending` a slice at a time, between polls
    last = time.monotonic()
    from . import native

    # the client without Python, for the launcher's fast path (what spawned this server)
    native_due = (native.BUILD_IDLE if native.launcher_dir() is not None and native.enabled() and native.needs_build()
                  else None)
    try:
        while True:
            idle = time.monotonic() - last
            left = IDLE - idle
            if left <= 0:
                break
            if native_due is not None and not pending and idle >= native_due:
                native_due = None  # once per server: a failed build is not retried
                native.build_in_background(tool, (sock.fileno(), *_WARM))
            wait = (0 if warming else min(left, WARM_DELAY)) if pending else left
            if native_due is not None and not pending:
                wait = min(wait, max(native_due - idle, 0.01))
            ready = {fd for fd, _ in poll.poll(1000 * wait)}
            if _WARM[0] in ready:
                _read_loaded(_WARM[0], pending)
            if sock.fileno() not in ready:
                if pending and (warming or not ready):
                    warming = _warm_slice(warm, pending)
                elif pending:  # a request just reported what it loaded, another may come soon
                    _warm_slice(warm, pending, hot_only=True)
                continue
            warming = False
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                continue
            if not peer_is_us(conn):  # another uid (root too) or gid: never act for it
                conn.close()
                continue
            last = time.monotonic()
            conn.settimeout(RECV_TIMEOUT)  # a client sends its request as soon as it is connected
            try:
                req = recv_msg(conn)
            except Exception:  # noqa: BLE001 - a bad or slow message: that client compiles on its own
                req = None
            if not isinstance(req, dict):
                conn.close()  # the client compiles on its own
                continue
            conn.settimeout(None)
            if _answer_here(conn, req):
                continue
            pid = os.fork()
            if pid == 0:
                sock.close()
                os.close(_WARM[0])
                del _WARM[0]
                try:
                    _handle(conn, req)
                finally:
                    os._exit(0)
            conn.close()
            try:
                if os.stat(path).st_ino != ident:
                    break  # replaced by another server
            except OSError:
                break  # socket removed: nobody can reach us
    finally:
        try:
            if os.stat(path).st_ino == ident:
                os.unlink(path)
        except OSError:
            pass
