"""`go vet -vettool=$(command -v toolexec-rehab) ./...`: the unitchecker protocol.

cmd/go runs the tool three ways (Go 1.26: cmd/go/internal/vet, work/exec.go):

  TOOL -V=full          once: the tool's ID in the build cache key. Ours changes with our
                        version, the rule files, .rehab.yaml and the REHAB_* settings, so a
                        cached vet result is never replayed for different rules.
  TOOL -flags           once: the flags we accept, as JSON [{Name, Bool, Usage}]. cmd/go
                        discards this step's stderr, so a bad config or setting does not
                        fail it: -V=full reports it (_flags_for_go).
  TOOL [flags] vet.cfg  per package (through -toolexec if one is set). vet.cfg is JSON:
                        ID, ImportPath, Dir, GoFiles (absolute), VetxOnly, VetxOutput,
                        Stdout, FixArchive, SucceedOnTypecheckFailure, ...

Per package:
- VetxOnly (a dependency, vetted only for facts): write the facts file (facts(): a digest
  of the package and of its dependencies' facts, which makes cmd/go's cache of a package's
  result miss when anything it imports changes), exit 0. Nothing heavy is imported on this
  path; it runs for every std dependency.
- -json: {ID: {rule: [{posn, end, message, suggested_fixes}]}} to vet.cfg's Stdout file
  (stdout when there is none), exit 0. Go 1.26 `go vet` always asks for -json and prints
  the diagnostics itself (exit 1 when there are any).
- no -json: `file:line:col: message (rule)` on stderr, exit 1 when there are findings.
- -fix (`go vet -fix`): the fixed files go into the FixArchive zip (cmd/go writes them);
  with -diff a unified diff goes to Stdout instead. Exit 0.
- Bad input (unknown flag, unreadable or invalid vet.cfg, a missing Go file, a syntax
  error): a message on stderr, exit 2, and neither the facts file nor Stdout is written.
  (unitchecker exits 1 for these; cmd/go treats any non-zero status alike.)

Flags: one boolean per rule, named by the rule id, with unitchecker's meaning: if any is
set true, only those rules run (an opt-in rule included); if only some are set false,
every other default rule runs. Also -json, -c=N (lines of context in text mode), -fix,
-diff, -V=full, -flags.
"""

from __future__ import annotations

import json
import os
import sys

from .errors import VetError  # noqa: F401 - re-exported

PROG = "toolexec-rehab"
_META = ("V", "flags", "json", "c", "fix", "diff")
_BOOL_META = {"flags", "json", "fix", "diff"}
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")




def looks_like_vet(argv: list[str]) -> bool:
    """cmd/go's calls: `-V=full`, `-flags`, or flags followed by one *.cfg path.

    Our own commands are bare words (check, fix, ...), so a first argument that is a
    flag other than argparse's (-h, --help, --version), or a lone .cfg, means vet.
    """
    if not argv:
        return False
    first = argv[0]
    if first in ("-h", "--help", "--version"):
        return False
    if first.startswith("-"):
        return True
    return len(argv) == 1 and first.endswith(".cfg")


# ------------------------------------------------------------------ flags

def _flag_defs(rule_flags: dict | None = None) -> dict[str, tuple[bool, str]]:
    """name -> (is bool, usage): the rules' flags (by default every rule's, see _rule_flags),
    then ours."""
    defs = dict(_rule_flags() if rule_flags is None else rule_flags)
    defs.update({
        "V": (True, "print version and exit"),
        "c": (False, "display offending line with this many lines of context"),
        "diff": (True, "with -fix, don't update the files, but print a unified diff"),
        "flags": (True, "print analyzer flags in JSON"),
        "json": (True, "emit JSON output"),
        "fix": (True, "apply all suggested fixes"),
    })
    return defs


def _rule_flags() -> dict[str, tuple[bool, str]]:
    """One flag per rule, opt-in ones included. Needs the rule files (cheap: YAML + pydantic)
    and so the config (its rule_dirs)."""
    from .rules.loader import all_rules

    defs = {}
    for lr in all_rules():
        state = "" if lr.rule.enabled else " (opt-in)"
        defs[lr.id] = (True, f"enable {lr.id} analysis: {lr.rule.summary}{state}")
    return defs


def _shipped_rule_flags() -> dict[str, tuple[bool, str]]:
    """The shipped rules' flags from their file names alone (the loader holds a rule's id to
    its file name): loading a rule reads the config again (its resources come from the
    catalogue, which the config's rule directories extend)."""
    from .paths import builtin_dirs

    ids = sorted(n.rsplit(".", 1)[0] for n in os.listdir(builtin_dirs()[0])
                 if n.endswith((".yaml", ".yml")) and n != "resources.yaml")
    return {rid: (True, f"enable {rid} analysis") for rid in ids}


def _parse_bool(name: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise VetError(f'invalid boolean value "{value}" for -{name}: want true or false')


def parse_args(argv: list[str]) -> tuple[dict, list[str]]:
    """Go flag package syntax: -name, --name, -name=value, -name value (non-bool only);
    flags stop at the first non-flag or `--`. Returns ({name: value}, positional args)."""
    vals: dict = {}
    defs = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if not a.startswith("-") or a == "-":
            break
        body = a[2:] if a.startswith("--") else a[1:]
        name, eq, value = body.partition("=")
        if not name or name.startswith("-") or name.startswith("="):
            raise VetError(f"bad flag syntax: {a}")
        if name == "V":  # answered without loading any rule
            if not eq or value != "full":
                raise VetError(f"unsupported flag value: {a} (use -V=full)")
            vals["V"] = "full"
            i += 1
            continue
        if name in _BOOL_META:
            vals[name] = _parse_bool(name, value) if eq else True
            i += 1
            continue
        if name == "c":
            if not eq:
                if i + 1 >= len(argv):
                    raise VetError("flag needs an argument: -c")
                i += 1
                value = argv[i]
            try:
                vals["c"] = int(value, 0)
            except ValueError:
                raise VetError(f'invalid value "{value}" for flag -c: parse error') from None
            i += 1
            continue
        if defs is None:
            defs = _flag_defs()
        if name not in defs:
            raise VetError(f"flag provided but not defined: -{name} (`{PROG} -flags` lists them)")
        vals.setdefault("rules", {})[name] = _parse_bool(name, value) if eq else True
        i += 1
    return vals, argv[i:]


def _flags_for_go() -> dict[str, tuple[bool, str]]:
    """`-flags` is the first thing `go vet` runs, and cmd/go throws away its stderr (it says
    only "-flags failed: exit status 2"). A bad .rehab.yaml, user config, rule directory or
    REHAB_* setting would lose its file:line here, so it does not fail this step: the shipped
    rules' flags answer, and the next step (-V=full, whose stderr cmd/go prints, then each
    package's run) stops vet with the message."""
    from .errors import is_user_error
    from .settings import check

    try:
        check()
        return _flag_defs()
    except Exception as e:
        if not is_user_error(e, OSError):
            raise
        print(f"{PROG}: warning: {e} (listing the shipped rules' flags only)", file=sys.stderr)
        return _flag_defs(_shipped_rule_flags())


def print_flags() -> None:
    flags = [{"Name": n, "Bool": b, "Usage": u} for n, (b, u) in sorted(_flags_for_go().items()) if n != "fix"]
    sys.stdout.write(json.dumps(flags, indent="\t"))


def tool_id() -> str:
    """`-V=full`: cmd/go uses the whole line as our ID (a release-style line, not `devel`)."""
    import hashlib

    from . import __version__
    from .config import load_config
    from .paths import code_digest
    from .rules.dirs import rules_digest

    h = hashlib.sha256()
    h.update(f"{PROG} {__version__}\0vet\0code={code_digest()}\0".encode())
    h.update(rules_digest().encode())
    h.update(load_config().digest().encode())
    for k in ("REHAB_CONFIG", "REHAB_RULES", "REHAB_MODES", "REHAB_RULE_DIRS", "REHAB_PACKAGES", "REHAB_EXCLUDE"):
        h.update(f"{k}={os.environ.get(k, '')}\0".encode())
    return f"{PROG} version v{__version__} rehab{h.hexdigest()[:16]}"


# ------------------------------------------------------------------ vet.cfg

def read_config(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise VetError(f"open {path}: {e.strerror.lower() if e.strerror else e}") from None
    try:
        cfg = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise VetError(f"cannot decode JSON config file {path}: {e}") from None
    if not isinstance(cfg, dict):
        raise VetError(f"cannot decode JSON config file {path}: not a JSON object")
    files = cfg.get("GoFiles")
    if not isinstance(files, list) or not all(isinstance(x, str) for x in files):
        raise VetError(f"{path}: GoFiles must be a list of file names")
    if not files:
        raise VetError(f"{path}: package has no files: {cfg.get('ImportPath') or '?'}")
    for k in ("VetxOutput", "Stdout", "FixArchive", "ID", "ImportPath", "Dir"):
        if cfg.get(k) is not None and not isinstance(cfg[k], str):
            raise VetError(f"{path}: {k} must be a string")
    return cfg


def _write(path: str, data: bytes) -> None:
    from .paths import write_private

    write_private(path, data)


def _outputs(cfg: dict, stdout: bytes | None, vetx: bool = True) -> None:
    """Write the results only once everything succeeded: never a half-done package."""
    if stdout is not None:
        if cfg.get("Stdout"):
            _write(cfg["Stdout"], stdout)
        else:
            sys.stdout.buffer.write(stdout)
            sys.stdout.flush()
    if vetx and cfg.get("VetxOutput"):
        _write(cfg["VetxOutput"], facts(cfg))


def facts(cfg: dict) -> bytes:
    """The facts file: a digest of what a package's analysis can read of it and of every
    package it imports, transitively (our analysis reads the sources of the module's other
    packages and of local replaces; cmd/go hashes each direct dependency's facts file into
    a package's vet action ID, so a change anywhere below a package, even one that leaves
    export data alone, such as a function body, makes its cached result miss). A std
    package is named by its path (the Go release is in the action ID), a module-cache
    package by its directory (module@version, immutable); any other by its files. Each
    dependency's facts file (vet.cfg's PackageVetx) joins the digest."""
    import hashlib

    h = hashlib.sha256(b"toolexec-rehab vetx 1\0")
    ip, d = cfg.get("ImportPath") or "", cfg.get("Dir") or ""
    std = cfg.get("Standard") if isinstance(cfg.get("Standard"), dict) else {}
    from .paths import modcache

    if std.get(ip):
        h.update(f"std {ip}\0".encode())
    elif d and os.path.isabs(d) and d.startswith(os.path.join(modcache(), "")) and "@" in d:
        h.update(f"modcache {d}\0".encode())
    else:
        names = [f for k in ("GoFiles", "NonGoFiles", "IgnoredFiles") for f in cfg.get(k) or () if isinstance(f, str)]
        for f in sorted(set(names)):
            try:
                with open(f, "rb") as fh:
                    h.update(f"file {f}\0".encode() + hashlib.sha256(fh.read()).digest())
            except OSError:
                h.update(f"file {f}\0unreadable\0".encode())
    deps = cfg.get("PackageVetx") if isinstance(cfg.get("PackageVetx"), dict) else {}
    for path in sorted(deps):
        try:
            with open(deps[path], "rb") as fh:
                h.update(f"dep {path}\0".encode() + fh.read(1 << 16) + b"\0")
        except (OSError, TypeError):
            h.update(f"dep {path}\0-\0".encode())
    return h.hexdigest().encode() + b"\n"


def _package_path(cfg: dict) -> str:
    """The import path a config's include/exclude globs see: p_test is checked as p."""
    ip = cfg.get("ImportPath") or ""
    vid = cfg.get("ID") or ""
    if ip.endswith("_test") and "[" in vid:
        inner = vid.split("[", 1)[1].rstrip("]")
        if inner.endswith(".test"):
            return inner[:-5]
    return ip


def _select_rules(conf, flags: dict):
    from .pipeline import select_rules

    explicit = flags.get("rules") or {}
    on = sorted(r for r, v in explicit.items() if v)
    if on:
        return select_rules(conf, ",".join(on))
    rules, modes = select_rules(conf)
    off = {r for r, v in explicit.items() if not v}
    return [r for r in rules if r.id not in off], modes


def _posn(path: str, line: int, col: int) -> str:
    return f"{path}:{line}:{col}"


def _json_tree(cfg: dict, findings) -> dict:
    per_rule: dict[str, list] = {}
    for fd in findings:
        d = {
            "category": fd.rule,
            "posn": _posn(fd.origin, fd.line, fd.column),
            "end": _posn(fd.origin, fd.end_line, fd.end_column),
            "message": f"{fd.message} ({fd.rule})",
        }
        if fd.fix and fd.path == fd.origin:
            d["suggested_fixes"] = [{
                "message": fd.fix.message,
                "edits": [{"filename": fd.origin, "start": e.start, "end": e.end, "new": e.text}
                          for e in sorted(fd.fix.edits)],
            }]
        per_rule.setdefault(fd.rule, []).append(d)
    return {cfg.get("ID") or cfg.get("ImportPath") or "?": per_rule} if per_rule else {}


def _context(fd, f, n: int) -> list[str]:
    """n lines of context around the diagnostic; f: its file (GoFile)."""
    lines = f.src.decode("utf-8", "replace").split("\n")
    first, last = f.src.count(b"\n", 0, fd.start), f.src.count(b"\n", 0, fd.end)
    out = []
    for i in range(first - n, last + n + 1):
        if 0 <= i < len(lines):
            out.append(f"{f.orig_line(i)}\t{lines[i]}")
    return out


def _fix_outputs(cfg: dict, findings, files, diff: bool) -> bytes | None:
    """-fix: the fixed files (gofmt'd when they were gofmt-clean) as a zip, or a diff."""
    import io
    import zipfile

    from .pipeline import fixed_files, source_form, unified_diff

    fixed = fixed_files([fd for fd in findings if fd.path == fd.origin], files)
    if diff:
        out = []
        for ff in fixed:
            name = ff.file.origin
            out.append(unified_diff(name, ff.file.src, source_form(ff), (f"{name} (old)", f"{name} (new)")))
        return "".join(out).encode()
    if not cfg.get("FixArchive"):
        raise VetError("-fix needs go vet's FixArchive in vet.cfg (run `go vet -fix`, "
                       f"or `{PROG} fix --write` to fix the source directly)")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zw:
        zw.comment = (cfg.get("ID") or "").encode()
        for ff in fixed:
            zw.writestr(ff.file.origin, source_form(ff))
    _write(cfg["FixArchive"], buf.getvalue())
    return None


def run(cfg_path: str, flags: dict) -> int:
    cfg = read_config(cfg_path)
    if cfg.get("VetxOnly"):
        _outputs(cfg, None)
        return 0
    files = _load_files(cfg, cfg_path)
    if files is None:  # did not parse, and cmd/go said to carry on
        _outputs(cfg, None)
        return 0
    findings = _analyze(cfg, files, flags)
    return _report(cfg, findings, {f.path: f for f in files}, flags)


def _load_files(cfg: dict, cfg_path: str) -> list | None:
    """vet.cfg's GoFiles, parsed; a syntax error is bad input (None with
    SucceedOnTypecheckFailure). For a cgo package cmd/go lists cgo's files ($WORK/bNNN:
    _cgo_gotypes.go, x.cgo1.go, _cgo_import.go); each x.cgo1.go stands for the user's x.go,
    which is what is analyzed (as `check` does: positions and fixes in x.go)."""
    from .golang.cgo import translated_from
    from .golang.package import load_file
    from .syntax import syntax_errors

    files = []
    for p in cfg["GoFiles"]:
        if not os.path.isabs(p) and cfg.get("Dir"):
            p = os.path.join(cfg["Dir"], p)
        source = translated_from(p)
        if source is not None and os.path.isfile(source):
            p = source
        try:
            files.append(load_file(p))
        except OSError as e:
            raise VetError(f"{cfg_path}: GoFiles: {p}: {(e.strerror or str(e)).lower()}") from None
    errors = [msg for f in files if f.has_error for msg in syntax_errors(f)]
    if errors:
        if cfg.get("SucceedOnTypecheckFailure"):
            return None
        raise VetError("\n".join(errors))
    return files


def _analyze(cfg: dict, files: list, flags: dict) -> list:
    """The package's diagnostics under the config and the rule flags, sorted. An internal error
    propagates (main: exit 3, a traceback only with REHAB_DEBUG=1)."""
    from .config import load_config, package_selected
    from .golang.package import Package

    conf = load_config(cfg.get("Dir") or os.path.dirname(files[0].origin))
    include, exclude = conf.package_globs()
    findings = []
    if package_selected(_package_path(cfg), include, exclude):
        rules, modes = _select_rules(conf, flags)
        if rules:
            from .analysis import Analyzer, go_env_goroot

            analyzer = Analyzer(go_env_goroot(), rules=rules, modes=modes)
            findings = analyzer.analyze(Package(files, import_path=cfg.get("ImportPath") or ""))
            for w in analyzer.engine.warnings:
                print(f"{PROG}: warning: {w}", file=sys.stderr)
    findings.sort(key=lambda x: (x.origin, x.line, x.column, x.rule))
    return findings


def _report(cfg: dict, findings: list, by_path: dict, flags: dict) -> int:
    if flags.get("fix"):
        _outputs(cfg, _fix_outputs(cfg, findings, by_path, bool(flags.get("diff"))))
        return 0
    if flags.get("json"):
        tree = _json_tree(cfg, findings)
        _outputs(cfg, (json.dumps(tree, indent="\t") + "\n").encode())
        return 0
    _outputs(cfg, None)
    ctx = flags.get("c", -1)
    for fd in findings:
        print(f"{_posn(fd.origin, fd.line, fd.column)}: {fd.message} ({fd.rule})", file=sys.stderr)
        if ctx >= 0:
            for line in _context(fd, by_path[fd.path], ctx):
                print(line, file=sys.stderr)
    return 1 if findings else 0


def main(argv: list[str]) -> int:
    from .settings import check

    try:
        if argv == ["-flags"]:  # cmd/go's call: settings are checked by _flags_for_go
            print_flags()
            return 0
        check()
        flags, args = parse_args(argv)
        if flags.get("V"):
            print(tool_id())
            return 0
        if flags.get("flags"):
            print_flags()
            return 0
        if len(args) != 1 or not args[0].endswith(".cfg"):
            got = " ".join(args) or "no config file"
            raise VetError(f"expected one vet.cfg file, got {got}: this mode is for "
                           f"`go vet -vettool=$(command -v {PROG}) ./...`; see `{PROG} --help` for the commands")
        if flags.get("diff") and not flags.get("fix"):
            raise VetError("-diff needs -fix")
        return run(args[0], flags)
    except BrokenPipeError:
        return 0
    except Exception as e:
        from .errors import is_user_error
        from .settings import debug

        if not is_user_error(e, OSError):
            if debug():
                raise
            print(f"{PROG}: internal error: {type(e).__name__}: {e} (REHAB_DEBUG=1 shows the traceback)",
                  file=sys.stderr)
            return 3
        for line in str(e).splitlines() or [type(e).__name__]:
            print(f"{PROG}: {line}", file=sys.stderr)
        return 2
