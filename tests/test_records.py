"""records.py: the plain record classes that replaced @dataclass on the check and compile
paths keep what the code relied on (value equality, hashes of frozen records, immutability,
pickling, replace, asdict), and importing the analysis no longer imports dataclasses."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from toolexec_rehab.records import FrozenRecord, Record, asdict
from toolexec_rehab.rewrite.edits import Edit
from toolexec_rehab.rules.diagnostic import Diagnostic, Related, SuggestedFix


class Pair(Record):
    _fields = ("a", "b")

    def __init__(self, a, b=None):
        self.a, self.b = a, b


class Point(FrozenRecord):
    __slots__ = _fields = ("x", "y")

    def __init__(self, x, y):
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)


class Empty(Pair):
    _fields = ()


def test_value_equality_and_hashes():
    assert Pair(1, [2]) == Pair(1, [2]) and Pair(1, 2) != Pair(1, 3)
    assert Pair(1, 2) != Empty(1, 2)  # another class, even a subclass
    with pytest.raises(TypeError):
        hash(Pair(1, 2))  # mutable and compared by value: unhashable, as a dataclass
    assert hash(Point(1, 2)) == hash(Point(1, 2)) == hash((1, 2))
    assert len({Point(1, 2), Point(1, 2), Point(2, 1)}) == 2
    assert repr(Pair(1, "x")) == "Pair(a=1, b='x')"


def test_every_class_has_its_own_field_getter():
    assert Empty(1, 2)._values() == () and repr(Empty(1, 2)) == "Empty()"
    assert Pair(1, 2)._values() == (1, 2)


def test_frozen_records_refuse_assignment_and_pickle():
    p = Point(1, 2)
    with pytest.raises(AttributeError):
        p.x = 3
    with pytest.raises(AttributeError):
        del p.y
    assert pickle.loads(pickle.dumps(p)) == p
    assert p.replace(y=5) == Point(1, 5) and p == Point(1, 2)


def test_findings_round_trip_and_edits_sort():
    e1, e2 = Edit(5, 5, "b"), Edit(1, 2, "a")
    assert sorted([e1, e2]) == [e2, e1] and e2 < e1 and e1 >= e2
    fix = SuggestedFix("insert", (e1,))
    d = Diagnostic("r", "warning", "p.go", "p.go", 0, 1, 1, 1, 1, 2, "call_expression", "m",
                   related=(Related("acquired here", 0, 1, 1, 1),), fix=fix)
    assert pickle.loads(pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL)) == d
    doc = asdict(d)
    assert doc["fix"]["edits"] == ({"start": 5, "end": 5, "text": "b"},) and doc["evidence"] == {}
    assert Diagnostic("r", "warning", "p.go", "p.go", 0, 1, 1, 1, 1, 2, "n", "m").evidence is not d.evidence


def test_the_analysis_imports_no_dataclasses():
    code = ("import sys, toolexec_rehab.cli, toolexec_rehab.pipeline, toolexec_rehab.resultcache, "
            "toolexec_rehab.toolexec.wrap; print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
