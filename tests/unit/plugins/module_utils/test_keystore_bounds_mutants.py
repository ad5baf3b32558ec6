# -*- coding: utf-8 -*-
"""_keystore.decrypt's bounds are inclusive and name the field (issue 10, mutation run 3): dklen 32
and 64 decrypt, the pbkdf2 round and scrypt work limits accept a keystore exactly at the limit and
refuse one above it.  The limits are lowered here (monkeypatch) so that "exactly at the limit" is a
keystore this test can afford to derive; the comparison under test is the module's own."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _keystore

SECRET = _bls.sk_to_bytes(77)


@pytest.fixture(scope="module")
def pbkdf2():
    return _keystore.encrypt(SECRET, "pw", rounds=16)


@pytest.fixture(scope="module")
def scrypt():
    return _keystore.encrypt(SECRET, "pw", kdf="scrypt", rounds=16)


@pytest.mark.parametrize("dklen", [32, 48, 64])
def test_dklen_from_32_to_64_decrypts(pbkdf2, scrypt, dklen):
    # Both KDFs end in PBKDF2-HMAC-SHA256, whose first 32 output bytes do not depend on dklen.
    for ks in (pbkdf2, scrypt):
        ks = copy.deepcopy(ks)
        ks["crypto"]["kdf"]["params"]["dklen"] = dklen
        assert _keystore.decrypt(ks, "pw") == SECRET


@pytest.mark.parametrize("dklen", [31, 65])
def test_dklen_outside_32_to_64_is_refused(pbkdf2, scrypt, dklen):
    for ks in (pbkdf2, scrypt):
        ks = copy.deepcopy(ks)
        ks["crypto"]["kdf"]["params"]["dklen"] = dklen
        with pytest.raises(_keystore.KeystoreError, match=r"\Acrypto\.kdf\.params\.dklen must be 32 to 64, got %d\Z"
                           % dklen):
            _keystore.decrypt(ks, "pw")


def test_pbkdf2_rounds_limit_is_inclusive(pbkdf2, monkeypatch):
    monkeypatch.setattr(_keystore, "PBKDF2_MAX_ROUNDS", 16)
    assert _keystore.decrypt(pbkdf2, "pw") == SECRET
    monkeypatch.setattr(_keystore, "PBKDF2_MAX_ROUNDS", 15)
    with pytest.raises(_keystore.KeystoreError, match=r"\Acrypto\.kdf\.params\.c = 16 is more than the 15 pbkdf2 rounds"):
        _keystore.decrypt(pbkdf2, "pw")


def test_scrypt_work_limit_is_inclusive(scrypt, monkeypatch):
    p = scrypt["crypto"]["kdf"]["params"]
    work = p["n"] * p["r"] * p["p"]
    monkeypatch.setattr(_keystore, "SCRYPT_MAX_WORK", work)
    assert _keystore.decrypt(scrypt, "pw") == SECRET
    monkeypatch.setattr(_keystore, "SCRYPT_MAX_WORK", work - 1)
    with pytest.raises(_keystore.KeystoreError, match=r"\Acrypto\.kdf\.params\.p/n/r: scrypt work n\*r\*p = %d is more "
                       r"than the %d allowed" % (work, work - 1)):
        _keystore.decrypt(scrypt, "pw")


@pytest.mark.parametrize("field,value,msg", [
    ("version", 3, "version must be 4, got 3"),
    ("version", "4", "version must be 4, got '4'"),
])
def test_only_version_4_is_read(pbkdf2, field, value, msg):
    ks = dict(copy.deepcopy(pbkdf2), **{field: value})
    with pytest.raises(_keystore.KeystoreError, match=r"\A%s\Z" % msg):
        _keystore.decrypt(ks, "pw")


@pytest.mark.parametrize("where,value,msg", [
    (("checksum", "function"), "sha512", "crypto.checksum.function 'sha512' is not supported (only sha256)"),
    (("cipher", "function"), "aes-256-ctr", "crypto.cipher.function 'aes-256-ctr' is not supported (only aes-128-ctr)"),
    (("kdf", "function"), "argon2id", "crypto.kdf.function 'argon2id' is not supported (pbkdf2 or scrypt)"),
    (("kdf", "params", "prf"), "hmac-sha512", "crypto.kdf.params.prf 'hmac-sha512' is not supported (only hmac-sha256)"),
])
def test_unsupported_functions_are_named_exactly(pbkdf2, where, value, msg):
    ks = copy.deepcopy(pbkdf2)
    node = ks["crypto"]
    for k in where[:-1]:
        node = node[k]
    node[where[-1]] = value
    with pytest.raises(_keystore.KeystoreError) as info:
        _keystore.decrypt(ks, "pw")
    assert str(info.value) == msg
