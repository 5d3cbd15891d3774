import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

def pytest_addoption(parser):
    parser.addoption('--nb-flags', default='', help="space-separated notebook test flags to run (e.g. 'slow')")

@pytest.fixture(scope='session')
def nb_flags(request): return request.config.getoption('--nb-flags').split()

@pytest.fixture(scope='session')
def root(): return ROOT

@pytest.fixture(scope='session')
def mnist_root():
    "The MNIST root from $MNIST_CLIP_DATA; skips tests that need real data when it is not set."
    r = os.environ.get('MNIST_CLIP_DATA')
    if not r: pytest.skip('set MNIST_CLIP_DATA to a folder holding MNIST/raw to run this test')
    return Path(r)
