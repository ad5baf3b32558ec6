# -*- coding: utf-8 -*-
"""charon_backup in-process: deterministic tar, vault text ansible reads, refusals, up-to-date shortcut."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.dvops.charon.plugins.modules import charon_backup

PASSWORD = "backup-password"
KEY = b"41d3ff12045b73c870529fe44f70dca2745bafbe1698ffc3c8759eef3cfbaee1"


def run(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            charon_backup.main()
    out = capsys.readouterr().out
    return json.loads(out), out


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


def decrypt(text):
    return bytes(VaultLib([("default", VaultSecret(PASSWORD.encode()))]).decrypt(text))


def test_encrypts_a_tar_ansible_vault_reads(capsys, charon_dir):
    key = str(charon_dir / "charon-enr-private-key")
    res, out = run(capsys, paths=[key], password=PASSWORD)
    assert not res.get("failed") and not res["changed"] and res["encrypted"]
    assert res["content"].startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    plain = decrypt(res["content"])
    assert hashlib.sha256(plain).hexdigest() == res["sha256"] and len(plain) == res["size"]
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        info = tar.getmember("charon-enr-private-key")
        assert tar.extractfile(info).read() == KEY
        assert info.mode == 0o600 and info.uid == 0 and info.mtime == 0
    assert KEY.decode() not in out and PASSWORD not in out


def test_directories_and_files_are_packed_sorted(capsys, charon_dir):
    res, _out = run(capsys, paths=[str(charon_dir / "validator_keys"), str(charon_dir / "charon-enr-private-key")], password=PASSWORD)
    assert res["members"] == ["charon-enr-private-key", "validator_keys", "validator_keys/keystore-0.json",
                              "validator_keys/keystore-0.txt"]


def test_digest_is_stable_and_tracks_content(capsys, charon_dir):
    key = charon_dir / "charon-enr-private-key"
    first, _out = run(capsys, paths=[str(key)], password=PASSWORD)
    os.utime(key, (1, 1))
    second, _out = run(capsys, paths=[str(key)], password=PASSWORD)
    assert first["sha256"] == second["sha256"] and first["content"] != second["content"]
    key.write_bytes(KEY[::-1])
    third, _out = run(capsys, paths=[str(key)], password=PASSWORD)
    assert third["sha256"] != first["sha256"]


def test_known_digest_skips_encryption(capsys, charon_dir):
    key = str(charon_dir / "charon-enr-private-key")
    first, _out = run(capsys, paths=[key], password=PASSWORD)
    again, _out = run(capsys, paths=[key], password=PASSWORD, known_sha256=first["sha256"].upper(),
                      known_verifier=first["verifier"])
    assert again["up_to_date"] and again["content"] is None and not again["changed"]


def test_refuses_plaintext_without_permission(capsys, charon_dir):
    res, out = run(capsys, paths=[str(charon_dir / "charon-enr-private-key")])
    assert res["failed"] and "password" in res["msg"] and res["content"] is None
    assert KEY.decode() not in out


def test_plaintext_when_allowed(capsys, charon_dir):
    res, _out = run(capsys, paths=[str(charon_dir / "charon-enr-private-key")], allow_plaintext=True)
    assert not res.get("failed") and not res["encrypted"]
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(res["content"]))) as tar:
        assert tar.extractfile("charon-enr-private-key").read() == KEY


def test_missing_path_names_the_field(capsys, tmp_path):
    res, _out = run(capsys, paths=[str(tmp_path / "nope")], password=PASSWORD)
    assert res["failed"] and res["msg"].startswith("paths:") and "nope" in res["msg"]


def test_duplicate_base_names_are_refused(capsys, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "key").write_bytes(b"x")
    res, _out = run(capsys, paths=[str(tmp_path / "a" / "key"), str(tmp_path / "b" / "key")], password=PASSWORD)
    assert res["failed"] and "same base name" in res["msg"]


def test_unreadable_file_fails_cleanly(capsys, charon_dir, monkeypatch):
    real_open = open

    def deny(path, *a, **kw):
        if str(path).endswith("charon-enr-private-key"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *a, **kw)

    monkeypatch.setattr("builtins.open", deny)
    res, _out = run(capsys, paths=[str(charon_dir / "charon-enr-private-key")], password=PASSWORD)
    assert res["failed"] and "cannot read" in res["msg"] and "Permission denied" in res["msg"]


def test_changed_password_reencrypts(capsys, charon_dir):
    key = str(charon_dir / "charon-enr-private-key")
    first, out = run(capsys, paths=[key], password=PASSWORD)
    assert first["verifier"] and PASSWORD not in out
    same, _out = run(capsys, paths=[key], password=PASSWORD, known_sha256=first["sha256"], known_verifier=first["verifier"])
    assert same["up_to_date"] and same["verifier"] == first["verifier"]
    other, _out = run(capsys, paths=[key], password="new-password", known_sha256=first["sha256"], known_verifier=first["verifier"])
    assert not other["up_to_date"] and other["content"] and other["verifier"] != first["verifier"]
    legacy, _out = run(capsys, paths=[key], password=PASSWORD, known_sha256=first["sha256"])
    assert not legacy["up_to_date"]
