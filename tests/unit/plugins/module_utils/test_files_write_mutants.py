# -*- coding: utf-8 -*-
"""_files.write_atomic / write_new (issue 10, mutation run 3): no descriptor left open, on success
and on refusal (a module writing many keystores or exit files must not run out of descriptors, and
an open descriptor keeps a temporary file of key material alive after its unlink); write_new
refuses an existing file without touching its directory, and a file that appears while it writes
is never replaced."""

from __future__ import annotations

import os
import tempfile

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _files


def _open_fds():
    return sorted(os.listdir("/proc/self/fd"))


def test_writes_leave_no_descriptor_open(tmp_path):
    before = _open_fds()
    for i in range(20):
        _files.write_atomic(str(tmp_path / ("f%d" % i)), b"secret %d" % i)
        _files.write_atomic(str(tmp_path / ("f%d" % i)), b"again %d" % i, overwrite=True)
        _files.write_new(str(tmp_path / ("n%d" % i)), b"new %d" % i)
    assert _open_fds() == before
    assert (tmp_path / "f7").read_bytes() == b"again 7" and (tmp_path / "n7").read_bytes() == b"new 7"


def test_a_refused_write_leaves_no_descriptor_and_no_temporary_file(tmp_path):
    target = tmp_path / "key"
    target.write_bytes(b"original")
    before = _open_fds()
    for dummy in range(5):
        with pytest.raises(_files.RefuseOverwrite):
            _files.write_atomic(str(target), b"other")
    assert _open_fds() == before
    assert target.read_bytes() == b"original" and sorted(os.listdir(str(tmp_path))) == ["key"]


def test_write_new_refuses_before_touching_the_directory(tmp_path):
    target = tmp_path / "charon-enr-private-key"
    target.write_bytes(b"original")
    os.utime(str(tmp_path), ns=(1000000000, 1000000000))
    with pytest.raises(_files.RefuseOverwrite, match="already exists; it is never overwritten"):
        _files.write_new(str(target), b"other")
    # No temporary file was created and removed in it (that would change the directory's mtime).
    assert os.stat(str(tmp_path)).st_mtime_ns == 1000000000
    assert target.read_bytes() == b"original"


def test_write_new_never_replaces_a_file_that_appears_while_it_writes(tmp_path, monkeypatch):
    target = tmp_path / "keystore-0.txt"
    real = tempfile.mkstemp

    def racing_mkstemp(*args, **kwargs):
        # FAKE race: another writer creates the target after write_new's existence check.
        target.write_bytes(b"theirs")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", racing_mkstemp)
    with pytest.raises(_files.RefuseOverwrite):
        _files.write_new(str(target), b"ours")
    assert target.read_bytes() == b"theirs" and sorted(os.listdir(str(tmp_path))) == ["keystore-0.txt"]
