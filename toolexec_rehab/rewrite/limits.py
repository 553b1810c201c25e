"""The limits of one template render: the constants, the errors, the budget (time and size)
that the sandbox's hooks consult, and the loop that streams a render's output.

A render runs inside `_bounded`, which sets the thread's `_Budget`: at most `max_output`
characters and `time_limit` seconds. Time: SIGALRM (setitimer) in the main thread,
restoring the previous handler; in another thread (or when an ITIMER_REAL is already armed)
the hooks (`_tick`, the guards in sandbox.py) and every loop iteration check the clock
instead. Past a limit, `_Limit` is raised inside the render; render.py turns it into a
RenderLimitError naming the template's file:line. What a single operation would build is
checked before it runs in sizes.py; the Jinja environment that calls those checks is in
sandbox.py.
"""

from __future__ import annotations

import math
import signal
import threading
import time

from ..errors import RuleError

MAX_OUTPUT = 64 * 1024  # characters of one render's output, and of any value a template builds
TIME_LIMIT = 2.0  # seconds of wall time for one render (compiling the template included)
# the largest int a template may compute: ~4200 decimal digits, under Python's default
# int-to-str limit (4300 digits), so that printing it cannot fail either
MAX_INT_BITS = 14_000
# The shipped runtime templates (templates/runtime/: the bpftrace program, the markers file
# with the sites table) render whole files whose size grows with the program: they are ours,
# not a repository's, and get a larger output limit (same time limit).
RUNTIME_MAX_OUTPUT = 64 * 1024 * 1024


# ------------------------------------------------------------------ errors

class _Limit(Exception):
    """Raised inside a render past a limit. An Exception (not BaseException) so that Jinja
    rewrites its traceback to the template's lines; `where` when the template's frame is
    suspended rather than on the stack (output counted by a consumer)."""

    def __init__(self, kind: str, detail: str, where: tuple[str, int] | None = None):
        super().__init__(detail)
        self.kind = kind
        self.where = where


class RenderLimitError(RuleError):
    """A template render went past a limit. str(): `file:line: template exceeded its
    <limit>`; `kind` "time" or "size", `limit` e.g. "time limit (2 s)", `where` file:line,
    `detail` what exactly (e.g. "'*' would build a value of more than 64 KiB")."""

    def __init__(self, where: str, kind: str, limit: str, detail: str = ""):
        super().__init__(f"{where}: template exceeded its {limit}" + (f" ({detail})" if detail else ""))
        self.where, self.kind, self.limit, self.detail = where, kind, limit, detail


def size_text(n: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} characters"


# ------------------------------------------------------------------ the budget

_local = threading.local()


class _Budget:
    """One render's limits. `poll`: check the clock in the hooks (no SIGALRM); `expired`:
    the time is up (set by the alarm or a hook; every hook then stops the render)."""

    __slots__ = ("max_output", "time_limit", "deadline", "poll", "active", "expired")

    def __init__(self, max_output: int, time_limit: float | None):
        self.max_output = max_output
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit if time_limit else math.inf
        self.poll = True
        self.active = True
        self.expired = False

    def time_up(self) -> _Limit:
        self.expired = True
        return _Limit("time", f"took more than {self.time_limit:g} s")


def _budget() -> _Budget | None:
    b = getattr(_local, "budget", None)
    return b if b is not None and b.active else None


def _tick(b: _Budget | None) -> None:
    if b is not None and (b.expired or (b.poll and time.monotonic() > b.deadline)):
        raise b.time_up()


def _limit_of(b: _Budget | None) -> int:
    return b.max_output if b is not None else MAX_OUTPUT


def _bounded(make, max_output: int, time_limit: float | None) -> str:
    """Run make() (which compiles the template and returns its generate() generator) and
    collect its output within the limits; _Limit past them."""
    b = _Budget(max_output, time_limit)
    outer = getattr(_local, "budget", None)
    if outer is not None and outer.active:  # a render inside a render: never more time than the outer has
        b.deadline = min(b.deadline, outer.deadline)
    _local.budget = b
    try:
        if time_limit and (outer is None or not outer.active) and _alarm_free():
            return _with_alarm(b, lambda: _stream(make, b))
        return _stream(make, b)
    finally:
        b.active = False
        _local.budget = outer


def _stream(make, b: _Budget) -> str:
    gen = make()
    out: list[str] = []
    n = 0
    for chunk in gen:
        n += len(chunk)
        if n > b.max_output:
            raise _Limit("size", f"output of more than {size_text(b.max_output)}", _suspended_where(gen))
        if b.expired or (b.poll and time.monotonic() > b.deadline):
            e = b.time_up()
            e.where = _suspended_where(gen)
            raise e
        out.append(chunk)
    return "".join(out)


# ------------------------------------------------------------------ the time limit

def _alarm_free() -> bool:
    """SIGALRM is ours to use: the main thread, and no ITIMER_REAL (or alarm()) armed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        return signal.getitimer(signal.ITIMER_REAL)[0] == 0
    except (AttributeError, OSError):  # no setitimer on this platform
        return False


def _with_alarm(b: _Budget, fn):
    def on_alarm(signum, frame):
        # one raise per render: a later signal (none is expected) must not replace the error
        # being handled; the hooks keep stopping the render through b.expired
        if b.active and not b.expired:
            raise b.time_up()

    try:
        old = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main interpreter's main thread after all
        return fn()
    try:
        b.poll = False
        signal.setitimer(signal.ITIMER_REAL, b.time_limit)
        try:
            return fn()
        finally:
            b.active = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        b.active = False  # if the alarm interrupted the inner finally, it has fired: the timer is off
        _run_pending_handlers()
        signal.signal(signal.SIGALRM, old if old is not None else signal.SIG_DFL)


def _run_pending_handlers() -> None:
    """A SIGALRM that arrived just before the timer was disarmed runs its (now inert)
    handler at the next bytecode boundary that checks for signals: a loop's backward jump."""
    for _ in range(2):
        pass



# ------------------------------------------------------------------ output, counted as it streams

class _RenderGuard:
    """Around a template's root or block render function: counts what that one call
    produces (the whole output for the top template; an imported module's body; the text of
    `self.block()`) and checks the clock per chunk."""

    __slots__ = ("inner", "b", "n")

    def __init__(self, inner, b: _Budget):
        self.inner, self.b, self.n = inner, b, 0

    def __iter__(self):
        return self

    def close(self) -> None:  # `{% include %}` closes the generator it iterates
        self.inner.close()

    def __next__(self):
        chunk = next(self.inner)
        b = self.b
        self.n += len(chunk)
        if self.n > b.max_output:
            raise _Limit("size", f"output of more than {size_text(b.max_output)}", _suspended_where(self.inner))
        if b.active and (b.expired or (b.poll and time.monotonic() > b.deadline)):
            e = b.time_up()
            e.where = _suspended_where(self.inner)
            raise e
        return chunk


def _suspended_where(it) -> tuple[str, int] | None:
    """file:line of the innermost template whose generator is suspended below `it` (the
    template that produced the last chunk)."""
    where = None
    for _ in range(1000):
        if it is None:
            break
        if isinstance(it, _RenderGuard):
            it = it.inner
            continue
        frame = getattr(it, "gi_frame", None)
        if frame is None:
            break
        t = frame.f_globals.get("__jinja_template__")
        if t is not None:
            where = (t.filename or "<template>", t.get_corresponding_lineno(frame.f_lineno))
        it = getattr(it, "gi_yieldfrom", None)
    return where

