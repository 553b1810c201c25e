"""What `explain` shows, as text: one finding (`explain ast-node-<id>`) or one rule
(`explain <rule>`). The command prints it; the language server shows the same text on hover.
"""

from __future__ import annotations

from collections.abc import Mapping


def rule_text(lr) -> str:
    """`explain <rule>`: what a rule finds, why, its examples."""
    r = lr.rule
    out = [f"{r.id}: {r.summary}",
           f"  severity: {r.severity}   mode: {r.mode}   enabled by default: {'yes' if r.enabled else 'no (opt-in)'}"
           f"   changes behaviour: {'yes' if r.changes_behavior else 'no'}",
           f"  defined in: {lr.path}"]
    if r.fix is not None and r.fix.effect:
        out.append(f"  what the fix changes: {r.fix.effect}")
    out.append("")
    for line in r.rationale.strip().splitlines():
        out.append(f"  {line}")
    for ex in r.examples:
        out.append("")
        out.append(f"  example{': ' + ex.name if ex.name else ''}")
        out.append("    before:")
        for line in ex.before.rstrip().splitlines():
            out.append(f"      {line}")
        if ex.after is not None:
            out.append("    after:")
            for line in ex.after.rstrip().splitlines():
                out.append(f"      {line}")
        else:
            out.append("    (reported, not fixed)")
    return "\n".join(out) + "\n"


def evidence_lines(fd, lr) -> list[str]:
    """The evidence block of a finding: callee, error check, leaving paths, escapes, loop."""
    ev = fd.evidence or {}
    out = ["  evidence:"]
    if ev.get("callee"):
        verb = "acquired by" if ev.get("leak_lines") or ev.get("escapes") or fd.rule.endswith("-not-closed") \
            else "call to"
        out.append(f"    {verb} {ev['callee']}")
    if ev.get("error_check_line"):
        out.append(f"    error checked at line {ev['error_check_line']}")
    if ev.get("leak_lines"):
        out.append(f"    left open on the path(s) leaving at line(s) {', '.join(map(str, ev['leak_lines']))}")
    if ev.get("transfer_lines"):
        out.append(f"    escapes (ownership passed on) at line(s) {', '.join(map(str, ev['transfer_lines']))}")
    if ev.get("in_loop"):
        out.append("    acquired inside a loop")
    path = escape_path(fd)
    if path:
        # the ownership model's path: why a release would not be safe (rules/ownership.py)
        out.append("    may outlive the function, so a release is not patched in:")
        out.append(f"      {path}")
    effect = lr.rule.fix.effect if lr.rule.fix is not None else None
    if effect:
        out.append(f"  what the fix changes: {effect}")
    return out


def escape_path(fd) -> str | None:
    """`f -> a *bufio.Scanner (line 25) -> returned at line 27`: the escape that blocks a fix
    (None when the finding has none)."""
    esc = (fd.evidence or {}).get("escape")
    if not esc:
        return None
    steps = [esc["var"]] + [f"{p['value']} (line {p['line']})" for p in esc["path"]]
    return f"{' -> '.join(steps)} -> {esc['how']} at line {esc['line']}"


def finding_text(fd, files: Mapping, rules) -> str:
    """`explain ast-node-<id>` for the finding fd: rule, place, source, evidence, and the fix
    as `fix` would write it (or why there is none). files: the run's files by path; rules:
    the LoadedRules that ran."""
    from . import pipeline as PL

    gf = files[fd.path]
    lr = next(r for r in rules if r.id == fd.rule)
    path = PL.display(fd.origin)
    out = [f"{fd.node_id}: {fd.rule} ({fd.severity})",
           f"  at:       {path}:{fd.line}:{fd.column} in {fd.function or 'package scope'}",
           f"  message:  {fd.message}",
           f"  rule:     {lr.rule.summary}"]
    # Go's lines: "\n" only (str.splitlines would also split at a CR, a form feed, U+2028...)
    lines = [x.removesuffix(b"\r").decode("utf-8", "replace") for x in gf.src.split(b"\n")]
    if lines and gf.src.endswith(b"\n"):
        lines.pop()
    row = gf.src.count(b"\n", 0, fd.start)
    out.append("  source:")
    for i in range(max(0, row - 2), min(len(lines), row + 3)):
        mark = ">" if i == row else " "
        out.append(f"   {mark}{gf.orig_line(i):5} | {lines[i]}")
    out += evidence_lines(fd, lr)
    if fd.fix:
        new = PL.source_fix(fd, files)
        if new is not None:
            out.append("  fix (before/after):")
            for line in PL.unified_diff(fd.origin, gf.src, new).splitlines()[2:]:
                out.append(f"    {line}")
    else:
        out.append(f"  not fixed: {fd.why_no_fix or 'no fix'}")
    return "\n".join(out) + "\n"
