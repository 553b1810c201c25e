"""Validated rule models as plain frozen objects.

A rule file is validated with pydantic (schema.py, params.py) once; what the engine keeps,
and what the compiled-rule cache pickles, is the same data as `Frozen` objects, so reading
the cache needs neither pydantic nor its model classes (~60 ms of imports per process).
"""

from __future__ import annotations


class Frozen:
    """Read-only attributes, compared by value."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other):
        return type(other) is Frozen and self.__dict__ == other.__dict__

    def __hash__(self):
        return hash(tuple(self.__dict__.items()))

    def __repr__(self):
        return "Frozen(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


def freeze(value):
    """A pydantic model (recursively, through lists and dicts) as Frozen objects."""
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        return Frozen(**{k: freeze(getattr(value, k)) for k in fields})
    if isinstance(value, list):
        return [freeze(x) for x in value]
    if isinstance(value, dict):
        return {k: freeze(x) for k, x in value.items()}
    return value
