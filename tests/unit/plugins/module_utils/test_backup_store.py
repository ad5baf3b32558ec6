# -*- coding: utf-8 -*-
"""The controller's backup store and the sealed box: a backup is replaced only under the password that made
it, rotation needs the old one and re-encrypts every backup of the host (and finishes a stopped one), the
seal binds both keys and refuses any change."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.dvops.charon.plugins.module_utils import _backup_store as store, _vault

TAR = b"pretend this is a tar of a key share" * 10
OLD, NEW = "old-host-password", "new-host-password"


def vault_open(path, password):
    with open(path) as handle:
        return bytes(VaultLib([("default", VaultSecret(password.encode()))]).decrypt(handle.read()))


@pytest.fixture
def dest(tmp_path):
    d = str(tmp_path / "backups" / "node2")
    assert store.ensure_dir(d, "node2") is True
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for name in ("charon-enr-private-key", "validator_keys"):
        store.write(d, name, TAR + name.encode(), hashlib.sha256(TAR + name.encode()).hexdigest(), OLD)
    return d


def test_written_backup_opens_with_ansible_vault_and_records_digest_and_verifier(dest):
    path = os.path.join(dest, "validator_keys.vault")
    assert vault_open(path, OLD) == TAR + b"validator_keys"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert store.known_sha256(dest, "validator_keys", True) == hashlib.sha256(TAR + b"validator_keys").hexdigest()
    assert store.owned_by(dest, "validator_keys", OLD) and not store.owned_by(dest, "validator_keys", NEW)
    assert store.vault_names(dest) == ["charon-enr-private-key", "validator_keys"]


def test_same_password_owns_everything(dest):
    assert store.check_owner(dest, "node2", OLD) == []
    assert not store.needs_verifier(dest, "validator_keys", OLD)


def test_other_password_is_refused_naming_host_and_what_to_do(dest):
    before = {n: open(os.path.join(dest, n), "rb").read() for n in os.listdir(dest)}
    with pytest.raises(store.StoreError) as err:
        store.check_owner(dest, "node2", NEW)
    msg = str(err.value)
    assert msg.startswith("node2:") and "charon_backup_rotate=true" in msg and "charon_backup_old_vault_password" in msg
    assert "validator_keys" in msg and dest in msg and NEW not in msg and OLD not in msg
    assert before == {n: open(os.path.join(dest, n), "rb").read() for n in os.listdir(dest)}


def test_vault_without_verifier_is_proven_by_opening_it(dest):
    os.unlink(os.path.join(dest, "validator_keys.verifier"))
    assert store.owned_by(dest, "validator_keys", OLD)
    assert not store.owned_by(dest, "validator_keys", NEW)
    assert store.needs_verifier(dest, "validator_keys", OLD)


def test_stray_verifier_is_replaced_when_its_vault_is_gone(tmp_path):
    d = str(tmp_path)
    with open(os.path.join(d, "k.verifier"), "w") as handle:
        handle.write(_vault.password_verifier(OLD))
    store.write(d, "k", TAR, hashlib.sha256(TAR).hexdigest(), NEW)
    assert store.owned_by(d, "k", NEW)


def test_rotation_needs_the_old_password(dest):
    with pytest.raises(store.StoreError, match="needs the old password"):
        store.check_owner(dest, "node2", NEW, rotate=True)
    with pytest.raises(store.StoreError, match="neither"):
        store.check_owner(dest, "node2", NEW, rotate=True, old_password="a typo")


def test_rotation_reencrypts_every_backup_of_the_host_and_is_then_done(dest):
    names = store.check_owner(dest, "node2", NEW, rotate=True, old_password=OLD)
    assert names == ["charon-enr-private-key", "validator_keys"]
    store.rotate(dest, names, OLD, NEW)
    for name in names:
        assert vault_open(os.path.join(dest, name + ".vault"), NEW) == TAR + name.encode()
        assert store.owned_by(dest, name, NEW) and not store.owned_by(dest, name, OLD)
    assert store.check_owner(dest, "node2", NEW, rotate=True, old_password=OLD) == []


def test_rotation_stopped_between_vault_and_verifier_is_completed(dest):
    path = os.path.join(dest, "validator_keys.vault")
    with open(path, "w") as handle:           # as if the run died after replacing the vault only
        handle.write(_vault.encrypt(TAR + b"validator_keys", NEW))
    names = store.check_owner(dest, "node2", NEW, rotate=True, old_password=OLD)
    assert "validator_keys" in names
    store.rotate(dest, names, OLD, NEW)
    assert store.owned_by(dest, "validator_keys", NEW) and vault_open(path, NEW) == TAR + b"validator_keys"


def test_unwritable_backup_dir_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(store.StoreError) as err:
        store.ensure_dir(str(blocker / "node1"), "node1")
    assert str(err.value).startswith("node1:") and "charon_backup_dir" in str(err.value)
    with pytest.raises(store.StoreError):
        store.ensure_dir(str(blocker / "node1"), "node1", check_mode=True)
    assert not store.ensure_dir(str(tmp_path), "node1")


def test_plaintext_is_base64_and_needs_no_verifier(tmp_path):
    d = str(tmp_path)
    store.write(d, "k", TAR, hashlib.sha256(TAR).hexdigest(), None)
    assert os.path.exists(os.path.join(d, "k.tar.b64")) and not os.path.exists(os.path.join(d, "k.verifier"))
    assert store.known_sha256(d, "k", False) == hashlib.sha256(TAR).hexdigest()
    assert store.known_sha256(d, "k", True) is None      # no vault: the digest is not trusted for it


# --- the sealed box that carries a tar from the host to the controller ---

def test_seal_round_trip_and_fresh_randomness():
    private, public = _vault.new_recipient()
    a, b = _vault.seal(TAR, public), _vault.seal(TAR, public)
    assert a != b and a[4:36] != b[4:36] and a[36:48] != b[36:48]      # new ephemeral key and nonce each time
    assert _vault.open_sealed(a, private) == TAR and TAR not in a


@pytest.mark.parametrize("offset", [0, 5, 40, 60, -1])
def test_any_changed_byte_is_refused(offset):
    private, public = _vault.new_recipient()
    sealed = bytearray(_vault.seal(TAR, public))
    sealed[offset] ^= 1
    with pytest.raises(_vault.VaultError):
        _vault.open_sealed(bytes(sealed), private)


def test_seal_binds_the_recipient_key(monkeypatch):
    """The key derivation includes the recipient key: a seal whose HKDF info omits it does not open."""
    private, public = _vault.new_recipient()
    real = _vault._seal_key
    monkeypatch.setattr(_vault, "_seal_key", lambda shared, rec, eph: real(shared, b"", eph))
    sealed = _vault.seal(TAR, public)
    monkeypatch.setattr(_vault, "_seal_key", real)
    with pytest.raises(_vault.VaultError):
        _vault.open_sealed(sealed, private)


def test_seal_refuses_a_bad_recipient():
    with pytest.raises(_vault.VaultError):
        _vault.seal(TAR, b"\x00" * 31)
