"""Claiming a run's output directory: what may be replaced, who holds it, and how a new
store appears there all at once.

Three promises, each kept here and nowhere else:

1. **Only orbitwin's own stores are ever deleted.** ``--overwrite`` replaces a directory
   only when it is recognisably an orbitwin store (its root ``zarr.json`` carries the
   attribute ``orbitwin_store`` and the store holds orbitwin's lock file, which only a
   run's creation writes: xarray copies attributes into derived stores, never that
   file) or an empty directory. Anything else is
   refused, naming the path. The directory holding the scenario file and the working
   directory (``-o .``) are never replaced, whatever they hold.
2. **One run per store.** A run holds an exclusive ``flock`` on ``<store>/.orbitwin.lock``
   from before its store is visible until it ends. The lock belongs to the open file,
   so the kernel drops it when the process dies, kill -9 included: there is never a
   stale lock to clean up by hand. A second run, a resume or a sharded coordinator on a
   locked store is refused with the holder's pid, host and start time (which the holder
   writes into the lock file). The lock is advisory and local: it holds between
   processes of one machine, and on network file systems only where they implement
   ``flock`` (NFS v4 does; some FUSE file systems do not).
3. **A store is either absent or resumable.** It is created in a hidden sibling
   directory (``.<name>.creating-<pid>-<random>``) and renamed into place only when
   every array, attribute and the checkpoint folder exist, so a kill during creation
   leaves no store at the output path. ``--overwrite`` swaps the new store in the same
   way and only then deletes the old one (renamed aside to ``.<name>.replaced-...``
   first). Leftovers of killed runs are recognised by name and lock and removed by the
   next run on the same output.

Why a lock file inside the store rather than beside it: no stray files next to the
user's output, and a store moved or copied elsewhere carries its (unlocked) lock file
with it. Why re-check after locking: between opening the lock file and locking it,
another run may have swapped a new store in; the lock is valid only if the path still
names the file that was locked (the classic lock-then-stat check).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import socket
from pathlib import Path
from typing import Iterator

from twin_core.errors import UserError

LOCK_NAME = ".orbitwin.lock"
#: Root attribute that marks a directory as an orbitwin store (value: layout version).
MARKER = "orbitwin_store"
STORE_LAYOUT_VERSION = 1


class StoreBusyError(UserError):
    """The store is locked by another running orbitwin process."""


class OutputRefusedError(UserError):
    """The output path holds something orbitwin must not replace."""


def _root_attrs(path: Path) -> dict | None:
    try:
        meta = json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError):
        return None
    attrs = meta.get("attributes") if isinstance(meta, dict) else None
    return attrs if isinstance(attrs, dict) else None


def is_orbitwin_store(path: str | Path) -> bool:
    """True when ``path`` is a directory orbitwin created: its root zarr metadata says so
    and its lock file is there. An attribute alone is not enough: xarray's ``to_zarr``
    copies a dataset's attributes into the user's own stores, but no tool copies the
    lock file, which only orbitwin's creation writes."""
    path = Path(path)
    attrs = _root_attrs(path)
    if attrs is None or not (path / LOCK_NAME).is_file():
        return False
    return MARKER in attrs or ("orbitwin_version" in attrs and "scenario" in attrs)


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


class StoreLock:
    """An exclusive lock on one store, held until `release` or the process ends."""

    def __init__(self, path: Path, fd: int):
        self.path, self._fd = path, fd

    @classmethod
    def acquire(cls, store: str | Path, *, create: bool = False) -> StoreLock:
        """Lock ``store`` or raise `StoreBusyError` naming the holder. With ``create``,
        the lock file is made if missing (a new store, or one written before locks)."""
        store = Path(store)
        lock_path = store / LOCK_NAME
        flags = os.O_RDWR | (os.O_CREAT if create or store.is_dir() else 0)
        try:
            fd = os.open(lock_path, flags, 0o644)
        except OSError as exc:
            raise UserError(f"cannot lock {store}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_holder(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreBusyError(f"{store} is in use by another orbitwin run ({holder}); wait for it to "
                                     "finish or stop it, or write to another --output") from None
            raise UserError(f"cannot lock {store}: {exc.strerror or exc}") from None
        try:  # the path must still name the file we locked (another run may have swapped the store)
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
        except OSError:
            same = False
        if not same:
            os.close(fd)
            raise StoreBusyError(f"{store} was replaced by another orbitwin run while this one started; "
                                 "run again, or write to another --output")
        lock = cls(store, fd)
        lock._write_holder()
        return lock

    def _write_holder(self) -> None:
        text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "since": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text.encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the file drops the flock
            self._fd = -1

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def lock_holder(store: str | Path) -> str | None:
    """Who holds ``store``'s lock (``"pid N on HOST since T"``), or None when nobody does."""
    lock_path = Path(store) / LOCK_NAME
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _read_holder(fd)
    finally:
        os.close(fd)
    return None


# -- checking the target before any work ----------------------------------------------


def check_output(output: str | Path, *, overwrite: bool, scenario_path: str | Path | None = None) -> None:
    """Refuse, before any work, an output that this run may not create or replace.

    Raises `OutputRefusedError` (exit 2) naming the path: it exists and ``overwrite`` is
    not set; it exists and is not an orbitwin store (nor empty); it holds the scenario
    file or the working directory; it is a file; or it lies inside an orbitwin store. A store locked by a running process
    is refused with `StoreBusyError`.
    """
    out = Path(output)
    from twin_core.sweepstore import is_sweep_store

    for above in out.resolve().parents:  # a store inside a run's store: replacing that one deletes it
        if is_orbitwin_store(above) and not is_sweep_store(above):  # a sweep keeps its cases' runs inside
            raise OutputRefusedError(f"{output}: inside the orbitwin store {above}; write to a folder of its own")
    if not out.exists() and not out.is_symlink():
        parent = out.resolve().parent
        if not parent.is_dir():
            raise OutputRefusedError(f"{output}: the folder {parent} does not exist; create it first")
        return
    if not overwrite:
        raise OutputRefusedError(f"{output} exists; pass --overwrite to replace it, or --resume to continue it")
    _check_replaceable(out, scenario_path)
    holder = lock_holder(out)
    if holder:
        raise StoreBusyError(f"{output} is in use by another orbitwin run ({holder}); wait for it to finish "
                             "or stop it, or write to another --output")


def _check_replaceable(out: Path, scenario_path: str | Path | None) -> None:
    if out.is_symlink() or not out.is_dir():
        raise OutputRefusedError(f"--overwrite: {out} is not a directory (a file or a link); orbitwin replaces "
                                 "only its own stores; remove it yourself or choose another --output")
    real = out.resolve()
    if _inside(Path.cwd().resolve(), real):
        raise OutputRefusedError(f"--overwrite: {out} is the working directory or holds it; orbitwin never "
                                 "replaces it; choose another --output")
    if scenario_path is not None and _inside(Path(scenario_path).resolve(), real):
        raise OutputRefusedError(f"--overwrite: {out} holds the scenario file {scenario_path}; orbitwin never "
                                 "replaces it; choose another --output")
    if not is_orbitwin_store(out) and any(p.name != LOCK_NAME for p in out.iterdir()):
        raise OutputRefusedError(f"--overwrite: {out} is not an orbitwin store (no orbitwin metadata in "
                                 f"{out / 'zarr.json'}) and is not empty; orbitwin replaces only its own "
                                 "stores; left untouched")


# -- creating a store aside and publishing it ----------------------------------------


def _sibling(out: Path, kind: str) -> Path:
    return out.parent / f".{out.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def clean_leftovers(output: str | Path) -> list[Path]:
    """Remove what killed runs left beside ``output`` (half-created stores and replaced
    stores not yet deleted). Only folders orbitwin made are touched: the exact name
    `_sibling` gives, holding orbitwin's lock file which nobody holds now, or empty with
    the process named in it gone. Returns what went."""
    out = Path(output).absolute()
    gone: list[Path] = []
    if not out.parent.is_dir():
        return gone
    ours = re.compile(r"\." + re.escape(out.name) + r"\.(creating|replaced)-(\d+)-[0-9a-f]{8}")
    for p in out.parent.iterdir():
        m = ours.fullmatch(p.name)
        if m is None or not p.is_dir() or p.is_symlink():
            continue
        if not (p / LOCK_NAME).is_file():  # killed between making the folder and its lock file
            if not any(p.iterdir()) and not _alive(int(m[2])):
                with contextlib.suppress(OSError):
                    p.rmdir()
                    gone.append(p)
            continue
        try:
            lock = StoreLock.acquire(p)
        except UserError:
            continue
        try:
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
        finally:
            lock.release()
    return gone


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@contextlib.contextmanager
def creating(output: str | Path, *, overwrite: bool,
             scenario_path: str | Path | None = None) -> Iterator[tuple[Path, StoreLock]]:
    """Yield ``(temporary path, lock)`` for a new store; when the block ends without an
    error the store is renamed to ``output`` (replacing an old orbitwin store when
    ``overwrite``), still locked. On an error nothing appears at ``output``.

    The caller keeps the returned lock until its run ends (``lock.release()``).
    """
    out = Path(output).absolute()
    tmp = _sibling(out, "creating")
    tmp.mkdir()
    lock = StoreLock.acquire(tmp, create=True)
    try:
        yield tmp, lock
        publish(tmp, out, overwrite=overwrite, scenario_path=scenario_path)
        lock.path = out
    except BaseException:
        lock.release()
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish(tmp: Path, out: Path, *, overwrite: bool, scenario_path: str | Path | None = None) -> None:
    """Rename the finished store ``tmp`` to ``out``. An existing ``out`` is replaced only
    with ``overwrite`` and only while this process holds its lock."""
    if not out.exists() and not out.is_symlink():
        try:
            os.rename(tmp, out)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise UserError(f"cannot create {out}: {exc.strerror or exc}") from None
            if not overwrite:
                raise OutputRefusedError(f"{out} was created by another process while this run started; "
                                         "pass --overwrite to replace it, or write to another --output") from None
    if not overwrite:
        raise OutputRefusedError(f"{out} exists; pass --overwrite to replace it, or --resume to continue it")
    _check_replaceable(out, scenario_path)
    with StoreLock.acquire(out, create=True):
        _check_replaceable(out, scenario_path)  # the lock is ours: is it still a store we may replace?
        trash = _sibling(out, "replaced")
        os.rename(out, trash)
        os.rename(tmp, out)
    shutil.rmtree(trash, ignore_errors=True)
