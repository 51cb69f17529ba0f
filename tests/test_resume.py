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
KILLS = 6  # alternately during start-up (store creation, or a resume restoring its state) and mid-run


def orbitwin(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "twin_core", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **kw)


def arrays(path):
    """Every array of the store, in every group (coordinates, data, totals)."""
    out = {}

    def walk(group, prefix):
        for name, arr in group.arrays():
            out[prefix + name] = arr[...]
        for name, sub in group.groups():
            walk(sub, f"{prefix}{name}/")

    walk(zarr.open_group(str(path), mode="r"), "")
    return out


def test_sigkill_at_random_moments_then_resume_is_byte_identical(tmp_path):
    """One run is killed six times at random moments, each time resumed with --resume
    (a resume of a resume of ...), and finally runs to the end; every array of the store
    is then compared byte for byte with an uninterrupted run. Odd kills land anywhere in
    the first start-up (creating the store, or a resume loading its checkpoint: the
    store may not exist yet, and --resume must then start it cleanly); even kills land
    after the process committed a checkpoint of its own."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    ref = tmp_path / "ref.zarr"
    t0 = time.perf_counter()
    p = orbitwin("run", str(scenario), "-o", str(ref), "-q")
    ref_pointer = ref / "checkpoint-shard-000.json"
    while not ref_pointer.exists() and p.poll() is None:
        time.sleep(0.01)
    startup = time.perf_counter() - t0  # process start to first committed checkpoint
    assert p.wait(timeout=600) == 0, p.stderr.read()
    duration = time.perf_counter() - t0
    rng = random.Random(20261130)
    out = tmp_path / "killed.zarr"
    pointer = out / "checkpoint-shard-000.json"
    kills, records = 0, []
    args = ["run", str(scenario), "-o", str(out), "-q", "--resume"]
    while kills < KILLS:
        p = orbitwin(*args)
        if kills % 2 == 0:  # during start-up
            time.sleep(rng.uniform(0.0, startup))
        else:
            before = pointer.read_text() if pointer.exists() else None
            while (not pointer.exists() or pointer.read_text() == before) and p.poll() is None:
                time.sleep(0.01)  # this process has committed a checkpoint of its own
            time.sleep(rng.uniform(0.0, 0.25 * duration))
        if p.poll() is not None:  # finished before the kill: start again from scratch
            assert p.returncode == 0, p.stderr.read()
            args = ["run", str(scenario), "-o", str(out), "-q", "--overwrite"]
            continue
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        if out.exists() and zarr.open_group(str(out), mode="r").attrs["complete"]:
            # it marked the store complete just before the kill: start again
            args = ["run", str(scenario), "-o", str(out), "-q", "--overwrite"]
            continue
        kills += 1
        records.append(json.loads(pointer.read_text())["record"] if pointer.exists() else None)
        args = ["run", str(scenario), "-o", str(out), "--resume", "-q"]
    p = orbitwin(*args)
    assert p.wait(timeout=600) == 0, p.stderr.read()
    expected, got = arrays(ref), arrays(out)
    assert set(got) == set(expected) and "time" in got and "sat/plane" in got
    for name, data in expected.items():
        assert data.tobytes() == got[name].tobytes(), name
    assert zarr.open_group(str(out), mode="r").attrs["complete"] is True
    assert len(records) == KILLS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed.zarr", "ref.zarr", "s.toml"]  # no leftovers
