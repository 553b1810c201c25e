"""The compile server: a long-lived process that has imported everything once.

An intercepted compile would otherwise pay interpreter start-up plus ~150 ms of imports
(pydantic, tree-sitter, the rule engine, the stdlib API table) and rule loading. The
first intercepted compile starts this server in the background (client._spawn) and
compiles as usual; later ones connect to its Unix socket (in a private runtime dir,
$XDG_RUNTIME_DIR/toolexec-rehab or /tmp/toolexec-rehab-<uid>, checked to be ours and
0700; the socket itself 0600), and the server forks a child per request. The child
takes the request's working directory and environment, forgets per-process caches that
could be stale (configuration, go.mod lookups, a changed GOROOT's API table), and runs
the same `wrap.run_compile` a local compile runs, with its output captured. When that
would exec the compiler, the child replies with the argv and the client execs it.

The socket name carries a key of the code and of the credentials (client.code_key: uid,
gids, groups, capabilities): an upgraded or edited install starts a new server, and a
process with fewer rights is never served by one with more. A server exits after IDLE seconds (300) without a request.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import sys

IDLE = float(os.environ.get("REHAB_SERVER_IDLE", "300"))


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

    environment()  # jinja2, for the fixes
    from .. import cli  # noqa: F401 - `check` is served too
    goroot = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(tool))))
    if os.path.isdir(os.path.join(goroot, "api")):
        stdapi.load(goroot)
        _API_KEYS[os.path.abspath(goroot)] = stdapi.cache_path_for(goroot)
    try:
        all_rules()
    except Exception:  # noqa: BLE001 - a bad rule is reported by the request that meets it
        pass


def _fresh_state() -> None:
    """In the request's child: drop caches that may not hold for this request."""
    from .. import config
    from ..golang import package, stdapi

    config._cache.clear()
    package.find_module.cache_clear()
    for goroot, key in _API_KEYS.items():
        if stdapi.cache_path_for(goroot) != key:
            stdapi.clear_memo()


def vfull_cache_head(argv: list[str]) -> str | None:
    """What the sh launcher needs to answer `compile -V=full` by itself next time (the
    launcher's vfull_cached): the tool and working directory (K), the environment variables
    our cache-key suffix reads (E), paths that must not exist (N: config files that would be
    found), the number of entries of the rule directories (L), and the files it reads (C),
    with `cat C... | cksum` of them (S) - a content check, so a file restored with an old
    mtime is still seen. None: not cacheable."""
    import subprocess

    from .. import config as C
    from ..paths import builtin_dirs, extra_rule_dirs
    from .wrap import CONFIG_ENV

    tool = argv[0]
    cwd = os.environ.get("PWD") or os.getcwd()
    if not os.path.isabs(cwd) or os.path.realpath(cwd) != os.path.realpath(os.getcwd()):
        return None
    lines = [f"K {tool}|{cwd}"]
    for k in CONFIG_ENV:
        v = os.environ.get(k, "")
        if "\n" in v:
            return None
        lines.append(f"E {k}={v}")
    files: list[str] = []
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files += [os.path.join(here, n) for n in ("__init__.py", "config.py", "paths.py")]
    files += [os.path.join(here, "toolexec", "wrap.py")]
    goroot = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(tool))))
    if not os.path.isfile(os.path.join(goroot, "VERSION")):
        return None  # a devel toolchain: no cheap identity for the compiler
    files.append(os.path.join(goroot, "VERSION"))
    dirs = list(builtin_dirs())
    for p, t in extra_rule_dirs():
        dirs += [p, t]
    for d in dirs:
        if not os.path.isdir(d):
            lines.append(f"N {d}")
        for root, subdirs, names in os.walk(d):
            subdirs.sort()
            files += [os.path.join(root, n) for n in sorted(names)]
            lines.append(f"L {root} {len(os.listdir(root))}")  # a file added or removed
    cfg_path = C.find_config()
    if cfg_path:
        files.append(cfg_path)
    if not os.environ.get("REHAB_CONFIG"):
        d = cwd
        while True:  # every .rehab.yaml that would be found if it appeared
            cand = os.path.join(d, C.NAME)
            if cand != cfg_path and not os.path.exists(cand):
                lines.append(f"N {cand}")
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    trace = C.load_config().trace()
    if trace:
        if not os.path.isfile(trace):
            return None
        files.append(os.path.abspath(trace))
    if any("\n" in f for f in files) or any("\n" in x for x in lines):
        return None
    lines += [f"C {f}" for f in files]
    r = subprocess.run(["sh", "-c", 'cat -- "$@" | cksum', "sh", *files], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        return None
    lines.append(f"S {r.stdout.strip()}")
    return "\n".join(lines) + "\n"


def _handle(conn: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the compile's exit status must be seen
    from .client import recv_msg, send_msg

    req = recv_msg(conn)
    os.chdir(req["cwd"])
    os.umask(req.get("umask", 0o022))
    os.environ.clear()
    os.environ.update(req["env"])
    out, err = io.BytesIO(), io.BytesIO()
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors="replace", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="replace", write_through=True)

    def fake_execv(path, args):
        raise _Exec(args)

    os.execv = fake_execv
    reply: dict = {}
    try:
        _fresh_state()
        from . import wrap
        from .wrap import run_compile

        if req.get("spec"):
            # the client is compiling the original files: it must stop before the rewritten
            # ones are compiled (same -o file)
            real = wrap.subprocess

            class _Sub:
                killed = False

                def __getattr__(self, name):
                    return getattr(real, name)

                def run(self, *a, **k):
                    if not self.killed:
                        send_msg(conn, {"kill": True})
                        if not (recv_msg(conn) or {}).get("ok"):
                            raise OSError("client did not stop its compile")
                        self.killed = True
                    return real.run(*a, **k)

            wrap.subprocess = _Sub()

        if req.get("cli"):  # `check` from a non-terminal: the same command, imports done
            from ..cli import main as cli_main

            reply["rc"] = int(cli_main(req["argv"]) or 0)
            vfull = None
        else:
            vfull = vfull_cache_head(req["argv"]) if req["argv"][1:] == ["-V=full"] else None
            rc = run_compile(req["argv"])
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
    send_msg(conn, reply)
    conn.close()
    stats = os.environ.get("REHAB_SERVER_STATS")  # the benchmark: CPU spent here, outside the build's tree
    if stats:
        import resource

        cpu = sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                     resource.getrusage(resource.RUSAGE_CHILDREN)))
        with open(stats, "a", encoding="utf-8") as fh:
            fh.write(f"{cpu:.6f}\n")


def serve(path: str, tool: str) -> None:
    os.chdir("/")
    _preload(tool)
    from .client import address

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
    sock.settimeout(IDLE)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    try:
        while True:
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                break
            except InterruptedError:
                continue
            conn.settimeout(None)
            pid = os.fork()
            if pid == 0:
                sock.close()
                try:
                    _handle(conn)
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
