"""Units strings are checked with UDUNITS-2 (twin_core.units), and the store takes every
declared dtype (a u8 variable's fill value fits it)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twin_core.errors import BuildError
from twin_core.pluginmanager import make_plugin_manager

HERE = Path(__file__).parent
ROOT = HERE.parent
TOY = (HERE / "test_engine.py").read_text().split('TOY = """')[1].split('"""')[0]
TOY_ARGS = ["--plugin", "toy_counter", "--disable", "orbit", "--disable", "environment"]
HINT = "write units as UDUNITS-2 spells them: 'm s-1', 'W m-2', 'kW h', 'Gy', '1' for a pure number"
KRAD = ("'krad' is 1000 radians (an angle): UDUNITS-2 reads 'rad' as the radian, never the old dose unit rad; "
        "write a dose in grays ('Gy', 'mGy'; 1 rad = 0.01 Gy), or an angle in 'rad' or 'mrad'")


@pytest.mark.parametrize("units", ["m", "m s-1", "W m-2", "K", "J", "1", "rad", "rad s-1", "mrad", "degree",
                                   "Gy", "mGy s-1", "kW h", "PFLOP s-1", "FLOP s-1", "percent"])
def test_udunits_spellings_are_accepted(units):
    from twin_core.units import check_units

    assert check_units(units) is None


@pytest.mark.parametrize("units, problem", [
    ("krad", KRAD),
    ("krad s-1", KRAD),
    ("Mrad", KRAD.replace("'krad' is 1000", "'Mrad' is 1000000")),
    ("Wh", f'UDUNITS-2 cannot read it ([UT_UNKNOWN] Failed to parse unit "Wh"); {HINT}'),
    ("W gpu-1", f'UDUNITS-2 cannot read it ([UT_UNKNOWN] Failed to parse unit "W gpu-1"); {HINT}'),
    ("", "no units given (write '1' for a pure number)"),
    ("unknown", f"'unknown' is UDUNITS-2's placeholder for missing units, not a unit; {HINT}"),
])
def test_misread_or_unreadable_units_are_refused(units, problem):
    from twin_core.units import check_units

    assert check_units(units) == problem


def test_every_builtin_declaration_has_valid_units_with_every_example():
    from twin_core.runner import load
    from twin_core.units import check_declared_units

    pm = make_plugin_manager()
    for path in [None, *sorted((ROOT / "examples").glob("*.toml"))]:
        sc = load(str(path), pm) if path else None
        hooks = ["orbitwin_variables", "orbitwin_common_series"] + (["orbitwin_metrics"] if sc else [])
        check_declared_units(*[[(p, d) for p, ds in pm.call(hook, scenario=sc) for d in ds] for hook in hooks])


BAD_UNITS = ("plugin 'bad_units', variable 'bad_units.dose': units 'krad': " + KRAD
             + "; plugin 'bad_units', metric 'constellation.dose_energy': units 'Wh': UDUNITS-2 cannot read it "
             + f'([UT_UNKNOWN] Failed to parse unit "Wh"); {HINT}')


def test_bad_units_are_refused_naming_plugin_and_declaration():
    from twin_core.runner import parse
    from twin_core.units import check_declared_units

    pm = make_plugin_manager(extra=["toy_counter", "bad_units"], disable=["orbit", "environment"])
    sc = parse(TOY, pm)
    with pytest.raises(BuildError) as err:
        check_declared_units(*[[(p, d) for p, ds in pm.call(hook, scenario=sc) for d in ds]
                               for hook in ("orbitwin_variables", "orbitwin_common_series", "orbitwin_metrics")])
    assert str(err.value) == BAD_UNITS


def test_validate_refuses_bad_units_exit_2_without_traceback(tmp_path):
    """Needs `check_declared_units` called by `twin_core.plan.make_plan` (every run and
    `orbitwin validate` go through it)."""
    (tmp_path / "toy.toml").write_text(TOY)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE / "plugins"), str(ROOT)]))
    out = subprocess.run([sys.executable, "-m", "twin_core", "validate", "toy.toml", *TOY_ARGS,
                          "--plugin", "bad_units"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == f"orbitwin: error: {BAD_UNITS}"


def test_the_units_library_is_imported_only_when_units_are_checked():
    """cf-units (and UDUNITS-2's database) load on the first check, not when orbitwin
    starts."""
    code = ("import sys, twin_core.units, twin_core.cli, twin_core.plan\n"
            "assert 'cf_units' not in sys.modules\n"
            "assert twin_core.units.check_units('m s-1') is None and 'cf_units' in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr


# -- the store takes a u8 variable (its fill value was -1: OverflowError) -----------------------


def test_a_u8_variable_is_stored_with_a_fill_value_of_its_dtype(tmp_path):
    import xarray as xr
    import zarr

    from twin_core.runner import parse, run_to_store

    pm = make_plugin_manager(extra=["toy_counter", "u8_flags"], disable=["orbit", "environment"])
    run_to_store(parse(TOY, pm), pm, tmp_path / "u8.zarr")
    arr = zarr.open_group(str(tmp_path / "u8.zarr"), mode="r")["sat"]["u8_flags.late"]
    assert arr.dtype == np.uint8 and arr.fill_value == 255
    assert arr.attrs["flag_values"] == [0, 1] and arr.attrs["flag_meanings"] == "early late"
    late = xr.open_zarr(str(tmp_path / "u8.zarr"), group="sat")["u8_flags.late"]
    assert late.dtype == np.uint8 and late.isel(sat=0).values.tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    sig = zarr.open_group(str(tmp_path / "u8.zarr"), mode="r")["sat"]["toy.clock_s"]
    assert np.isnan(sig.fill_value)


def test_fill_values_fit_every_declared_dtype():
    from twin_core.declarations import NUMPY_DTYPES
    from twin_core.store import _fill_for

    fills = {name: _fill_for(np.dtype(t)) for name, t in NUMPY_DTYPES.items()}
    for name, t in NUMPY_DTYPES.items():
        if np.dtype(t).kind == "f":
            assert np.isnan(fills[name]), name
        else:
            assert np.iinfo(t).min <= fills[name] <= np.iinfo(t).max, name
    assert fills["u8"] == 255 and fills["i8"] == -1 and fills["i32"] == -1
