# -*- coding: utf-8 -*-
"""_k1 against charon's k1util vector, and the keccak / EIP-712 vector of enr.json."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _enr, _k1

# ../shared/vectors beside the repository root (realpath: tests may run through the collection symlink).
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", ".."))
with open(os.path.join(os.path.dirname(REPO_ROOT), "shared", "vectors", "enr.json")) as _handle:
    V = {v["name"]: v for v in json.load(_handle)["vectors"]}
SIGN = V["k1util_sign"]


def test_vector_file_is_complete():
    # Every vector in enr.json has a test in this directory; a new one must get one too.
    assert set(V) == {"eip778_example_record", "charon_create_enr_record", "peer_name", "k1util_sign",
                      "eip712_creator_config_hash_sepolia"}


def test_k1util_sign_vector():
    key = bytes.fromhex(SIGN["private_key"])
    assert _k1.public_key(key).hex() == SIGN["public_key"]
    sig = _k1.sign(key, bytes.fromhex(SIGN["digest"]))
    assert sig.hex() == SIGN["signature"]
    assert sig[64] in (0, 1)


def test_k1util_recover_and_verify():
    sig = bytes.fromhex(SIGN["signature"])
    digest = bytes.fromhex(SIGN["digest"])
    pub = bytes.fromhex(SIGN["public_key"])
    assert _k1.recover(sig, digest) == pub
    assert _k1.verify65(pub, sig, digest)
    # MetaMask-style V (27/28) is accepted as well.
    assert _k1.verify65(pub, sig[:64] + bytes([sig[64] + 27]), digest)
    assert _k1.verify64(pub, sig[:64], digest)
    assert not _k1.verify64(pub, sig[:64], bytes(32))
    other = _k1.public_key(bytes.fromhex(V["eip778_example_record"]["private_key"]))
    assert not _k1.verify65(other, sig, digest)
    assert not _k1.verify64(other, sig[:64], digest)


def test_recover_rejects_bad_v():
    sig = bytes.fromhex(SIGN["signature"])
    with pytest.raises(_k1.K1Error):
        _k1.recover(sig[:64] + b"\x05", bytes.fromhex(SIGN["digest"]))


def test_enr_signatures_verify_against_enr_json():
    for name in ("eip778_example_record", "charon_create_enr_record"):
        vec = V[name]
        rec = _enr.parse(vec["enr"])
        key = bytes.fromhex(vec["private_key"])
        assert rec["public_key"] == _k1.public_key(key)
        assert rec["signature_valid"] is True


def test_eip778_signature_bytes():
    vec = V["eip778_example_record"]
    assert _enr.parse(vec["enr"])["signature"].hex() == vec["signature"]


def test_keccak_and_eip712_creator_digest():
    # Computed here from keccak alone (independent of _eip712) to pin keccak-256, not SHA3-256.
    vec = V["eip712_creator_config_hash_sepolia"]
    k = _k1.keccak256
    assert k(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    dom = vec["domain"]
    domain_type = k(b"EIP712Domain(string name,string version,uint256 chainId)")
    assert domain_type.hex() == vec["domain_type_hash"]
    separator = k(domain_type + k(dom["name"].encode()) + k(dom["version"].encode())
                  + dom["chainId"].to_bytes(32, "big"))
    assert separator.hex() == vec["domain_separator"]
    field = vec["fields"][0]
    msg_type = k(("%s(%s %s)" % (vec["primary_type"], field["type"], field["name"])).encode())
    assert msg_type.hex() == vec["message_type_hash"]
    struct = k(msg_type + k(field["value"].encode()))
    assert struct.hex() == vec["message_struct_hash"]
    assert k(b"\x19\x01" + separator + struct).hex() == vec["digest"]
