"""The rule file format (patterns/<rule>.yaml), validated with pydantic."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RULE_ID_RE = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Example(Strict):
    """Run by the test suite: `before` is the body of a function with this signature."""

    name: str = ""
    signature: str = "func example(ctx context.Context, db *sql.DB, tx *sql.Tx, url, name string) error"
    before: str
    after: str | None = None  # None: the rule reports but does not fix this one


class Match(Strict):
    query: str = Field(description="tree-sitter query; the capture named by `capture` is the finding's node")
    capture: str = "call"
    prefilter: list[str] = Field(default_factory=list, description="byte strings; a file with none is skipped")
    conditions: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("conditions")
    @classmethod
    def one_key_each(cls, v):
        for c in v:
            if len(c) != 1:
                raise ValueError(f"each condition is a mapping with exactly one key, got {sorted(c)}")
        return v


class Fix(Strict):
    template: str
    # after-error-check: after the `}` of the error check that follows the statement (nil-guarded
    #   after the statement itself when there is none; at the end of the iteration in a loop);
    # after-statement: at the end of the matched statement (renaming a discarded `_` if needed);
    # move-after-error-check: delete the matched defer, re-insert it after the error check;
    # replace: replace the matched node (call or identifier) with the rendered text.
    placement: Literal["after-error-check", "after-statement", "move-after-error-check", "replace"] = \
        "after-error-check"
    # What a patch changes, in words (explain, the rule docs): "the context is cancelled when
    # the function returns".
    effect: str | None = None
    # What a build does with it. patch: the template (a release is patched only when nothing
    # carrying the resource outlives the function: rules/ownership.py); record: build_template
    # instead, which may make a dropped error visible but never returns, panics or skips code;
    # never: a source-mode suggestion only (fix --diff shows it).
    build: Literal["patch", "record", "never"] = "patch"
    build_template: str | None = None
    # A source-mode suggestion that changes control flow or error values: `fix --diff` shows
    # it, `fix --write` applies it only with --suggestions.
    suggestion: bool = False

    @model_validator(mode="after")
    def _record_needs_template(self):
        if self.build == "record" and not self.build_template:
            raise ValueError("build: record needs build_template (the form a build applies)")
        if self.build != "record" and self.build_template:
            raise ValueError("build_template is used only with build: record")
        return self


class Rule(Strict):
    id: str = Field(pattern=RULE_ID_RE)
    summary: str
    rationale: str
    severity: Literal["error", "warning", "note"] = "warning"
    mode: Literal["fix", "report"] = "fix"
    enabled: bool = True  # opt-in rules ship disabled
    changes_behavior: bool = False
    message: str
    match: Match
    fix: Fix | None = None
    examples: list[Example] = Field(default_factory=list)

    @field_validator("message")
    @classmethod
    def no_newlines(cls, v):
        if "\n" in v.strip():
            raise ValueError("message must be one line")
        return v.strip()


def yaml_line_of(text: str, loc: tuple) -> int | None:
    """Best-effort line number (1-based) of a key path in a YAML document."""
    line = None
    start = 0
    lines = text.splitlines()
    for part in loc:
        if not isinstance(part, str):
            continue
        pat = re.compile(r"^\s*-?\s*" + re.escape(part) + r"\s*:")
        for i in range(start, len(lines)):
            if pat.match(lines[i]):
                line, start = i + 1, i + 1
                break
    return line
