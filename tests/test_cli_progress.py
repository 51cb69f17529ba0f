"""What a person sees while a run starts: a line while kernels compile (item 14 of
issue 8), nothing when the first record comes quickly."""

import time

from twin_core.cli import run as run_cmd


def test_a_slow_start_says_kernels_are_compiling(monkeypatch, capsys):
    monkeypatch.setattr(run_cmd, "COMPILE_NOTICE_AFTER_S", 0.05)
    progress = run_cmd._Progress("s.toml")
    time.sleep(0.3)
    progress(1, 10)
    progress.close()
    err = capsys.readouterr().err
    assert err.count("compiling kernels (slow on a first run only") == 1


def test_a_quick_start_and_a_quiet_run_say_nothing(monkeypatch, capsys):
    monkeypatch.setattr(run_cmd, "COMPILE_NOTICE_AFTER_S", 0.2)
    progress = run_cmd._Progress("s.toml")
    progress(1, 10)
    time.sleep(0.4)
    progress.close()
    quiet = run_cmd._Progress("s.toml", enabled=False)
    time.sleep(0.4)
    quiet.close()
    assert "compiling" not in capsys.readouterr().err
