"""Plain record classes without `dataclasses`: importing that module (and `inspect`, which it
imports) and having it generate each class's methods with `exec` cost ~20 ms of every
`check` and compile. A record class lists its fields in `_fields` (in `__init__`'s order)
and writes its own `__init__`; the base gives it what `@dataclass` gave:

- `Record`: `repr` as dataclasses prints it (`Name(a=1, b='x')`), `==` on the field values
  (same class only) - and so, like a dataclass, no hash - and `replace(**changes)`;
- `FrozenRecord`: a frozen dataclass. Assigning or deleting an attribute raises
  AttributeError (dataclasses' FrozenInstanceError is one): `__init__` sets the fields with
  `_init_fields` (`object.__setattr__`, as the generated one did). It hashes by its field
  values, and pickles as `Class(*values)` (a `__setattr__` that raises would stop pickle
  from restoring slots).

A class that compared by identity (`eq=False`) sets `__eq__ = object.__eq__` and
`__hash__ = object.__hash__`; `order=True` is written out where it is needed
(rewrite/edits.py). `asdict` is dataclasses.asdict for records (its leaves not copied).
"""

from __future__ import annotations

from operator import attrgetter


class Record:
    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _getter = staticmethod(lambda self: ())  # the field values as a tuple, in C (attrgetter)

    def __init_subclass__(cls, **kw) -> None:
        # (so `_fields` is set in the class body, and every class gets its own getter)
        super().__init_subclass__(**kw)
        f = cls._fields
        if not f:
            cls._getter = staticmethod(lambda self: ())
        elif len(f) == 1:
            one = attrgetter(f[0])
            cls._getter = staticmethod(lambda self: (one(self),))
        else:
            cls._getter = attrgetter(*f)  # (not a descriptor: self._getter is the getter itself)

    def _values(self) -> tuple:
        return self._getter(self)

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._fields)})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    __hash__ = None  # equal by value and mutable: unhashable, as a dataclass

    def replace(self, **changes: object):
        """A copy with `changes` (dataclasses.replace)."""
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return type(self)(**values)


class FrozenRecord(Record):
    __slots__ = ()

    def _init_fields(self, *values: object) -> None:
        """`__init__`'s assignments, the values in `_fields` order (assignment raises)."""
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self):
        return type(self), self._values()


def asdict(obj: object) -> object:
    """A record as a dict of its fields, recursively through records, lists, tuples and dicts
    (`json.dumps(asdict(diagnostic))`)."""
    if isinstance(obj, Record):
        return {name: asdict(getattr(obj, name)) for name in obj._fields}
    if isinstance(obj, (list, tuple)):
        return type(obj)(asdict(v) for v in obj)
    if isinstance(obj, dict):
        return {asdict(k): asdict(v) for k, v in obj.items()}
    return obj
