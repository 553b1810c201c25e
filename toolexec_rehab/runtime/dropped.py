"""The build's unchecked-error record: a generated file with `_rehabDropped`.

A build that fixes unchecked-error (REHAB_MODES=unchecked-error=fix) rewrites a dropped
`f()` into `if err := f(); err != nil { _rehabDropped(0x<node id>, err) }` on the same line
(templates/unchecked-error-record.go.j2): the call, its result and the control flow stay
as written. `_rehabDropped` lives in a file added to the compile (templates/runtime/
dropped.go.j2); it imports nothing, so the importcfg needs no new entry. It does nothing
unless REHAB_LOG_DROPPED was set for the build, when it prints one line to stderr per dropped
error (a panicking Error method is recovered there: the record never changes the program's
course). `toolexec-rehab trace` puts a uprobe on it and counts the calls per node id; the
file's sites table (the instrumented build's format, runtime/instrument.py) names each id's
file and line.
"""

from __future__ import annotations

from .instrument import Site, sites_literal, template_dir

DROPPED = "_rehabDropped"
DROPPED_SITES = "_rehabDroppedSites"
DROPPED_FILE = "zz_rehab_dropped.go"


def dropped_file(package: str, sites: list[Site], log: bool) -> bytes:
    from ..rewrite.render import render

    text = render((template_dir(),), "dropped.go.j2", {
        "package": package, "func": DROPPED, "sites_const": DROPPED_SITES,
        "sites_literal": sites_literal(sites), "log": log})
    return text.encode("utf-8") + b"\n"
