"""`check` on two cores: a forked helper process and this one share the files to analyze.

Both processes walk the same files in the same order (the packages in input order, in each
package its files by size, largest first) and, before analyzing a file, take the next
number from a pipe that holds 0..N-1 (written before the fork; a read of 4 bytes from a
pipe is atomic). A process analyzes a file only when the number it takes is the file's
own; a larger one means the other process has the file, and is kept for a later file. So
the two finish within about one file of each other, whatever the files cost (a static
split by size did not: cobra's share by bytes left one process ~50 ms behind the other).

The helper builds only the packages it has files in; its diagnostics are plain data (no
tree nodes) and come back pickled, with the paths it analyzed. Correctness never depends
on the numbers: after the helper has finished, this process analyzes every file that
neither analyzed (a failed helper: all of its share). REHAB_JOBS=1 turns it off.
"""

from __future__ import annotations

import os
import sys

from .analysis import build_packages
from .rules.diagnostic import Diagnostic

MIN_BYTES = 192 * 1024  # below this a fork costs more than it saves
_PIPE_BYTES = 1 << 16  # a pipe's default capacity: 16384 numbers (more: F_SETPIPE_SZ, or no helper)


def reported(inp) -> set[str]:
    """The files of an input whose findings are wanted."""
    return set(inp.files) if inp.report is None else set(inp.report)


class Claims:
    """This process's side of the numbers: which files it took."""

    def __init__(self, fd: int, inputs):
        self.fd = fd
        self.next = -1  # the last number taken from the pipe (not yet used when > the current file)
        self.offsets = [0]
        for inp in inputs:
            self.offsets.append(self.offsets[-1] + len(reported(inp)))
        self.done: set[str] = set()

    def _read(self) -> None:
        b = os.read(self.fd, 4)
        self.next = int.from_bytes(b, "little") if len(b) == 4 else sys.maxsize

    def has_work_in(self, i: int) -> bool:
        """Whether this process may have a file of input i (the helper skips the others
        without parsing them)."""
        while self.next < self.offsets[i]:
            self._read()
        return self.next < self.offsets[i + 1]

    def taker(self, i: int, pkgs, wanted: set[str]) -> Take:
        """What Engine.analyze asks before each file of input i's packages."""
        files = (f for pkg in pkgs for f in order(pkg.files, wanted))
        return Take(self, {f.path: self.offsets[i] + k for k, f in enumerate(files)})

    def close(self) -> None:
        os.close(self.fd)


class Take:
    """Engine.analyze's `take`: key(path) orders a package's files as they are numbered,
    take(path) is True when this process has the file."""

    def __init__(self, claims: Claims, number: dict[str, int]):
        self.claims, self.number = claims, number

    def key(self, path: str) -> int:
        return self.number[path]

    def __call__(self, path: str) -> bool:
        c, n = self.claims, self.number[path]
        while c.next < n:
            c._read()
        if c.next == n:
            c.done.add(path)
            return True
        return False


def order(files, wanted: set[str]) -> list:
    """The wanted files of a package in the order both processes visit them: largest first
    (the last file to be taken is a small one)."""
    return sorted((f for f in files if f.path in wanted), key=lambda f: (-len(f.src), f.path))


class Helper:
    def __init__(self, pid: int, fd: int, claims: Claims):
        self.pid, self.fd, self.claims = pid, fd, claims
        # after join(): what the helper's analysis of each input read beyond its files
        # (golang/inputs.py, for the result cache), and whether it did all of its share
        self.records: dict[int, set] = {}
        self.complete = False

    @classmethod
    def start(cls, inputs, analyzer) -> Helper | None:
        from .settings import integer

        if integer("REHAB_JOBS") == 1 or not hasattr(os, "fork"):
            return None
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
        if cpus < 2:
            return None
        total = count = 0
        for inp in inputs:
            for path in reported(inp):
                try:
                    total += os.stat(path).st_size
                except OSError:
                    return None  # the serial run reports it
                count += 1
        if total < MIN_BYTES or count < 2:
            return None
        numbers = _numbers(count)
        if numbers is None:
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (r, w, numbers):
                os.close(fd)
            return None
        if pid == 0:  # the helper: never prints, never returns
            os.close(r)
            cls._work(w, inputs, analyzer, Claims(numbers, inputs))
        os.close(w)
        return cls(pid, r, Claims(numbers, inputs))

    @staticmethod
    def _work(w: int, inputs, analyzer, claims: Claims) -> None:
        import pickle

        from .golang import inputs as golang_inputs

        try:
            diags, records = [], {}
            for i, inp in enumerate(inputs):
                if not claims.has_work_in(i):
                    continue
                wanted = reported(inp)
                records[i] = golang_inputs.begin()
                pkgs = build_packages(inp)
                take = claims.taker(i, pkgs, wanted)
                for pkg in pkgs:
                    diags.extend(analyzer.analyze(pkg, wanted, take=take))
                golang_inputs.end()
            data = pickle.dumps((diags, sorted(claims.done), list(analyzer.engine.warnings), records),
                                protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(w, view):]
        except BaseException:  # noqa: BLE001 - no data: the parent does the work
            pass
        os._exit(0)

    def join(self, inputs, packages, analyzer) -> list[Diagnostic]:
        """The helper's diagnostics, and those of every file neither process analyzed."""
        import pickle

        chunks = []
        try:
            while True:
                b = os.read(self.fd, 1 << 20)
                if not b:
                    break
                chunks.append(b)
        finally:
            os.close(self.fd)
            self.claims.close()
            _, status = os.waitpid(self.pid, 0)
        out: list[Diagnostic] = []
        done = set(self.claims.done)
        try:
            if status != 0 or not chunks:
                raise ValueError("helper failed")
            diags, theirs, warnings, records = pickle.loads(b"".join(chunks))
            if not all(isinstance(d, Diagnostic) for d in diags) or not all(isinstance(p, str) for p in theirs):
                raise ValueError("helper sent something else")
            for w in warnings:
                if w not in analyzer.engine.warnings:
                    analyzer.engine.warnings.append(w)
            out, done, self.records = diags, done | set(theirs), records
            # every number was taken by one process: what is left is what neither analyzes
            # (a generated file, one that did not parse)
            self.complete = True
        except Exception:  # noqa: BLE001 - do the helper's share here
            pass
        wanted = set().union(*(reported(inp) for inp in inputs)) - done
        for pkg in packages:
            left = {f.path for f in pkg.files} & wanted
            if left:
                out.extend(analyzer.analyze(pkg, left))
        return out


def _numbers(count: int) -> int | None:
    """A pipe holding 0..count-1, its write end closed: the read end, or None."""
    size = 4 * count
    r, w = os.pipe()
    try:
        if size > _PIPE_BYTES:
            import fcntl

            fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
        os.set_blocking(w, False)
        data = b"".join(n.to_bytes(4, "little") for n in range(count))
        if os.write(w, data) != size:
            raise OSError("short write")
    except OSError:
        os.close(r)
        return None
    finally:
        os.close(w)
    return r
