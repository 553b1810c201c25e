"""A model of the argv that cmd/go hands to `go tool compile`.

cmd/go puts every flag first and the Go source files last, so the file list is
the longest run of trailing arguments that end in ".go". Long command lines may
arrive as a response file (`@file`, one argument per line, a line starting with
a double quote is a Go-quoted string), which cmd/internal/objabi expands.
"""

from __future__ import annotations

import os

from ..records import Record


def _unquote_go(line: str) -> str:
    # objabi writes strconv.Quote'd lines; Python's literal_eval reads the
    # subset Go emits for them (escapes \n, \t, \\, \", \xNN, \uNNNN).
    import ast

    try:
        return ast.literal_eval(line)
    except (ValueError, SyntaxError):
        return line


def expand_response_files(args: list[str]) -> tuple[list[str], bool]:
    out: list[str] = []
    used = False
    for a in args:
        if a.startswith("@") and len(a) > 1 and os.path.isfile(a[1:]):
            used = True
            with open(a[1:], encoding="utf-8") as fh:
                text = fh.read()
            for line in text.split("\n"):
                if line == "":
                    continue
                out.append(_unquote_go(line) if line.startswith('"') else line)
        else:
            out.append(a)
    return out, used


def _quote_go(s: str) -> str:
    if "\n" in s or s.startswith('"'):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return s


def write_response_file(path: str, args: list[str]) -> None:
    from ..paths import write_private

    write_private(path, "".join(_quote_go(a) + "\n" for a in args).encode("utf-8"))


class CompileArgs(Record):
    _fields = ("tool", "flags", "files", "response_file", "extra")
    tool: str
    flags: list[str]
    files: list[str]
    response_file: bool
    extra: dict

    def __init__(self, tool: str, flags: list[str], files: list[str], response_file: bool = False,
                 extra: dict | None = None) -> None:
        self.tool = tool
        self.flags = flags
        self.files = files
        self.response_file = response_file
        self.extra = {} if extra is None else extra

    @classmethod
    def parse(cls, argv: list[str]) -> "CompileArgs":
        tool, rest = argv[0], argv[1:]
        args, used = expand_response_files(rest)
        i = len(args)
        while i > 0 and args[i - 1].endswith(".go") and not args[i - 1].startswith("-"):
            i -= 1
        return cls(tool=tool, flags=args[:i], files=args[i:], response_file=used)

    def flag_value(self, name: str) -> str | None:
        """Value of -name, written as `-name value` or `-name=value`."""
        dash = "-" + name
        for j, a in enumerate(self.flags):
            if a == dash and j + 1 < len(self.flags):
                return self.flags[j + 1]
            if a.startswith(dash + "="):
                return a[len(dash) + 1 :]
        return None

    @property
    def output(self) -> str | None:
        return self.flag_value("o")

    @property
    def objdir(self) -> str | None:
        o = self.output
        return os.path.dirname(o) if o else None

    @property
    def package_path(self) -> str | None:
        return self.flag_value("p")

    @property
    def lang(self) -> str | None:
        return self.flag_value("lang")

    def with_files(self, files: list[str]) -> list[str]:
        return [self.tool, *self.flags, *files]

    def trimmed(self, path: str) -> str:
        """path as the compiler names it in the object file: the first of the -trimpath
        rewrites (`prefix=>replacement;...`, a bare prefix is removed) that applies, as
        cmd/internal/objabi.ApplyRewrites does. With `go build -trimpath` cmd/go passes
        `<package dir>=><import path>`, so a name we embed in the program (the runtime sites
        tables) is the same in every checkout, as the compiler's own positions are."""
        rewrites = self.flag_value("trimpath") or ""
        for rule in rewrites.split(";"):
            prefix, sep, repl = rule.rpartition("=>")
            if not sep:
                prefix, repl = rule, ""
            if not prefix or not (path == prefix or path.startswith(prefix.rstrip("/") + "/")):
                continue
            if path == prefix:
                return repl
            rest = path[len(prefix.rstrip("/")) + 1:]
            return f"{repl}/{rest}" if repl else rest
        return path

    @property
    def goroot(self) -> str:
        return tool_goroot(self.tool)


def tool_goroot(tool: str) -> str:
    """The GOROOT of a Go tool's path: $GOROOT/pkg/tool/GOOS_GOARCH/compile."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(tool))))
