"""Never lose a user's data (issue 8, items 1-5): what --overwrite may replace, the lock
on a store, stores that are either absent or resumable, resume with the plugins a run
started with, and build errors that leave nothing behind."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest
import zarr

from twin_core.errors import BuildError, ScenarioError, UserError
from twin_core.runner import parse, plugin_manager, run_to_store
from twin_core.storedir import LOCK_NAME, OutputRefusedError, StoreBusyError, StoreLock, is_orbitwin_store, lock_holder

HERE = Path(__file__).parent
ENV = dict(os.environ, PYTHONPATH=str(HERE / "plugins"))
SCENARIO = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 600
[[orbit.shell]]
kind = "walker_delta"
total = 8
planes = 2
phasing = 1
altitude_km = 550
inclination = 53.0
[output]
chunk_records = 2
chunk_sats = 4
"""
#: A run that lasts about 4 s without using the CPU (tests/plugins/sleepy.py), so a second
#: process finds the first one running.
SLOW = SCENARIO + "[sleepy]\nseconds_per_launch = 0.5\n"
DISABLE = ("solar", "battery", "power", "payload", "thermal", "formation", "crosslinks", "ground", "launch",
           "costs", "sizing", "radiation", "latency", "compare")


def pm_with(*plugins, disable=DISABLE):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plugin_manager(plugins, disable)


def orbitwin(*args, cwd=None, wait=True):
    cmd = [sys.executable, "-m", "twin_core", *args]
    if not wait:
        return subprocess.Popen(cmd, env=ENV, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=ENV, cwd=cwd, capture_output=True, text=True, timeout=300)


def disabled_args(disable=DISABLE):
    return [a for name in disable for a in ("--disable", name)]


@pytest.fixture
def scenario_file(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(SCENARIO)
    return p


def wait_for_lock(store, proc, timeout_s=120):
    t0 = time.monotonic()
    while lock_holder(store) is None:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() - t0 < timeout_s
        time.sleep(0.02)


# -- 1. --overwrite replaces only orbitwin stores ---------------------------------------


def test_overwrite_refuses_a_folder_of_user_files(tmp_path, scenario_file):
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "chapter1.tex").write_text("years of work")
    r = orbitwin("run", str(scenario_file), "-o", str(user), "--overwrite", "-q", *disabled_args())
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"--overwrite: {user} is not an orbitwin store" in r.stderr and "left untouched" in r.stderr
    assert [p.name for p in user.iterdir()] == ["chapter1.tex"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing half-made beside it


def test_overwrite_refuses_the_working_directory_even_an_orbitwin_store(tmp_path, scenario_file):
    store = tmp_path / "run.zarr"
    assert orbitwin("run", str(scenario_file), "-o", str(store), "-q", *disabled_args()).returncode == 0
    r = orbitwin("run", str(scenario_file), "-o", ".", "--overwrite", "-q", *disabled_args(), cwd=store)
    assert r.returncode == 2 and "is the working directory or holds it" in r.stderr
    r = orbitwin("run", str(scenario_file), "-o", ".", "--overwrite", "-q", *disabled_args(), cwd=tmp_path)
    assert r.returncode == 2 and "is the working directory or holds it" in r.stderr
    assert (tmp_path / "s.toml").exists() and is_orbitwin_store(store)


def test_overwrite_refuses_the_folder_holding_the_scenario(tmp_path):
    store = tmp_path / "run.zarr"
    pm = pm_with()
    run_to_store(parse(SCENARIO, pm, str(tmp_path / "s.toml")), pm, store)
    inside = store / "my.toml"
    inside.write_text(SCENARIO)
    with pytest.raises(OutputRefusedError, match="holds the scenario file"):
        run_to_store(parse(SCENARIO, pm, str(inside)), pm, store, overwrite=True)
    assert inside.exists() and is_orbitwin_store(store)


def test_overwrite_refuses_a_file_and_replaces_a_store_or_an_empty_folder(tmp_path):
    pm = pm_with()
    sc = parse(SCENARIO, pm, str(tmp_path / "s.toml"))
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(OutputRefusedError, match="not a directory"):
        run_to_store(sc, pm, a_file, overwrite=True)
    assert a_file.read_text() == "x"
    empty = tmp_path / "empty"
    empty.mkdir()
    run_to_store(sc, pm, empty, overwrite=True)
    run_to_store(sc, pm, empty, overwrite=True)  # and again: now it is an orbitwin store
    root = zarr.open_group(str(empty), mode="r")
    assert root.attrs["complete"] is True and root.attrs["orbitwin_store"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "notes.txt"]  # no leftovers


# -- 2. one run per store -----------------------------------------------------------------


def test_a_locked_store_refuses_runs_resumes_and_shards(tmp_path):
    pm = pm_with()
    sc = parse(SCENARIO, pm, "s.toml")
    store = tmp_path / "run.zarr"
    run_to_store(sc, pm, store)
    zarr.open_group(str(store), mode="r+").attrs["complete"] = False
    from twin_core.shards import run_sharded

    with StoreLock.acquire(store) as lock:
        assert f"pid {os.getpid()}" in lock_holder(store)
        with pytest.raises(StoreBusyError, match=f"in use by another orbitwin run \\(pid {os.getpid()} on "):
            run_to_store(sc, pm, store, overwrite=True)
        with pytest.raises(StoreBusyError, match="in use by another orbitwin run"):
            run_to_store(sc, pm, store, resume=True)
        with pytest.raises(StoreBusyError, match="in use by another orbitwin run"):
            run_sharded(sc, pm, store, shards=2, resume=True, disable=DISABLE)
        with pytest.raises(StoreBusyError, match="in use by another orbitwin run"):
            run_sharded(sc, pm, store, shards=2, overwrite=True, disable=DISABLE)
        assert lock.path == store
    assert lock_holder(store) is None
    run_to_store(sc, pm, store, resume=True)  # the lock went with its holder
    assert zarr.open_group(str(store), mode="r").attrs["complete"] is True


def test_second_concurrent_run_is_refused_and_the_first_completes_a_readable_store(tmp_path):
    scenario = tmp_path / "slow.toml"
    scenario.write_text(SLOW)
    store = tmp_path / "run.zarr"
    first = orbitwin("run", str(scenario), "-o", str(store), "--overwrite", "-q", "--plugin", "sleepy",
                     *disabled_args(), wait=False)
    wait_for_lock(store, first)
    second = orbitwin("run", str(scenario), "-o", str(store), "--overwrite", "-q", "--plugin", "sleepy",
                      *disabled_args())
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert f"{store} is in use by another orbitwin run (pid {first.pid} on " in second.stderr
    resume = orbitwin("run", str(scenario), "-o", str(store), "--resume", "-q", "--plugin", "sleepy",
                      *disabled_args())
    assert resume.returncode == 2 and "in use by another orbitwin run" in resume.stderr
    assert first.wait(timeout=300) == 0, first.stderr.read()
    import xarray as xr

    totals = xr.open_zarr(str(store), group="constellation")
    assert totals.sizes["time"] > 1 and bool(totals["constellation.umbra_fraction"].notnull().all())
    assert zarr.open_group(str(store), mode="r").attrs["complete"] is True


def test_runs_started_together_never_corrupt_the_store(tmp_path):
    """Two --overwrite runs started at the same instant: each either completes or is
    refused with a message (never a traceback), and the store left is complete."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    store = tmp_path / "run.zarr"
    procs = [orbitwin("run", str(scenario), "-o", str(store), "--overwrite", "-q", *disabled_args(), wait=False)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert all(rc in (0, 2) and "Traceback" not in err for rc, err in results), results
    assert any(rc == 0 for rc, _err in results)
    for rc, err in results:
        if rc == 2:
            assert "in use by another orbitwin run" in err or "created by another process" in err or \
                "replaced by another orbitwin run" in err, err
    root = zarr.open_group(str(store), mode="r")
    assert root.attrs["complete"] is True and root["constellation"]["constellation.umbra_fraction"][...].size > 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.zarr", "s.toml"]


# -- 3. a store is absent or resumable ----------------------------------------------------

KILL_IN_CREATION = textwrap.dedent("""
    import os, signal, sys, warnings
    import twin_core.store as store
    from twin_core.runner import load, plugin_manager, run_to_store

    real = store.create_store
    def create_then_die(path, layout, **kw):
        root = real(path, layout, **kw)
        root["sat"]["orbit.r_eci_m"].attrs["half"] = "made"   # the store exists in full, aside
        os.kill(os.getpid(), signal.SIGKILL)
    store.create_store = create_then_die
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = plugin_manager((), sys.argv[3:])
    run_to_store(load(sys.argv[1], pm), pm, sys.argv[2])
""")


def test_a_kill_during_creation_leaves_no_store_and_resume_starts_cleanly(tmp_path, scenario_file):
    store = tmp_path / "run.zarr"
    script = tmp_path / "die.py"
    script.write_text(KILL_IN_CREATION)
    p = subprocess.run([sys.executable, str(script), str(scenario_file), str(store), *DISABLE], env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert not store.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.zarr.creating-")]
    assert len(leftovers) == 1
    r = orbitwin("info", str(store))
    assert r.returncode == 2 and "no such store" in r.stderr
    r = orbitwin("run", str(scenario_file), "-o", str(store), "--resume", "-q", *disabled_args())
    assert r.returncode == 0, r.stderr
    assert "holds no store (the run stopped before its store was created); starting it" in r.stderr
    assert zarr.open_group(str(store), mode="r").attrs["complete"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["die.py", "run.zarr", "s.toml"]


def test_records_written_follows_the_checkpoints(tmp_path):
    pm = pm_with()
    sc = parse(SCENARIO, pm, "s.toml")
    seen = []
    from twin_core import output

    real = output.ZarrSink._write_checkpoint

    def spy(self, index, snapshot):
        real(self, index, snapshot)
        seen.append(zarr.open_group(str(self.path), mode="r").attrs["records_written"])

    output.ZarrSink._write_checkpoint = spy
    try:
        run_to_store(sc, pm, tmp_path / "run.zarr")
    finally:
        output.ZarrSink._write_checkpoint = real
    assert seen == [2, 4, 6, 7]  # 7 records in chunks of 2


# -- 4. resume with the plugins the run started with ---------------------------------------


def test_resume_with_another_plugin_set_is_refused_naming_the_difference(tmp_path):
    pm = pm_with()
    sc = parse(SCENARIO, pm, "s.toml")
    store = tmp_path / "run.zarr"
    run_to_store(sc, pm, store)
    zarr.open_group(str(store), mode="r+").attrs["complete"] = False
    fewer = pm_with(disable=DISABLE + ("environment",))
    with pytest.raises(UserError, match="plugin 'environment' ran then and is not loaded now .*leave out "
                                        "--disable environment.*resume with the plugins it started with"):
        run_to_store(parse(SCENARIO, fewer, "s.toml"), fewer, store, resume=True)
    more = pm_with("toy_counter")
    with pytest.raises(UserError, match="plugin 'toy' is loaded now and did not run then \\(--disable toy\\)"):
        run_to_store(parse(SCENARIO, more, "s.toml"), more, store, resume=True)
    recorded = zarr.open_group(str(store), mode="r").attrs["plugin_set"]
    assert set(recorded) == {"orbit", "environment"} and recorded["orbit"]["module"] == "orbitwin_plugins.orbit"


# -- 5. build errors leave no store -------------------------------------------------------

PAYLOAD_NO_BATTERY = SCENARIO + """
[solar]
area_m2 = 20
[battery]
capacity_wh = 0
min_soc = 0
initial_soc = 0
[payload]
count = 1
accelerator = "H100-SXM"
[thermal]
radiator_area_m2 = 4
"""


@pytest.mark.parametrize("text, plugins, error", [
    (PAYLOAD_NO_BATTERY, (), "battery.capacity_wh"),
    (SCENARIO + '[payload]\ncount = 1\naccelerator = "H100-SXM"\npolicy = "external"\n', ("payload",),
     "payload.requested_state"),
])
def test_a_scenario_refused_at_build_leaves_no_store(tmp_path, text, plugins, error):
    disable = () if not plugins else tuple(d for d in DISABLE if d not in plugins)
    pm = pm_with(disable=disable)
    sc = parse(text, pm, str(tmp_path / "s.toml"))
    with pytest.raises((ScenarioError, BuildError)) as info:
        run_to_store(sc, pm, tmp_path / "run.zarr")
    assert error in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_memory_refusal_and_unreachable_scheduler_leave_no_store(tmp_path, monkeypatch):
    pm = pm_with()
    sc = parse(SCENARIO, pm, "s.toml")
    import twin_core.plan as plan

    monkeypatch.setattr(plan, "available_memory", lambda: 1000)
    with pytest.raises(BuildError, match="GiB is available"):
        run_to_store(sc, pm, tmp_path / "big.zarr")
    monkeypatch.undo()
    from twin_core.shards import run_sharded

    with pytest.raises(UserError, match="cannot reach the dask scheduler at tcp://127.0.0.1:9 within 0.5 s"):
        run_sharded(sc, pm, tmp_path / "far.zarr", shards=2, scheduler="tcp://127.0.0.1:9", scheduler_timeout_s=0.5,
                    disable=DISABLE)
    with pytest.raises(UserError, match="'notanaddress' is not a dask scheduler address"):
        run_sharded(sc, pm, tmp_path / "far.zarr", shards=2, scheduler="notanaddress", disable=DISABLE)
    assert list(tmp_path.iterdir()) == []


def test_scheduler_errors_on_the_command_line_are_one_line(tmp_path, scenario_file):
    t0 = time.monotonic()
    r = orbitwin("run", str(scenario_file), "-o", str(tmp_path / "x.zarr"), "--shards", "2", "--scheduler",
                 "tcp://127.0.0.1:9", "--scheduler-timeout", "1", *disabled_args())
    assert r.returncode == 2 and "Traceback" not in r.stderr and "cannot reach the dask scheduler" in r.stderr
    assert time.monotonic() - t0 < 30
    r = orbitwin("run", str(scenario_file), "-o", str(tmp_path / "x.zarr"), "--scheduler", "notanaddress",
                 *disabled_args())
    assert r.returncode == 2 and "Traceback" not in r.stderr and "is not a dask scheduler address" in r.stderr
    assert not (tmp_path / "x.zarr").exists()


def test_info_says_a_store_is_being_written_and_by_whom(tmp_path):
    pm = pm_with()
    store = tmp_path / "run.zarr"
    run_to_store(parse(SCENARIO, pm, "s.toml"), pm, store)
    zarr.open_group(str(store), mode="r+").attrs["complete"] = False
    r = orbitwin("info", str(store))
    assert r.returncode == 0 and "INCOMPLETE: 7 of 7 records written; continue it with orbitwin run --resume" in \
        " ".join(r.stdout.split())
    with StoreLock.acquire(store):
        r = orbitwin("info", "--json", str(store))
    import json

    got = json.loads(r.stdout)
    assert got["status"] == "running" and got["running"].startswith(f"pid {os.getpid()} on ")


def test_a_store_derived_with_xarray_is_not_taken_for_an_orbitwin_store(tmp_path):
    """xarray copies a dataset's attributes (the orbitwin marker among them) into the
    stores a user writes from it; only orbitwin's lock file, which no tool copies, makes
    a directory an orbitwin store that --overwrite may replace."""
    import xarray as xr

    pm = pm_with()
    sc = parse(SCENARIO, pm, str(tmp_path / "s.toml"))
    run_to_store(sc, pm, tmp_path / "run.zarr")
    derived = tmp_path / "derived.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xr.open_zarr(str(tmp_path / "run.zarr"), group="sat").to_zarr(str(derived), mode="w")
        xr.open_zarr(str(tmp_path / "run.zarr")).attrs  # noqa: B018 - the root attrs are readable
    import json

    meta = json.loads((derived / "zarr.json").read_text())
    meta.setdefault("attributes", {}).update({"orbitwin_store": 1, "orbitwin_version": "0.1.0", "scenario": "x"})
    (derived / "zarr.json").write_text(json.dumps(meta))
    assert not is_orbitwin_store(derived)
    with pytest.raises(OutputRefusedError, match="is not an orbitwin store"):
        run_to_store(sc, pm, derived, overwrite=True)
    assert (derived / "zarr.json").exists()


def test_resume_on_an_empty_folder_starts_the_run(tmp_path):
    pm = pm_with()
    sc = parse(SCENARIO, pm, "s.toml")
    (tmp_path / "run.zarr").mkdir()
    said = []
    run_to_store(sc, pm, tmp_path / "run.zarr", resume=True, notice=said.append)
    assert "holds no store" in said[0] and zarr.open_group(str(tmp_path / "run.zarr"), mode="r").attrs["complete"]


SILENT_SERVER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(5)
print(s.getsockname()[1], flush=True)
talk = sys.argv[1] == "http"
conns = []
t0 = time.time()
while time.time() - t0 < 60:
    c, _ = s.accept()
    conns.append(c)
    if talk:
        c.sendall(b"HTTP/1.1 400 Bad Request\\r\\nContent-Length: 0\\r\\n\\r\\n")
"""


@pytest.mark.parametrize("kind", ["http", "silent"])
def test_a_scheduler_address_that_is_not_dask_is_one_line_within_the_timeout(tmp_path, kind):
    """A peer that answers as something else (dask read "HTTP/1.1" as a frame length and
    asked for exabytes) or accepts and says nothing (dask waited for ever): exit 2, one
    line, within the timeout, no store."""
    server = subprocess.Popen([sys.executable, "-c", SILENT_SERVER, kind], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        scenario = tmp_path / "s.toml"
        scenario.write_text(SCENARIO)
        t0 = time.monotonic()
        r = orbitwin("run", str(scenario), "-o", str(tmp_path / "x.zarr"), "--shards", "2", "--scheduler",
                     f"tcp://127.0.0.1:{port}", "--scheduler-timeout", "2", "-q", *disabled_args())
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert f"dask scheduler at tcp://127.0.0.1:{port}" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert time.monotonic() - t0 < 60
        assert not (tmp_path / "x.zarr").exists()
    finally:
        server.kill()


def test_only_orbitwin_s_own_leftovers_are_cleaned(tmp_path):
    """Leftovers of killed runs go; a folder that only looks like one (no lock file, or a
    name orbitwin never gives) stays."""
    from twin_core.storedir import LOCK_NAME, clean_leftovers

    ours = tmp_path / ".run.zarr.creating-123-0a1b2c3d"
    ours.mkdir()
    (ours / LOCK_NAME).write_text("")
    lookalike = tmp_path / ".run.zarr.creating-456-deadbeef"
    lookalike.mkdir()
    (lookalike / "notes.txt").write_text("mine")
    odd = tmp_path / ".run.zarr.replaced-by-me"
    odd.mkdir()
    (odd / LOCK_NAME).write_text("")
    assert clean_leftovers(tmp_path / "run.zarr") == [ours]
    assert not ours.exists() and (lookalike / "notes.txt").exists() and odd.exists()


def test_an_empty_leftover_of_a_dead_process_is_cleaned(tmp_path):
    """A kill between making the hidden folder and its lock file leaves it empty: it goes
    when the process named in it is gone, and stays while that process runs."""
    from twin_core.storedir import clean_leftovers

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    gone = tmp_path / f".run.zarr.creating-{dead}-0a1b2c3d"
    live = tmp_path / f".run.zarr.creating-{os.getpid()}-0a1b2c3e"
    gone.mkdir()
    live.mkdir()
    assert clean_leftovers(tmp_path / "run.zarr") == [gone]
    assert live.exists()
