# -*- coding: utf-8 -*-
"""Tests that kill charon_backup's surviving refusal mutants (issue 10): nothing to pack, a missing
path, a FIFO; each a named failure that seals nothing."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _vault
from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_backup import run


@pytest.fixture
def recipient():
    return _vault.new_recipient()


def test_no_paths_is_refused(capsys, recipient):
    res = run(capsys, recipient, paths=[])[0]
    assert res["failed"] and res["msg"] == "paths: give at least one file or directory to back up"
    assert res["sealed"] is None


def test_missing_path_is_refused(tmp_path, capsys, recipient):
    missing = str(tmp_path / "absent")
    res = run(capsys, recipient, paths=[missing])[0]
    assert res["failed"] and res["msg"].startswith("paths: ") and missing in res["msg"]
    assert res["sealed"] is None


def test_fifo_is_refused(tmp_path, capsys, recipient):
    d = tmp_path / "keys"
    d.mkdir()
    (d / "key").write_text("k")
    os.mkfifo(str(d / "pipe"))
    res = run(capsys, recipient, paths=[str(d)], root=str(tmp_path))[0]
    assert res["failed"] and "neither a file nor a directory" in res["msg"]
    assert res["sealed"] is None and res["sha256"] is None
