# -*- coding: utf-8 -*-
"""charon_backup in-process (the host side): deterministic tar sealed to the controller's one-time key,
refusals, the up-to-date shortcut, symlinks (resolved inside the data dir, refused outside), and that a
password never reaches the host. The controller side is in test_backup_store.py and the integration tests."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.module_utils import _vault
from ansible_collections.dvops.charon.plugins.modules import charon_backup

KEY = b"41d3ff12045b73c870529fe44f70dca2745bafbe1698ffc3c8759eef3cfbaee1"


@pytest.fixture
def recipient():
    return _vault.new_recipient()


def run(capsys, key, **args):
    args.setdefault("dest", "/backups/node1")
    args.setdefault("name", "test")
    if key is not None:
        args.setdefault("recipient", binascii.hexlify(key[1]).decode())
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            charon_backup.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def opened(res, recipient):
    return _vault.open_sealed(base64.b64decode(res["sealed"]), recipient[0])


def members(res, recipient):
    with tarfile.open(fileobj=io.BytesIO(opened(res, recipient))) as tar:
        return {m.name: (m, tar.extractfile(m).read() if m.isreg() else None) for m in tar.getmembers()}


@pytest.fixture
def charon_dir(tmp_path):
    d = tmp_path / ".charon"
    (d / "validator_keys").mkdir(parents=True)
    key = d / "charon-enr-private-key"
    key.write_bytes(KEY)
    os.chmod(key, 0o600)
    (d / "validator_keys" / "keystore-0.json").write_text('{"crypto": {}}')
    (d / "validator_keys" / "keystore-0.txt").write_text("pw0")
    return d


def test_seals_a_tar_only_the_recipient_opens(capsys, charon_dir, recipient):
    res, out = run(capsys, recipient, paths=[str(charon_dir / "charon-enr-private-key")])
    assert not res.get("failed") and not res["changed"]
    plain = opened(res, recipient)
    assert hashlib.sha256(plain).hexdigest() == res["sha256"] and len(plain) == res["size"]
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        info = tar.getmember("charon-enr-private-key")
        assert tar.extractfile(info).read() == KEY
        assert info.mode == 0o600 and info.uid == 0 and info.mtime == 0
    assert KEY.decode() not in out
    other = _vault.new_recipient()
    with pytest.raises(_vault.VaultError):
        _vault.open_sealed(base64.b64decode(res["sealed"]), other[0])


def test_a_password_that_reaches_the_host_is_refused(capsys, charon_dir, recipient):
    res, out = run(capsys, recipient, paths=[str(charon_dir / "charon-enr-private-key")], password="leaked-password")
    assert res["failed"] and "action plugin" in res["msg"] and res["sealed"] is None
    assert "leaked-password" not in out


@pytest.mark.parametrize("bad", [None, "", "zz", "00" * 31])
def test_recipient_is_required(capsys, charon_dir, bad):
    args = {"paths": [str(charon_dir / "charon-enr-private-key")]}
    if bad is not None:
        args["recipient"] = bad
    res, _out = run(capsys, None, **args)
    assert res["failed"] and res["msg"].startswith("recipient:")


def test_directories_and_files_are_packed_sorted(capsys, charon_dir, recipient):
    res, _out = run(capsys, recipient, paths=[str(charon_dir / "validator_keys"), str(charon_dir / "charon-enr-private-key")])
    assert res["members"] == ["charon-enr-private-key", "validator_keys", "validator_keys/keystore-0.json",
                              "validator_keys/keystore-0.txt"]


def test_digest_is_stable_and_tracks_content(capsys, charon_dir, recipient):
    key = charon_dir / "charon-enr-private-key"
    first, _out = run(capsys, recipient, paths=[str(key)])
    os.utime(key, (1, 1))
    second, _out = run(capsys, recipient, paths=[str(key)])
    assert first["sha256"] == second["sha256"] and first["sealed"] != second["sealed"]
    key.write_bytes(KEY[::-1])
    third, _out = run(capsys, recipient, paths=[str(key)])
    assert third["sha256"] != first["sha256"]


def test_known_digest_skips_sealing(capsys, charon_dir, recipient):
    key = str(charon_dir / "charon-enr-private-key")
    first, _out = run(capsys, recipient, paths=[key])
    again, _out = run(capsys, recipient, paths=[key], known_sha256=first["sha256"].upper())
    assert again["up_to_date"] and again["sealed"] is None and not again["changed"]
    other, _out = run(capsys, recipient, paths=[key], known_sha256="0" * 64)
    assert not other["up_to_date"] and other["sealed"]


def test_missing_path_names_the_field(capsys, tmp_path, recipient):
    res, _out = run(capsys, recipient, paths=[str(tmp_path / "nope")])
    assert res["failed"] and res["msg"].startswith("paths:") and "nope" in res["msg"]


def test_duplicate_base_names_are_refused(capsys, tmp_path, recipient):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "key").write_bytes(b"x")
    res, _out = run(capsys, recipient, paths=[str(tmp_path / "a" / "key"), str(tmp_path / "b" / "key")])
    assert res["failed"] and "same base name" in res["msg"]


def test_unreadable_file_fails_cleanly(capsys, charon_dir, recipient, monkeypatch):
    real_open = os.open

    def deny(path, *a, **kw):
        if str(path).endswith("charon-enr-private-key"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *a, **kw)

    monkeypatch.setattr(os, "open", deny)
    res, _out = run(capsys, recipient, paths=[str(charon_dir / "charon-enr-private-key")])
    assert res["failed"] and "cannot read" in res["msg"] and "Permission denied" in res["msg"]


# --- symlinks (issue 10, Medium): a link used to be stored as a bare link, the backup holding no key ---

def test_symlinked_key_inside_the_data_dir_is_stored_as_its_content(capsys, charon_dir, recipient):
    (charon_dir / "keys").mkdir()
    os.replace(str(charon_dir / "charon-enr-private-key"), str(charon_dir / "keys" / "enr"))
    os.symlink("keys/enr", str(charon_dir / "charon-enr-private-key"))
    res, _out = run(capsys, recipient, paths=[str(charon_dir / "charon-enr-private-key")], root=str(charon_dir))
    assert not res.get("failed"), res["msg"]
    info, content = members(res, recipient)["charon-enr-private-key"]
    assert info.isreg() and not info.issym() and content == KEY


def test_symlinked_validator_keys_inside_the_data_dir_is_stored_as_a_tree(capsys, charon_dir, recipient):
    os.rename(str(charon_dir / "validator_keys"), str(charon_dir / "vk-real"))
    os.symlink("vk-real", str(charon_dir / "validator_keys"))
    os.symlink("keystore-0.txt", str(charon_dir / "vk-real" / "keystore-1.txt"))  # a link inside the tree too
    res, _out = run(capsys, recipient, paths=[str(charon_dir / "validator_keys")], root=str(charon_dir))
    assert not res.get("failed"), res["msg"]
    got = members(res, recipient)
    assert got["validator_keys"][0].isdir()
    assert got["validator_keys/keystore-0.txt"][1] == b"pw0"
    assert got["validator_keys/keystore-1.txt"][0].isreg() and got["validator_keys/keystore-1.txt"][1] == b"pw0"
    assert not any(m.issym() for m, dummy in got.values())


@pytest.mark.parametrize("what", ["key", "validator_keys", "inside"])
def test_link_out_of_the_data_dir_is_refused(capsys, charon_dir, recipient, tmp_path, what):
    outside = tmp_path / "elsewhere"
    (outside / "vk").mkdir(parents=True)
    (outside / "enr").write_bytes(KEY)
    (outside / "vk" / "keystore-0.txt").write_text("pw0")
    if what == "key":
        os.unlink(str(charon_dir / "charon-enr-private-key"))
        os.symlink(str(outside / "enr"), str(charon_dir / "charon-enr-private-key"))
        path = charon_dir / "charon-enr-private-key"
    elif what == "validator_keys":
        os.rename(str(charon_dir / "validator_keys"), str(tmp_path / "moved"))
        os.symlink(str(outside / "vk"), str(charon_dir / "validator_keys"))
        path = charon_dir / "validator_keys"
    else:
        os.symlink("/etc/shadow" if os.path.exists("/etc/shadow") else str(outside / "enr"),
                   str(charon_dir / "validator_keys" / "keystore-9.txt"))
        path = charon_dir / "validator_keys"
    res, out = run(capsys, recipient, paths=[str(path)], root=str(charon_dir))
    assert res["failed"] and res["sealed"] is None
    assert "outside" in res["msg"] and str(charon_dir) in res["msg"] and res["msg"].startswith("paths:")
    assert "Traceback" not in out


def test_dangling_link_is_refused(capsys, charon_dir, recipient):
    os.unlink(str(charon_dir / "charon-enr-private-key"))
    os.symlink("gone", str(charon_dir / "charon-enr-private-key"))
    res, _out = run(capsys, recipient, paths=[str(charon_dir / "charon-enr-private-key")], root=str(charon_dir))
    assert res["failed"] and "does not exist" in res["msg"] and "nothing to back up" in res["msg"]


def test_link_loop_is_refused(capsys, charon_dir, recipient):
    os.symlink("..", str(charon_dir / "validator_keys" / "up"))
    res, _out = run(capsys, recipient, paths=[str(charon_dir / "validator_keys")], root=str(charon_dir))
    assert res["failed"] and "loop" in res["msg"]


def test_root_defaults_to_the_directory_holding_the_path(capsys, charon_dir, recipient, tmp_path):
    (tmp_path / "enr").write_bytes(KEY)
    os.unlink(str(charon_dir / "charon-enr-private-key"))
    os.symlink(str(tmp_path / "enr"), str(charon_dir / "charon-enr-private-key"))
    res, _out = run(capsys, recipient, paths=[str(charon_dir / "charon-enr-private-key")])
    assert res["failed"] and "outside" in res["msg"]


def test_fifo_is_refused_without_hanging(capsys, charon_dir, recipient):
    os.mkfifo(str(charon_dir / "validator_keys" / "fifo"))
    res, _out = run(capsys, recipient, paths=[str(charon_dir / "validator_keys")], root=str(charon_dir))
    assert res["failed"] and "neither a file nor a directory" in res["msg"]
