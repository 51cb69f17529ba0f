"""Kill a run with SIGKILL at random moments, resume it, and compare every variable byte
for byte with an uninterrupted run (issue: nothing lost)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zarr

HERE = Path(__file__).parent
SCENARIO = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 6
step_s = 30
record_every_s = 300
[[orbit.shell]]
kind = "walker_delta"
total = 96
planes = 8
phasing = 1
altitude_km = 550
inclination = 53.0
[output]
chunk_records = 2
"""
KILLS = 5


def orbitwin(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "twin_core", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **kw)


def arrays(path):
    root = zarr.open_group(str(path), mode="r")
    return {f"{g}/{n}": a[...] for g in ("sat", "constellation", "common") for n, a in root[g].arrays()}


def test_sigkill_at_random_moments_then_resume_is_byte_identical(tmp_path):
    """One run is killed five times at random moments, each time resumed from its last
    checkpoint (a resume of a resume of ...), and finally runs to the end; every array is
    then compared byte for byte with an uninterrupted run."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    ref = tmp_path / "ref.zarr"
    t0 = time.perf_counter()
    p = orbitwin("run", str(scenario), "-o", str(ref), "-q")
    assert p.wait(timeout=600) == 0, p.stderr.read()
    duration = time.perf_counter() - t0
    rng = random.Random(20261122)
    out = tmp_path / "killed.zarr"
    pointer = out / "checkpoint-shard-000.json"
    kills, records = 0, []
    args = ["run", str(scenario), "-o", str(out), "-q"]
    while kills < KILLS:
        p = orbitwin(*args)
        before = pointer.read_text() if pointer.exists() else None
        while (not pointer.exists() or pointer.read_text() == before) and p.poll() is None:
            time.sleep(0.01)  # this process has committed a checkpoint of its own
        time.sleep(rng.uniform(0.0, 0.25 * duration))
        if p.poll() is not None:  # finished before the kill: start again from scratch
            assert p.returncode == 0, p.stderr.read()
            args = ["run", str(scenario), "-o", str(out), "-q", "--overwrite"]
            continue
        os.kill(p.pid, signal.SIGKILL)
        if p.wait() != -signal.SIGKILL or zarr.open_group(str(out), mode="r").attrs["complete"]:
            # it finished (or marked the store complete) just before the kill: start again
            args = ["run", str(scenario), "-o", str(out), "-q", "--overwrite"]
            continue
        kills += 1
        records.append(json.loads(pointer.read_text())["record"])
        args = ["run", str(scenario), "-o", str(out), "--resume", "-q"]
    p = orbitwin(*args)
    assert p.wait(timeout=600) == 0, p.stderr.read()
    expected, got = arrays(ref), arrays(out)
    assert set(got) == set(expected)
    for name, data in expected.items():
        assert data.tobytes() == got[name].tobytes(), name
    assert zarr.open_group(str(out), mode="r").attrs["complete"] is True
    assert len(records) == KILLS
