"""The typed pass: Match fields are declared (a typo is an AttributeError), conditions declare
what they read and write (and keep to it), diagnostics are plain data."""

import json
import os
import pickle

import pytest

from toolexec_rehab.analysis import Analyzer, PackageInput, build_packages, go_env_goroot
from toolexec_rehab.records import asdict
from toolexec_rehab.rules import conditions as C
from toolexec_rehab.rules import engine
from toolexec_rehab.rules.context import ENGINE_FIELDS, MATCH_FIELDS, Match
from toolexec_rehab.rules.diagnostic import Diagnostic
from toolexec_rehab.rules.loader import all_rules

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "src")


def _packages():
    for name in sorted(os.listdir(SRC)):
        d = os.path.join(SRC, name)
        if not os.path.isdir(d):
            continue
        files = sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".go"))
        yield from build_packages(PackageInput(d, files))


def _analyzer(rules=None):
    rules = rules if rules is not None else all_rules()
    return Analyzer(go_env_goroot(), rules=rules, modes={r.id: "fix" for r in rules if r.rule.fix}, source=True)


def test_a_misspelt_match_field_is_an_attribute_error():
    m = Match(file=None, node=None, captures={}, rule=None)
    with pytest.raises(AttributeError):
        m.handel = "rows"  # noqa: B018 - the point
    with pytest.raises(AttributeError):
        m.handel  # noqa: B018 - the point
    assert m.handle is None and m.leak_lines == () and not m.fixable


def test_a_condition_declaring_an_unknown_field_fails_at_import():
    with pytest.raises(AttributeError, match="handel"):
        C.condition("typo", provides=("handel",))
    with pytest.raises(AttributeError, match="node"):
        C.condition("engine-owned", requires=("node",))(lambda p, m, params: True)
    assert "typo" not in C.CONDITIONS and "engine-owned" not in C.CONDITIONS


def test_check_chain_says_what_is_missing():
    assert C.check_chain(["callee", "resource", "leaks"]) == []
    assert C.check_chain(["defer_before_check"]) == []
    ((i, msg),) = C.check_chain(["callee", "leaks", "resource"])
    assert i == 1 and msg.startswith("condition 'leaks' needs ") and msg.endswith("put 'acquires' or 'resource' before it")
    assert {"stmt", "var"} <= C.provided_by(["resource"]) and ENGINE_FIELDS <= C.provided_by([])


def test_conditions_read_and_write_only_what_they_declare(monkeypatch):
    """Every condition, run over all of testdata/: what it reads of the Match is the engine's
    fields, its `requires` or its own `provides`; what it writes is in its `provides`."""
    active: list[str] = []
    reads: dict[str, set] = {n: set() for n in C.CONDITIONS}
    writes: dict[str, set] = {n: set() for n in C.CONDITIONS}

    class Tracing(Match):
        __slots__ = ()

        def __getattribute__(self, name):
            if active and name in MATCH_FIELDS:
                reads[active[-1]].add(name)
            return object.__getattribute__(self, name)

        def __setattr__(self, name, value):
            if active:
                writes[active[-1]].add(name)
            object.__setattr__(self, name, value)

    def traced(name, fn):
        def run(pass_, m, params):
            active.append(name)
            try:
                return fn(pass_, m, params)
            finally:
                active.pop()
        return run

    rules = [lr.replace(conditions=[(n, p, traced(n, fn)) for n, p, fn in lr.conditions])
             for lr in all_rules()]
    monkeypatch.setattr(engine, "Match", Tracing)
    an = _analyzer(rules)
    n = sum(len(an.analyze(pkg)) for pkg in _packages())
    assert n > 100
    for name, cond in C.CONDITIONS.items():
        assert reads[name], f"{name} never ran"
        assert reads[name] <= ENGINE_FIELDS | cond.requires | cond.provides, \
            (name, sorted(reads[name] - ENGINE_FIELDS - cond.requires - cond.provides))
        assert writes[name] <= cond.provides, (name, sorted(writes[name] - cond.provides))


def test_diagnostics_are_plain_data():
    """No tree nodes, no GoFile: a Diagnostic pickles and JSON-encodes as it is, and the same
    analysis gives equal diagnostics."""
    an = _analyzer()
    diags = [d for pkg in _packages() for d in an.analyze(pkg)]
    assert any(d.fix for d in diags) and any(d.related for d in diags) and any(d.why_no_fix for d in diags)
    again = pickle.loads(pickle.dumps(diags))
    assert again == diags and all(type(d) is Diagnostic for d in again)
    for d in diags:
        doc = json.loads(json.dumps(asdict(d)))
        assert doc["node_id"] == d.node_id and doc["path"] == d.path and doc["origin"] == d.origin
        if d.fix:
            assert [e["start"] for e in doc["fix"]["edits"]] == [e.start for e in d.fix.edits]
        assert d.line >= 1 and d.column >= 1 and d.start <= d.end
    leak = next(d for d in diags if d.rule == "rows-not-closed" and d.related)
    assert leak.related[0].message == "acquired here" and leak.related[0].line == leak.line


def test_node_of_finds_the_diagnostics_node_again():
    an = _analyzer()
    for pkg in _packages():
        files = {f.path: f for f in pkg.files}
        for d in an.analyze(pkg):
            n = engine.node_of(files[d.path], d)
            assert n is not None and (n.start_byte, n.end_byte, n.type) == (d.start, d.end, d.node_type)


def test_the_message_sample_names_what_a_message_sees():
    """loader._check_message renders every message with context.MESSAGE_SAMPLE: it must name
    exactly what engine.message_context gives a message, or a valid message would be refused
    (or an invalid one let through)."""
    from toolexec_rehab.rules.context import MESSAGE_SAMPLE, Match
    from toolexec_rehab.rules.engine import message_context

    assert set(message_context(Match(None, None, {}, None))) == set(MESSAGE_SAMPLE)
