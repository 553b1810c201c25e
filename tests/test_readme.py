"""The README is tested: every fenced block in README.md is found, classified and checked.

Data-driven: a block is classified by its language and content, and each kind has a check.

- `rule` (YAML with `id:` and `match:`): written into a rule directory with the template it
  names (a `jinja` block whose header names `<dir>/templates/<name>`), `rules validate DIR`
  (schema, query, template and every example) exits 0, and `check` with REHAB_RULE_DIRS
  finds the rule's case in a small Go module (RULE_FIXTURES).
- `resources` (YAML with `resources:`): the same, for catalogue entries.
- `template` (jinja): must belong to a rule block (checked with it).
- `config` (YAML of `.rehab.yaml` keys): used as a repository's `.rehab.yaml` and as your own
  `config.yaml` (plus `repo_rules: off`, which only that one takes): `check` reads it (no
  exit 2) and runs the rules it turns on; its `audit_log` is written by `fix --write` and
  read by `audit verify`.
- `shell` (sh/bash/console): every command line must match a runner (RUNNERS) that runs it
  for real against a fixture (go_fixtures/leakysvc, small modules written here) or, for the
  few that cannot run in a test, checks what it can (and says why).
- `workflow` (GitHub Actions) and `pre-commit`: their commands are run the same way.
- `usage` (an unlabelled block of `toolexec-rehab ...` synopses): flags and choices checked
  against `--help`; the lines that are concrete commands are run.
- `output` (any other unlabelled block): a sample of our output, produced for real (OUTPUTS).

A block of any other kind fails the test unless it is marked, on the line right before it,
`<!-- readme-test: skip (reason) -->`; commands in skipped blocks still get the static
checks. Every `toolexec-rehab` command anywhere in the README (blocks and inline code) is
checked against the real `--help`, every `go vet -vettool` flag against `-flags`, every
REHAB_* name against settings.VARS and every value against its parser.

Fixtures live under one stable directory in the system temp dir (locked while the tests
run) so that their builds hit Go's cache (`go env GOCACHE`) from one run to the next.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import yaml
from helpers import LEAKY, tree_digest

from toolexec_rehab import settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent / "toolexec-rehab"
LEAKYSVC = ROOT / "go_fixtures" / "leakysvc"

# --------------------------------------------------------------------------------------
# README parsing
# --------------------------------------------------------------------------------------

FENCE = re.compile(r"^```([\w+-]*)\s*$")
MARKER = re.compile(r"^<!--\s*readme-test:(.*?)-->\s*$")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    section: str
    skip: str | None
    kind: str = ""

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.kind}"


@dataclass
class Readme:
    blocks: list[Block]
    prose: dict[str, list[str]]  # section -> its lines outside fenced blocks
    marker_problems: list[str]

    def spans(self, section: str | None = None) -> list[str]:
        """Inline code spans of the prose (of one section, or all)."""
        secs = [section] if section is not None else list(self.prose)
        text = "\n".join(line for sec in secs for line in self.prose[sec])
        # a span may wrap (a newline in it is a space), never across a paragraph
        return [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", text) if "\n\n" not in s]


def parse_readme(text: str) -> Readme:
    blocks, prose, problems = [], {"": []}, []
    section, pending, fence, buf = "", None, None, []
    for n, line in enumerate(text.splitlines(), 1):
        if fence is not None:
            if line.strip() == "```":
                blocks.append(Block(fence[0], fence[1], "\n".join(buf) + "\n", section, fence[2]))
                fence, buf = None, []
            else:
                buf.append(line)
            continue
        m = FENCE.match(line)
        if m:
            fence, pending = (n, m.group(1), pending[1] if pending else None), None
            continue
        if pending:
            problems.append(f"README.md:{pending[0]}: a readme-test marker must be on the line right before a block")
            pending = None
        mk = MARKER.match(line)
        if mk:
            body = mk.group(1).strip()
            sk = re.fullmatch(r"skip \((.+)\)", body)
            if not sk or not sk.group(1).strip():
                problems.append(f"README.md:{n}: unknown readme-test marker {body!r} (use: skip (reason))")
            else:
                pending = (n, sk.group(1).strip())
            continue
        h = HEADING.match(line)
        if h:
            section = h.group(1)
            prose.setdefault(section, [])
        prose[section].append(line)
    if fence is not None:
        problems.append(f"README.md:{fence[0]}: unterminated block")
    if pending:
        problems.append(f"README.md:{pending[0]}: a readme-test marker must be on the line right before a block")
    readme = Readme(blocks, prose, problems)
    for b in blocks:
        b.kind = classify(b)
    return readme


def config_keys() -> set[str]:
    from toolexec_rehab.config import _Parser

    return set(_Parser._TOP_LEVEL)


def classify(b: Block) -> str:
    if b.lang in ("sh", "bash", "shell", "console"):
        return "shell"
    if b.lang in ("jinja", "jinja2", "j2"):
        return "template"
    if b.lang in ("yaml", "yml"):
        try:
            data = yaml.safe_load(b.text)
        except yaml.YAMLError:
            return "unknown"
        if isinstance(data, dict) and "id" in data and "match" in data:
            return "rule"
        if isinstance(data, dict) and set(data) == {"resources"}:
            return "resources"
        if isinstance(data, dict) and "jobs" in data:
            return "workflow"
        if isinstance(data, list) and data and all(isinstance(x, dict) and {"repo", "hooks"} <= set(x) for x in data):
            return "pre-commit"
        if isinstance(data, dict) and data and set(data) <= config_keys():
            return "config"
        return "unknown"
    if b.lang in ("lua", "toml"):
        return "editor"
    if b.lang == "":
        first = b.text.lstrip().splitlines()[0] if b.text.strip() else ""
        return "usage" if first.startswith("toolexec-rehab ") else "output"
    return "unknown"


RM = parse_readme(README.read_text(encoding="utf-8"))


def blocks(kind: str, runnable: bool = True) -> list[Block]:
    return [b for b in RM.blocks if b.kind == kind and (not runnable or b.skip is None)]


def header_path(b: Block) -> str | None:
    """The file a block says it is: `# myrules/x.yaml` or `{# myrules/templates/x.j2 ... #}`."""
    first = b.text.splitlines()[0] if b.text else ""
    m = re.match(r"^#\s*(\S+\.ya?ml)\s*$", first) or re.match(r"^\{#\s*(\S+)", first)
    return m.group(1) if m else None


@dataclass
class Command:
    text: str  # as written, comment included
    block: Block
    expect: list[str] = field(default_factory=list)  # console output lines shown after it

    @property
    def cmd(self) -> str:
        """Without its comment, whitespace collapsed."""
        return " ".join(strip_comment(self.text).split())


def strip_comment(line: str) -> str:
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def shell_commands(b: Block) -> list[Command]:
    out: list[Command] = []
    cont = ""
    for raw in b.text.splitlines():
        line = raw.rstrip()
        if b.lang == "console":
            if cont:
                line = cont + line
            elif line.startswith("$ "):
                line = line[2:]
            else:
                if line.strip() and out:
                    out[-1].expect.append(line)
                continue
        elif cont:
            line = cont + line
        if line.endswith("\\"):
            cont = line[:-1] + " "
            continue
        cont = ""
        if strip_comment(line).strip():
            out.append(Command(line, b))
    return out


def workflow_commands(b: Block) -> list[Command]:
    data = yaml.safe_load(b.text)
    out = []
    for job in data["jobs"].values():
        for step in job.get("steps", []):
            for line in str(step.get("run", "")).splitlines():
                if line.strip():
                    out.append(Command(line, b))
    return out


def all_commands(runnable: bool = True) -> list[Command]:
    cmds = [c for b in blocks("shell", runnable) for c in shell_commands(b)]
    return cmds + [c for b in blocks("workflow", runnable) for c in workflow_commands(b)]


# --------------------------------------------------------------------------------------
# running things
# --------------------------------------------------------------------------------------


class Workspace:
    """Fixture directories at stable paths (Go's cache keys include a package's directory),
    under one 0700 directory of ours, locked for the session."""

    def __init__(self, root: Path):
        self.root = root
        self._shared: dict[str, Path] = {}

    def fresh(self, name: str, files: dict[str, str]) -> Path:
        d = self.root / name
        if d.exists():
            shutil.rmtree(d)
        write_tree(d, files)
        return d

    def shared(self, name: str, files: dict[str, str]) -> Path:
        """A directory the tests only read: written once per session."""
        if name not in self._shared:
            self._shared[name] = self.fresh(name, files)
        return self._shared[name]


@cache
def ws_root() -> Path:
    root = Path(tempfile.gettempdir()) / f"toolexec-rehab-readme-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    st = root.lstat()
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077, \
        f"{root} is not a private directory of ours"
    (root / "xdg-config").mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="session")
def ws():
    with open(ws_root() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield Workspace(ws_root())


def write_tree(d: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    d.mkdir(parents=True, exist_ok=True)


@cache
def go_env_file() -> str:
    return subprocess.run(["go", "env", "GOENV"], capture_output=True, text=True, check=True).stdout.strip()


def env(**extra: str) -> dict[str, str]:
    """Our environment without REHAB_* and GOFLAGS, the CLI first on PATH, no user config of
    ours (XDG_CONFIG_HOME moved; Go's own `go env -w` file kept)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("REHAB_") and k != "GOFLAGS"}
    e["PATH"] = f"{BIN.parent}{os.pathsep}{e.get('PATH', '')}"
    e["GOTOOLCHAIN"] = "local"
    e["GOENV"] = go_env_file()
    e["XDG_CONFIG_HOME"] = str(ws_root() / "xdg-config")
    e.update(extra)
    return e


def rehab(*args: str, cwd=None, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], cwd=cwd, env=env(**extra), capture_output=True, text=True,
                          timeout=300)


def sh(cmd: str, cwd, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env(**extra), capture_output=True, text=True,
                          timeout=600)


def show(r: subprocess.CompletedProcess) -> str:
    return f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"


def findings(cwd, *args: str, **extra: str) -> list[dict]:
    r = rehab("check", "--format", "json", *args, "./...", cwd=cwd, **extra)
    assert r.returncode in (0, 1), show(r)
    return json.loads(r.stdout)


@cache
def cli_help(*sub: str) -> str:
    r = rehab(*sub, "--help")
    assert r.returncode == 0, show(r)
    return r.stdout


@cache
def subcommands() -> frozenset[str]:
    return frozenset(re.findall(r"^ {4}([a-z]+)\s{2,}", cli_help(), re.M))


@cache
def rule_ids() -> frozenset[str]:
    r = rehab("rules", "list")
    assert r.returncode == 0, show(r)
    return frozenset(line.split()[0] for line in r.stdout.splitlines() if line.strip())


@cache
def vet_flags() -> dict[str, bool]:
    r = rehab("-flags")
    assert r.returncode == 0, show(r)
    return {f["Name"]: f["Bool"] for f in json.loads(r.stdout)}


@cache
def nox_sessions() -> frozenset[str]:
    return frozenset(re.findall(r"@nox\.session[^\n]*\ndef (\w+)", (ROOT / "noxfile.py").read_text()))


# --------------------------------------------------------------------------------------
# Go fixtures
# --------------------------------------------------------------------------------------

GO_MOD = "module {}\n\ngo 1.24\n"

# example.com/svc, as in the README's config example: one case for each of file-not-closed
# (fixable), error-wrap (opt-in; Read's `return nil, err`) and unchecked-error (Cleanup).
MINI = {
    "go.mod": GO_MOD.format("example.com/svc"),
    "svc.go": LEAKY.replace("package p", "package svc") + "\nfunc Cleanup(name string) {\n\tos.Remove(name)\n}\n",
}
MINI_CASES = {"file-not-closed", "error-wrap", "unchecked-error"}

# "Runtime evidence": ./cmd/svc leaks a file in size and in head; it prints how many files
# its calls left open. The trace (a stand-in, below) confirms only size's site.
RUNTIME = {
    "go.mod": GO_MOD.format("example.com/svc"),
    "cmd/svc/main.go": """\
package main

import (
	"flag"
	"fmt"
	"os"
)

func size(name string) int64 {
	f, err := os.Open(name)
	if err != nil {
		return -1
	}
	st, err := f.Stat()
	if err != nil {
		return -1
	}
	return st.Size()
}

func head(name string) byte {
	f, err := os.Open(name)
	if err != nil {
		return 0
	}
	b := make([]byte, 1)
	if _, err := f.Read(b); err != nil {
		return 0
	}
	return b[0]
}

func openFiles() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

func main() {
	_ = flag.String("addr", ":8080", "listen address (unused)")
	flag.Parse()
	if f, err := os.Open(os.Args[0]); err == nil { // the runtime's own descriptors (the poller) first
		f.Close()
	}
	before := openFiles()
	for i := 0; i < 3; i++ {
		size(os.Args[0])
		head(os.Args[0])
	}
	fmt.Printf("left open: %d\\n", openFiles()-before)
}
""",
}

# a case for each rule or catalogue entry the README defines (by id), in module example.com/app
RULE_FIXTURES = {
    "root-not-closed": {
        "root/root.go": """\
package root

import "os"

func HasGoMod(name string) error {
	r, err := os.OpenRoot(name)
	if err != nil {
		return err
	}
	_, err = r.Stat("go.mod")
	return err
}
""",
    },
    # the company's client is a dependency (here a local module, by replace)
    "acme-handle": {
        "go.mod+": "\nrequire example.com/acme v0.0.0\n\nreplace example.com/acme => ./third_party/acme\n",
        "third_party/acme/go.mod": GO_MOD.format("example.com/acme"),
        "third_party/acme/acmedb/acmedb.go": """\
package acmedb

type Handle struct{ open bool }

func Open(dsn string) (*Handle, error) { return &Handle{open: true}, nil }

func (h *Handle) Ping() error { return nil }

func (h *Handle) Release() { h.open = false }
""",
        "app/app.go": """\
package app

import "example.com/acme/acmedb"

func Ping(dsn string) error {
	h, err := acmedb.Open(dsn)
	if err != nil {
		return err
	}
	return h.Ping()
}
""",
    },
}


def rule_fixture(ids) -> dict[str, str]:
    files = {"go.mod": GO_MOD.format("example.com/app")}
    for i in ids:
        if i not in RULE_FIXTURES:
            pytest.fail(f"the README defines {i!r}: add a Go case for it to RULE_FIXTURES")
        for name, text in RULE_FIXTURES[i].items():
            if name == "go.mod+":
                files["go.mod"] += text
            else:
                files[name] = text
    return files


# --------------------------------------------------------------------------------------
# static checks of commands (every command, skipped blocks and inline code included)
# --------------------------------------------------------------------------------------

FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
# `toolexec-rehab ARGS` where it is the program of a simple command (after VAR=value, sudo)
INVOKE = re.compile(r"(?:^|&&|\|\||[;|(])\s*(?:sudo\s+)?(?:[A-Za-z_]\w*=\S*\s+)*toolexec-rehab\s+([^|;&>]*)")


def placeholder(word: str) -> bool:
    return word.isupper() or "<" in word or word.startswith(("[", "(")) or "..." in word


def invocation_problems(args: str) -> list[str]:
    """`args` of one `toolexec-rehab ...` (a command or a synopsis) against the real --help."""
    args = re.split(r"(?:^|\s)--(?:\s|$)", args, maxsplit=1)[0]  # what follows `--` is the traced program's
    words = args.split()
    if not words:
        return ["toolexec-rehab without a subcommand"]
    sub = words[0]
    if sub not in subcommands():
        return [f"unknown subcommand {sub!r} (have: {', '.join(sorted(subcommands()))})"]
    h = cli_help(sub)
    known = set(FLAG.findall(h))
    probs = [f"{sub}: no flag {f} in `toolexec-rehab {sub} --help`" for f in FLAG.findall(args) if f not in known]
    for flag, choices in set(re.findall(r"(--?[\w-]+) \{([^}]+)\}", h)):
        for m in re.finditer(rf"(?<![\w-]){re.escape(flag)}[ =]\[?([\w|-]+)", args):
            probs += [f"{sub} {flag}: {v!r} is not one of {{{choices}}}" for v in m.group(1).split("|")
                      if v not in choices.split(",")]
    positional = [w for w in words[1:] if not w.startswith(("-", "[")) and not w.endswith("]")]
    pos_choices = [c for f, c in re.findall(r"(--?[\w-]+ )?\[?\{([^}]+)\}", h.split("\n\n")[0]) if not f]
    if pos_choices and positional and not placeholder(positional[0]):
        if positional[0] not in pos_choices[0].split(","):
            probs.append(f"{sub}: {positional[0]!r} is not one of {{{pos_choices[0]}}}")
    if sub == "explain" and positional and not placeholder(positional[0]) \
            and not positional[0].startswith("ast-node-") and positional[0] not in rule_ids():
        probs.append(f"explain: {positional[0]!r} is neither ast-node-<id> nor a rule")
    return probs


def command_problems(text: str) -> list[str]:
    """Static problems of one shell command line (its comment too: `# or: --pid PID`)."""
    probs = []
    cmd, comment = strip_comment(text), text[len(strip_comment(text)):]
    for m in INVOKE.finditer(cmd):
        probs += invocation_problems(m.group(1))
        alt = re.match(r"#\s*or:\s*(.*)", comment.strip())
        if alt and not alt.group(1).startswith(("toolexec-rehab", "pip")):
            sub = m.group(1).split()[0]
            probs += invocation_problems(f"{sub} {alt.group(1)}")
    for m in re.finditer(r"\bgo vet ([^|;&>]*)", cmd):
        for tok in re.sub(r"\$\([^)]*\)", "SUBST", m.group(1)).split():
            if not tok.startswith("-") or tok.startswith("-vettool"):
                continue
            name, _, val = tok.lstrip("-").partition("=")
            if name not in vet_flags():
                probs.append(f"go vet: no flag -{name} in `toolexec-rehab -flags`")
            elif val and vet_flags()[name] and val not in ("true", "false"):
                probs.append(f"go vet: -{name} is a boolean, not {val!r}")
    for s in re.findall(r"\bnox -s ([\w-]+)", text):
        if s not in nox_sessions():
            probs.append(f"nox has no session {s!r}")
    for p in re.findall(r"\bpython3? (tools/\S+\.py)", text):
        if not (ROOT / p).is_file():
            probs.append(f"{p}: no such file")
    for p in re.findall(r"(?:^|&&|;)\s*(\./[\w.-]+)(?=\s|$)", cmd):
        if not os.access(ROOT / p, os.X_OK):
            probs.append(f"{p}: not an executable in the repository root")
    return probs


def inline_commands() -> list[str]:
    """Inline code that is one of our commands: `toolexec-rehab ...`, `fix --write`, `nox -s x`..."""
    out = []
    for s in RM.spans():
        first = s.split()[0] if s.split() else ""
        if s.startswith("toolexec-rehab ") or (first in subcommands() and len(s.split()) > 1):
            out.append(s if s.startswith("toolexec-rehab ") else "toolexec-rehab " + s)
        elif re.match(r"(nox -s |python3? tools/|\./\w)", s) or re.match(r"(\w+=\S+ )*go vet ", s):
            out.append(s)
    return out


def synopsis_args(line: str) -> str | None:
    """The arguments of a synopsis or inline `toolexec-rehab ...` (brackets and all)."""
    m = re.match(r"toolexec-rehab\s+(.*)", strip_comment(line).strip())
    return m.group(1) if m else None


# --------------------------------------------------------------------------------------
# runners: each README command line is matched by exactly one
# --------------------------------------------------------------------------------------


@dataclass
class Ctx:
    ws: Workspace
    block: Block
    state: dict = field(default_factory=dict)


@dataclass
class Runner:
    pattern: re.Pattern
    fn: object  # fn(command, ctx, match)
    static: bool  # it only checks what it can: the command cannot run in a test


RUNNERS: list[Runner] = []


def runner(pattern: str, static: bool = False):
    def deco(fn):
        RUNNERS.append(Runner(re.compile(pattern), fn, static))
        return fn
    return deco


def runners_for(cmd: str) -> list[Runner]:
    return [r for r in RUNNERS if r.pattern.fullmatch(cmd)]


@runner(r"GOFLAGS=-toolexec=(?:toolexec-rehab|\$\(command -v toolexec-rehab\)) go build \./\.\.\.")
def run_shim_build(c: Command, ctx: Ctx, m: re.Match):
    """A build through the shim: it succeeds, prints nothing (cmd/go replays compile output;
    the patch lines need REHAB_VERBOSE) and leaves the source as it was."""
    d = ctx.ws.shared("mini", MINI)
    before = tree_digest(d)
    r = sh(c.cmd, d)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", show(r)
    assert tree_digest(d) == before


@runner(r"toolexec-rehab check \./\.\.\.")
def run_check_leakysvc(c: Command, ctx: Ctx, m: re.Match):
    """On the bundled fixture: go vet's format, and the three leaks the README opens with."""
    before = tree_digest(LEAKYSVC)
    r = sh(c.cmd, LEAKYSVC)
    assert r.returncode == 1, show(r)
    lines = r.stdout.splitlines()
    assert lines and all(re.fullmatch(r"\S+\.go:\d+:\d+: .+ \([a-z-]+\)", x) for x in lines), show(r)
    found = {re.search(r"\(([a-z-]+)\)$", x).group(1) for x in lines}
    assert {"rows-not-closed", "body-not-closed", "file-not-closed"} <= found, show(r)
    assert tree_digest(LEAKYSVC) == before


@runner(r"\./demo")
def run_demo(c: Command, ctx: Ctx, m: re.Match):
    """./demo in a copy of the repository's parts it uses, with its .venv standing in: the
    package under test is already installed, so `python -m venv` and `pip install` (PyPI)
    are the only steps not run; the check, both builds and the unchanged-tree proof are."""
    files = {"demo": (ROOT / "demo").read_text(), ".venv/bin/python": (
        "#!/bin/sh\n# ./demo's venv: the package under test is installed already\n"
        f'[ "$1 $2" = "-m pip" ] && exit 0\nexec {sys.executable} "$@"\n')}
    d = ctx.ws.fresh("demo", files)
    shutil.copytree(LEAKYSVC, d / "go_fixtures" / "leakysvc")
    os.chmod(d / "demo", 0o755)
    os.chmod(d / ".venv/bin/python", 0o755)
    os.symlink(BIN, d / ".venv/bin/toolexec-rehab")
    r = sh(c.cmd, d)
    assert r.returncode == 0, show(r)
    assert "source tree unchanged" in r.stdout and "(rows-not-closed)" in r.stdout, show(r)
    for rule in ("rows-not-closed", "body-not-closed", "file-not-closed"):
        assert re.search(rf"^REHAB: patched {rule} defer@ast-node-[0-9a-f]{{16}} ", r.stderr, re.M), show(r)


@runner(r"\./run-tests", static=True)
def check_run_tests(c: Command, ctx: Ctx, m: re.Match):
    """Not run: it is the whole suite (this test included). Its nox sessions exist."""
    text = (ROOT / "run-tests").read_text()
    m = re.search(r"nox -s ([\w ]+?) --", text)
    assert m and set(m.group(1).split()) <= nox_sessions() and {"tests", "lint"} <= set(m.group(1).split())


@runner(r"pip install (?:toolexec-rehab|\.)", static=True)
def check_pip_install(c: Command, ctx: Ctx, m: re.Match):
    """Not run: it installs from PyPI. The distribution is named so, in this checkout."""
    assert re.search(r'^name = "toolexec-rehab"$', (ROOT / "pyproject.toml").read_text(), re.M)


@runner(r"go vet -vettool=\$\(command -v toolexec-rehab\)((?: -[\w-]+(?:=\w+)?)*) \./\.\.\.")
def run_vet(c: Command, ctx: Ctx, m: re.Match):
    """go vet with the tool: the rules the flags select report (text on stderr, exit 1; -json
    on stdout, exit 0)."""
    d = ctx.ws.shared("mini", MINI)
    r = sh(c.cmd, d)
    flags = re.findall(r" -([\w-]+)(?:=(\w+))?", m.group(1))
    default = MINI_CASES - {"error-wrap"}  # error-wrap is opt-in
    on = {f for f, v in flags if f in vet_flags() and f != "json" and v in ("", "true")}
    off = {f for f, v in flags if v == "false"}
    want = (on & MINI_CASES if on else default) - off
    if any(f == "json" for f, _ in flags):
        assert r.returncode == 0, show(r)
        got, dec, text, i = set(), json.JSONDecoder(), r.stdout, 0
        while i < len(text):
            if text[i].isspace():
                i += 1
                continue
            obj, i = dec.raw_decode(text, i)
            for pkg in obj.values():
                got |= set(pkg)
    else:
        assert r.returncode == 1, show(r)
        got = set(re.findall(r"^\S+\.go:\d+:\d+: .* \(([a-z-]+)\)$", r.stderr, re.M))
    assert got == want, show(r)


@runner(r"REHAB_INSTRUMENT=1 REHAB_FIX=off GOFLAGS=-toolexec=toolexec-rehab go build -o (\S+) \./cmd/svc")
def run_instrumented_build(c: Command, ctx: Ctx, m: re.Match):
    """An instrumented build that fixes nothing: the binary carries the sites table that
    `trace` reads, with the same IDs `check` reports, and still leaks."""
    d = ctx.ws.fresh("runtime", RUNTIME)
    r = sh(c.cmd, d)
    assert r.returncode == 0 and r.stdout == r.stderr == "", show(r)
    binary = d / m.group(1)
    m = re.search(rb"REHAB_SITES_V1:(\[.*?\]):END_REHAB_SITES", binary.read_bytes())
    assert m, "no sites table in the instrumented binary"
    sites = json.loads(m.group(1))
    checked = {f["node_id"] for f in findings(d) if f["rule"] == "file-not-closed"}
    assert len(sites) == 2 and {s[0] for s in sites} == checked, (sites, checked)
    r = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "left open: 6", show(r)
    ctx.state.update(dir=d, binary=binary, sites=sites)


@runner(r"(?:sudo )?toolexec-rehab trace --json -o (\S+) -- \./svc -addr :8080", static=True)
def trace_stand_in(c: Command, ctx: Ctx, m: re.Match):
    """Not run: it needs bpftrace and root (tests/test_runtime.py and the integration tests
    trace for real). Its flags are checked against --help with every command; here the
    trace it would write is written from the binary's sites table, the leak at size's
    site only, in the format `fix --from-trace` reads (runtime/report.py)."""
    d, sites = ctx.state["dir"], ctx.state["sites"]
    src = RUNTIME["cmd/svc/main.go"].splitlines()
    size_line, head_line = [i for i, x in enumerate(src, 1) if "os.Open(name)" in x]
    out = []
    for node_id, rule, file, line in sites:
        leaking = line == size_line
        out.append({"node_id": node_id, "rule": rule, "file": file, "line": line, "acquired": 3,
                    "released": 0 if leaking else 3, "open": 3 if leaking else 0, "collected_open": 0})
    assert sum(s["open"] > 0 for s in out) == 1
    trace = {"format": "toolexec-rehab-trace", "version": 1, "binary": str(ctx.state["binary"]), "pid": None,
             "sites": out}
    (d / m.group(1)).write_text(json.dumps(trace))
    ctx.state.update(size_line=size_line, head_line=head_line)


@runner(r"toolexec-rehab fix --from-trace (\S+) --diff \./\.\.\.")
def run_fix_from_trace(c: Command, ctx: Ctx, m: re.Match):
    """Only the confirmed site is fixed (without the trace, both are)."""
    d = ctx.state["dir"]
    r = sh(c.cmd, d)
    assert r.returncode == 1, show(r)
    added = [x for x in r.stdout.splitlines() if x.startswith("+") and not x.startswith("+++")]
    assert added == ["+\tdefer f.Close()"], show(r)
    hunk = int(re.search(r"^@@ -\d+(?:,\d+)? \+(\d+)", r.stdout, re.M).group(1))
    assert ctx.state["size_line"] < hunk + 3 < ctx.state["head_line"], show(r)  # in size, not in head
    every = rehab("fix", "--diff", "./...", cwd=d)
    assert every.stdout.count("+\tdefer f.Close()") == 2, show(every)


@runner(r"REHAB_FIX=confirmed REHAB_TRACE=\$PWD/(\S+) GOFLAGS=-toolexec=toolexec-rehab go build \./\.\.\.")
def run_confirmed_build(c: Command, ctx: Ctx, m: re.Match):
    """The build applies only the confirmed fix: the program leaks head's files, not size's."""
    d = ctx.state["dir"]
    r = sh(c.cmd, d)
    assert r.returncode == 0 and r.stdout == r.stderr == "", show(r)
    r = subprocess.run([str(d / "svc")], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "left open: 3", show(r)


@runner(r"toolexec-rehab check --format sarif \./\.\.\. > (\S+) \|\| \[ \$\? -eq 1 \]")
def run_sarif_step(c: Command, ctx: Ctx, m: re.Match):
    """The CI step: findings (exit 1) pass the step, the SARIF is written."""
    if "dir" not in ctx.state:
        ctx.state["dir"] = ctx.ws.fresh("workflow", MINI)
    d = ctx.state["dir"]
    r = sh(c.cmd, d)
    assert r.returncode == 0, show(r)
    sarif = json.loads((d / m.group(1)).read_text())
    assert sarif["version"] == "2.1.0"
    assert {x["ruleId"] for x in sarif["runs"][0]["results"]} == MINI_CASES - {"error-wrap"}
    r = sh(c.cmd.replace("./...", "./nosuchdir"), d)
    assert r.returncode != 0, "a real error (exit 2) must still fail the step\n" + show(r)


@runner(r"toolexec-rehab fix --diff \./\.\.\. > (\S+) \|\| \[ \$\? -eq 1 \]")
def run_patch_step(c: Command, ctx: Ctx, m: re.Match):
    """The CI step: the patch is written and applies."""
    if "dir" not in ctx.state:
        ctx.state["dir"] = ctx.ws.fresh("workflow", MINI)
    d = ctx.state["dir"]
    r = sh(c.cmd, d)
    assert r.returncode == 0, show(r)
    patch = m.group(1)
    assert "+\tdefer f.Close()" in (d / patch).read_text()
    r = subprocess.run(["git", "apply", "--check", patch], cwd=d, capture_output=True, text=True)
    assert r.returncode == 0, show(r)


@runner(r"REHAB_RULE_DIRS=\$PWD/(\w+) toolexec-rehab check \./\.\.\.")
def run_check_with_rule_dir(c: Command, ctx: Ctx, m: re.Match):
    """The rule directory the section shows (its files, by their header paths), on a module
    with a case for each rule and entry in it: each is reported, with the message the
    section quotes."""
    rdir = m.group(1)
    shown = {header_path(b): b for b in RM.blocks if b.section == c.block.section and header_path(b)}
    files = {p: b.text for p, b in shown.items() if p.startswith(rdir + "/")}
    assert files, f"{c.text}: the section shows no file of {rdir}/"
    expected = expected_findings(list(files.values()))
    d = ctx.ws.fresh(f"section-{slug(c.block.section)}", {**files, **rule_fixture(expected)})
    r = sh(c.cmd, d)
    assert r.returncode == 1, show(r)
    for ident, rule in expected.items():
        assert re.search(rf"^\S+\.go:\d+:\d+: .* \({re.escape(rule)}\)$", r.stdout, re.M), f"{ident}: " + show(r)
    quoted = quoted_findings(c.block.section, set(expected.values()))
    for q in quoted:
        pat = ".+?".join(re.escape(part) for part in re.split(r"<[^<>]+>", q))
        assert re.search(rf": {pat}$", r.stdout, re.M), f"README quotes `{q}`; check said:\n" + show(r)
    # and a build through the shim with the same rule directory patches each
    r = subprocess.run(["go", "build", "./..."], cwd=d, capture_output=True, text=True, timeout=600,
                       env=env(GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1", REHAB_RULE_DIRS=str(d / rdir)))
    assert r.returncode == 0, show(r)
    for ident, rule in expected.items():
        assert re.search(rf"^REHAB: patched {re.escape(rule)} ", r.stderr, re.M), f"{ident}: " + show(r)


def slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:40]


def expected_findings(texts: list[str]) -> dict[str, str]:
    """id -> the rule that reports it, for the rules and catalogue entries in these YAML texts."""
    out = {}
    for t in texts:
        try:
            data = yaml.safe_load(t)
        except yaml.YAMLError:
            continue  # a template
        if isinstance(data, dict) and "id" in data and "match" in data:
            out[data["id"]] = data["id"]
        elif isinstance(data, dict) and "resources" in data:
            for rid, entry in data["resources"].items():
                out[rid] = entry.get("rule", "resource-not-released")
    return out


def quoted_findings(section: str, rules: set[str]) -> list[str]:
    """Inline code of the section that is a finding's message: `... (<rule>)`."""
    return [s for s in RM.spans(section) if (m := re.fullmatch(r".+ \(([a-z-]+)\)", s)) and m.group(1) in rules]


def run_command(c: Command, ctx: Ctx) -> bool:
    """Check and run one command; False when it could only be checked."""
    assert not c.expect, f"README.md:{c.block.line}: output shown after `{c.cmd}`: not checked yet (add it)"
    probs = command_problems(c.text)
    assert not probs, f"README.md:{c.block.line}: {c.text}\n" + "\n".join(probs)
    hits = runners_for(c.cmd)
    assert len(hits) == 1, (f"README.md:{c.block.line}: `{c.cmd}` matches {len(hits)} runners: add one to "
                            f"RUNNERS, or mark the block <!-- readme-test: skip (reason) -->")
    hits[0].fn(c, ctx, hits[0].pattern.fullmatch(c.cmd))
    return not hits[0].static


# --------------------------------------------------------------------------------------
# outputs: a sample of our output shown in the README, produced for real
# --------------------------------------------------------------------------------------

ESCAPE_GO = """\
package lines

import (
	"bufio"
	"os"
)

// Lines hands its caller a scanner over the file: f escapes with it, so the leak is
// reported and not patched (closing f here would break the caller).
//
// (The lines below are here so that the scanner is made at line 25 and returned at line
// 27, as the README shows.)
//
//
//
//
//
//
//
func Lines(name string) (*bufio.Scanner, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	s := bufio.NewScanner(f)
	s.Split(bufio.ScanLines)
	return s, nil
}
"""


def produce_escape(ws: Workspace) -> str:
    d = ws.fresh("output-escape", {"go.mod": GO_MOD.format("example.com/lines"), "lines.go": ESCAPE_GO})
    fs = findings(d)
    assert len(fs) == 1 and not fs[0]["fixable"], fs
    r = rehab("explain", fs[0]["node_id"], cwd=d)
    assert r.returncode == 0, show(r)
    # the path the prose after the block quotes
    assert "f -> a *bufio.Scanner (line 25) -> returned at line 27" in r.stdout, show(r)
    assert f"not fixed: {fs[0]['why_no_fix']}" in r.stdout, show(r)
    return r.stdout


OUTPUTS = {
    "not fixed: f escapes through a *bufio.Scanner returned at line 27": produce_escape,
}


# --------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------

# what the README has today: fewer means blocks were lost (or not found)
FLOORS = {"shell": 10, "usage": 4, "rule": 1, "resources": 1, "template": 1, "config": 1, "workflow": 1,
          "pre-commit": 1, "output": 1, "editor": 2}
RUN_FLOOR = 14  # commands of runnable blocks that really run (not just checked)
KNOWN_KINDS = set(FLOORS)


def test_blocks_found_per_kind():
    counts = Counter(b.kind for b in RM.blocks)
    low = {k: (counts[k], n) for k, n in FLOORS.items() if counts[k] < n}
    assert not low, f"fewer README blocks than expected (kind: (found, floor)): {low}"


def test_every_block_has_a_known_kind():
    unknown = [f"README.md:{b.line}: ```{b.lang} block of unknown kind" for b in RM.blocks
               if b.kind not in KNOWN_KINDS and b.skip is None]
    assert not unknown, "\n".join(unknown) + "\ncheck it here (classify + a test), or mark it " \
                                            "<!-- readme-test: skip (reason) -->"


def test_markers():
    assert not RM.marker_problems, "\n".join(RM.marker_problems)
    skipped = [b for b in RM.blocks if b.skip]
    assert skipped and all(len(b.skip) > 10 for b in skipped)  # a reason, not a word


def test_enough_commands_really_run():
    ran = [c.cmd for c in all_commands() if any(not r.static for r in runners_for(c.cmd))]
    assert len(ran) >= RUN_FLOOR, ran


def test_every_toolexec_rehab_command_matches_its_help():
    """Commands in every block (skipped ones too), synopses and inline code."""
    probs = []
    for b in RM.blocks:
        if b.kind == "shell":
            cmds = [c.text for c in shell_commands(b)]
        elif b.kind == "workflow":
            cmds = [c.text for c in workflow_commands(b)]
        elif b.kind == "usage":
            cmds = []
            for line in b.text.splitlines():
                args = synopsis_args(line)
                if args is not None:
                    probs += [f"README.md:{b.line}: {line.strip()}: {p}" for p in invocation_problems(args)]
        else:
            continue
        for t in cmds:
            probs += [f"README.md:{b.line}: {t.strip()}: {p}" for p in command_problems(t)]
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    for h in hooks:
        probs += [f".pre-commit-hooks.yaml {h['id']}: {p}" for p in command_problems(h["entry"])]
    for s in inline_commands():
        args = synopsis_args(s)
        found = invocation_problems(args) if args is not None else command_problems(s)
        probs += [f"README inline `{s}`: {p}" for p in found]
    assert not probs, "\n".join(probs)
    checked = sum(1 for c in all_commands(runnable=False) if INVOKE.search(strip_comment(c.text)))
    assert checked >= 7 and len(inline_commands()) >= 15


# names that look like settings and are not, each checked where it is claimed
NOT_SETTINGS = {
    "REHAB_RUELS": "the misspelling example: an error (test_a_misspelt_variable_is_an_error)",
    "REHAB_SITES_V1": "the sites table's magic in an instrumented binary (run_instrumented_build)",
}


def test_every_rehab_variable_is_a_setting():
    text = README.read_text(encoding="utf-8")
    names = set(re.findall(r"\bREHAB_[A-Z][A-Z0-9_]*", text))
    assert names - set(settings.VARS) - set(NOT_SETTINGS) == set()
    in_blocks = {n for b in RM.blocks for n in re.findall(r"\bREHAB_[A-Z][A-Z0-9_]*", b.text)}
    assert in_blocks - set(settings.VARS) == set() and len(in_blocks) >= 5


def test_every_rehab_value_is_valid(monkeypatch):
    """`REHAB_X=value` (commands, inline code) and `REHAB_X: value` (YAML) parse as that
    setting; paths are checked where they are used."""
    text = README.read_text(encoding="utf-8")
    pairs = set(re.findall(r"\b(REHAB_[A-Z][A-Z0-9_]*)(?:=|: ?)\"?([^\s\"'`}]+)", text))
    checked = 0
    for name, value in sorted(pairs):
        var = settings.VARS.get(name)
        if var is None or var.kind in ("path", "paths") or "$" in value or "<" in value:
            continue
        for k in list(os.environ):
            if k.startswith("REHAB_"):
                monkeypatch.delenv(k)
        monkeypatch.setenv(name, value)
        assert settings.validate() == [], f"README: {name}={value}"
        monkeypatch.delenv(name)
        checked += 1
    assert checked >= 10


def test_a_misspelt_variable_is_an_error():
    r = rehab("rules", "list", REHAB_RUELS="unchecked-error")
    assert r.returncode == 2 and "REHAB_RUELS" in r.stderr, show(r)


def test_paths_the_readme_names_exist():
    """Repository paths in inline code (`tests/test_fuzz.py`, `rules/conditions.py`, ...)."""
    pkg = ROOT / "toolexec_rehab"
    tops = {p.name for p in ROOT.iterdir()} | {p.name for p in pkg.iterdir() if p.is_dir()}
    missing, seen = [], 0
    for s in RM.spans():
        for w in re.findall(r"(?:^|(?<=[\s(]))([\w.-]+/[\w./-]*)", s):
            if w.split("/")[0] not in tops:
                continue
            seen += 1
            if not ((ROOT / w).exists() or (pkg / w).exists()):
                missing.append(w)
        for w in re.findall(r"^([\w*]+\.py)$", s):
            seen += 1
            if not list(pkg.rglob(w)):
                missing.append(w)
    assert not missing and seen >= 30, missing


@pytest.mark.parametrize("block", blocks("shell"), ids=lambda b: b.id)
def test_shell_block(block, ws):
    ctx = Ctx(ws, block)
    cmds = shell_commands(block)
    assert cmds
    for c in cmds:
        run_command(c, ctx)


@pytest.mark.parametrize("block", blocks("workflow"), ids=lambda b: b.id)
def test_workflow_block(block, ws):
    ctx = Ctx(ws, block)
    cmds = workflow_commands(block)
    assert sum(run_command(c, ctx) for c in cmds) >= 2


@pytest.mark.parametrize("block", blocks("pre-commit"), ids=lambda b: b.id)
def test_pre_commit_block(block, ws):
    """The hooks exist in .pre-commit-hooks.yaml, `rev` is our version, and each hook's
    entry, run the way pre-commit runs it (entry + the changed .go files), does what its
    description says."""
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    version = rehab("--version").stdout.split()[-1]
    for repo in yaml.safe_load(block.text):
        assert str(repo["rev"]).lstrip("v") == version, repo
        for hook in repo["hooks"]:
            assert hook["id"] in hooks, hook
            h = hooks[hook["id"]]
            assert h["types"] == ["go"]
            d = ws.fresh(f"pre-commit-{hook['id']}", MINI)
            r = sh(f"{h['entry']} svc.go", d)
            if "--write" in h["entry"]:
                assert r.returncode == 0 and (d / "svc.go").read_text() != MINI["svc.go"], show(r)
            else:
                assert r.returncode == 1 and "(file-not-closed)" in r.stdout, show(r)


USAGE_RC = {"check": 1, "fix": 1, "overlay": 0, "explain": 0, "rules": 0}  # on leakysvc


@pytest.mark.parametrize("block", blocks("usage"), ids=lambda b: b.id)
def test_usage_block(block):
    """Synopses: every flag, choice and subcommand exists; the concrete forms run."""
    ran = 0
    for line in block.text.splitlines():
        args = synopsis_args(line)
        if args is None:
            assert not line.strip(), f"README.md:{block.line}: not a synopsis: {line}"
            continue
        assert not invocation_problems(args), invocation_problems(args)
        args = strip_comment(args)
        while re.search(r"\[[^\[\]]*\]", args):
            args = re.sub(r"\s*\[[^\[\]]*\]", "", args)
        if "ast-node-<id>" in args:
            args = args.replace("ast-node-<id>", findings(LEAKYSVC)[0]["node_id"])
        words = args.split()
        if words == ["lsp"]:
            lsp_session(words)
            ran += 1
            continue
        if words[0] not in USAGE_RC or any(placeholder(w) or "|" in w for w in words):
            continue
        r = rehab(*words, cwd=LEAKYSVC)
        assert r.returncode == USAGE_RC[words[0]], f"{line}\n" + show(r)
        if words == ["check"]:
            for fmt in re.search(r"--format ([\w|]+)", line).group(1).split("|"):
                r = rehab("check", "--format", fmt, cwd=LEAKYSVC)
                assert r.returncode == 1, show(r)
                if fmt == "json":
                    prose = " ".join(line.strip() for lines in RM.prose.values() for line in lines)
                    listed = re.search(r"json: an array of objects with `([^`]+)`", prose)
                    keys = {k.strip() for k in listed.group(1).split(",")}
                    assert all(keys <= set(f) for f in json.loads(r.stdout)), keys
                if fmt == "sarif":
                    assert json.loads(r.stdout)["version"] == "2.1.0"
        ran += 1
    assert ran or block.text.lstrip().startswith("toolexec-rehab audit")  # audit: run with a log, below


def lsp_session(words: list[str]) -> None:
    """`toolexec-rehab lsp`: an editor's first and last messages on stdin (initialize,
    initialized, shutdown, exit) get their answers on stdout, and the exit status is 0."""
    def frame(msg: dict) -> bytes:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    data = b"".join(frame(m) for m in (
        {"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}},
        {"method": "initialized", "params": {}}, {"id": 2, "method": "shutdown"}, {"method": "exit"}))
    r = subprocess.run([str(BIN), *words], input=data, env=env(), capture_output=True, timeout=120)
    out = r.stdout.decode()
    assert r.returncode == 0, (r.returncode, out, r.stderr.decode())
    replies = [json.loads(x) for x in re.split(r"Content-Length: \d+\r\n(?:[^\r\n]+\r\n)*\r\n", out) if x.strip()]
    assert [x.get("id") for x in replies] == [1, 2], out
    assert replies[0]["result"]["capabilities"]["hoverProvider"] and replies[1]["result"] is None, out


def validate_dir(d: Path, ids: list[str]) -> None:
    r = rehab("rules", "validate", str(d))
    assert r.returncode == 0, show(r)
    for i in ids:
        assert re.search(rf"^ok\s+{re.escape(i)}\s", r.stdout, re.M), f"{i} not validated\n" + show(r)


def templates_for(rule: dict, rule_path: str) -> dict[str, str]:
    name = (rule.get("fix") or {}).get("template")
    if not name:
        return {}
    want = f"{os.path.dirname(rule_path)}/templates/{name}"
    shown = [b for b in blocks("template", runnable=False) if header_path(b) == want]
    assert shown, f"rule {rule['id']} names template {name}: the README shows no block `{{# {want} ... #}}`"
    return {want: shown[0].text}


def check_finds(d: Path, rule_dir: Path, expected: dict[str, str]) -> None:
    """Each rule or entry reports its case, with a fix."""
    write_tree(d, rule_fixture(expected))
    got = {f["rule"]: f for f in findings(d, REHAB_RULE_DIRS=str(rule_dir))}
    for ident, rule in expected.items():
        assert rule in got and got[rule]["fixable"], (ident, got)


@pytest.mark.parametrize("block", blocks("rule"), ids=lambda b: b.id)
def test_rule_block(block, ws):
    rule = yaml.safe_load(block.text)
    path = header_path(block) or f"myrules/{rule['id']}.yaml"
    d = ws.fresh(f"rule-{rule['id']}", {path: block.text, **templates_for(rule, path)})
    rule_dir = d / os.path.dirname(path)
    validate_dir(rule_dir, [rule["id"]])
    check_finds(d, rule_dir, {rule["id"]: rule["id"]})
    # the finding is the rule's: without the directory, nothing reports it
    assert rule["id"] not in {f["rule"] for f in findings(d)}


@pytest.mark.parametrize("block", blocks("resources"), ids=lambda b: b.id)
def test_resources_block(block, ws):
    data = yaml.safe_load(block.text)
    path = header_path(block) or "myrules/resources.yaml"
    assert os.path.basename(path) == "resources.yaml"
    d = ws.fresh(f"resources-{slug(block.section)}", {path: block.text})
    rule_dir = d / os.path.dirname(path)
    validate_dir(rule_dir, list(data["resources"]))
    check_finds(d, rule_dir, expected_findings([block.text]))
    for rid, entry in data["resources"].items():
        msgs = [f["message"] for f in findings(d, REHAB_RULE_DIRS=str(rule_dir))]
        assert any(f"({entry['release'][0]})" in m for m in msgs), (rid, msgs)


def test_resource_keys_are_the_catalogues():
    """The keys the README lists after its resources.yaml example are those an entry takes."""
    from toolexec_rehab.rules.catalogue import _ENTRY_KEYS

    (b,) = blocks("resources", runnable=False)
    prose = " ".join(RM.prose[b.section])
    listed = re.search(r"Keys: (.*?)\.(?:\s|$)", prose)
    assert listed, "no `Keys: ...` after the resources.yaml example"
    keys = set(re.findall(r"`(\w+)`", re.sub(r"\([^()]*\)", "", listed.group(1))))
    assert keys == _ENTRY_KEYS


def test_templates_belong_to_rules():
    named = set()
    for b in blocks("rule", runnable=False):
        rule = yaml.safe_load(b.text)
        path = header_path(b) or f"myrules/{rule['id']}.yaml"
        named |= set(templates_for(rule, path))
    orphans = [b.line for b in blocks("template", runnable=False) if header_path(b) not in named]
    assert not orphans, f"template blocks no rule block names: README.md lines {orphans}"


def enabled_rules(cfg: dict) -> tuple[set[str], set[str]]:
    on, off = set(), set()
    for rid, v in (cfg.get("rules") or {}).items():
        enabled = v.get("enabled", True) if isinstance(v, dict) else str(v).lower() not in ("off", "false")
        (on if enabled else off).add(rid)
    return on, off


@pytest.mark.parametrize("where", ["repository", "user"])
@pytest.mark.parametrize("block", blocks("config"), ids=lambda b: b.id)
def test_config_block(block, where, ws):
    """As a repository's .rehab.yaml, and as your own config.yaml (which also takes
    `repo_rules: off`): read without error, the rules it turns on run, and the audit log it
    names is written by `fix --write` and verified by `audit verify`."""
    cfg = yaml.safe_load(block.text)
    extra = {}
    if where == "repository":
        d = ws.fresh("config-repository", {**MINI, ".rehab.yaml": block.text})
        base = d
    else:
        xdg = ws.fresh("config-user-xdg", {"toolexec-rehab/config.yaml": block.text + "repo_rules: off\n"})
        d = ws.fresh("config-user", MINI)
        base, extra = xdg / "toolexec-rehab", {"XDG_CONFIG_HOME": str(xdg)}
    for rd in cfg.get("rule_dirs") or []:  # the README's rule directory: must exist
        (base / rd).mkdir(parents=True, exist_ok=True)
    r = rehab("check", "--format", "json", "./...", cwd=d, **extra)
    assert r.returncode in (0, 1), show(r)
    got = {f["rule"] for f in json.loads(r.stdout)}
    on, off = enabled_rules(cfg)
    assert on & MINI_CASES <= got and not off & got, (on, off, got)
    if cfg.get("audit_log"):
        r = rehab("fix", "--write", "./...", cwd=d, **extra)
        assert r.returncode == 0 and "fixed ./svc.go" in r.stderr, show(r)
        log = base / cfg["audit_log"]
        assert log.is_file()
        r = rehab("audit", "verify", cwd=d, **extra)  # the config's audit_log
        assert r.returncode == 0 and "chain intact" in r.stdout, show(r)
        head = re.search(r"head ([0-9a-f]{64})", r.stdout).group(1)
        r = rehab("audit", "verify", "--log", str(log), "--head", head, cwd=d, **extra)
        assert r.returncode == 0, show(r)
        r = rehab("audit", "verify", "--log", str(log), "--head", "0" * 64, cwd=d, **extra)
        assert r.returncode == 1, show(r)


@pytest.mark.parametrize("block", blocks("editor"), ids=lambda b: b.id)
def test_editor_block(block):
    """Neovim's and Helix's configurations start `toolexec-rehab lsp` for Go, and the settings
    they pass are the server's (lsp/session.py Settings)."""
    from toolexec_rehab.lsp.session import Settings

    if block.lang == "toml":
        tomllib = pytest.importorskip("tomllib")
        cfg = tomllib.loads(block.text)
        servers = cfg["language-server"]
        ours = [n for n, s in servers.items() if s.get("command") == "toolexec-rehab" and s.get("args") == ["lsp"]]
        assert len(ours) == 1, servers
        settings = servers[ours[0]].get("config", {})
        go = [lang for lang in cfg["language"] if lang["name"] == "go"]
        assert go and ours[0] in go[0]["language-servers"], cfg
    else:
        assert re.search(r'cmd = \{ "toolexec-rehab", "lsp" \}', block.text) and 'filetypes = { "go" }' in block.text
        section = re.search(r'\["toolexec-rehab"\] = \{([^}]*)\}', block.text)
        settings = dict(re.findall(r"(\w+) = (\S+?),?\s", section.group(1) + " ")) if section else {}
    assert settings and set(settings) <= set(Settings.KEYS), settings
    _, problems = Settings.parse({"toolexec-rehab": {k: str(v).strip('"') for k, v in settings.items()}})
    assert not problems, problems


@pytest.mark.parametrize("block", blocks("output"), ids=lambda b: b.id)
def test_output_block(block, ws):
    text = block.text.strip()
    assert text in OUTPUTS, f"README.md:{block.line}: an output sample no test produces: add it to OUTPUTS"
    assert text in OUTPUTS[text](ws)
