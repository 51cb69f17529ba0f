"""The sweep's zarr v3 store: one row per case, created aside and locked like a run store,
committed case by case so that a resume knows what is finished.

Layout (``xarray.open_zarr(SWEEP)`` reads the top level; no orbitwin import needed)::

    SWEEP.zarr/
      zarr.json               attributes (below); consolidated metadata of the top level
      .orbitwin.lock          held by the sweep's coordinator while it runs
      case                    (case,) int64 case index
      <key>                   (case,) the value of each --vary key in each case (coordinates)
      tornado_key, tornado_side (case,) with --tornado: the key moved and "low"/"high"
                              ("" and "baseline" for the baseline case)
      status                  (case,) int8: 0 pending, 1 done, 2 failed (CF flags)
      error                   (case,) str: why a failed case failed ("" otherwise)
      wall_s                  (case,) float64: seconds the case took on its worker
      <result>                (case,) float64: each case result (hook orbitwin_case_results)
      time                    (time,) the constellation totals' times, when every case
                              shares them (CF: int64 milliseconds since the epoch)
      <metric>                (case, time) float64: each run's constellation totals
      runs/case-NNNN.zarr     each case's own run store (a complete orbitwin store)

Why the run stores live inside: ``--overwrite`` replaces the sweep with its runs, and the
sweep folder is one thing to copy. ``runs/`` has no ``zarr.json``, so it is not part of the
top level's zarr hierarchy: the consolidated metadata lists the top level's arrays only
(written when arrays appear, `consolidate`) and stays small however many cases there are.
Open a case's run by its own path (``xr.open_zarr("SWEEP.zarr/runs/case-0003.zarr",
group="sat")``), not as a group of the sweep.

Commit order: a case's results, totals and error are written first and its ``status``
last; a zarr chunk is written to a temporary file and renamed, so a killed coordinator
leaves each case either committed or pending, and a resume reruns exactly the pending ones.
Only the coordinator writes this level (workers write their own run stores), so there is
never more than one writer.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from twin_core.storedir import MARKER, STORE_LAYOUT_VERSION

#: Root attribute that marks an orbitwin sweep store (value: the sweep layout version).
SWEEP_MARKER = "orbitwin_sweep"
SWEEP_LAYOUT_VERSION = 1
PENDING, DONE, FAILED = 0, 1, 2
_CASE_CHUNK = 4096
_RESERVED = {"case", "status", "error", "wall_s", "time", "tornado_key", "tornado_side"}


def run_path(sweep: str | Path, case: int, n_cases: int) -> Path:
    """Where case ``case``'s run store lives: ``SWEEP/runs/case-NNNN.zarr``."""
    width = max(4, len(str(max(n_cases - 1, 0))))
    return Path(sweep) / "runs" / f"case-{case:0{width}d}.zarr"


def is_sweep_store(path: str | Path) -> bool:
    from twin_core.storedir import _root_attrs

    attrs = _root_attrs(Path(path))
    return bool(attrs) and SWEEP_MARKER in attrs


def _coordinate(values: list[Any]) -> np.ndarray:
    """The values of one key across cases as one array: bool, int64, float64 (NaN where
    a baseline has none) or, for anything else, strings."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present) and len(present) == len(values):
        return np.array(values, dtype=bool)
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present) and len(present) == len(values):
        return np.array(values, dtype=np.int64)
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    from twin_core.tomlwrite import value

    return np.array(["" if v is None else (v if isinstance(v, str) else value(v)) for v in values], dtype=object)


def _array(root: Any, name: str, data: np.ndarray, attrs: dict[str, Any], dims: tuple[str, ...] = ("case",)) -> None:
    if data.dtype == object:
        arr = root.create_array(name, shape=data.shape, dtype=str, chunks=(min(len(data), _CASE_CHUNK),),
                                fill_value="", dimension_names=dims, attributes=attrs)
        arr[...] = data
    else:
        root.create_array(name, data=data, chunks=(min(len(data), _CASE_CHUNK),), dimension_names=dims,
                          attributes=attrs)


def create_sweep_store(path: str | Path, *, keys: list[str], cases: list[dict[str, Any]],
                       attrs: dict[str, Any], time_ms: np.ndarray | None, time_attrs: dict[str, Any] | None,
                       tags: list[tuple[str, str]] | None = None) -> None:
    """Create the sweep's top level at ``path`` (an empty folder, created aside by the
    caller): coordinates, status, errors and times; result and total arrays appear when
    the first case brings them (`commit_case`)."""
    import zarr

    n = len(cases)
    root = zarr.open_group(str(path), mode="a", zarr_format=3)
    root.attrs.update({MARKER: STORE_LAYOUT_VERSION, SWEEP_MARKER: SWEEP_LAYOUT_VERSION, "n_cases": n,
                       "cases_done": 0, "cases_failed": 0, "complete": False, **attrs})
    _array(root, "case", np.arange(n, dtype=np.int64), {"units": "1", "description": "sweep case index"})
    for key in keys:
        if key in _RESERVED:
            continue
        _array(root, key, _coordinate([c.get(key) for c in cases]),
               {"description": f"scenario key {key} in each case (--vary)"})
    coords = " ".join(k for k in keys if k not in _RESERVED)
    if tags is not None:
        _array(root, "tornado_key", np.array([t[0] for t in tags], dtype=object),
               {"description": "the --vary key this tornado case moves ('' for the baseline)"})
        _array(root, "tornado_side", np.array([t[1] for t in tags], dtype=object),
               {"description": "low or high: which end of its range the key is at (baseline: none moved)"})
        coords += " tornado_key tornado_side"
    common = {"coordinates": coords.strip()} if coords.strip() else {}
    root.create_array("status", shape=(n,), dtype=np.int8, chunks=(min(n, _CASE_CHUNK),), fill_value=PENDING,
                      dimension_names=("case",),
                      attributes={"units": "1", "description": "the case's state: pending (not run, or stopped "
                                  "before its results were committed), done, or failed (see error)",
                                  "flag_values": [PENDING, DONE, FAILED], "flag_meanings": "pending done failed",
                                  **common})
    root.create_array("error", shape=(n,), dtype=str, chunks=(min(n, _CASE_CHUNK),), fill_value="",
                      dimension_names=("case",),
                      attributes={"description": "why the case failed, in one line ('' unless failed)", **common})
    root.create_array("wall_s", shape=(n,), dtype=np.float64, chunks=(min(n, _CASE_CHUNK),), fill_value=np.nan,
                      dimension_names=("case",),
                      attributes={"units": "s", "description": "seconds the case took on its worker", **common})
    if time_ms is not None:
        root.create_array("time", data=time_ms, dimension_names=("time",), attributes=time_attrs,
                          fill_value=np.iinfo(np.int64).min)
    root.attrs.update({"case_coordinates": coords.strip(), "vary_keys": list(keys)})
    consolidate(path)


def consolidate(path: str | Path) -> None:
    """Consolidated metadata of the top level (``runs/`` is no zarr node, so it is left
    out), so that xarray opens the sweep without listing the folder."""
    import zarr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # consolidated metadata is not in the v3 spec yet; runs/ is no zarr node
        zarr.consolidate_metadata(str(path))


def commit_case(path: str | Path, case: int, outcome: dict[str, Any]) -> None:
    """Write one finished case: its results and totals, its error, then its status (the
    commit). Arrays for result or total names not seen before are created first."""
    import zarr

    root = zarr.open_group(str(path), mode="r+", use_consolidated=False)
    n = int(root.attrs["n_cases"])
    keys = set(root.attrs.get("vary_keys", []))
    coords = {"coordinates": root.attrs["case_coordinates"]} if root.attrs.get("case_coordinates") else {}
    created = False
    for name, value, units, description, plugin in outcome.get("results", ()):
        if name in _RESERVED or name in keys or (name in root and root[name].shape != (n,)):
            continue
        if name not in root:
            root.create_array(name, shape=(n,), dtype=np.float64, chunks=(min(n, _CASE_CHUNK),), fill_value=np.nan,
                              dimension_names=("case",),
                              attributes={"units": units, "description": description, "plugin": plugin, **coords})
            created = True
        root[name][case] = value
    if "time" in root:
        n_time = root["time"].shape[0]
        for name, (values, units, description) in outcome.get("totals", {}).items():
            if name in _RESERVED or name in keys or values.shape != (n_time,) or \
                    (name in root and root[name].shape != (n, n_time)):
                continue
            if name not in root:
                root.create_array(name, shape=(n, n_time), dtype=np.float64, chunks=(1, min(n_time, 1 << 16)),
                                  fill_value=np.nan, dimension_names=("case", "time"),
                                  attributes={"units": units, "description": f"constellation total: {description}",
                                              **coords})
                created = True
            root[name][case, :] = values
    if created:
        consolidate(path)
        root = zarr.open_group(str(path), mode="r+", use_consolidated=False)
    root["error"][case] = outcome.get("error", "")
    root["wall_s"][case] = outcome.get("wall_s", np.nan)
    root["status"][case] = DONE if outcome["status"] == "done" else FAILED


def statuses(path: str | Path) -> np.ndarray:
    import zarr

    return np.asarray(zarr.open_group(str(path), mode="r")["status"][...])


def update_counts(path: str | Path, *, complete: bool | None = None) -> dict[str, int]:
    """Keep ``cases_done``, ``cases_failed`` (and ``complete``) current."""
    import zarr

    st = statuses(path)
    counts = {"cases_done": int((st == DONE).sum()), "cases_failed": int((st == FAILED).sum())}
    root = zarr.open_group(str(path), mode="r+", use_consolidated=False)
    root.attrs.update(counts | ({} if complete is None else {"complete": complete}))
    consolidate(path)  # an attribute update through zarr rewrites zarr.json without it
    return counts
