"""A sharded run (2 dask tasks on a 2-worker LocalCluster) equals the unsharded run:
bitwise for every per-satellite variable, every constellation total and the common
series."""

import warnings

import numpy as np
import pytest
import zarr

from twin_core.errors import BuildError
from twin_core.runner import parse, plugin_manager, run_to_store
from twin_core.shards import run_sharded

SCENARIO = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 2
step_s = 30
record_every_s = 600
[[orbit.shell]]
kind = "walker_delta"
total = 48
planes = 6
phasing = 1
altitude_km = 550
inclination = 53.0
[output]
chunk_sats = 24
chunk_records = 4
"""

DISABLE = ("solar", "battery", "power", "payload", "thermal")


def arrays(path):
    root = zarr.open_group(str(path), mode="r")
    return {f"{g}/{n}": a[...] for g in ("sat", "constellation", "common") for n, a in root[g].arrays()}


def test_two_shards_on_a_local_cluster_equal_one_process(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = plugin_manager(disable=DISABLE)
    sc = parse(SCENARIO, pm, "shards.toml")
    run_to_store(sc, pm, tmp_path / "one.zarr")
    results = run_sharded(sc, pm, tmp_path / "two.zarr", shards=2, workers=2, disable=DISABLE)
    assert [r["shard"] for r in results] == [0, 1]
    one, two = arrays(tmp_path / "one.zarr"), arrays(tmp_path / "two.zarr")
    assert set(one) == set(two) and "constellation/constellation.umbra_fraction" in one
    for name in one:
        assert one[name].tobytes() == two[name].tobytes(), name
    root = zarr.open_group(str(tmp_path / "two.zarr"), mode="r")
    assert root.attrs["complete"] is True and root.attrs["n_shards"] == 2


def test_more_shards_than_chunks_is_a_clear_error():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = plugin_manager(disable=DISABLE)
    from twin_core.plan import make_plan

    plan = make_plan(parse(SCENARIO, pm, "shards.toml"), pm)
    assert plan.shards(2) == [(0, 24), (24, 48)]
    with pytest.raises(BuildError, match="chunk_sats to at most 16"):
        plan.shards(3)


def test_sharded_progress_counts_records_across_shards_and_keeps_records_written(tmp_path):
    """The coordinator reports records (the mean over shards of what each has committed),
    not finished shards, and keeps the store's ``records_written`` current."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = plugin_manager(disable=DISABLE)
    sc = parse(SCENARIO, pm, "shards.toml")
    calls = []
    run_sharded(sc, pm, tmp_path / "two.zarr", shards=2, workers=2, disable=DISABLE,
                progress=lambda done, total: calls.append((done, total)))
    n_rec = sc.run.n_records
    assert calls and all(total == n_rec for _d, total in calls)
    assert calls[-1] == (n_rec, n_rec) and [d for d, _t in calls] == sorted({d for d, _t in calls})
    root = zarr.open_group(str(tmp_path / "two.zarr"), mode="r")
    assert root.attrs["records_written"] == n_rec
