"""Command line: `toolexec-rehab check ...` and friends. Exit codes: 0 clean, 1 findings, 2 error."""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__

PROG = "toolexec-rehab"


def _display(path: str) -> str:
    """go vet's convention: relative to the working directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    if rel.startswith(".."):
        return path
    return rel if rel.startswith(".") else "./" + rel


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Find and fix Go resource leaks; "
                                "also a go build -toolexec wrapper (GOFLAGS=-toolexec=toolexec-rehab).")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    c = sub.add_parser("check", help="report findings without building (exit 1 when there are any)")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--rules", help="comma-separated rule ids to run (default: all)")
    c.add_argument("patterns", nargs="*", metavar="PATTERN", help="./..., directories or .go files")
    r = sub.add_parser("rules", help="list the rules")
    r.add_argument("action", nargs="?", choices=("list",), default="list")
    return p


def main(argv: list[str]) -> int:
    p = _parser()
    args = p.parse_args(argv)
    if args.cmd is None:
        p.print_help(sys.stderr)
        return 2
    try:
        if args.cmd == "check":
            return cmd_check(args)
        if args.cmd == "rules":
            return cmd_rules(args)
    except BrokenPipeError:
        return 0
    except Exception as e:  # noqa: BLE001 - every error is a clean message + exit 2
        from .analysis import UsageError
        from .rules.loader import RuleError

        if isinstance(e, (UsageError, RuleError)):
            print(f"{PROG}: {e}", file=sys.stderr)
            return 2
        raise
    return 2


def cmd_rules(args) -> int:
    from .rules.loader import all_rules

    for lr in all_rules():
        r = lr.rule
        state = "" if r.enabled else " (opt-in)"
        print(f"{r.id:24} {r.mode:6} {r.severity:8} {r.summary}{state}")
    return 0


def _selected_rules(spec: str | None):
    from .rules.loader import load_rules

    if spec:
        want = {x.strip() for x in spec.split(",") if x.strip()}
        return load_rules(want)
    return load_rules()


def cmd_check(args) -> int:
    from .analysis import Analyzer, build_packages, expand_patterns, go_env_goroot
    from .syntax import syntax_errors

    inputs = expand_patterns(args.patterns)
    from .rules.loader import parse_modes

    analyzer = Analyzer(go_env_goroot(), rules=_selected_rules(args.rules),
                        modes=parse_modes(os.environ.get("REHAB_MODES")))
    findings = []
    errors = []
    for inp in inputs:
        for pkg in build_packages(inp):
            for f in pkg.files:
                if f.has_error and (inp.report is None or f.path in inp.report):
                    errors.extend(syntax_errors(f))
            findings.extend(analyzer.analyze(pkg, inp.report))
    if errors:
        for e in errors:
            print(e, file=sys.stderr)
        return 2
    findings.sort(key=lambda x: (x.file.origin, x.line, x.column, x.rule))
    if args.format == "json":
        json.dump([f.to_json(_display(f.file.origin)) for f in findings], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for f in findings:
            print(f"{_display(f.file.origin)}:{f.line}:{f.column}: {f.message} ({f.rule})")
    return 1 if findings else 0
