# -*- coding: utf-8 -*-
"""Tests that kill _keystore's surviving mutants (issue 10): what loading and decrypting refuse."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _keystore

ROUNDS = 16


@pytest.fixture(scope="module")
def ks():
    return _keystore.encrypt(_bls.sk_to_bytes(42), "pw", rounds=ROUNDS)


def _write(tmp_path, secrets):
    d = str(tmp_path / "vk")
    _keystore.write_keystores(d, [_bls.sk_to_bytes(s) for s in secrets], rounds=ROUNDS, workers=1)
    return d


def _edit(path, change):
    with open(path) as f:
        obj = json.load(f)
    change(obj)
    os.chmod(path, 0o644)
    with open(path, "w") as f:
        json.dump(obj, f)


def test_declared_pubkey_must_match_the_share(tmp_path):
    d = _write(tmp_path, [5, 6])
    _edit(os.path.join(d, "keystore-1.json"), lambda o: o.update(pubkey=_bls.secret_to_public(5).hex()))
    with pytest.raises(_keystore.KeystoreError, match=r"keystore-1\.json: pubkey field does not match"):
        _keystore.load_keystores(d, workers=1)
    # 0x-prefixed and upper case are the same key; an absent pubkey is allowed (EIP-2335 makes it optional).
    _edit(os.path.join(d, "keystore-1.json"), lambda o: o.update(pubkey="0x" + _bls.secret_to_public(6).hex().upper()))
    assert [k[0] for k in _keystore.load_keystores(d, workers=1)] == [0, 1]
    _edit(os.path.join(d, "keystore-1.json"), lambda o: o.pop("pubkey"))
    assert _keystore.load_keystores(d, workers=1)[1][2] == _bls.secret_to_public(6)


def test_load_refusals_name_the_problem(tmp_path):
    with pytest.raises(_keystore.KeystoreError, match="is not a directory"):
        _keystore.load_keystores(str(tmp_path / "absent"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "other.json").write_text("{}")
    with pytest.raises(_keystore.KeystoreError, match="no keystore-\\*.json files"):
        _keystore.load_keystores(str(empty))
    d = _write(tmp_path, [5])
    with open(os.path.join(d, "keystore-insecure-0.json"), "w") as f:
        f.write("{}")
    with pytest.raises(_keystore.KeystoreError, match="index 0 is used by"):
        _keystore.load_keystores(d)
    os.unlink(os.path.join(d, "keystore-insecure-0.json"))
    os.chmod(os.path.join(d, "keystore-0.json"), 0o644)
    with open(os.path.join(d, "keystore-0.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(_keystore.KeystoreError, match=r"keystore-0\.json: cannot read keystore JSON"):
        _keystore.load_keystores(d)


def test_a_bad_secret_in_a_keystore_is_named(tmp_path):
    d = str(tmp_path / "vk")
    os.mkdir(d)
    ks = _keystore.encrypt(bytes(32), "pw", pubkey=b"\x00" * 48, rounds=ROUNDS)   # zero is no BLS key
    with open(os.path.join(d, "keystore-0.json"), "wb") as f:
        f.write(_keystore.marshal(ks))
    with open(os.path.join(d, "keystore-0.txt"), "w") as f:
        f.write("pw")
    with pytest.raises(_keystore.KeystoreError, match=r"keystore-0\.json: "):
        _keystore.load_keystores(d, workers=1)


def test_write_refuses_a_file_in_place_of_the_directory(tmp_path):
    f = tmp_path / "vk"
    f.write_text("x")
    with pytest.raises(_keystore.KeystoreError, match="exists and is not a directory"):
        _keystore.write_keystores(str(f), [_bls.sk_to_bytes(5)], rounds=ROUNDS)
    assert f.read_text() == "x"


@pytest.mark.parametrize("path,value,match", [
    (("crypto", "kdf", "params", "dklen"), 31, "dklen must be 32 to 64, got 31"),
    (("crypto", "kdf", "params", "dklen"), 0, "dklen must be a positive integer"),
    (("crypto", "kdf", "params", "dklen"), True, "dklen must be a positive integer"),
    (("crypto", "kdf", "params", "c"), "16", "c must be a positive integer"),
    (("crypto", "checksum", "message"), "00" * 31, "crypto.checksum.message must be 32 bytes, got 31"),
    (("crypto", "cipher", "params", "iv"), "00" * 15, "crypto.cipher.params.iv must be 16 bytes"),
    (("crypto", "cipher", "params", "iv"), 5, "crypto.cipher.params.iv must be a hex string"),
    (("crypto", "kdf"), "pbkdf2", "crypto.kdf is missing or not an object"),
    (("crypto", "kdf", "params"), [], "crypto.kdf.params is not an object"),
    (("crypto",), [], "crypto is missing or not an object"),
])
def test_decrypt_refusals(ks, path, value, match):
    bad = copy.deepcopy(ks)
    node = bad
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(_keystore.KeystoreError, match=match):
        _keystore.decrypt(bad, "pw")


def test_decrypt_checks_the_password_and_the_type(ks):
    assert _keystore.decrypt(ks, "pw") == _bls.sk_to_bytes(42)
    with pytest.raises(_keystore.KeystoreError, match="wrong password"):
        _keystore.decrypt(ks, "pW")
    with pytest.raises(_keystore.KeystoreError, match="keystore must be a JSON object"):
        _keystore.decrypt([], "pw")
    ciphertext = ks["crypto"]["cipher"]["message"]
    bad = copy.deepcopy(ks)
    bad["crypto"]["cipher"]["message"] = ("0" if ciphertext[0] != "0" else "1") + ciphertext[1:]
    with pytest.raises(_keystore.KeystoreError, match="wrong password"):
        _keystore.decrypt(bad, "pw")


def test_scrypt_parameters_are_bounded():
    ks = _keystore.encrypt(_bls.sk_to_bytes(42), "pw", kdf="scrypt", rounds=2)
    assert _keystore.decrypt(ks, "pw") == _bls.sk_to_bytes(42)
    ks["crypto"]["kdf"]["params"]["n"] = 3
    with pytest.raises(_keystore.KeystoreError, match="invalid scrypt parameters"):
        _keystore.decrypt(ks, "pw")
    ks["crypto"]["kdf"]["params"].update(n=2 ** 24, r=8)
    with pytest.raises(_keystore.KeystoreError, match=r"scrypt work n\*r\*p = 134217728 is more than the"):
        _keystore.decrypt(ks, "pw")
