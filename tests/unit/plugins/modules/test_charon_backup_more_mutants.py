# -*- coding: utf-8 -*-
"""More tests that kill charon_backup's surviving refusal mutants (issue 10, mutation run over main
after the hardening merge): the old vault password reaching the host, a recipient of the wrong
length hidden by an up-to-date backup, a missing path named as such, a file swapped while packed."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _vault
from ansible_collections.dvops.charon.plugins.modules import charon_backup
from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_backup import run


@pytest.fixture
def recipient():
    return _vault.new_recipient()


@pytest.fixture
def keys_dir(tmp_path):
    d = tmp_path / "validator_keys"
    d.mkdir()
    (d / "keystore-0.json").write_text('{"k": 1}')
    return d


def test_old_password_on_the_host_is_refused(capsys, recipient, keys_dir):
    # Rotation's old password is as secret as the new one: it must not reach the host either.
    res = run(capsys, recipient, paths=[str(keys_dir)], old_password="the old vault password")[0]
    assert res["failed"] and res["msg"].startswith("password: the vault password reached the host")
    assert res["sealed"] is None and res["sha256"] is None


@pytest.mark.parametrize("bad", ["", "zz", "00" * 31, "00" * 33])
def test_a_bad_recipient_is_refused_even_when_the_backup_is_up_to_date(capsys, recipient, keys_dir, bad):
    good = run(capsys, recipient, paths=[str(keys_dir)])[0]
    assert not good.get("failed"), good
    # The same content (its digest known) but a recipient that is not a 32-byte X25519 key: a broken
    # configuration is reported now, not at the first backup that has something new to seal.
    res = run(capsys, None, paths=[str(keys_dir)], recipient=bad, known_sha256=good["sha256"])[0]
    assert res["failed"] and res["msg"] == "recipient: a hex X25519 public key (32 bytes) is required"
    assert not res["up_to_date"]


def test_missing_path_is_named_as_missing_on_this_host(tmp_path, capsys, recipient, keys_dir):
    missing = str(tmp_path / "absent")
    res = run(capsys, recipient, paths=[str(keys_dir), missing])[0]
    assert res["failed"] and res["msg"] == "paths: %s does not exist on this host" % missing


def test_a_file_replaced_by_a_fifo_while_packed_is_refused(tmp_path, capsys, recipient, keys_dir, monkeypatch):
    target = keys_dir / "keystore-0.json"
    real_normalize = charon_backup._normalize

    def racing_normalize(info):
        # FAKE race: between the look at the file and its opening, it becomes a FIFO.
        out = real_normalize(info)
        if info.name.endswith("keystore-0.json"):
            os.unlink(str(target))
            os.mkfifo(str(target))
        return out
    monkeypatch.setattr(charon_backup, "_normalize", racing_normalize)
    res = run(capsys, recipient, paths=[str(keys_dir)])[0]
    assert res["failed"] and res["msg"] == "paths: %s changed while it was read" % target
    assert res["sealed"] is None


def test_a_low_order_recipient_key_is_refused(capsys, keys_dir):
    # 32 bytes, but the all-zero point: X25519 gives no shared secret, nothing can be sealed to it.
    res = run(capsys, None, paths=[str(keys_dir)], recipient="00" * 32)[0]
    assert res["failed"] and res["msg"].startswith("recipient: the recipient key is not a usable X25519 public key")
    assert res["sealed"] is None


def test_a_missing_library_is_named_before_anything_is_read(capsys, recipient, keys_dir, monkeypatch):
    def missing(name):
        raise charon_backup._deps.MissingDependency("cryptography is missing (FAKE, for this test)")
    monkeypatch.setattr(charon_backup._deps, "require", missing)
    res = run(capsys, recipient, paths=[str(keys_dir)])[0]
    assert res["failed"] and res["msg"] == "cryptography is missing (FAKE, for this test)"
    assert res["sealed"] is None and res["sha256"] is None
