"""Choosing and starting the taichi backend.

Facts that shape this module (measured on the project's machines, DESIGN.md):

- ``ti.init(arch=ti.gpu)`` probes OpenGL and segfaults on a machine with Mesa libraries
  and no display, so it is never called: ``gpu`` asks for CUDA then Vulkan explicitly,
  and taichi falls back to the CPU when neither loads.
- ``ti.init`` checks for a new taichi version over the network unless
  ``TI_SKIP_VERSION_CHECK=ON``; orbitwin never reaches the network, so it is set here,
  before taichi is imported.
- ``cpu_max_num_threads=0`` kills the process with SIGFPE, so the thread count is
  always positive.
- The offline cache (``~/.cache/taichi`` or ``$ORBITWIN_TAICHI_CACHE``) cuts a warm start
  from about 1.7 s to 0.6 s.
- Taichi guards the cache with a lock *file* (``ticache.lock``), created while it reads or
  writes the cache and deleted after. A process killed in between (kill -9 at the end of
  a run) leaves it behind, and every later process then silently neither reads nor
  writes the cache: every run recompiles its kernels (~10 s). A lock older than
  `STALE_CACHE_LOCK_S` is removed here, with a notice (taichi holds it for well under a
  second).

Taichi is started once per process; later engines in the same process (tests, dask
workers running several shards) allocate and free their own fields and reuse it.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Any, Literal

os.environ.setdefault("TI_SKIP_VERSION_CHECK", "ON")
os.environ.setdefault("ENABLE_TAICHI_HEADER_PRINT", "False")  # no banner on stdout

ArchChoice = Literal["cpu", "gpu", "auto"]

_started: dict[str, object] = {}

#: Age past which taichi's cache lock file is taken as left by a killed process [s].
STALE_CACHE_LOCK_S = 600.0


def clear_stale_cache_lock(cache_dir: str, quiet: bool = False, max_age_s: float = STALE_CACHE_LOCK_S) -> bool:
    """Remove ``cache_dir/ticache.lock`` when it is older than ``max_age_s``; whether it did."""
    import time

    lock = os.path.join(cache_dir, "ticache.lock")
    try:
        age = time.time() - os.stat(lock).st_mtime
    except OSError:
        return False
    if age <= max_age_s:
        return False
    try:
        os.remove(lock)
    except OSError:
        return False
    if not quiet:
        print(f"orbitwin: removed {lock}, left {age / 3600:.1f} h ago by a process that was killed; taichi's "
              "kernel cache works again", file=sys.stderr)
    return True


#: The fused kernel's shapes (`twin_core.engine.Engine`'s ``shape``).
KERNEL_SHAPES = ("blocks", "simt", "auto")


def kernel_shape(shape: str | None, backend: str) -> str:
    """``"blocks"`` or ``"simt"`` for a run on ``backend``: ``shape``, or the environment
    variable ``ORBITWIN_KERNEL_SHAPE`` when None; ``"auto"`` (the default) is simt on a
    GPU (``cuda``, ``vulkan``) and blocks on the CPU."""
    chosen = shape if shape is not None else os.environ.get("ORBITWIN_KERNEL_SHAPE", "auto")
    if chosen not in KERNEL_SHAPES:
        from twin_core.errors import UserError

        raise UserError(f"ORBITWIN_KERNEL_SHAPE = {chosen!r}: expected one of {', '.join(KERNEL_SHAPES)}")
    if chosen == "auto":
        return "simt" if backend in ("cuda", "vulkan") else "blocks"
    return chosen


def _arch_name(arch: object) -> str:
    name = getattr(arch, "name", str(arch))
    return {"x64": "cpu", "arm64": "cpu"}.get(name, name)


def _short_source_positions() -> None:
    """Make taichi's source positions cheap: file, line, function and the source line.

    Taichi 1.7 turns each kernel's Python into its IR on every process start, even when
    the compiled kernel then comes from the offline cache, and for every AST node it
    formats a caret diagram of the node's columns through ``textwrap``
    (``ASTTransformerContext.get_pos_info``), only for error messages. For orbitwin's
    fused kernel (tens of thousands of nodes) that was 0.15-0.3 s of every start. The
    short form keeps what a message needs to find the line. Taichi versions other than
    1.7 are left alone."""
    import taichi as ti

    if tuple(ti.__version__[:2]) != (1, 7):
        return
    from taichi.lang.ast import ast_transformer_utils as utils

    def get_pos_info(self: Any, node: Any) -> str:
        k = node.lineno - 1
        source = self.src[k] if 0 <= k < len(self.src) else ""
        return f'File "{self.file}", line {node.lineno + self.lineno_offset}, in {self.func.func.__name__}:\n{source}\n'

    utils.ASTTransformerContext.get_pos_info = get_pos_info


def start_taichi(arch: ArchChoice = "cpu", threads: int | None = None, quiet: bool = False) -> str:
    """Start taichi once in this process and return the backend that runs (``cpu``,
    ``cuda`` or ``vulkan``).

    ``gpu`` and ``auto`` try CUDA, then Vulkan, and fall back to the CPU with a one-line
    notice on standard error (``auto`` says nothing when it falls back). If taichi is
    already started, the running backend is returned unchanged.
    """
    if "backend" in _started:
        return str(_started["backend"])
    os.environ["TI_SKIP_VERSION_CHECK"] = "ON"
    import taichi as ti
    from taichi.lang import impl

    _short_source_positions()

    n_threads = threads or int(os.environ.get("ORBITWIN_THREADS", "0")) or (os.cpu_count() or 1)
    n_threads = max(1, n_threads)
    cache = os.environ.get("ORBITWIN_TAICHI_CACHE")
    kwargs: dict[str, object] = dict(
        default_fp=ti.f64,
        default_ip=ti.i32,
        log_level=ti.ERROR,
        offline_cache=os.environ.get("ORBITWIN_OFFLINE_CACHE", "1") != "0",
        cpu_max_num_threads=n_threads,
        random_seed=0,
        unrolling_limit=0,  # the fused kernel unrolls every stage and check on purpose
    )
    if cache:
        kwargs["offline_cache_file_path"] = cache
    if kwargs["offline_cache"]:
        from taichi._lib import core as ti_core

        clear_stale_cache_lock(cache or os.path.join(ti_core.get_repo_dir(), "ticache"), quiet=quiet)
    wanted = [ti.cpu] if arch == "cpu" else [ti.cuda, ti.vulkan]
    with contextlib.redirect_stdout(io.StringIO()):  # taichi prints "Starting on arch=..."
        ti.init(arch=wanted if len(wanted) > 1 else wanted[0], **kwargs)
    backend = _arch_name(impl.current_cfg().arch)
    if arch == "gpu" and backend == "cpu" and not quiet:
        print("orbitwin: no CUDA or Vulkan device found; running on the CPU", file=sys.stderr)
    _started["backend"] = backend
    _started["threads"] = n_threads
    return backend
