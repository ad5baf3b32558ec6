# -*- coding: utf-8 -*-
"""Tests that kill charon_enr's surviving refusal mutants (issue 10): a key that appears while the
module runs is never overwritten, and every OS error is a named failure, not a traceback."""

from __future__ import annotations

import errno
import os

from ansible_collections.dvops.charon.plugins.module_utils import _k1
from ansible_collections.dvops.charon.plugins.modules import charon_enr
from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_enr import KEY_HEX, run


def test_a_key_that_appears_meanwhile_is_never_overwritten(tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / ".charon"
    key_path = data_dir / "charon-enr-private-key"
    real_generate = _k1.generate_private_key

    def racing_generate():
        # Another run (or the operator restoring a backup) writes the key after this module looked.
        data_dir.mkdir(exist_ok=True)
        key_path.write_text(KEY_HEX)
        return real_generate()
    monkeypatch.setattr(charon_enr._k1, "generate_private_key", racing_generate)
    res = run(capsys, data_dir=str(data_dir))[0]
    assert res["failed"] and "appeared while this module ran; it is never overwritten" in res["msg"]
    assert key_path.read_text() == KEY_HEX and not res["created"]
    assert sorted(os.listdir(str(data_dir))) == ["charon-enr-private-key"]


def test_data_dir_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    res = run(capsys, data_dir=str(f))[0]
    assert res["failed"] and "data_dir: %s exists but is not a directory" % f in res["msg"]
    assert f.read_text() == "x"


def test_os_errors_are_named(tmp_path, capsys, monkeypatch):
    def denied(*args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(charon_enr._files, "ensure_dir", denied)
    res = run(capsys, data_dir=str(tmp_path / "new" / ".charon"))[0]
    assert res["failed"] and "cannot create" in res["msg"] and "Permission denied (run with become" in res["msg"]
    monkeypatch.undo()

    data_dir = tmp_path / "have"
    data_dir.mkdir()
    (data_dir / "charon-enr-private-key").write_text(KEY_HEX)
    os.chmod(str(data_dir / "charon-enr-private-key"), 0o644)
    monkeypatch.setattr(charon_enr._files, "apply_attributes", denied)
    res = run(capsys, data_dir=str(data_dir))[0]
    assert res["failed"] and "cannot set owner/group/mode" in res["msg"] and "Permission denied" in res["msg"]
    monkeypatch.setattr(charon_enr._files, "fix_attributes", denied)
    res = run(capsys, data_dir=str(data_dir))[0]
    assert res["failed"] and "cannot inspect" in res["msg"] and "Permission denied" in res["msg"]
