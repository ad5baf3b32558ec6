# -*- coding: utf-8 -*-
"""_files.write_atomic leaves no descriptor open, on success and on refusal (issue 10, mutation run 3):
a module writing many keystores or exit files must not run out of descriptors, and an open
descriptor keeps a temporary file of key material alive after its unlink."""

from __future__ import annotations

import os

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
