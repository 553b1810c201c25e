import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

# check's result cache lives in ~/.cache, shared by every run of the suite on this machine,
# and temp paths repeat between runs: a test about the analysis would be given an earlier
# run's findings. Off for the suite; tests/test_resultcache.py turns it on in its own
# cache dir.
os.environ["REHAB_RESULT_CACHE"] = "off"


@pytest.fixture(scope="session")
def analyzer():
    from toolexec_rehab.analysis import Analyzer, go_env_goroot

    return Analyzer(go_env_goroot())


@pytest.fixture(scope="session")
def root():
    return ROOT
