"""Console entry point.

This module decides, from argv alone, whether it runs as a -toolexec wrapper
or as the command-line tool. Every package of every build passes through the
passthrough branch, so it imports nothing beyond ``os`` and ``sys`` before the
decision and hands non-compile tools straight to ``os.execv``.
"""

import os
import sys


def _tool_name(path):
    base = path.rsplit("/", 1)[-1]
    if base.endswith(".exe"):
        base = base[:-4]
    return base


def _is_tool_path(arg):
    # cmd/go passes the absolute path of a tool under $GOROOT/pkg/tool/GOOS_GOARCH
    # (or a -vettool). Our own subcommands are bare words.
    # A vet.cfg path (go vet -vettool) is absolute too, but not executable.
    return os.path.isabs(arg) and os.access(arg, os.X_OK) and not os.path.isdir(arg)


def main(argv=None):
    argv = sys.argv if argv is None else argv
    if len(argv) > 1 and _is_tool_path(argv[1]):
        tool = argv[1]
        if _tool_name(tool) != "compile":
            os.execv(tool, argv[1:])
        spec = os.environ.pop("REHAB_SPEC", "")
        from toolexec_rehab.toolexec.runner import SPEC_RC, Runner

        runner = Runner(int(spec) if spec.isdigit() else None)  # this compile's state, handed down
        # a warm compile server skips the imports and rule loading (toolexec/server.py)
        try:
            from toolexec_rehab.toolexec import client

            rc = client.run(argv[1:], runner=runner)
        except Exception:  # noqa: BLE001 - fail open: compile here
            rc = None
        if rc is not None:
            return rc
        try:
            from toolexec_rehab import short_lived_gc
            from toolexec_rehab.toolexec.wrap import run_compile

            short_lived_gc()
            return run_compile(argv[1:], runner)
        except Exception as e:  # noqa: BLE001 - never break a build: the launcher's compile is the answer
            if runner.spec_pid is None:
                raise
            print(f"toolexec-rehab: internal error, compiled as written: {type(e).__name__}: {e}", file=sys.stderr)
            return SPEC_RC
    if len(argv) > 1 and argv[1] == "check" and not (sys.stdout.isatty() or sys.stderr.isatty()):
        # CI and editors: served by a warm compile server when one runs (a terminal keeps its
        # progress line: there the command runs here)
        try:
            from toolexec_rehab.toolexec.client import run as run_on_server

            rc = run_on_server(argv[1:], cli=True)
        except Exception:  # noqa: BLE001
            rc = None
        if rc is not None:
            return rc
    if len(argv) > 1:
        tool = _bare_tool(argv[1])
        if tool:
            os.execv(tool, argv[1:])
    from toolexec_rehab import short_lived_gc
    from toolexec_rehab.cli import main as cli_main

    short_lived_gc()
    rc = cli_main(argv[1:])
    if len(argv) > 1 and argv[1] in _ONE_SHOT:
        # the work is done and its files are written: exit without the interpreter's teardown
        # (freeing every tree and object of the analysis: ~20 ms of check on cobra)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:  # a reader that went away (| head): as the commands treat it
            pass
        os._exit(rc if isinstance(rc, int) else 1)
    return rc


# the CLI's commands (cli._parser() and cli._COMMANDS; tests/test_perf.py keeps them the same): a first word
# that is one of them is never a tool on PATH
COMMANDS = frozenset(("check", "fix", "overlay", "explain", "rules", "trace", "audit", "lsp", "help"))
# those that run to completion in this process (not the language server)
_ONE_SHOT = frozenset(("check", "fix", "overlay", "explain", "rules"))



def _bare_tool(word):
    """cmd/go runs the C compiler's flag probes (`gcc -### -x c -c -`) through -toolexec under
    the bare name from $CC. A word that is not one of our commands and names a program on
    PATH is that program (the sh launcher decides the same way)."""
    if not word or word.startswith("-") or "/" in word or word.endswith(".cfg") or word in COMMANDS:
        return None
    import shutil

    return shutil.which(word)


if __name__ == "__main__":
    sys.exit(main())
