# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""_keystore against the official EIP-2335 vectors and an independent decryptor written here
from the EIP-2335 rules (hashlib + pycryptodome, not the module's code paths)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
import unicodedata

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _keystore
from ansible_collections.dvops.charon.tests.fixtures.dealer import deal

VECTORS = "/work/shared/vectors"
_here = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "shared", "vectors")
if os.path.isdir(_here):
    VECTORS = _here

ROUNDS = 16  # tests only; production is charon's 2^18


def _vectors():
    with open(os.path.join(VECTORS, "eip2335.json")) as f:
        return json.load(f)


def reference_decrypt(ks, password):
    """EIP-2335 decryption from the spec text, for cross-checking."""
    from Crypto.Cipher import AES  # pylint: disable=import-outside-toplevel
    pw = "".join(c for c in unicodedata.normalize("NFKD", password)
                 if not (0 <= ord(c) <= 0x1F or 0x7F <= ord(c) <= 0x9F)).encode()
    kdf = ks["crypto"]["kdf"]
    p = kdf["params"]
    salt = bytes.fromhex(p["salt"])
    if kdf["function"] == "pbkdf2":
        assert p["prf"] == "hmac-sha256"
        dk = hashlib.pbkdf2_hmac("sha256", pw, salt, p["c"], p["dklen"])
    else:
        dk = hashlib.scrypt(pw, salt=salt, n=p["n"], r=p["r"], p=p["p"], dklen=p["dklen"], maxmem=2 ** 30)
    ct = bytes.fromhex(ks["crypto"]["cipher"]["message"])
    assert hashlib.sha256(dk[16:32] + ct).hexdigest() == ks["crypto"]["checksum"]["message"]
    iv = bytes.fromhex(ks["crypto"]["cipher"]["params"]["iv"])
    return AES.new(dk[:16], AES.MODE_CTR, nonce=b"", initial_value=iv).decrypt(ct)


def test_password_normalisation_vector():
    v = _vectors()
    assert _keystore.normalise_password(v["password"]).hex() == v["password_normalized_utf8_hex"]
    # C0, DEL and C1 go; NBSP (not a control code) is NFKD-mapped to a space and kept.
    assert _keystore.normalise_password("a\x00b\x1fc\x7fd\x85e\u00a0f") == b"abcde f"
    assert _keystore.normalise_password(b"abc\n") == b"abc"


@pytest.mark.parametrize("kind", ["pbkdf2", "scrypt"])
def test_eip2335_vectors_decrypt(kind):
    v = _vectors()
    ks = v["keystores"][kind]
    assert _keystore.decrypt(ks, v["password"]).hex() == v["secret"]
    if kind == "pbkdf2":  # scrypt at n=2^18 costs ~1 s: its wrong-password case uses a small n below
        with pytest.raises(_keystore.KeystoreError, match="wrong password"):
            _keystore.decrypt(ks, "testpassword")
    # The vector's pubkey is the secret's BLS public key.
    assert _bls.secret_to_public(int(v["secret"], 16)).hex() == ks["pubkey"]


def test_encrypt_layout_matches_charon():
    secret = _bls.sk_to_bytes(deal(seed=b"ks").validators[0].shares[1])
    pw = _keystore.new_password()
    assert re.match(r"^[0-9a-f]{32}$", pw)
    ks = _keystore.encrypt(secret, pw, rounds=ROUNDS)
    assert list(ks) == ["crypto", "description", "pubkey", "path", "uuid", "version"]
    assert list(ks["crypto"]) == ["checksum", "cipher", "kdf"]
    for module in ks["crypto"].values():
        assert list(module) == ["function", "message", "params"]
    assert list(ks["crypto"]["kdf"]["params"]) == ["c", "dklen", "prf", "salt"]
    assert ks["crypto"]["kdf"]["params"]["c"] == ROUNDS
    assert ks["description"] == "" and ks["path"] == "m/12381/3600/0/0/0" and ks["version"] == 4
    assert ks["pubkey"] == _bls.secret_to_public(_bls.sk_from_bytes(secret)).hex()
    assert re.match(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$", ks["uuid"])
    assert reference_decrypt(ks, pw) == secret
    assert _keystore.decrypt(ks, pw) == secret
    with pytest.raises(_keystore.KeystoreError, match="wrong password"):
        _keystore.decrypt(ks, pw.upper())
    raw = _keystore.marshal(ks)
    assert not raw.endswith(b"\n")
    assert raw.startswith(b'{\n "crypto": {\n  "checksum": {\n   "function": "sha256",')
    assert b'"params": {}' in raw
    assert json.loads(raw) == ks


def test_default_rounds_are_charons():
    ks = _keystore.encrypt(b"\x01" * 32, "pw")
    assert ks["crypto"]["kdf"]["params"]["c"] == 262144
    assert reference_decrypt(ks, "pw") == b"\x01" * 32


def test_scrypt_encrypt_round_trip():
    ks = _keystore.encrypt(b"\x02" * 32, "pw", kdf="scrypt", rounds=1024)
    assert list(ks["crypto"]["kdf"]["params"]) == ["dklen", "n", "p", "r", "salt"]
    assert reference_decrypt(ks, "pw") == b"\x02" * 32
    assert _keystore.decrypt(ks, "pw") == b"\x02" * 32
    with pytest.raises(_keystore.KeystoreError, match="wrong password"):
        _keystore.decrypt(ks, "pw2")


def test_decrypt_errors_name_fields():
    ks = _keystore.encrypt(b"\x01" * 32, "pw", rounds=ROUNDS)
    cases = [
        (("crypto", "kdf", "function"), "argon2", "crypto.kdf.function"),
        (("crypto", "cipher", "function"), "aes-256-gcm", "crypto.cipher.function"),
        (("crypto", "checksum", "function"), "keccak", "crypto.checksum.function"),
        (("crypto", "cipher", "params", "iv"), "zz", "crypto.cipher.params.iv"),
        (("crypto", "kdf", "params", "prf"), "hmac-sha512", "crypto.kdf.params.prf"),
        (("version",), 3, "version"),
    ]
    for keys, value, field in cases:
        bad = json.loads(json.dumps(ks))
        target = bad
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
        with pytest.raises(_keystore.KeystoreError, match=re.escape(field)):
            _keystore.decrypt(bad, "pw")
    huge = json.loads(json.dumps(_vectors()["keystores"]["scrypt"]))
    huge["crypto"]["kdf"]["params"]["n"] = 2 ** 24
    with pytest.raises(_keystore.KeystoreError, match="scrypt"):
        _keystore.decrypt(huge, "x")


def test_write_and_load_keystores(tmp_path):
    cluster = deal(seed=b"write", n=4, t=3, num_validators=3)
    secrets = [v.share_bytes(2) for v in cluster.validators]
    directory = str(tmp_path / "validator_keys")
    paths = _keystore.write_keystores(directory, secrets, rounds=ROUNDS, workers=2)
    assert paths == [os.path.join(directory, "keystore-%d.json" % i) for i in range(3)]
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o755
    for i, secret in enumerate(secrets):
        base = os.path.join(directory, "keystore-%d" % i)
        assert stat.S_IMODE(os.stat(base + ".json").st_mode) == 0o444
        assert stat.S_IMODE(os.stat(base + ".txt").st_mode) == 0o400
        with open(base + ".txt") as f:
            pw = f.read()
        assert re.match(r"^[0-9a-f]{32}$", pw)
        with open(base + ".json", "rb") as f:
            raw = f.read()
        ks = json.loads(raw)
        assert raw == _keystore.marshal(ks)
        assert reference_decrypt(ks, pw) == secret
        assert ks["pubkey"] == cluster.validators[i].public_shares[2].hex()
    loaded = _keystore.load_keystores(directory, workers=1)
    assert loaded == [
        (i, secrets[i], cluster.validators[i].public_shares[2]) for i in range(3)]
    # Never into a non-empty directory, so never over an existing keystore.
    with open(paths[0], "rb") as f:
        before = f.read()
    with pytest.raises(_keystore.KeystoreError, match="not empty"):
        _keystore.write_keystores(directory, secrets[:1], rounds=ROUNDS)
    with open(paths[0], "rb") as f:
        assert f.read() == before


def test_write_into_empty_existing_dir_and_bad_secret(tmp_path):
    d = tmp_path / "vk"
    d.mkdir()
    assert len(_keystore.write_keystores(str(d), [_bls.sk_to_bytes(5)], rounds=ROUNDS, workers=1)) == 1
    with pytest.raises(_keystore.KeystoreError, match=r"secrets\[1\]"):
        _keystore.write_keystores(str(tmp_path / "other"), [_bls.sk_to_bytes(5), bytes(32)], rounds=ROUNDS)


def test_load_errors_name_the_file(tmp_path):
    d = tmp_path / "vk"
    _keystore.write_keystores(str(d), [_bls.sk_to_bytes(5), _bls.sk_to_bytes(6)], rounds=ROUNDS, workers=1)
    os.chmod(str(d / "keystore-1.txt"), 0o600)
    (d / "keystore-1.txt").write_text("wrong")
    with pytest.raises(_keystore.KeystoreError, match=r"keystore-1\.json: wrong password"):
        _keystore.load_keystores(str(d), workers=2)
    os.unlink(str(d / "keystore-1.txt"))
    with pytest.raises(_keystore.KeystoreError, match=r"keystore-1\.json: cannot read its password file"):
        _keystore.load_keystores(str(d))
    os.unlink(str(d / "keystore-1.json"))
    (d / "keystore-insecure-2.json").write_bytes((d / "keystore-0.json").read_bytes())
    (d / "keystore-insecure-2.txt").write_bytes((d / "keystore-0.txt").read_bytes())
    with pytest.raises(_keystore.KeystoreError, match=r"missing \[1\]"):
        _keystore.load_keystores(str(d))
    assert [k[0] for k in _keystore.load_keystores(str(d), require_sequential=False)] == [0, 2]
    (d / "keystore-x.json").write_text("{}")
    with pytest.raises(_keystore.KeystoreError, match=r"keystore-x\.json: file name"):
        _keystore.load_keystores(str(d))


def test_encrypt_many_is_parallel_and_correct():
    secrets = [_bls.sk_to_bytes(k) for k in range(1, 9)]
    start = time.time()
    out = _keystore.encrypt_many(secrets, rounds=4096, workers=2)
    assert time.time() - start < 10
    for secret, (ks, pw) in zip(secrets, out):
        assert reference_decrypt(ks, pw) == secret


def test_insecure_keystores(tmp_path):
    d = str(tmp_path / "vk")
    paths = _keystore.write_keystores(d, [_bls.sk_to_bytes(9)], insecure=True, workers=1)
    assert paths == [os.path.join(d, "keystore-insecure-0.json")]
    with open(paths[0]) as f:
        assert json.load(f)["crypto"]["kdf"]["params"]["c"] == 16
    assert _keystore.load_keystores(d) == [(0, _bls.sk_to_bytes(9), _bls.secret_to_public(9))]


@pytest.mark.parametrize("kdf,key,value,field", [
    ("pbkdf2", "c", 2 ** 40, "crypto.kdf.params.c"),
    ("pbkdf2", "c", _keystore.PBKDF2_MAX_ROUNDS + 1, "crypto.kdf.params.c"),
    ("pbkdf2", "dklen", 2 ** 31, "crypto.kdf.params.dklen"),
    ("pbkdf2", "dklen", _keystore.DKLEN_MAX + 1, "crypto.kdf.params.dklen"),
    ("scrypt", "dklen", 2 ** 31, "crypto.kdf.params.dklen"),
    ("scrypt", "p", 2 ** 20, "crypto.kdf.params.p"),
])
def test_kdf_parameters_are_bounded_before_any_work(kdf, key, value, field):
    # A keystore from elsewhere must not make the host derive for hours or allocate gigabytes:
    # refused at once, naming the field (as scrypt's memory bound already was).
    ks = _keystore.encrypt(b"\x01" * 32, "pw", kdf=kdf, rounds=ROUNDS if kdf == "pbkdf2" else 1024)
    ks["crypto"]["kdf"]["params"][key] = value
    start = time.time()
    with pytest.raises(_keystore.KeystoreError, match=re.escape(field)):
        _keystore.decrypt(ks, "pw")
    assert time.time() - start < 1.0


def test_kdf_bounds_accept_charons_and_the_eip2335_parameters():
    assert _keystore.PBKDF2_MAX_ROUNDS >= _keystore.DEFAULT_ROUNDS
    ks = _keystore.encrypt(b"\x03" * 32, "pw", rounds=ROUNDS)
    ks["crypto"]["kdf"]["params"]["dklen"] = 32
    assert _keystore.decrypt(ks, "pw") == b"\x03" * 32


def test_load_keystores_refuses_links_and_fifos(tmp_path):
    d = tmp_path / "validator_keys"
    _keystore.write_keystores(str(d), [b"\x05" * 32], rounds=ROUNDS)
    pw = d / "keystore-0.txt"
    outside = tmp_path / "outside.txt"
    outside.write_bytes(pw.read_bytes())
    os.chmod(str(pw), 0o600)
    os.unlink(str(pw))
    os.symlink(str(outside), str(pw))
    with pytest.raises(_keystore.KeystoreError, match="symbolic link"):
        _keystore.load_keystores(str(d))
    os.unlink(str(pw))
    os.mkfifo(str(pw))
    with pytest.raises(_keystore.KeystoreError, match="not a regular file"):
        _keystore.load_keystores(str(d))
