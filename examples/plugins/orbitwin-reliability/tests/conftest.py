"""Fixtures of the package's tests: one in-process run of the test scenario (a small copy
of orbitwin's examples/walker_550km.toml with both plugins enabled) and one
``orbitwin run`` of it, each shared by the tests that read it.

The package must be installed (``pip install ./examples/plugins/orbitwin-reliability``):
its plugins are then found through their entry points, as a user's would be.
"""

from __future__ import annotations

import os

import pytest

from reliability_helpers import orbitwin, scenario

os.environ.setdefault("TI_SKIP_VERSION_CHECK", "ON")


@pytest.fixture(scope="session")
def run_default():
    """The test scenario run in this process (thermal node counting the bus's load)."""
    from twin_core.testing import run_scenario

    return run_scenario(scenario())


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory):
    """The test scenario written to disk, for the command-line tests."""
    d = tmp_path_factory.mktemp("cli")
    (d / "sc.toml").write_text(scenario())
    return d


@pytest.fixture(scope="session")
def cli_store(store_dir):
    """``orbitwin run`` of the test scenario: the store's path."""
    r = orbitwin("run", "sc.toml", "-o", "one.zarr", "-q", cwd=store_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    return store_dir / "one.zarr"
