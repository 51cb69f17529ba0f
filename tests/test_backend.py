"""Starting taichi: a cache lock left by a killed process is cleared, a live one is not."""

import os
import time

from twin_core.backend import STALE_CACHE_LOCK_S, clear_stale_cache_lock


def test_a_lock_left_by_a_killed_process_is_removed_with_a_notice(tmp_path, capsys):
    lock = tmp_path / "ticache.lock"
    lock.write_bytes(b"")
    old = time.time() - STALE_CACHE_LOCK_S - 60
    os.utime(lock, (old, old))
    assert clear_stale_cache_lock(str(tmp_path))
    assert not lock.exists()
    assert "killed" in capsys.readouterr().err


def test_a_fresh_lock_and_no_lock_are_left_alone(tmp_path, capsys):
    assert not clear_stale_cache_lock(str(tmp_path))
    lock = tmp_path / "ticache.lock"
    lock.write_bytes(b"")
    assert not clear_stale_cache_lock(str(tmp_path))  # another process is reading the cache now
    assert lock.exists() and capsys.readouterr().err == ""
