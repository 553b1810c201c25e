"""Build-constraint expressions: `//go:build` lines (go/build/constraint's grammar, limits and
error messages) and legacy `// +build` lines, parsed to tuples and evaluated against a
predicate on tag names. Which tags hold, and which lines of a file count, is buildtags.py.
"""

from __future__ import annotations

from collections.abc import Callable


class ConstraintError(ValueError):
    """A //go:build line that does not parse (go: "parsing //go:build line: ...")."""


# An expression is a tuple: ("tag", name) | ("not", x) | ("and", x, y, ...) | ("or", x, y, ...).

Expr = tuple

_MAX_SIZE = 1000  # go/build/constraint: at most this many not()/atom steps in a //go:build line
_MAX_OLD_SIZE = 100  # and at most this many AND/OR operators in a // +build line


def _is_tag_char(c: str) -> bool:
    return c.isalpha() or c.isdecimal() or c == "_" or c == "."


def is_valid_tag(word: str) -> bool:
    return word != "" and all(_is_tag_char(c) for c in word)


class _Lexer:
    """go/build/constraint's tokens: ( ) ! && || and tags (letters, digits, _ and .)."""

    def __init__(self, s: str):
        self.s, self.pos, self.tok, self.is_tag = s, 0, "", False

    def lex(self) -> None:
        s, n = self.s, len(self.s)
        self.is_tag = False
        while self.pos < n and s[self.pos] in " \t":
            self.pos += 1
        if self.pos >= n:
            self.tok = ""
            self.pos += 1
            return
        c = s[self.pos]
        if c in "()!":
            self.tok = c
            self.pos += 1
            return
        if c in "&|":
            if self.pos + 1 >= n or s[self.pos + 1] != c:
                raise ConstraintError(f"invalid syntax at {c}")
            self.tok = c + c
            self.pos += 2
            return
        end = self.pos
        while end < n and _is_tag_char(s[end]):
            end += 1
        if end == self.pos:
            raise ConstraintError(f"invalid syntax at {c}")
        self.tok, self.pos, self.is_tag = s[self.pos:end], end, True


def _negate(x: Expr) -> Expr:
    return x[1] if x[0] == "not" else ("not", x)  # !(!x) is x: keeps nesting shallow


def _join(op: str, xs: list[Expr]) -> Expr:
    return xs[0] if len(xs) == 1 else (op, *xs)


class _Group:
    """An open parenthesis (or the whole line): the || terms so far, the && terms of the last
    one, and whether the next operand is negated."""

    __slots__ = ("ors", "ands", "neg")

    def __init__(self):
        self.ors: list[Expr] = []
        self.ands: list[Expr] = []
        self.neg = False

    def close(self) -> Expr:
        return _join("or", [*self.ors, _join("and", self.ands)])


def _too_large() -> ConstraintError:
    return ConstraintError("build expression too large")


def _negation(lx: _Lexer, g: _Group) -> None:
    """At `!`: the operand that follows in g is negated (`!!` is an error)."""
    lx.lex()
    if lx.tok == "!":
        raise ConstraintError("double negation not allowed")
    g.neg = True


def _no_operand(lx: _Lexer, depth: int) -> ConstraintError:
    if lx.tok == "":
        return ConstraintError("missing close paren" if depth > 1 else "unexpected end of expression")
    return ConstraintError(f"unexpected token {lx.tok}")


def _operators(lx: _Lexer, stack: list[_Group]) -> Expr | None:
    """After an operand: the `)` that close groups, then `&&` or `||` (None: an operand
    follows) or the end of the line (the expression)."""
    while lx.tok == ")" and len(stack) > 1:
        x = stack.pop().close()
        g = stack[-1]
        g.ands.append(_negate(x) if g.neg else x)
        g.neg = False
        lx.lex()
    if lx.tok == "&&":
        return None
    if lx.tok == "||":
        g = stack[-1]
        g.ors.append(_join("and", g.ands))
        g.ands = []
        return None
    if lx.tok == "" and len(stack) == 1:
        return stack[0].close()
    raise ConstraintError("missing close paren" if len(stack) > 1 else f"unexpected token {lx.tok}")


def parse_expr(text: str) -> Expr:
    """The expression of a //go:build line (the text after `//go:build`), with go/build/constraint's
    grammar (or = and {"||" and}; and = not {"&&" not}; not = ["!"] atom; atom = tag | "(" or ")")
    and error messages. Iterative, so that no nesting exhausts Python's stack: `stack` holds
    the open groups (the whole line first)."""
    lx = _Lexer(text)
    stack = [_Group()]
    size = 0
    while True:
        size += 1  # a not-term, as constraint's parser counts them
        if size > _MAX_SIZE:
            raise _too_large()
        lx.lex()
        if lx.tok == "!":
            _negation(lx, stack[-1])
        while lx.tok == "(":  # "((" opens one group per parenthesis
            stack.append(_Group())
            size += 1
            if size > _MAX_SIZE:
                raise _too_large()
            lx.lex()
            if lx.tok == "!":
                _negation(lx, stack[-1])
        if not lx.is_tag:
            raise _no_operand(lx, len(stack))
        g = stack[-1]
        x: Expr = ("tag", lx.tok)
        g.ands.append(_negate(x) if g.neg else x)
        g.neg = False
        lx.lex()
        done = _operators(lx, stack)
        if done is not None:
            return done


def _split_after(line: str, prefix: str) -> str | None:
    """The text after prefix when prefix is followed by white space or nothing, else None."""
    if not line.startswith(prefix):
        return None
    rest = line.strip()[len(prefix):]
    trimmed = rest.strip()
    if rest and len(trimmed) == len(rest):  # "//go:buildx", "// +buildx": not constraints
        return None
    return trimmed


def split_go_build(line: str) -> str | None:
    """The expression text of a `//go:build` line, or None when line is not one."""
    line = line[:-1] if line.endswith("\n") else line
    if "\n" in line:
        return None
    return _split_after(line, "//go:build")


def split_plus_build(line: str) -> str | None:
    """The text of a legacy `// +build` line (`//+build` too), or None when line is not one."""
    line = line[:-1] if line.endswith("\n") else line
    if "\n" in line or not line.startswith("//"):
        return None
    return _split_after(line[2:].strip(), "+build")


def parse_plus_build(text: str) -> Expr:
    """A `// +build` line's text: space-separated OR of comma-separated AND of [!]tag.
    Malformed terms become the tag `ignore`, as in go/build."""
    size = 0
    x: Expr | None = None
    for clause in text.split():
        y: Expr | None = None
        for lit in clause.split(","):
            if lit.startswith("!!") or lit == "!":
                z: Expr = ("tag", "ignore")
            else:
                neg = lit.startswith("!")
                lit = lit[1:] if neg else lit
                z = ("tag", lit if is_valid_tag(lit) else "ignore")
                if neg:
                    z = ("not", z)
            if y is None:
                y = z
            else:
                size += 1
                if size > _MAX_OLD_SIZE:
                    raise ConstraintError("expression too complex for // +build lines")
                y = ("and", y, z)
        if x is None:
            x = y
        else:
            size += 1
            if size > _MAX_OLD_SIZE:
                raise ConstraintError("expression too complex for // +build lines")
            x = ("or", x, y)
    return x if x is not None else ("tag", "ignore")


def parse_line(line: str) -> Expr:
    """A `//go:build` or `// +build` line -> expression (ConstraintError when it is neither)."""
    text = split_go_build(line)
    if text is not None:
        return parse_expr(text)
    text = split_plus_build(line)
    if text is not None:
        return parse_plus_build(text)
    raise ConstraintError("not a build constraint")


def eval_expr(x: Expr, ok: Callable[[str], bool]) -> bool:
    op = x[0]
    if op == "tag":
        return ok(x[1])
    if op == "not":
        return not eval_expr(x[1], ok)
    if op == "and":
        for y in x[1:]:
            if not eval_expr(y, ok):
                return False
        return True
    for y in x[1:]:
        if eval_expr(y, ok):
            return True
    return False

