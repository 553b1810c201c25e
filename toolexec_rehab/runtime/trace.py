"""`toolexec-rehab trace`: count, per instrumented site, what a running Go program acquires,
releases, leaves open and lets the GC collect while open, with bpftrace (entry uprobes only).

    toolexec-rehab trace [--json] [--duration D] [--output FILE] (--pid PID | -- PROGRAM ARGS...)

What it needs from the binary, all read from the ELF file (no source tree):
- the marker symbols `<importpath>._rehabAcquire` / `._rehabRelease` (.symtab: not stripped);
- the sites table that each instrumented package embeds as a string constant
  (`REHAB_SITES_V1:[[node_id, rule, file, line], ...]:END_REHAB_SITES`).
Release events come from the release markers and, for closes made elsewhere (helpers, other
packages, fixes), from the library's Close methods. `*os.File` values collected by the GC are
recognised by their finalizer: `os.(*file).close` called from the runtime's `runtime.call*`
trampolines. For the other types a collection shows only when the allocator hands out the
same address again while the site still counts it open (a lower bound).
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

from .dropped import DROPPED
from .instrument import ACQUIRE, RELEASE, TRACKED_RULES, parse_sites_tables, template_dir, tracked_rule_ids
from .report import SiteCount, dropped_lines, leak_lines, table, to_json


@functools.lru_cache(maxsize=1)
def closers() -> tuple[str, ...]:
    """Library release methods whose receiver is the pointer the acquire marker saw: the
    release symbols of the catalogue's entries of the tracked rules (patterns/resources.yaml:
    `database/sql.(*Rows).Close`, and `closers` such as net/http's body types)."""
    from ..rules.catalogue import load

    out: list[str] = []
    for r in load().resources:
        if not r.by_call:
            out += [s for s in r.symbols() if s not in out]
    return tuple(out)


ZEROBASE = "runtime.zerobase"  # the address of every zero-size value (http.NoBody): never tracked
FILE_CLOSE = "os.(*file).close"
TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
CAP_SYS_ADMIN = 21
# Go's register ABI: the first three integer arguments, and the return address at entry
REGS = {
    "x86_64": {"a0": "ax", "a1": "bx", "a2": "cx", "ra": '*(uint64 *)uptr(reg("sp"))', "ip": "ip", "elf": 62},
    "aarch64": {"a0": "r0", "a1": "r1", "a2": "r2", "ra": 'reg("r30")', "ip": "pc", "elf": 183},
}
ARCH_ALIASES = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}


class TraceError(Exception):
    """eBPF is not usable here, or the target cannot be traced: message, exit 2."""


# ------------------------------------------------------------------ preflight

def check_platform(system: str | None = None, machine: str | None = None) -> str:
    system = system or platform.system()
    machine = (machine or platform.machine()).lower()
    arch = ARCH_ALIASES.get(machine)
    if system != "Linux" or arch is None:
        raise TraceError(f"trace needs Linux on amd64 or arm64 (eBPF uprobes); this is {system} on {machine}")
    return arch


def check_privileges(status_path: str = "/proc/self/status", euid: int | None = None) -> None:
    """Uprobes need CAP_SYS_ADMIN (root has it); CAP_BPF + CAP_PERFMON is not enough."""
    euid = os.geteuid() if euid is None else euid
    try:
        with open(status_path) as fh:
            capeff = next((int(line.split()[1], 16) for line in fh if line.startswith("CapEff:")), 0)
    except OSError:
        capeff = 0
    if not capeff >> CAP_SYS_ADMIN & 1:
        who = "not root" if euid != 0 else "root without CAP_SYS_ADMIN"
        raise TraceError(f"trace needs root or CAP_SYS_ADMIN to attach uprobes ({who}); run it with sudo")


def find_bpftrace() -> str:
    exe = os.environ.get("REHAB_BPFTRACE") or shutil.which("bpftrace")
    if not exe or not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise TraceError("bpftrace not found" + (f" at {exe}" if exe else " on PATH")
                         + " (install it, e.g. `apt-get install bpftrace`)")
    return exe


def check_tracefs(roots: tuple[str, ...] = TRACEFS) -> str:
    for r in roots:
        if os.path.exists(os.path.join(r, "uprobe_events")):
            return r
    raise TraceError("tracefs is not mounted (uprobes need it); mount it with "
                     "`mount -t tracefs nodev /sys/kernel/tracing`")


# ------------------------------------------------------------------ ELF

def elf_symbols(path: str, want) -> tuple[int, dict[str, tuple[int, int]] | None]:
    """(e_machine, {name: (value, size)} for the .symtab names that `want(name)` accepts), or None
    as the dict when the file has no .symtab (stripped)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise TraceError(f"{path}: {e.strerror}") from None
    if data[:4] != b"\x7fELF":
        raise TraceError(f"{path}: not an ELF executable")
    if data[4] != 2 or data[5] != 1:
        raise TraceError(f"{path}: only 64-bit little-endian ELF binaries are supported")
    e_machine = struct.unpack_from("<H", data, 18)[0]
    e_shoff = struct.unpack_from("<Q", data, 0x28)[0]
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
    symtab = next((s for s in sections if s[1] == 2), None)  # SHT_SYMTAB
    if symtab is None:
        return e_machine, None
    strtab = sections[symtab[6]]
    str_off = strtab[4]
    out = {}
    off, size, entsize = symtab[4], symtab[5], symtab[9] or 24
    for i in range(off, off + size, entsize):
        st_name, _info, _other, _shndx, st_value, st_size = struct.unpack_from("<IBBHQQ", data, i)
        if not st_name or not st_value:
            continue
        end = data.index(b"\0", str_off + st_name)
        name = data[str_off + st_name:end].decode("utf-8", "replace")
        if want(name):
            out[name] = (st_value, st_size)
    return e_machine, out


def _wanted(name: str) -> bool:
    return name.endswith(("." + ACQUIRE, "." + RELEASE, "." + DROPPED)) or name in closers() or name == FILE_CLOSE \
        or name.startswith("runtime.call") or name == ZEROBASE


class Target:
    """The binary to trace: its markers, closers and sites table."""

    def __init__(self, binary: str, arch: str):
        self.binary = binary
        machine, syms = elf_symbols(binary, _wanted)
        if machine != REGS[arch]["elf"]:
            raise TraceError(f"{binary}: built for another architecture (ELF machine {machine}), "
                             f"this machine is {arch}")
        if syms is None:
            raise TraceError(f"{binary}: stripped binary (no .symtab): uprobes attach by symbol name; "
                             "build without -ldflags='-s -w'")
        self.acquire = sorted((n, syms[n][0]) for n in syms if n.endswith("." + ACQUIRE))
        self.release = sorted((n, syms[n][0]) for n in syms if n.endswith("." + RELEASE))
        self.dropped = sorted((n, syms[n][0]) for n in syms if n.endswith("." + DROPPED))
        if not self.acquire and not self.dropped:
            raise TraceError(f"{binary}: no rehab marker symbols ({ACQUIRE}): build it instrumented, "
                             "GOFLAGS=-toolexec=toolexec-rehab REHAB_INSTRUMENT=1 go build ...")
        self._closers(syms)
        self.zerobase = syms.get(ZEROBASE, (0, 0))[0]
        with open(binary, "rb") as fh:
            self.sites = parse_sites_tables(fh.read())
        if not self.sites:
            raise TraceError(f"{binary}: has rehab markers but no sites table (built by an older toolexec-rehab?)")

    def _closers(self, syms: dict[str, tuple[int, int]]) -> None:
        """Library Close methods and os.(*file).close, with the runtime.call* range that tells a
        finalizer's close from the program's. They matter only for the markers' values (none:
        a binary with dropped-error records only)."""
        self.closers = [(n, syms[n][0]) for n in closers() if n in syms] if self.acquire else []
        calls = [v for n, v in syms.items() if re.fullmatch(r"runtime\.call\d+(\.abi0)?", n)]
        self.file_close = FILE_CLOSE if FILE_CLOSE in syms and calls and self.acquire else None
        self.file_close_addr = syms[FILE_CLOSE][0] if self.file_close else 0
        self.gc_lo = min(a for a, _ in calls) if calls else 0
        self.gc_hi = max(a + s for a, s in calls) if calls else 0

    def probe_count(self) -> int:
        files = any(s.rule == "file-not-closed" for s in self.sites.values())  # the program probes file closes then
        return len(self.acquire) + len(self.release) + len(self.closers) + len(self.dropped) + \
            (1 if self.file_close and files else 0)


# ------------------------------------------------------------------ program

def render_program(t: Target, arch: str, duration_ms: int | None) -> str:
    from ..rewrite.render import render

    file_sites = sorted(s.id64 for s in t.sites.values() if s.rule == "file-not-closed")
    return render((template_dir(),), "trace.bt.j2", {
        "binary": t.binary, "acquire": t.acquire, "release": t.release, "closers": t.closers, "dropped": t.dropped,
        "file_close": t.file_close, "gc_lo": t.gc_lo, "gc_hi": t.gc_hi, "file_sites": file_sites,
        "zerobase": t.zerobase, "file_close_addr": t.file_close_addr,
        "regs": REGS[arch], "duration_ms": duration_ms}) + "\n"


def parse_duration(text: str | None) -> int | None:
    """`10`, `10s`, `500ms`, `2m` -> milliseconds."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise TraceError(f"--duration {text!r}: expected a number with an optional unit (ms, s, m, h)")
    ms = float(m[1]) * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[m[2] or "s"]
    if ms < 1:
        raise TraceError(f"--duration {text!r}: must be at least 1ms")
    return int(ms)


def _u64(key) -> int:
    return int(key) & 0xFFFF_FFFF_FFFF_FFFF


READY = "rehab-ready"


def parse_output(lines: list[str]) -> tuple[int | None, dict[str, dict[int, int]]]:
    """bpftrace -f json output: (attached probe count once BEGIN has run, {map name: {key: value}})."""
    attached = None
    ready = False
    maps: dict[str, dict[int, int]] = {}
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("type") == "attached_probes":
            attached = int(ev["data"]["probes"])
        elif ev.get("type") == "printf" and str(ev.get("data", "")).strip() == READY:
            ready = True
        elif ev.get("type") == "map":
            for name, vals in ev["data"].items():
                if isinstance(vals, dict):
                    maps.setdefault(name.lstrip("@"), {}).update({_u64(k): int(v) for k, v in vals.items()})
    # "Attaching N probes" comes before the attaching; BEGIN runs after it
    return (attached if ready else None), maps


def counts(t: Target, maps: dict[str, dict[int, int]]) -> list[SiteCount]:
    out = []
    acq, rel, gc, drop = maps.get("acq", {}), maps.get("rel", {}), maps.get("gc", {}), maps.get("drop", {})
    tracked = tracked_rule_ids()
    for s in sorted(t.sites.values(), key=lambda s: (s.file, s.line, s.rule)):
        if s.rule not in tracked:  # an unchecked-error record site (runtime/dropped.py)
            out.append(SiteCount(s.node_id, s.rule, s.file, s.line, dropped=drop.get(s.id64, 0)))
            continue
        a, r, g = acq.get(s.id64, 0), rel.get(s.id64, 0), gc.get(s.id64, 0)
        out.append(SiteCount(s.node_id, s.rule, s.file, s.line, acquired=a, released=r,
                             open=max(0, a - r - g), collected_open=g))
    return out


# ------------------------------------------------------------------ run

def _raise_memlock() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ImportError, ValueError, OSError):
        pass


def _relay_stderr(pipe) -> None:
    """bpftrace's (and, under -c, the program's) stderr, minus bpftrace's RLIMIT_MEMLOCK notice:
    kernels since 5.11 account BPF memory to the cgroup and ignore that limit."""
    out = sys.stderr.buffer
    for line in iter(pipe.readline, b""):
        if b"couldn't set RLIMIT_MEMLOCK" in line:
            continue
        out.write(line)
        out.flush()


def _gated_child(argv: list[str], stdout, fifo: str) -> subprocess.Popen:
    """Start argv held before it runs: a shell waits for a line on the FIFO, then execs argv in the
    same process (same pid). `_release(fifo)` lets it run; EOF on the FIFO makes it exit 126."""
    os.mkfifo(fifo, 0o600)
    try:
        return subprocess.Popen(["/bin/sh", "-c", 'read -r _ < "$0" || exit 126; exec "$@"',
                                 fifo, *argv], stdout=stdout)
    except OSError as e:
        raise TraceError(f"/bin/sh: {e.strerror}") from None


def _release(fifo: str, go: bool, child: subprocess.Popen) -> None:
    """Open the gate (go) or make the held program exit without running (not go)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # ENXIO: the shell has not opened its end yet, or is gone
            if child.poll() is not None or time.monotonic() > deadline:
                return
            time.sleep(0.01)
    try:
        if go:
            os.write(fd, b"go\n")
    finally:
        os.close(fd)


def _end_child(child: subprocess.Popen) -> None:
    """The traced program outlived the trace (--duration, Ctrl-C): stop it."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().splitlines()
    except OSError:
        return []


def run(args) -> int:
    command = _command(args)
    duration_ms = parse_duration(args.duration)
    arch = check_platform()
    check_privileges()
    bpftrace = find_bpftrace()
    check_tracefs()
    binary = _pid_binary(args.pid) if args.pid is not None else _program_binary(command[0])
    target = Target(binary, arch)
    maps, elapsed = _trace(args, command, target, arch, bpftrace, duration_ms)
    return _report(args, target, binary, maps, elapsed)


def _command(args) -> list[str]:
    """The program to start (`-- PROGRAM ARGS...`), [] with --pid; exactly one of the two."""
    command = list(args.command or [])
    if command[:1] == ["--"]:
        command = command[1:]
    if (args.pid is None) == (not command):
        raise TraceError("give exactly one of --pid PID or -- PROGRAM ARGS...")
    return command


def _pid_binary(pid: int) -> str:
    exe = f"/proc/{pid}/exe"
    if not os.path.exists(f"/proc/{pid}"):
        raise TraceError(f"--pid {pid}: no such process")
    binary = os.path.realpath(exe)
    if not os.path.isfile(binary):
        binary = exe  # deleted or replaced on disk: the mapped file is still reachable here
    return binary


def _program_binary(prog: str) -> str:
    binary = prog if os.sep in prog else (shutil.which(prog) or "")
    if not binary or not os.path.isfile(binary):
        raise TraceError(f"{prog}: no such program")
    return os.path.realpath(binary)


def _trace(args, command: list[str], target: Target, arch: str, bpftrace: str,
           duration_ms: int | None) -> tuple[dict[str, dict[int, int]], float]:
    """Run bpftrace on the process until it ends, the duration is up or we are interrupted:
    (the maps it printed, seconds traced)."""
    expected = target.probe_count() + 2 + (1 if duration_ms else 0)  # + BEGIN, END (+ interval)
    keys = max(4096, int(args.max_live) + len(target.sites) + 64)

    tmp = tempfile.mkdtemp(prefix="rehab-trace-")  # 0700
    try:
        prog_path = os.path.join(tmp, "trace.bt")
        from ..paths import write_private

        write_private(prog_path, render_program(target, arch, duration_ms).encode())
        session = _Session(os.path.join(tmp, "out.json"), args.pid)
        if session.pid is None:
            # --json to stdout: the program's own stdout goes to stderr, so that stdout is only the JSON
            child_out = sys.stderr.fileno() if args.json and not args.output else None
            session.hold([target.binary, *command[1:]], child_out, os.path.join(tmp, "gate"))
        session.start(bpftrace, prog_path, keys)
        what = f"pid {args.pid}" if args.pid is not None else shlex.join(command)

        def announce(attached: int) -> None:
            print(f"toolexec-rehab: tracing {len(target.sites)} sites, {attached} probes, in {what}"
                  + (f" for {duration_ms / 1000:g}s" if duration_ms else " (Ctrl-C to stop)"),
                  file=sys.stderr, flush=True)

        session.run(expected, target.binary, announce)
        elapsed = time.monotonic() - session.t0
        _, maps = parse_output(_read_lines(session.out_path))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return maps, elapsed


class _Session:
    """One bpftrace run on one process: ours (started held at a gate until every probe is
    attached) or --pid's. SIGINT/SIGTERM are forwarded to bpftrace as SIGINT, which makes it
    print its maps and exit."""

    def __init__(self, out_path: str, pid: int | None):
        self.out_path = out_path  # bpftrace -f json -o
        self.pid = pid
        self.child: subprocess.Popen | None = None
        self.gate: str | None = None  # our child's FIFO, until it is released
        self.proc: subprocess.Popen | None = None
        self.relay: threading.Thread | None = None
        self.stopped = False  # SIGINT sent to bpftrace (a signal, or the traced process ended)
        self.t0 = 0.0

    def hold(self, argv: list[str], stdout, gate: str) -> None:
        # Our own child, held before its exec until every probe is attached (bpftrace -c would
        # split the command line on blanks and keep quotes: arguments would not survive).
        self.gate = gate
        self.child = _gated_child(argv, stdout, gate)
        self.pid = self.child.pid

    def start(self, bpftrace: str, prog_path: str, keys: int) -> None:
        cmd = [bpftrace, "-f", "json", "-o", self.out_path, "-p", str(self.pid), prog_path]
        env = {**os.environ, "BPFTRACE_MAP_KEYS_MAX": str(keys)}
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=_raise_memlock)
        self.relay = threading.Thread(target=_relay_stderr, args=(self.proc.stderr,), daemon=True)
        self.relay.start()

    def forward(self, signum, frame) -> None:
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)

    def run(self, expected: int, binary: str, announce) -> None:
        """Wait for the probes, let the program go, wait for the end; always leave no child behind."""
        old_int = signal.signal(signal.SIGINT, self.forward)
        old_term = signal.signal(signal.SIGTERM, self.forward)
        try:
            attached = self._wait_attached()
            self._check_attached(attached, expected, binary)
            if self.gate is not None:
                _release(self.gate, True, self.child)
                self.gate = None
            announce(attached)
            self._wait_done()
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)
            self.relay.join(timeout=2)
            if self.gate is not None:
                _release(self.gate, False, self.child)  # never released: it exits without running
            if self.child is not None:
                _end_child(self.child)

    def _wait_attached(self) -> int:
        """The number of probes attached, once bpftrace has run BEGIN (TraceError if it does not)."""
        attached = None
        deadline = time.monotonic() + 120
        while attached is None and self.proc.poll() is None and time.monotonic() < deadline:
            attached, _ = parse_output(_read_lines(self.out_path))
            if attached is None:
                time.sleep(0.05)
        if attached is None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            if self.stopped:
                raise TraceError("interrupted before the probes were attached")
            raise TraceError(f"bpftrace did not attach its probes (exit {self.proc.returncode}); "
                             f"its output:\n" + "\n".join(_read_lines(self.out_path)[-20:]))
        return attached

    def _check_attached(self, attached: int, expected: int, binary: str) -> None:
        if attached != expected:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            raise TraceError(f"bpftrace attached {attached} probes, expected {expected}: "
                             f"some marker or Close symbols of {binary} could not be probed")

    def _target_gone(self) -> bool:
        return self.child.poll() is not None if self.child else not _alive(self.pid)

    def _wait_done(self) -> None:
        while True:
            try:
                self.proc.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                if not self.stopped and self._target_gone():
                    self.forward(signal.SIGINT, None)  # the traced process is gone: report what we have
            except KeyboardInterrupt:
                self.forward(signal.SIGINT, None)


def _report(args, target: Target, binary: str, maps: dict[str, dict[int, int]], elapsed: float) -> int:
    """Print (or write --output) the table or the JSON; the leak lines go to stderr when stdout
    does not have them. Exit 1 when a site leaks."""
    sites = counts(target, maps)
    if args.json:
        text = json.dumps(to_json(sites, binary, args.pid, elapsed), indent=2) + "\n"
        leaks_to = sys.stderr
    else:
        from ..pipeline import display

        text = table(sites, display) + "\n" + "".join(x + "\n" for x in leak_lines(sites) + dropped_lines(sites))
        leaks_to = None
    if args.output:
        from ..paths import write_private

        write_private(os.path.abspath(args.output), text.encode())
        leaks_to = sys.stderr
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if leaks_to is not None:
        for x in leak_lines(sites):
            print(x, file=leaks_to)
    return 1 if any(s.leaking for s in sites) else 0


def main(args) -> int:
    try:
        return run(args)
    except TraceError as e:
        print(f"toolexec-rehab: trace: {e}", file=sys.stderr)
        return 2


__all__ = ["TRACKED_RULES", "TraceError", "main"]
