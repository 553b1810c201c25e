"""The parameters of each condition (conditions.py), validated with pydantic when a rule file
is loaded. The compiled-rule cache holds them as frozen plain objects (frozen.py), so a build
or a `check` that reads the cache never imports pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalleeParams(Params):
    any_of: list[str]


class ResourceParams(Params):
    handle: str = "{{ var }}"  # what must be closed, e.g. "{{ var }}.Body"
    type: str  # what the handle is, for messages: "*sql.Rows"
    index: int = 0  # which result holds the resource (1 for `ctx, cancel := ...`)
    err_index: int | None = 1  # which result is the error, if any
    close: Literal["method", "call"] = "method"  # x.Close() or cancel()
    fresh_name: str | None = None  # a discarded `_` is renamed to this (numbered if taken)
    release: list[str] = ["Close"]  # the methods that release it (the first is the one a fix calls): Stop, Release


class AcquiresParams(Params):
    resources: list[str] = []  # catalogue ids, whatever their rule (default: every entry whose rule is this rule)


class LeaksParams(Params):
    pass


class DeferBeforeCheckParams(Params):
    pass


class ReturnsErrorParams(Params):
    exclude: list[str] = []  # callee names; a trailing '*' matches a prefix
    readonly_close: bool = True  # skip f.Close() on files opened read-only in the same function


class RowsErrParams(Params):  # rowserr.py
    pass


class ForeignErrorParams(Params):
    not_wrapping: list[str] = ["errors.New", "fmt.Errorf", "errors.Join"]


MODELS: dict[str, type[Params]] = {
    "callee": CalleeParams,
    "resource": ResourceParams,
    "acquires": AcquiresParams,
    "leaks": LeaksParams,
    "defer_before_check": DeferBeforeCheckParams,
    "returns_error": ReturnsErrorParams,
    "foreign_error": ForeignErrorParams,
    "rows_err_unchecked": RowsErrParams,
}
