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


def test_relative_data_dir_is_refused_and_nothing_is_created(tmp_path, capsys, monkeypatch):
    # A relative path would land wherever the module runs (Ansible's temporary directory, a home).
    monkeypatch.chdir(str(tmp_path))
    res = run(capsys, data_dir="rel/.charon")[0]
    assert res["failed"] and "data_dir: 'rel/.charon' is not an absolute path" in res["msg"]
    assert os.listdir(str(tmp_path)) == []


def test_a_key_path_that_is_a_link_is_refused_untouched(tmp_path, capsys):
    data_dir = tmp_path / ".charon"
    data_dir.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text(KEY_HEX)
    os.chmod(str(target), 0o644)
    (data_dir / "charon-enr-private-key").symlink_to(target)
    res = run(capsys, data_dir=str(data_dir))[0]
    assert res["failed"] and "exists but is not a regular file" in res["msg"] and "left untouched" in res["msg"]
    # the link's target kept its mode: nothing was done through the link
    assert os.stat(str(target)).st_mode & 0o777 == 0o644 and os.path.islink(str(data_dir / "charon-enr-private-key"))


def test_a_link_swapped_in_after_the_check_is_not_followed(tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / ".charon"
    data_dir.mkdir()
    key_path = data_dir / "charon-enr-private-key"
    key_path.write_text(KEY_HEX)
    os.chmod(str(key_path), 0o644)
    decoy = tmp_path / "decoy"
    decoy.write_text(KEY_HEX)
    os.chmod(str(decoy), 0o644)
    real_fix = charon_enr._files.fix_attributes

    def racing_fix(path, **kw):
        # FAKE race: after the module inspected the key, the file is replaced by a link to another file.
        drift = real_fix(path, **kw)
        os.unlink(path)
        os.symlink(str(decoy), path)
        return drift
    monkeypatch.setattr(charon_enr._files, "fix_attributes", racing_fix)
    res = run(capsys, data_dir=str(data_dir))[0]
    assert res["failed"] and "is a symbolic link; links are never followed" in res["msg"]
    assert os.stat(str(decoy)).st_mode & 0o777 == 0o644 and os.path.islink(str(key_path))
