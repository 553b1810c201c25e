"""Every rule's YAML examples: `before` is reported, and fixed into `after`."""

import pytest

from toolexec_rehab.rules.examples import run_example
from toolexec_rehab.rules.loader import all_rules

CASES = [(lr, ex) for lr in all_rules() for ex in lr.rule.examples]


@pytest.mark.parametrize("lr,ex", CASES, ids=[f"{lr.id}:{ex.name}" for lr, ex in CASES])
def test_example(lr, ex):
    assert run_example(lr, ex) is None


def test_every_rule_has_an_example():
    assert all(lr.rule.examples for lr in all_rules())
