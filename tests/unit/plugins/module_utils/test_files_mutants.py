# -*- coding: utf-8 -*-
"""Tests that kill _files' surviving mutants (issue 10): never overwrite, never leave a temporary
file behind, mode and owner from the start, and the directory/attribute helpers."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _files

UID, GID = os.getuid(), os.getgid()


def _listing(path):
    return sorted(os.listdir(str(path)))


def test_write_new_creates_with_mode_and_content(tmp_path):
    target = tmp_path / "key"
    _files.write_new(str(target), b"secret", mode=0o400, owner=UID, group=GID)
    assert target.read_bytes() == b"secret"
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o400
    assert _listing(tmp_path) == ["key"]          # no temporary file left


def test_write_new_never_overwrites(tmp_path):
    target = tmp_path / "key"
    target.write_bytes(b"original")
    with pytest.raises(_files.RefuseOverwrite, match="key already exists; it is never overwritten"):
        _files.write_new(str(target), b"new")
    assert target.read_bytes() == b"original" and _listing(tmp_path) == ["key"]


def test_write_new_refuses_a_dangling_symlink(tmp_path):
    link = tmp_path / "key"
    os.symlink(str(tmp_path / "elsewhere"), str(link))
    with pytest.raises(_files.RefuseOverwrite):
        _files.write_new(str(link), b"new")
    assert not os.path.exists(str(tmp_path / "elsewhere")) and _listing(tmp_path) == ["key"]


def test_write_atomic_without_overwrite_refuses_a_file_that_appeared(tmp_path):
    """The race write_new cannot see: the target appears between its check and the final link."""
    target = tmp_path / "lock"
    target.write_bytes(b"theirs")
    with pytest.raises(_files.RefuseOverwrite, match="never overwritten"):
        _files.write_atomic(str(target), b"mine", overwrite=False)
    assert target.read_bytes() == b"theirs" and _listing(tmp_path) == ["lock"]


def test_write_atomic_overwrite_replaces_and_cleans_up(tmp_path):
    target = tmp_path / "state"
    target.write_bytes(b"old")
    os.chmod(str(target), 0o644)
    _files.write_atomic(str(target), b"new" * 10000, mode=0o600, overwrite=True)
    assert target.read_bytes() == b"new" * 10000
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o600
    assert _listing(tmp_path) == ["state"]


def test_write_atomic_default_is_no_overwrite(tmp_path):
    target = tmp_path / "f"
    _files.write_atomic(str(target), b"1")
    with pytest.raises(_files.RefuseOverwrite):
        _files.write_atomic(str(target), b"2")
    assert target.read_bytes() == b"1" and _listing(tmp_path) == ["f"]
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o600


def test_write_atomic_removes_its_temporary_file_on_error(tmp_path, monkeypatch):
    def failing_link(src, dst):
        raise OSError(errno.EPERM, "no links here")
    monkeypatch.setattr(_files.os, "link", failing_link)
    with pytest.raises(OSError, match="no links here"):
        _files.write_atomic(str(tmp_path / "f"), b"data")
    assert _listing(tmp_path) == []


def test_write_atomic_gives_the_final_mode_before_the_file_appears(tmp_path, monkeypatch):
    seen = {}
    real_link = os.link

    def spy(src, dst):
        seen["mode"] = stat.S_IMODE(os.stat(src).st_mode)
        seen["data"] = open(src, "rb").read()
        return real_link(src, dst)
    monkeypatch.setattr(_files.os, "link", spy)
    _files.write_atomic(str(tmp_path / "f"), b"abc", mode=0o444)
    assert seen == {"mode": 0o444, "data": b"abc"}


def test_write_atomic_fsyncs_file_and_directory(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def spy(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        return real(fd)
    monkeypatch.setattr(_files.os, "fsync", spy)
    _files.write_atomic(str(tmp_path / "f"), b"abc")
    assert synced == [False, True]


def test_chown_is_applied_only_when_asked(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(_files.os, "chown", lambda path, uid, gid: calls.append((uid, gid)))
    _files.write_new(str(tmp_path / "a"), b"x")
    _files.write_new(str(tmp_path / "b"), b"x", owner=UID)
    _files.write_new(str(tmp_path / "c"), b"x", group=GID)
    _files.write_new(str(tmp_path / "d"), b"x", owner="%d" % UID, group=GID)
    assert calls == [(UID, -1), (-1, GID), (UID, GID)]


def test_fix_attributes_reports_only_differences(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x")
    os.chmod(str(f), 0o644)
    assert _files.fix_attributes(str(f), mode=0o644, owner=UID, group=GID) == {}
    assert _files.fix_attributes(str(f)) == {}
    assert _files.fix_attributes(str(f), mode=0o600) == {"before": {"mode": "0644"}, "after": {"mode": "0600"}}
    other_uid, other_gid = UID + 1, GID + 1
    assert _files.fix_attributes(str(f), owner=other_uid) == {"before": {"owner": UID}, "after": {"owner": other_uid}}
    assert _files.fix_attributes(str(f), group=str(other_gid)) == {"before": {"group": GID},
                                                                   "after": {"group": other_gid}}


def test_ensure_dir(tmp_path, monkeypatch):
    path = tmp_path / "a" / "b"
    assert _files.ensure_dir(str(path), mode=0o700) is True
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o700     # whatever the umask
    assert _files.ensure_dir(str(path), mode=0o755) is False
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o700     # an existing dir is left alone
    calls = []
    monkeypatch.setattr(_files.os, "chown", lambda p, uid, gid: calls.append((p, uid, gid)))
    _files.ensure_dir(str(tmp_path / "c"), owner=UID, group=GID)
    assert calls == [(str(tmp_path / "c"), UID, GID)]
    old = os.umask(0o077)
    try:
        _files.ensure_dir(str(tmp_path / "d"), mode=0o755)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(str(tmp_path / "d")).st_mode) == 0o755
