"""Trace reports: the JSON that `trace --json` writes and `fix --from-trace` / `fix: confirmed` read,
and the text table.

    {"format": "toolexec-rehab-trace", "version": 1, "binary": "...", "pid": 123,
     "sites": [{"node_id": "ast-node-...", "rule": "...", "file": "...", "line": 12,
                "acquired": 20, "released": 0, "open": 20, "collected_open": 0}, ...]}

`collected_open` is null where it cannot be measured. A site is a confirmed leak
when at least one of its values was still open at the end of the trace or was
collected by the GC without having been closed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass

FORMAT = "toolexec-rehab-trace"
VERSION = 1
NODE_RE = re.compile(r"^ast-node-[0-9a-f]{16}$")


@dataclass
class SiteCount:
    node_id: str
    rule: str
    file: str
    line: int
    acquired: int = 0
    released: int = 0
    open: int = 0
    collected_open: int | None = None
    dropped: int | None = None  # an unchecked-error record site: errors dropped there (runtime/dropped.py)

    @property
    def leaking(self) -> bool:
        return self.open > 0 or (self.collected_open or 0) > 0


def to_json(sites: list[SiteCount], binary: str, pid: int | None, duration_s: float | None) -> dict:
    return {"format": FORMAT, "version": VERSION, "binary": binary, "pid": pid,
            "duration_s": None if duration_s is None else round(duration_s, 3),
            "sites": [asdict(s) for s in sites],
            "leaks": [s.node_id for s in sites if s.leaking]}


def load(path: str) -> list[SiteCount]:
    """The sites of a trace file; ValueError (`path: ...`) when it is not one."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as e:
        raise ValueError(f"{path}: {e.strerror}") from None
    except ValueError as e:
        raise ValueError(f"{path}: not JSON: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a toolexec-rehab trace (write one with `toolexec-rehab trace --json`)")
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: trace version {data.get('version')!r}, expected {VERSION}")
    sites = data.get("sites")
    if not isinstance(sites, list):
        raise ValueError(f"{path}: 'sites' must be a list")
    out = []
    for i, s in enumerate(sites):
        try:
            sc = SiteCount(node_id=s["node_id"], rule=s["rule"], file=s["file"], line=int(s["line"]),
                           acquired=int(s["acquired"]), released=int(s["released"]), open=int(s["open"]),
                           collected_open=None if s.get("collected_open") is None else int(s["collected_open"]),
                           dropped=None if s.get("dropped") is None else int(s["dropped"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: site {i}: bad or missing field {e}") from None
        if not NODE_RE.match(sc.node_id):
            raise ValueError(f"{path}: site {i}: bad node_id {sc.node_id!r}")
        out.append(sc)
    return out


def confirmed_ids(path: str) -> set[str]:
    """The `ast-node-<id>`s that the trace in `path` confirmed as leaking."""
    return {s.node_id for s in load(path) if s.leaking}


def check_build_trace(path: str | None) -> None:
    """`fix: confirmed` in a build: the trace must exist, be valid, and be named by an absolute path
    (the compiler runs in each package's directory). ValueError says what is wrong."""
    if not path:
        raise ValueError("fix: confirmed needs a trace: set REHAB_TRACE=/abs/path/trace.json "
                         "or build.trace in .rehab.yaml")
    if not os.path.isabs(path):
        raise ValueError(f"REHAB_TRACE={path}: must be an absolute path "
                         "(the compiler runs in each package's directory)")
    load(path)


def confirmed_ids_or_none(path: str | None) -> set[str] | None:
    """For builds (`fix: confirmed`): None when there is no usable trace."""
    if not path:
        return None
    try:
        return confirmed_ids(path)
    except ValueError:
        return None


def leak_lines(sites: list[SiteCount]) -> list[str]:
    return [f"REHAB: leak {s.node_id} {s.file}:{s.line} {s.rule} open={s.open}"
            + (f" collected_open={s.collected_open}" if s.collected_open else "")
            for s in sites if s.leaking]


def dropped_lines(sites: list[SiteCount]) -> list[str]:
    """The unchecked-error record sites where errors were dropped (not leaks: no exit status)."""
    return [f"REHAB: dropped-error {s.node_id} {s.file}:{s.line} {s.rule} dropped={s.dropped}"
            for s in sites if s.dropped]


def table(sites: list[SiteCount], display=lambda p: p) -> str:
    drops = any(s.dropped is not None for s in sites)  # a DROPPED column only when a site has one
    head = ("SITE", "RULE", "LOCATION", "ACQUIRED", "RELEASED", "OPEN", "COLLECTED_OPEN") + (("DROPPED",) if drops else ())
    rows = [head] + [(s.node_id, s.rule, f"{display(s.file)}:{s.line}", str(s.acquired), str(s.released),
                      str(s.open), "-" if s.collected_open is None else str(s.collected_open))
                     + (("-" if s.dropped is None else str(s.dropped),) if drops else ())
                     for s in sites]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    return "\n".join(x.rstrip() for x in lines)
