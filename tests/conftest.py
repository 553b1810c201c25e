import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))


@pytest.fixture(scope="session")
def analyzer():
    from toolexec_rehab.analysis import Analyzer, go_env_goroot

    return Analyzer(go_env_goroot())


@pytest.fixture(scope="session")
def root():
    return ROOT
