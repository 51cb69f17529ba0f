"""Shared test set-up: taichi started once per test process on the CPU with one thread
per core and a project-local offline cache, and the tests' toy plugins importable."""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "plugins"))  # the toy and broken plugins, importable by module name
os.environ.setdefault("TI_SKIP_VERSION_CHECK", "ON")


@pytest.fixture(scope="session", autouse=True)
def _taichi():
    from twin_core.backend import start_taichi

    start_taichi("cpu", quiet=True)
    yield
