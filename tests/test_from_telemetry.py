"""``orbitwin run --from-telemetry``: the latest telemetry at or before the epoch sets the
initial states of the satellites it names (twin_core/observed.py)."""

from importlib import resources

import numpy as np
import pytest
import zarr

from twin_core.testing import run_cli as orbitwin

TLE = resources.files("orbitwin_plugins").joinpath("data", "elements", "vallado_near_earth.tle")
SCENARIO = f"""
[scenario]
epoch = "2006-06-27T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 600

[[orbit.shell]]
kind = "tle"
file = "{TLE}"
catalog_numbers = [6251, 28057, 29238]   # DELTA 1 DEB, CBERS 2, SL-12 DEB

[solar]
area_m2 = 20.0

[battery]
capacity_wh = 2000
initial_soc = {{soc}}

[payload]
count = 2
accelerator = "H100-SXM"

[thermal]
radiator_area_m2 = 4.0
initial_temperature_k = {{temp}}
"""
TELEMETRY = """time,satellite,variable,value
2006-06-26T23:00:00Z,CBERS 2,battery.soc,0.65
2006-06-26T23:50:00Z,cbers 2,battery.soc,0.72
2006-06-27T01:00:00Z,CBERS 2,battery.soc,0.99
2006-06-26T23:55:00Z,6251,thermal.temperature_k,310
2006-06-26T23:55:00Z,6251,orbit.r_eci_m[0],7000000
"""


def write(tmp_path, telemetry=TELEMETRY, soc=0.9, temp=293.15):
    sc = tmp_path / "s.toml"
    sc.write_text(SCENARIO.format(soc=soc, temp=temp))
    tel = tmp_path / "tel.csv"
    tel.write_text(telemetry)
    return sc, tel


def sat(store):
    return zarr.open_group(str(store), mode="r")["sat"]


def test_the_latest_values_at_or_before_the_epoch_set_the_states(tmp_path, capsys):
    sc, tel = write(tmp_path)
    code, _, err = orbitwin(capsys, "run", sc, "-o", tmp_path / "run.zarr", "--from-telemetry", tel)
    assert code == 0, err
    s = sat(tmp_path / "run.zarr")
    assert list(s["name"][:]) == ["DELTA 1 DEB", "CBERS 2", "SL-12 DEB"]
    # CBERS 2 from its latest row before the epoch (0.72, not 0.65 nor the later 0.99);
    # the others keep the scenario's 0.9
    np.testing.assert_allclose(s["battery.soc"][0], [0.9, 0.72, 0.9], rtol=1e-15)  # E/capacity, fast math
    np.testing.assert_array_equal(s["thermal.temperature_k"][0], [310.0, 293.15, 293.15])
    assert s["battery.energy_j"][0, 1] == 0.72 * 2000 * 3600
    done = dict(zarr.open_group(str(tmp_path / "run.zarr"), mode="r").attrs)["from_telemetry"]
    assert done["used"]["battery.soc"] == {"states": ["battery.energy_j", "battery.soc"], "satellites": 1,
                                          "plugin": "battery", "oldest_s": 600.0, "newest_s": 600.0}
    assert done["used"]["thermal.temperature_k"]["satellites"] == 1
    assert "element sets" in done["ignored"]["orbit.r_eci_m[0]"]
    assert len(done["sha256"]) == 64
    assert "battery.soc sets battery.energy_j, battery.soc of 1 of 3 satellites (values 10 min before" in err
    assert "orbit.r_eci_m[0] is not used: the orbit comes from the scenario's element sets" in err
    assert "1 of 5 rows are after the epoch and are not used" in err


def test_telemetry_for_every_satellite_equals_those_initial_values(tmp_path, capsys):
    """Byte for byte: a run started from telemetry giving every satellite 0.72 and 310 K
    is the run whose scenario says so."""
    rows = "".join(f"2006-06-26T23:59:00Z,{n},battery.soc,0.72\n2006-06-26T23:59:00Z,{n},thermal.temperature_k,310\n"
                   for n in (6251, 28057, 29238))
    sc, tel = write(tmp_path, "time,satellite,variable,value\n" + rows)
    assert orbitwin(capsys, "run", sc, "-o", tmp_path / "a.zarr", "--from-telemetry", tel, "-q")[0] == 0
    sc_b = tmp_path / "b.toml"
    sc_b.write_text(SCENARIO.format(soc=0.72, temp=310.0))
    assert orbitwin(capsys, "run", sc_b, "-o", tmp_path / "b.zarr", "-q")[0] == 0
    a, b = sat(tmp_path / "a.zarr"), sat(tmp_path / "b.zarr")
    for name, arr in b.arrays():
        assert np.array_equal(a[name][...], arr[...]), name


@pytest.mark.parametrize("telemetry, message", [
    ("time,satellite,variable,value\n2006-06-26T23:00:00Z,CBERS 2,battery.soc,0.3\n",
     "tel.csv, line 2, column 'value': 0.3 is outside what battery.soc may start the run from; expected a state of "
     "charge from [battery] min_soc = 0.6 to 1"),
    ("time,satellite,variable,value\n2006-06-26T23:00:00Z,CBERS 2,battery.soc,0.7\n"
     "2006-06-26T23:00:00Z,CBERS 2,battery.energy_j,5e6\n",
     "battery.energy_j and battery.soc would both set battery.energy_j; give only one of them"),
    ("time,satellite,variable,value\n2006-06-26T23:00:00Z,CBERS 2,orbit.r_eci_m[0],7e6\n",
     "no variable in it sets a state of the run (orbit.r_eci_m[0]: the orbit comes from"),
    ("time,satellite,variable,value\n2006-06-28T00:00:00Z,CBERS 2,battery.soc,0.7\n",
     "every row (1) lies outside the year before the scenario's epoch, which covers 2005-06-26T00:00:00 to "
     "2006-06-27T00:00:00 UTC"),
    ("time,satellite,variable,value\n2006-06-26T23:00:00Z,CBERS 2,battery.charge,0.7\n",
     "'battery.charge' is no variable the run's plugins declare per satellite"),
    ("time,satellite,variable,value\n2006-06-26T23:00:00Z,CBERS 3,battery.soc,0.7\n",
     "'CBERS 3' matches no satellite of the run by name, catalog number or #index; closest names: 'CBERS 2'"),
    ("time,satellite,variable,value\n2006-06-26T23:00:00Z,CBERS 2,thermal.temperature_k,-4\n",
     "-4.0 is outside what thermal.temperature_k may start the run from; expected a temperature above 0 K"),
])
def test_bad_telemetry_is_named_and_nothing_is_written(tmp_path, capsys, telemetry, message):
    sc, tel = write(tmp_path, telemetry)
    code, _, err = orbitwin(capsys, "run", sc, "-o", tmp_path / "run.zarr", "--from-telemetry", tel)
    assert code != 0
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run.zarr").exists()


def test_resume_needs_the_same_telemetry(tmp_path, capsys):
    sc, tel = write(tmp_path)
    out = tmp_path / "run.zarr"
    assert orbitwin(capsys, "run", sc, "-o", out, "--from-telemetry", tel, "-q")[0] == 0
    zarr.open_group(str(out), mode="r+").attrs["complete"] = False  # as if killed after its last checkpoint
    code, _, err = orbitwin(capsys, "run", sc, "-o", out, "--resume", "-q")
    assert code != 0 and f"was started from the telemetry {tel}: resume with --from-telemetry" in err
    tel.write_text(TELEMETRY.replace("310", "311"))
    code, _, err = orbitwin(capsys, "run", sc, "-o", out, "--resume", "--from-telemetry", tel, "-q")
    assert code != 0 and "was started from telemetry with SHA-256" in err
    tel.write_text(TELEMETRY)
    code, _, err = orbitwin(capsys, "run", sc, "-o", out, "--resume", "--from-telemetry", tel, "-q")
    assert code == 0, err
    assert zarr.open_group(str(out), mode="r").attrs["complete"]
    plain = tmp_path / "plain.zarr"
    assert orbitwin(capsys, "run", sc, "-o", plain, "-q")[0] == 0
    zarr.open_group(str(plain), mode="r+").attrs["complete"] = False
    code, _, err = orbitwin(capsys, "run", sc, "-o", plain, "--resume", "--from-telemetry", tel, "-q")
    assert code != 0 and "was not started from telemetry; resume it without --from-telemetry" in err


def test_a_stale_value_is_used_with_a_warning(tmp_path, capsys):
    sc, tel = write(tmp_path, "time,satellite,variable,value\n2006-06-20T00:00:00Z,CBERS 2,battery.soc,0.8\n")
    code, _, err = orbitwin(capsys, "run", sc, "-o", tmp_path / "run.zarr", "--from-telemetry", tel, "-q")
    assert code == 0, err
    assert "warning:" in err and "battery.soc: the oldest value used is 7.0 days before the epoch" in err
    assert sat(tmp_path / "run.zarr")["battery.soc"][0, 1] == pytest.approx(0.8, rel=1e-15)


def test_a_repeated_column_and_a_pipe_are_refused(tmp_path, capsys):
    import os

    sc, tel = write(tmp_path, "time,satellite,variable,value,value\n2006-06-26T23:00:00Z,CBERS 2,battery.soc,0.7,0.8\n")
    code, _, err = orbitwin(capsys, "run", sc, "-o", tmp_path / "a.zarr", "--from-telemetry", tel)
    assert code != 0 and "has the column 'value' more than once" in err
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    code, _, err = orbitwin(capsys, "run", sc, "-o", tmp_path / "b.zarr", "--from-telemetry", fifo)  # never opened
    assert code != 0 and "is not a regular file (a pipe, socket or device)" in err


def test_a_run_inside_another_runs_store_is_refused(tmp_path, capsys):
    sc, tel = write(tmp_path)
    assert orbitwin(capsys, "run", sc, "-o", tmp_path / "run.zarr", "--from-telemetry", tel, "-q")[0] == 0
    code, _, err = orbitwin(capsys, "run", sc, "-o", tmp_path / "run.zarr" / "nested.zarr", "-q")
    assert code != 0 and "inside the orbitwin store" in err
    assert not (tmp_path / "run.zarr" / "nested.zarr").exists()


def test_rows_after_the_epoch_and_a_year_before_it_are_counted_apart(tmp_path, capsys):
    sc, tel = write(tmp_path, "time,satellite,variable,value\n2004-06-26T23:00:00Z,CBERS 2,battery.soc,0.8\n"
                              "2006-06-26T23:00:00Z,CBERS 2,battery.soc,0.7\n"
                              "2006-06-28T00:00:00Z,CBERS 2,battery.soc,0.9\n")
    code, _, err = orbitwin(capsys, "run", sc, "-o", tmp_path / "run.zarr", "--from-telemetry", tel)
    assert code == 0, err
    assert "1 of 3 rows are after the epoch" in err and "1 of 3 rows are more than 366 days before" in err
    assert sat(tmp_path / "run.zarr")["battery.soc"][0, 1] == pytest.approx(0.7, rel=1e-15)


@pytest.mark.parametrize("variable, code, message", [
    ("probe.output_only", 2, "sets no state (probe.output_only); an output is recomputed at the epoch"),
    ("probe.foreign", 2, "sets 'thermal.temperature_k', which plugin 'thermal' declares"),
    ("probe.raises", 3, "failed in hook 'orbitwin_observed_state (the Anchor's function for probe.level)': "
                        "ZeroDivisionError"),
    ("probe.inverted", 2, "Anchor.valid = (1.0, 0.0) is not (low, high) with low <= high"),
    ("probe.scalar", 2, "returned shape (); expected one value per observed satellite, shape (1,)"),
])
def test_a_plugins_wrong_anchor_is_named_as_its_own(tmp_path, capsys, variable, code, message):
    from pathlib import Path

    plugin = Path(__file__).parent / "plugins" / "anchor_cases.py"
    sc, tel = write(tmp_path, f"time,satellite,variable,value\n2006-06-26T23:00:00Z,CBERS 2,{variable},0.5\n")
    got, _, err = orbitwin(capsys, "run", sc, "-o", tmp_path / "run.zarr", "--from-telemetry", tel,
                           "--plugin", plugin)
    assert got == code and message in err, err
    assert "plugin 'anchor_cases'" in err and "Traceback" not in err
