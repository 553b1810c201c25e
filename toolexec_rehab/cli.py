"""Command line: commands and flags only; the work is in pipeline.py and friends.

Exit codes, as go vet and golangci-lint use them: 0 clean / done, 1 findings (check) or a
non-empty diff (fix --diff), 2 bad usage or input (a message, no traceback), 3 an internal
error (a traceback only with REHAB_DEBUG=1).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from . import __version__

PROG = "toolexec-rehab"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own exit code is 2 as well; keep the message to one line
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; `only`: with just that command's subparser (what a run
    of the command needs: building all of them costs ~3 ms of every `check`)."""
    p = _Parser(prog=PROG, description="Find and fix Go resource leaks; "
                "also a go build -toolexec wrapper (GOFLAGS=-toolexec=toolexec-rehab).")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)

    if only in (None, "check"):
        c = sub.add_parser("check", help="report findings without building (exit 1 when there are any)")
        c.add_argument("--format", choices=("text", "json", "sarif"), default="text")
        c.add_argument("--rules", help="comma-separated rule ids to run (default: the config's, else all enabled)")
        c.add_argument("patterns", nargs="*", metavar="PATTERN", help="./..., directories or .go files")

    if only in (None, "fix"):
        f = sub.add_parser("fix", help="fix the source: print a diff (default) or write the files")
        g = f.add_mutually_exclusive_group()
        g.add_argument("--diff", action="store_true", help="print a unified diff (exit 1 when it is not empty)")
        g.add_argument("--write", action="store_true", help="change the files in place, atomically")
        f.add_argument("--rules", help="comma-separated rule ids to apply")
        f.add_argument("--from-trace", metavar="TRACE_JSON", help="fix only the sites a `trace --json` run confirmed")
        f.add_argument("--no-verify", action="store_true", help="skip building the fixed packages before writing")
        f.add_argument("--suggestions", action="store_true",
                       help="with --write: also apply the suggestions (fixes that change control flow or error "
                            "values: unchecked-error's `return err`, error-wrap); --diff always shows them")
        f.add_argument("patterns", nargs="*", metavar="PATTERN")

    if only in (None, "overlay"):
        o = sub.add_parser("overlay", help="write a go build -overlay JSON with the fixed sources")
        o.add_argument("-o", dest="output", metavar="FILE", help="overlay file (default: stdout); "
                       "the fixed sources go to FILE.d/")
        o.add_argument("--rules", help="comma-separated rule ids to apply")
        o.add_argument("patterns", nargs="*", metavar="PATTERN")

    if only in (None, "explain"):
        e = sub.add_parser("explain", help="explain a finding (ast-node-<id>) or a rule")
        e.add_argument("what", metavar="ast-node-ID|RULE")
        e.add_argument("patterns", nargs="*", metavar="PATTERN", help="where to look for the node (default ./...)")

    if only in (None, "rules"):
        r = sub.add_parser("rules", help="list the rules, or validate a rule directory")
        r.add_argument("action", nargs="?", choices=("list", "validate"), default="list")
        r.add_argument("dir", nargs="?", metavar="DIR")

    if only in (None, "trace"):
        t = sub.add_parser("trace", help="trace an instrumented program with bpftrace: leaks per ast-node-<id>")
        t.add_argument("--json", action="store_true", help="print the trace as JSON (for fix --from-trace)")
        t.add_argument("--duration", metavar="D", help="stop after D (10, 10s, 500ms, 2m); default: until the "
                       "program exits or Ctrl-C")
        t.add_argument("--pid", type=int, metavar="PID", help="attach to this running process")
        t.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
        t.add_argument("--max-live", type=int, default=65536, metavar="N",
                       help="expected live objects at once (sizes bpftrace's maps; default 65536)")
        t.add_argument("command", nargs=argparse.REMAINDER, metavar="-- PROGRAM ARGS",
                       help="run and trace PROGRAM")

    if only in (None, "lsp"):
        ls = sub.add_parser("lsp", help="the language server (LSP over stdin/stdout) for editors")
        ls.add_argument("--stdio", action="store_true", help="speak LSP on stdin/stdout (the default and only "
                        "transport; accepted because editors' clients pass it)")
        ls.add_argument("--clientProcessId", metavar="PID", help=argparse.SUPPRESS)

    if only in (None, "audit"):
        a = sub.add_parser("audit", help="check the audit log's hash chain")
        a.add_argument("action", choices=("verify",))
        a.add_argument("--log", metavar="FILE", help="the log (default: the config's audit_log)")
        a.add_argument("--head", metavar="HASH", help="also require this head hash (recorded earlier)")
    return p


_COMMANDS = ("check", "fix", "overlay", "explain", "rules", "trace", "lsp", "audit")


def main(argv: list[str]) -> int:
    from .vettool import looks_like_vet

    if looks_like_vet(argv):  # go vet -vettool: -V=full, -flags, [flags] vet.cfg
        from .vettool import main as vet_main

        return vet_main(argv)
    p = _parser(argv[0] if argv and argv[0] in _COMMANDS else None)
    args = p.parse_args(argv)
    if args.cmd is None:
        p.print_help(sys.stderr)
        return 2
    handlers = {"check": cmd_check, "fix": cmd_fix, "overlay": cmd_overlay, "explain": cmd_explain,
                "rules": cmd_rules, "audit": cmd_audit, "trace": cmd_trace, "lsp": cmd_lsp}
    from .settings import SettingError, check, debug

    try:
        check()
        return handlers[args.cmd](args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - every user error is a clean message + exit 2
        if is_user_error(e, SettingError):
            print(f"{PROG}: {e}", file=sys.stderr)
            return 2
        if isinstance(e, OSError):  # a path of the user's: unreadable, read-only, full, not ours
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            print(f"{PROG}: {where}{e.strerror}" if e.strerror else f"{PROG}: {e}", file=sys.stderr)
            return 2
        if debug():
            raise
        print(f"{PROG}: internal error: {type(e).__name__}: {e} (REHAB_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 3


from .errors import is_user_error  # noqa: E402 - one definition (errors.py)

# ------------------------------------------------------------------ check

def cmd_check(args) -> int:
    from . import pipeline as PL

    run = PL.analyze(args.patterns, args.rules, cache=True)
    if run.errors:
        for e in run.errors:
            print(e, file=sys.stderr)
        return 2
    findings = run.findings
    if args.format == "json":
        json.dump([f.to_json(PL.display(f.origin)) for f in findings], sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "sarif":
        from .output.sarif import render

        files = run.files()

        def source_fix(fd):
            try:
                return PL.source_fix(fd, files)
            except Exception:  # noqa: BLE001 - fall back to the byte edits
                return None

        json.dump(render(findings, run.rules, PL.display, source_fix=source_fix, files=files), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for f in findings:
            print(f"{PL.display(f.origin)}:{f.line}:{f.column}: {f.message} ({f.rule})")
    return 1 if findings else 0


# ------------------------------------------------------------------ fix

def _trace_ids(path: str | None) -> set[str] | None:
    if not path:
        return None
    from .analysis import UsageError

    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such trace file")
    try:
        from .runtime.report import confirmed_ids
    except ImportError:
        raise UsageError("--from-trace: this build has no runtime support") from None
    try:
        return confirmed_ids(path)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _fixes(args, label: str, suggestions: bool = True):
    """The fixed files; without `suggestions`, the fixes marked as suggestions are left out
    (said on stderr): `fix --write` applies them only when asked, an overlay (a build) never."""
    from . import pipeline as PL
    from .analysis import UsageError

    run = PL.analyze(args.patterns, args.rules, fix_only=True, label=label)
    if run.errors:
        raise UsageError("cannot fix files with syntax errors:\n" + "\n".join(run.errors))
    only = _trace_ids(getattr(args, "from_trace", None))
    keep = None if suggestions else (lambda fd: not (fd.fix is not None and fd.fix.suggestion))
    findings = run.findings if keep is None else [fd for fd in run.findings if keep(fd)]
    left = [] if keep is None else [fd for fd in run.findings if fd.fixable and not keep(fd)]
    if left:
        how = "add --suggestions to apply them" if label == "fix" else "a build never applies them"
        print(f"{len(left)} suggestion(s) not applied (they change control flow or error values; {how}): "
              + ", ".join(f"{PL.display(fd.origin)}:{fd.line} {fd.rule}" for fd in left), file=sys.stderr)
    return run, PL.fixed_files(findings, run.files(), only, run, keep, layout=label != "overlay")


def _selected_by_the_build(fixed: list) -> list:
    """Only the files that the current GOOS/GOARCH/-tags (GOFLAGS) build compiles are fixed:
    a file named on the command line that the build excludes (x_windows.go, //go:build
    ignore) is still checked, but a fix there could not be verified (verify_build compiles
    what the build compiles), so it is left as it is, and said."""
    from . import pipeline as PL
    from .golang import buildtags

    ctx = buildtags.current_context()
    keep = []
    for ff in fixed:
        try:
            ok = buildtags.file_matches(ff.file.origin, ctx)
        except (OSError, buildtags.ConstraintError):
            ok = False
        if ok:
            keep.append(ff)
        else:
            tags = f" -tags {','.join(ctx.build_tags)}" if ctx.build_tags else ""
            print(f"{PL.display(ff.file.origin)}: not fixed: the build for {ctx.goos}/{ctx.goarch}{tags} does not "
                  "compile this file (set GOOS, GOARCH or -tags in GOFLAGS to fix it)", file=sys.stderr)
    return keep


def cmd_fix(args) -> int:
    from . import pipeline as PL
    from .analysis import UsageError

    run, fixed = _fixes(args, "fix", suggestions=not args.write or args.suggestions)
    fixed = _selected_by_the_build(fixed)
    # everything is computed before anything is written
    new = {ff.file.origin: PL.source_form(ff) for ff in fixed}
    for ff in fixed:
        for fd, why in ff.rejected:
            print(f"{PL.display(ff.file.origin)}:{fd.line}: {fd.rule} ({fd.node_id}) not fixed: {why}", file=sys.stderr)
        for fd in ff.applied:  # a fix that does more than insert a release says so
            if fd.fix is not None and fd.fix.note:
                print(f"{PL.display(ff.file.origin)}:{fd.line}: {fd.rule}: {fd.fix.note}", file=sys.stderr)
    if not args.write:
        for ff in fixed:
            sys.stdout.write(PL.unified_diff(ff.file.origin, ff.file.src, new[ff.file.origin]))
        return 1 if fixed else 0
    if not args.no_verify:
        errors = PL.verify_build(new)
        if errors:
            raise UsageError("nothing written:\n" + "\n".join(errors))
    targets = _write_targets(fixed)
    entries = [PL.audit_entry(fd, ff.file) for ff in fixed for fd in ff.applied]
    log = run.cfg.audit_path() if entries else None
    if entries:
        from .audit import check_writable

        check_writable(log, run.cfg.audit_root())  # before any file changes: a fix must never go unrecorded
    with _signals_held():
        _write_fixes(fixed, new, targets)
        if entries:
            from .audit import append

            append(log, entries, source="fix --write", root=run.cfg.audit_root())
    return 0


def _write_targets(fixed) -> dict[str, tuple[str, os.stat_result]]:
    """origin -> (the file to replace, its stat now), for every fixed file, before anything
    is written: UsageError if any one may not be written, so that none is."""
    from .analysis import UsageError
    from .pipeline import display

    out: dict[str, tuple[str, os.stat_result]] = {}
    seen: dict[str, str] = {}
    for ff in fixed:
        target, st = _write_target(ff.file)
        if target in seen:
            raise UsageError(f"{display(ff.file.origin)} and {display(seen[target])} are the same file "
                             f"{target}; nothing written")
        seen[target] = ff.file.origin
        out[ff.file.origin] = (target, st)
    return out


def _write_target(f) -> tuple[str, os.stat_result]:
    """Where `fix --write` writes the file f, and its stat (the mode and owner to keep): the
    file itself, or for a symbolic link the file it names when that lies inside the module
    (a link stays a link). A link out of the module may be someone else's file: refused, as
    is a file whose owner a rewrite could not keep, or one that changed since it was read."""
    from .analysis import UsageError
    from .golang.package import find_module
    from .paths import confined, keep_owner_problem
    from .pipeline import display

    name = display(f.origin)
    mod = find_module(os.path.dirname(f.origin))
    root = mod[0] if mod else os.path.dirname(f.origin)
    target = os.path.realpath(f.origin)
    if not confined(target, root):
        raise UsageError(f"{name}: a symbolic link to {target}, outside the module {root} (someone else's "
                         f"file?): not written through; nothing written")
    st = os.stat(target)
    why = keep_owner_problem(st)
    if why:
        raise UsageError(f"{name}: {why}: a rewrite could not keep its owner and group; nothing written")
    with open(target, "rb") as fh:
        if fh.read() != f.src:
            raise UsageError(f"{name}: changed while we were fixing it; nothing written")
    return target, st


def _write_fixes(fixed, new: dict[str, bytes], targets: dict[str, tuple[str, os.stat_result]]) -> None:
    from .paths import replace_keeping
    from .pipeline import display

    for ff in fixed:
        target, st = targets[ff.file.origin]
        replace_keeping(target, new[ff.file.origin], st)
        print(f"fixed {display(ff.file.origin)}: " + ", ".join(f"{fd.rule}@{fd.line}" for fd in ff.applied),
              file=sys.stderr)
        _write_pause()


@contextlib.contextmanager
def _signals_held():
    """`fix --write` replaces its files and records its fixes as one step: a SIGINT, SIGTERM
    or SIGHUP that arrives meanwhile takes effect once the step is done, so an interrupted
    run never leaves some files fixed and others not, or a fix that the audit log lacks.
    (Each file is replaced by a rename: old or new, never half-written, either way.)"""
    import signal

    got: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {s: signal.signal(s, lambda n, _frame: got.append(n)) for s in held}
    try:
        yield
    finally:
        for s, h in before.items():
            signal.signal(s, signal.SIG_DFL if h is None else h)
        for n in dict.fromkeys(got):
            signal.raise_signal(n)


def _write_pause() -> None:
    """REHAB_FIX_PAUSE (tests only): wait after each file written, so that a test can signal
    a run in the middle of its writes."""
    from .settings import number, raw

    if raw("REHAB_FIX_PAUSE") is not None:
        import time

        time.sleep(number("REHAB_FIX_PAUSE"))


# ------------------------------------------------------------------ overlay

OVERLAY_STAMP = ".toolexec-rehab-overlay"


def _overlay_store(out: str, label: str) -> str:
    """FILE.d for `overlay -o FILE`: created here (0700, with our stamp), or one that this
    command created before (ours, 0700, stamped), emptied of its old sources. Anything else
    there is refused: a directory someone else prepared could feed a build their code."""
    import stat

    from .analysis import UsageError
    from .paths import write_private

    store = out + ".d"
    os.makedirs(os.path.dirname(out), mode=0o700, exist_ok=True)
    try:
        os.mkdir(store, 0o700)
    except FileExistsError:
        st = os.lstat(store)
        stamp = os.path.join(store, OVERLAY_STAMP)
        ok = stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077
        if ok:
            try:
                sst = os.lstat(stamp)
                ok = stat.S_ISREG(sst.st_mode) and sst.st_uid == os.geteuid()
            except OSError:
                ok = False
        if not ok:
            raise UsageError(f"-o {label}: {store} already exists and was not created by `{PROG} overlay` "
                             f"(or is not private to you); remove it or choose another -o") from None
        for name in os.listdir(store):
            if name != OVERLAY_STAMP and name.endswith(".go"):
                os.unlink(os.path.join(store, name))
    write_private(os.path.join(store, OVERLAY_STAMP), b"created by toolexec-rehab overlay\n")
    return store


def cmd_overlay(args) -> int:
    from .paths import cache_dir, private_dir, write_private

    _, fixed = _fixes(args, "overlay", suggestions=False)  # an overlay feeds a build
    if args.output:
        out = os.path.abspath(args.output)
        if os.path.isdir(out):
            from .analysis import UsageError

            raise UsageError(f"-o {args.output}: is a directory")
        store = _overlay_store(out, args.output)
    else:
        import hashlib

        h = hashlib.sha256("\0".join(ff.file.origin for ff in fixed).encode()).hexdigest()[:16]
        try:
            store = private_dir(os.path.join(private_dir(os.path.join(cache_dir(), "overlay")), h))
        except OSError as e:
            from .analysis import UsageError

            raise UsageError(f"no private cache directory for the fixed sources ({e.strerror or e}); "
                             f"write them next to an overlay file with -o FILE") from None
    replace = {}
    for i, ff in enumerate(fixed):
        # line-preserving, like a build: positions in compiler errors and panics stay right
        dest = os.path.join(store, f"{i:03d}_{os.path.basename(ff.file.origin)}")
        write_private(dest, ff.new_src)
        replace[ff.file.origin] = dest
    doc = json.dumps({"Replace": replace}, indent=2) + "\n"
    if args.output:
        write_private(out, doc.encode())
        print(f"{len(replace)} file(s) in {args.output}; use: go build -overlay {args.output} ...", file=sys.stderr)
    else:
        sys.stdout.write(doc)
    return 0


# ------------------------------------------------------------------ explain

def cmd_explain(args) -> int:
    from .analysis import UsageError

    what = args.what
    if what.startswith("ast-node-"):
        return _explain_node(what, args.patterns)
    from .rules.loader import all_rules

    for lr in all_rules():
        if lr.id == what:
            _explain_rule(lr)
            return 0
    raise UsageError(f"{what}: not a rule id or ast-node-<id> (see `{PROG} rules list`)")


def _explain_rule(lr) -> None:
    from .explain import rule_text

    sys.stdout.write(rule_text(lr))


def _explain_node(node_id: str, patterns: list[str]) -> int:
    from . import pipeline as PL
    from .analysis import UsageError
    from .explain import finding_text

    run = PL.analyze(patterns, label="explain")
    hits = [f for f in run.findings if f.node_id == node_id]
    if not hits:
        raise UsageError(f"{node_id}: no such finding in {' '.join(patterns) or './...'} "
                         "(node ids come from `check`; the code may have changed since)")
    sys.stdout.write(finding_text(hits[0], run.files(), run.rules))
    return 0


# ------------------------------------------------------------------ rules, audit

def _validate_catalogue(d: str) -> list[str] | None:
    """The entry ids of the resources.yaml in rule directory d (None: it has none); RuleError
    with file:line on a bad one."""
    from .paths import read_confined
    from .rules import catalogue

    p = os.path.join(d, catalogue.FILE)
    if not os.path.lexists(p):
        return None
    text = read_confined(p, d).decode("utf-8", "replace")
    resources, _ = catalogue.parse(p, text)
    return [r.id for r in resources]


def cmd_rules(args) -> int:
    from .analysis import UsageError
    from .rules.loader import all_rules, load_dir

    if args.action == "validate":
        if not args.dir:
            raise UsageError("rules validate: which directory? (rules validate DIR)")
        d = os.path.abspath(args.dir)
        if not os.path.isdir(d):
            raise UsageError(f"{args.dir}: no such directory")
        t = os.path.join(d, "templates")
        rules = load_dir(d, t if os.path.isdir(t) else d)
        entries = _validate_catalogue(d)
        if not rules and entries is None:
            raise UsageError(f"{args.dir}: no rule files (*.yaml) and no resources.yaml")
        from .rules.examples import check_examples

        problems = check_examples(rules)
        for msg in problems:
            print(msg, file=sys.stderr)
        if problems:
            return 2
        for lr in rules:
            print(f"ok  {lr.id:24} {os.path.relpath(lr.path)}")
        for rid in entries or ():
            print(f"ok  {rid:24} {os.path.relpath(os.path.join(d, 'resources.yaml'))} (resource)")
        return 0
    if args.dir:
        raise UsageError("rules list takes no directory")
    for lr in all_rules():
        r = lr.rule
        state = "" if r.enabled else " (opt-in)"
        print(f"{r.id:24} {r.mode:6} {r.severity:8} {r.summary}{state}")
    return 0


def cmd_trace(args) -> int:
    from .runtime.trace import main as trace_main

    return trace_main(args)


def cmd_lsp(args) -> int:
    try:
        from .lsp.server import main as lsp_main
    except ImportError as e:  # pygls / lsprotocol missing from this install
        from .analysis import UsageError

        raise UsageError(f"lsp: {e.name or e} is not installed (pip install pygls lsprotocol)") from None
    return lsp_main(args)


def cmd_audit(args) -> int:
    from .analysis import UsageError
    from .audit import verify
    from .config import load_config

    log = args.log or load_config().audit_path()
    if not os.path.isfile(log):
        raise UsageError(f"{log}: no audit log (pass --log FILE, or set audit_log in .rehab.yaml)")
    n, head, problems = verify(log)
    for p in problems:
        print(p, file=sys.stderr)
    if args.head and head != args.head:
        print(f"{log}: head is {head}, expected {args.head}: entries were removed or added at the end",
              file=sys.stderr)
        return 1
    if problems:
        return 1
    print(f"{log}: {n} entries, chain intact, head {head}")
    return 0
