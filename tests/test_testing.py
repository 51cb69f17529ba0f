"""`twin_core.testing.run_scenario` through the real zarr store: the same run gives the
same arrays in memory and read back from the store, and the store adds what only it
has (attributes, fill values, the complete flag, the final state from its checkpoint)."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from twin_core.testing import Result, plugin_manager, run_scenario

TOY = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 7.5
record_every_s = 450
[toy]
count = 6
planes = 3
"""


@pytest.fixture(scope="module")
def pm():
    return plugin_manager(["toy_counter", "u8_flags"], disable=["orbit", "environment"])


@pytest.fixture(scope="module")
def both(pm, tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "run.zarr"
    return run_scenario(TOY, pm=pm), run_scenario(TOY, pm=pm, store=path)


def test_memory_and_store_give_equal_arrays(both):
    mem, sto = both
    assert isinstance(sto, Result) and sto.store is not None and mem.store is None
    np.testing.assert_array_equal(sto.times_s, mem.times_s)
    np.testing.assert_array_equal(sto.metric_times_s, mem.metric_times_s)
    for part in ("sat", "common", "metrics", "final"):
        a, b = getattr(mem, part), getattr(sto, part)
        assert sorted(a) == sorted(b), part
        for name in a:
            assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, (part, name)
            np.testing.assert_array_equal(b[name], a[name], err_msg=f"{part} {name}")
    assert sto.n_records == mem.n_records == 9 and sto.n_sats == mem.n_sats == 6
    assert "toy.rate" in sto.final and "toy.rate" not in sto.sat  # not recorded, but in the checkpoint


def test_store_attributes_fill_values_and_complete_flag(both):
    mem, sto = both
    assert mem.attrs == {}
    late = sto.attrs["u8_flags.late"]
    assert late["units"] == "1" and late["plugin"] == "u8_flags"
    assert late["flag_values"] == [0, 1] and late["flag_meanings"] == "early late"
    assert late["fill_value"] == 255  # u8 has no -1: its largest value marks "not written"
    assert np.isnan(sto.attrs["toy.double_s"]["fill_value"]) and sto.attrs["toy.clock_s"]["units"] == "s"
    assert sto.attrs["toy.total_clock"]["units"] == "s"
    assert sto.sink.complete and sto.sink.records == sto.n_records
    root = zarr.open_group(str(sto.store), mode="r")
    assert root.attrs["complete"] is True and "u8_flags" in root.attrs["plugin_set"]


def test_store_is_replaced_by_a_second_run_and_refused_over_other_files(pm, tmp_path):
    path = tmp_path / "run.zarr"
    run_scenario(TOY, pm=pm, store=path)
    again = run_scenario(TOY, pm=pm, store=path)  # an orbitwin store: replaced, as --overwrite does
    assert again.sink.complete
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    from twin_core.errors import UserError

    with pytest.raises(UserError):
        run_scenario(TOY, pm=pm, store=other)
    assert (other / "keep.txt").read_text() == "mine"


def test_store_and_sat_range_do_not_combine(pm, tmp_path):
    with pytest.raises(ValueError, match="sat_range"):
        run_scenario(TOY, pm=pm, store=tmp_path / "run.zarr", sat_range=(0, 3))
