"""The command line end to end, in subprocesses (as a user runs it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
TOY = (HERE / "test_engine.py").read_text().split('TOY = """')[1].split('"""')[0]
ENV = dict(os.environ, PYTHONPATH=str(HERE / "plugins"))
TOY_ARGS = ["--plugin", "toy_counter", "--disable", "orbit", "--disable", "environment"]


def orbitwin(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "twin_core", *args], env=ENV, capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.fixture
def toy_file(tmp_path):
    p = tmp_path / "toy.toml"
    p.write_text(TOY)
    return p


def test_run_then_xarray_reads_it_without_orbitwin(tmp_path, toy_file):
    out = tmp_path / "run.zarr"
    r = orbitwin("run", str(toy_file), "--output", str(out), "--arch", "gpu", *TOY_ARGS)
    assert r.returncode == 0, r.stderr
    assert "running on the CPU" in r.stderr
    code = (
        "import sys, json, xarray as xr\n"
        f"ds = xr.open_zarr({str(out)!r}, group='sat')\n"
        f"c = xr.open_zarr({str(out)!r}, group='constellation')\n"
        "assert 'twin_core' not in sys.modules and 'taichi' not in sys.modules\n"
        "print(json.dumps({'dims': dict(ds.sizes), 'units': ds['toy.clock_s'].attrs['units'],"
        " 'last': float(ds['toy.clock_s'][-1, 0]), 'time': str(ds.time.values[-1]),"
        " 'metric': float(c['toy.total_clock'][-1])}))\n")
    rr = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert rr.returncode == 0, rr.stderr
    got = json.loads(rr.stdout)
    assert got["dims"] == {"time": 9, "sat": 6} and got["units"] == "s" and got["last"] == 3600.0
    assert got["time"].startswith("2026-03-20T01:00:00") and got["metric"] == 6 * 3600.0
    info = orbitwin("info", str(out))
    assert info.returncode == 0 and "complete" in info.stdout and "toy.clock_s" in info.stdout
    assert "backend:     cpu" in info.stdout


def test_existing_store_needs_overwrite(tmp_path, toy_file):
    out = tmp_path / "run.zarr"
    out.mkdir()
    r = orbitwin("run", str(toy_file), "-o", str(out), *TOY_ARGS)
    assert r.returncode == 2 and "--overwrite" in r.stderr and "Traceback" not in r.stderr
    r = orbitwin("run", str(toy_file), "-o", str(out), "--overwrite", "-q", *TOY_ARGS)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("mutation, key", [
    (("step_s = 7.5", "setp_s = 7.5"), "scenario.setp_s"),
    (("count = 6", "count = -6"), "toy.count"),
    (("[toy]", "[toy"), None),
])
def test_validate_errors_exit_2_without_traceback(tmp_path, mutation, key):
    p = tmp_path / "bad.toml"
    p.write_text(TOY.replace(*mutation))
    r = orbitwin("validate", str(p), *TOY_ARGS)
    assert r.returncode == 2 and "Traceback" not in r.stderr and str(p) in r.stderr
    if key:
        assert f"'{key}'" in r.stderr
    if "setp" in mutation[1]:
        assert "did you mean 'step_s'" in r.stderr


def test_validate_good_and_missing_file(tmp_path, toy_file):
    r = orbitwin("validate", str(toy_file), *TOY_ARGS)
    assert r.returncode == 0 and "valid (6 satellites" in r.stdout
    r = orbitwin("validate", str(tmp_path / "none.toml"))
    assert r.returncode == 2 and "no such file" in r.stderr


def test_info_on_a_non_store(tmp_path):
    r = orbitwin("info", str(tmp_path))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_every_command_has_help():
    for cmd in ([], ["run"], ["validate"], ["plugins"], ["info"], ["budget"], ["cost"], ["size"], ["sweep"]):
        r = orbitwin(*cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout
