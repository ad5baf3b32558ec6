# -*- coding: utf-8 -*-
"""Tests that kill charon_backup's surviving refusal mutants (issue 10): nothing to pack, a missing
path, a FIFO; each a named failure that returns no content."""

from __future__ import annotations

import os

from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_backup import PASSWORD, run


def test_no_paths_is_refused(capsys):
    res = run(capsys, paths=[], password=PASSWORD)[0]
    assert res["failed"] and res["msg"] == "paths: give at least one file or directory to back up"
    assert res["content"] is None


def test_missing_path_is_refused(tmp_path, capsys):
    missing = str(tmp_path / "absent")
    res = run(capsys, paths=[missing], password=PASSWORD)[0]
    assert res["failed"] and res["msg"] == "paths: %s does not exist on this host" % missing
    assert res["content"] is None


def test_fifo_is_refused(tmp_path, capsys):
    d = tmp_path / "keys"
    d.mkdir()
    (d / "key").write_text("k")
    os.mkfifo(str(d / "pipe"))
    res = run(capsys, paths=[str(d)], password=PASSWORD)[0]
    assert res["failed"] and "is neither a file, a directory nor a symlink" in res["msg"]
    assert res["content"] is None and res["sha256"] is None
