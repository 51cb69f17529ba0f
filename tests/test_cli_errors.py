"""Every error that reaches the command line is one line on standard error with the exit
status its class documents, never a traceback (issue 8, items 9 and 10): a walk over every
exception class of `twin_core.errors`, a real NaN run, `--disable` mistakes, and
`--plugin` next to stray modules in the working directory."""

import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from twin_core import errors
from twin_core.cli import cli, main

HERE = Path(__file__).parent
ENV = dict(os.environ, PYTHONPATH=str(HERE / "plugins"))
TOY = (HERE / "test_engine.py").read_text().split('TOY = """')[1].split('"""')[0]
TOY_ARGS = ["--plugin", "toy_counter", "--disable", "orbit", "--disable", "environment"]
ORBIT_ONLY = """
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
PHYSICS = ["--disable", "solar", "--disable", "battery", "--disable", "power", "--disable", "payload",
           "--disable", "thermal"]
ERROR_CLASSES = [cls for _n, cls in inspect.getmembers(errors, inspect.isclass)
                 if issubclass(cls, BaseException) and not issubclass(cls, Warning)
                 and cls.__module__ == errors.__name__]


def orbitwin(*args, cwd=None, env=ENV):
    """The command as the ``orbitwin`` script runs it: ``-P`` keeps Python from putting
    the working directory first on ``sys.path`` (as ``python -m`` otherwise does)."""
    return subprocess.run([sys.executable, "-P", "-m", "twin_core", *args], env=env, capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def exit_of(monkeypatch, exc: BaseException) -> int:
    """Run ``main`` on a command that raises ``exc``; its exit status."""
    def boom():
        raise exc

    monkeypatch.setitem(cli.commands, "boom", click.Command("boom", callback=boom))
    with pytest.raises(SystemExit) as info:
        main(["boom"])
    return info.value.code


def bare_instance(cls: type) -> BaseException:
    """An instance of ``cls`` with a two-line message, whatever its constructor takes (so
    that a class added to twin_core.errors later is walked too)."""
    exc = cls.__new__(cls)
    BaseException.__init__(exc, f"{cls.__name__} on purpose\nsecond line")
    return exc


def test_the_walk_finds_the_known_classes():
    """The walk below is not vacuous: it sees the classes the documentation names."""
    names = {c.__name__ for c in ERROR_CLASSES}
    assert {"UserError", "ScenarioError", "BuildError", "PluginError", "NonFiniteError"} <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_exits_with_its_documented_code_in_one_line(cls, monkeypatch, capsys):
    """Exit 2 (user mistake) or 3 (a plugin stopped the run), as docs/reliability.md
    says; one line on standard error and no traceback. Before the fix NonFiniteError
    escaped main() with a traceback and exit 1."""
    assert getattr(cls, "exit_code", None) in (2, 3), f"{cls.__name__} has no documented exit_code"
    assert exit_of(monkeypatch, bare_instance(cls)) == cls.exit_code
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"orbitwin: error: {cls.__name__} on purpose; second line"]
    assert "Traceback" not in err


def test_nonfinite_error_exits_3_naming_variable_plugin_and_satellite(monkeypatch, capsys):
    import datetime as dt

    exc = errors.NonFiniteError("nan_maker.value", "nan_maker", 7, 1830.0,
                                dt.datetime(2026, 3, 20, tzinfo=dt.timezone.utc))
    assert exit_of(monkeypatch, exc) == 3
    err = capsys.readouterr().err
    assert "'nan_maker.value'" in err and "plugin 'nan_maker'" in err and "satellite 7" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_bug_shows_its_traceback_and_says_it_is_a_bug(monkeypatch, capsys):
    """An exception that is none of twin_core.errors is a bug: exit 1, the traceback (what
    a report needs), and a last line saying so, not blaming the scenario."""
    assert exit_of(monkeypatch, ZeroDivisionError("division by zero")) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("orbitwin: internal error: ZeroDivisionError: division by zero") and "bug" in last


def test_an_operating_system_error_exits_2_with_its_path(monkeypatch, capsys):
    """Disk full or permission denied is no bug: exit 2 and the system's message with the
    path (docs/reliability.md, "When things go wrong")."""
    exc = PermissionError(13, "Permission denied", "/data/run.zarr/sat/zarr.json")
    assert exit_of(monkeypatch, exc) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "Permission denied: '/data/run.zarr/sat/zarr.json'" in err


def test_interrupt_exits_130(monkeypatch, capsys):
    assert exit_of(monkeypatch, KeyboardInterrupt()) == 130
    assert capsys.readouterr().err.strip() == "orbitwin: interrupted"


def test_a_nan_run_exits_3_with_one_line_and_no_traceback(tmp_path):
    """The real thing: tests/plugins/nan_maker.py poisons satellite 7 after 30 minutes."""
    scen = tmp_path / "nan.toml"
    scen.write_text(ORBIT_ONLY + "[nan_maker]\nsatellite = 7\nafter_s = 1800\n")
    r = orbitwin("run", str(scen), "-o", str(tmp_path / "nan.zarr"), "-q", "--plugin", "nan_maker", *PHYSICS)
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr
    errs = [line for line in r.stderr.splitlines() if line.startswith("orbitwin: error:")]
    assert len(errs) == 1 and "'nan_maker.value'" in errs[0] and "satellite 7" in errs[0]


# -- --disable -------------------------------------------------------------------------


def test_disable_of_a_misspelt_name_is_an_error_with_the_close_name(tmp_path):
    """Before the fix `--disable orbt` was ignored and the orbit plugin ran."""
    scen = tmp_path / "toy.toml"
    scen.write_text(TOY)
    r = orbitwin("validate", str(scen), "--plugin", "toy_counter", "--disable", "orbt", "--disable", "environment")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--disable orbt: no plugin is named 'orbt'; did you mean 'orbit'?" in r.stderr


def test_a_table_of_a_disabled_plugin_says_it_was_disabled(tmp_path):
    """`--disable orbit` on a scenario with [orbit]: the message says the plugin was left
    out with --disable, not just "unknown table". Needs twin_core.runner.load to pass
    ``pm.unavailable`` (failed and disabled plugins) to the scenario loader."""
    scen = tmp_path / "orbit.toml"
    scen.write_text(ORBIT_ONLY)
    r = orbitwin("validate", str(scen), "--disable", "orbit")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "key 'orbit'" in r.stderr and "plugin 'orbit'" in r.stderr and "--disable orbit" in r.stderr
    assert "unknown table" not in r.stderr


# -- --plugin and the working directory ------------------------------------------------------


@pytest.fixture
def stray_cwd(tmp_path):
    """A working directory holding modules named like libraries orbitwin imports, each
    failing loudly if imported, plus the toy scenario and a plugin of its own."""
    for lib in ("cattrs", "taichi", "zarr"):
        (tmp_path / f"{lib}.py").write_text(f"raise SystemExit('stray {lib}.py imported')\n")
    (tmp_path / "toy.toml").write_text(TOY)
    shutil.copy(HERE / "plugins" / "toy_counter.py", tmp_path / "local_toy.py")
    return tmp_path


def test_plugin_by_name_does_not_import_stray_modules_of_the_working_directory(stray_cwd):
    """Before the fix `--plugin` put the working directory first on sys.path, so the toy
    plugin's `import taichi` loaded ./taichi.py."""
    r = orbitwin("validate", "toy.toml", *TOY_ARGS, cwd=stray_cwd)
    assert r.returncode == 0, r.stderr
    assert "stray" not in r.stdout + r.stderr and "valid (6 satellites" in r.stdout


def test_plugin_only_in_the_working_directory_is_still_found(stray_cwd):
    """A module found nowhere else is looked for in the working directory (last)."""
    env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
    r = orbitwin("validate", "toy.toml", "--plugin", "local_toy", "--disable", "orbit", "--disable", "environment",
                 cwd=stray_cwd, env=env)
    assert r.returncode == 0, r.stderr
    assert "stray" not in r.stdout + r.stderr


def test_plugin_by_file_path(stray_cwd):
    """`--plugin ./local_toy.py` loads that file, with no PYTHONPATH at all."""
    env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
    r = orbitwin("plugins", "--plugin", "./local_toy.py", cwd=stray_cwd, env=dict(env, COLUMNS="200"))
    assert r.returncode == 0, r.stderr
    assert "stray" not in r.stdout + r.stderr
    assert "toy.double_s" in r.stdout and str((stray_cwd / "local_toy.py").resolve()) in r.stdout
    r = orbitwin("validate", "toy.toml", "--plugin", "no_such.py", cwd=stray_cwd, env=env)
    assert r.returncode == 2 and "--plugin" in r.stderr and "no such file" in r.stderr
