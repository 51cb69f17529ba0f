"""Scenario loading: every user mistake is one ScenarioError naming file, key, value."""

import attrs
import pytest

from twin_core.errors import ScenarioError
from twin_core.scenario import load_scenario, parse_scenario
from twin_core.validators import in_range, int_range, one_of, positive

GOOD = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 2
step_s = 30
record_every_s = 300
"""


@attrs.frozen
class Panel:
    area_m2: float = attrs.field(validator=positive)


@attrs.frozen
class DemoConfig:
    efficiency: float = attrs.field(default=0.3, validator=in_range(0, 1))
    count: int = attrs.field(default=1, validator=int_range(1, 100))
    mode: str = attrs.field(default="fast", validator=one_of(["fast", "exact"]))
    panel: list[Panel] = attrs.Factory(list)


SECTIONS = {"demo": (DemoConfig, "demo")}


def err(text, sections=SECTIONS) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.toml", sections)
    return info.value


def test_good_scenario_parses_with_defaults():
    sc = parse_scenario(GOOD, "s.toml", SECTIONS)
    assert sc.run.n_records == 25 and sc.run.steps_per_record == 10
    assert sc.section("demo") == DemoConfig()
    assert sc.run.epoch.isoformat() == "2026-03-20T00:00:00+00:00"


def test_toml_datetime_epoch_accepted():
    sc = parse_scenario(GOOD.replace('"2026-03-20T00:00:00Z"', "2026-03-20T00:00:00Z"), "s.toml", SECTIONS)
    assert sc.run.epoch.year == 2026


def test_misspelled_key_names_path_and_suggests():
    e = err(GOOD + "[demo]\nefficiency = 0.2\ncuont = 3\n")
    assert e.key == "demo.cuont" and "did you mean 'count'" in str(e) and "s.toml" in str(e)


def test_misspelled_core_key():
    e = err(GOOD.replace("step_s", "stp_s"))
    assert e.key.startswith("scenario.") and "step_s" in str(e)


def test_unknown_table_suggests():
    e = err(GOOD + "[dmeo]\n")
    assert e.key == "dmeo" and "did you mean 'demo'" in str(e)


def test_wrong_type_names_value():
    e = err(GOOD + '[demo]\nefficiency = "high"\n')
    assert e.key == "demo.efficiency" and "'high'" in str(e) and "a number" in str(e)


def test_out_of_range_names_bound():
    e = err(GOOD + "[demo]\nefficiency = 1.5\n")
    assert e.key == "demo.efficiency" and "1.5" in str(e) and "[0, 1]" in str(e)


def test_nested_list_item_path():
    e = err(GOOD + "[[demo.panel]]\narea_m2 = 2\n[[demo.panel]]\narea_m2 = -3\n")
    assert e.key == "demo.panel[1].area_m2" and "-3" in str(e)


def test_bool_is_not_a_number_and_nan_refused():
    assert err(GOOD + "[demo]\ncount = true\n").key == "demo.count"
    assert err(GOOD + "[demo]\nefficiency = nan\n").key == "demo.efficiency"


def test_choice():
    e = err(GOOD + '[demo]\nmode = "fastest"\n')
    assert e.key == "demo.mode" and "'fast'" in str(e)


def test_toml_syntax_error():
    e = err(GOOD + "[demo\n")
    assert e.key is None and "not valid TOML" in str(e) and "line" in str(e)


def test_missing_scenario_table_and_durations():
    assert err("[demo]\n").key == "scenario"
    e = err(GOOD.replace("duration_h = 2", "duration_h = 2\nduration_days = 1"))
    assert "exactly one" in str(e)
    e = err(GOOD.replace("record_every_s = 300", "record_every_s = 45"))
    assert e.key == "scenario.record_every_s" and "multiple" in str(e)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.toml", SECTIONS)
    with pytest.raises(ScenarioError, match="directory"):
        load_scenario(tmp_path, SECTIONS)


def test_table_of_a_plugin_that_failed_to_load():
    with pytest.raises(ScenarioError, match="belongs to plugin 'solar', which is not loaded: ImportError: x"):
        parse_scenario(GOOD + "[solar]\narea_m2 = 3\n", "s.toml", {}, failed_plugins={"solar": "ImportError: x"})
