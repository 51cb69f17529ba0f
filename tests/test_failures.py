"""What happens when things go wrong during a run: a stage produces NaN, a hook raises,
the disk fills up. The store is left incomplete with a clear message, and (where that
makes sense) a resumed run ends equal to an uninterrupted one."""

import errno
import warnings

import numpy as np
import pytest
import zarr

from twin_core.errors import NonFiniteError, PluginError, UserError
from twin_core.runner import parse, plugin_manager, run_to_store

SCENARIO = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 2
step_s = 30
record_every_s = 300
[[orbit.shell]]
kind = "walker_delta"
total = 12
planes = 3
phasing = 1
altitude_km = 550
inclination = 53.0
[output]
chunk_records = 3
"""
DISABLE = ("solar", "battery", "power", "payload", "thermal")


def pm_with(*plugins, disable=DISABLE):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plugin_manager(plugins, disable)


def test_nan_is_caught_naming_variable_satellite_and_time(tmp_path):
    pm = pm_with("nan_maker")
    sc = parse(SCENARIO + "[nan_maker]\nsatellite = 7\nafter_s = 1800\n", pm, "nan.toml")
    with pytest.raises(NonFiniteError) as info:
        run_to_store(sc, pm, tmp_path / "nan.zarr")
    e = info.value
    assert (e.variable, e.plugin, e.satellite) == ("nan_maker.value", "nan_maker", 7)
    assert 1800 < e.t_s <= 2100  # caught at the end of the launch in which it happened
    assert "2026-03-20T00:35:00 UTC" in str(e)
    root = zarr.open_group(str(tmp_path / "nan.zarr"), mode="r")
    assert root.attrs["complete"] is False and "not finite" in root.attrs["error"]
    saved = root["failure"]["shard-000"]["nan_maker.value"][...]
    assert np.isnan(saved[7]) and np.isfinite(np.delete(saved, 7)).all()


def test_hook_raising_names_plugin_and_hook_and_creates_no_store(tmp_path):
    """The engine is built (every hook called) before the store exists, so a raising
    hook leaves nothing behind, not even a hidden half-created store."""
    pm = pm_with("raising_stages")
    sc = parse(SCENARIO, pm, "raise.toml")
    with pytest.raises(PluginError, match="'raising_stages'.*'orbitwin_stages'.*exploded"):
        run_to_store(sc, pm, tmp_path / "r.zarr")
    assert list(tmp_path.iterdir()) == []


def test_disk_full_is_a_clear_error_and_the_store_resumes(tmp_path, monkeypatch):
    pm = pm_with()
    sc = parse(SCENARIO, pm, "full.toml")
    run_to_store(sc, pm, tmp_path / "ref.zarr")

    from zarr.storage import LocalStore

    real_set, calls = LocalStore.set, {"n": 0}

    async def failing_set(self, key, value):
        calls["n"] += 1
        if calls["n"] > 60 and "/c/" in key:  # data chunks, once the store exists
            raise OSError(errno.ENOSPC, "No space left on device")
        return await real_set(self, key, value)

    monkeypatch.setattr(LocalStore, "set", failing_set)
    with pytest.raises(UserError, match="No space left on device.*--resume"):
        run_to_store(sc, pm, tmp_path / "full.zarr")
    monkeypatch.setattr(LocalStore, "set", real_set)
    run_to_store(sc, pm, tmp_path / "full.zarr", resume=True)
    ref, got = (zarr.open_group(str(tmp_path / p), mode="r") for p in ("ref.zarr", "full.zarr"))
    for group in ("sat", "constellation", "common"):
        for name, arr in ref[group].arrays():
            assert arr[...].tobytes() == got[group][name][...].tobytes(), (group, name)


def test_resume_refuses_another_scenario(tmp_path):
    pm = pm_with()
    sc = parse(SCENARIO, pm, "a.toml")
    run_to_store(sc, pm, tmp_path / "a.zarr")
    other = parse(SCENARIO.replace("duration_h = 2", "duration_h = 3"), pm, "b.toml")
    with pytest.raises(UserError, match="already complete|different scenario"):
        run_to_store(other, pm, tmp_path / "a.zarr", resume=True)
    root = zarr.open_group(str(tmp_path / "a.zarr"), mode="r+")
    root.attrs["complete"] = False
    with pytest.raises(UserError, match="different scenario"):
        run_to_store(other, pm, tmp_path / "a.zarr", resume=True)
