# -*- coding: utf-8 -*-
"""_eip712: the CreatorConfigHash vector (every intermediate hash), the lock-003 signatures, sign/verify."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _eip712 as E
from ansible_collections.dvops.charon.plugins.module_utils import _k1

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", ".."))
VECTORS = os.path.join(os.path.dirname(REPO_ROOT), "shared", "vectors")
with open(os.path.join(VECTORS, "enr.json")) as _f:
    VEC = {v["name"]: v for v in json.load(_f)["vectors"]}["eip712_creator_config_hash_sepolia"]
with open(os.path.join(VECTORS, "charon", "cluster-lock-003.json")) as _f:
    LOCK003 = json.load(_f)["cluster_definition"]


def test_creator_config_hash_vector_intermediates():
    dom = VEC["domain"]
    assert (dom["name"], dom["version"]) == (E.DOMAIN_NAME, E.DOMAIN_VERSION)
    assert E.type_hash("EIP712Domain", E.domain_fields()).hex() == VEC["domain_type_hash"]
    assert E.domain_separator(dom["chainId"]).hex() == VEC["domain_separator"]
    fields = tuple((f["name"], f["type"]) for f in VEC["fields"])
    assert fields == E.TYPES[VEC["primary_type"]]
    assert E.type_hash(VEC["primary_type"], fields).hex() == VEC["message_type_hash"]
    values = {f["name"]: f["value"] for f in VEC["fields"]}
    assert E.hash_struct(VEC["primary_type"], fields, values).hex() == VEC["message_struct_hash"]
    assert E.digest(VEC["primary_type"], values, dom["chainId"]).hex() == VEC["digest"]
    cfg = bytes.fromhex(values["creator_config_hash"][2:])
    assert E.creator_config_hash_digest(cfg, dom["chainId"]).hex() == VEC["digest"]


def test_encode_types():
    assert E.encode_type("TermsAndConditions", E.TYPES["TermsAndConditions"]) == \
        "TermsAndConditions(string terms_and_conditions_hash,uint256 version)"
    assert E.encode_type("EIP712Domain", E.domain_fields()) == \
        "EIP712Domain(string name,string version,uint256 chainId)"
    # T&C omits chainId from its domain.
    assert E.terms_and_conditions_digest() == _k1.keccak256(
        b"\x19\x01" + E.domain_separator(None) + E.hash_struct(
            "TermsAndConditions", E.TYPES["TermsAndConditions"],
            {"terms_and_conditions_hash": E.TERMS_AND_CONDITIONS_HASH, "version": 1}))
    assert E.domain_separator(None) != E.domain_separator(1)


def test_lock003_signatures_recover_to_their_addresses():
    # goerli, chain id 5; v1.7 uses OperatorConfigHash / CreatorConfigHash / ENR.
    cfg = bytes.fromhex(LOCK003["config_hash"][2:])
    creator = LOCK003["creator"]
    assert E.verify(creator["address"], bytes.fromhex(creator["config_signature"][2:]),
                    E.creator_config_hash_digest(cfg, 5))
    for op in LOCK003["operators"]:
        assert E.verify(op["address"], bytes.fromhex(op["config_signature"][2:]),
                        E.operator_config_digest(7, cfg, 5))
        assert E.verify(op["address"], bytes.fromhex(op["enr_signature"][2:]), E.enr_digest(op["enr"], 5))
        # Wrong chain id, wrong primary type: no longer the signer.
        assert not E.verify(op["address"], bytes.fromhex(op["enr_signature"][2:]), E.enr_digest(op["enr"], 1))
        assert not E.verify(op["address"], bytes.fromhex(op["config_signature"][2:]),
                            E.operator_config_digest(3, cfg, 5))


def test_sign_verify_v_variants():
    key = bytes.fromhex("41d3ff12045b73c870529fe44f70dca2745bafbe1698ffc3c8759eef3cfbaee1")
    addr = _k1.checksum_address(_k1.eth_address(_k1.public_key(key)))
    d = E.enr_digest("enr:-abc", 11155111)
    sig = E.sign(key, d)
    assert sig[64] in (0, 1)
    assert E.verify(addr, sig, d) and E.verify(addr.lower(), sig, d)
    assert E.verify(addr, sig[:64] + bytes([sig[64] + 27]), d)          # MetaMask V
    assert E.recover_address(sig, d) == E.address_bytes(addr)
    assert not E.verify(addr, sig[:64] + b"\x05", d)
    assert not E.verify(addr, sig[:64], d)
    assert not E.verify("0x" + "00" * 20, sig, d)
    assert not E.verify("not-an-address", sig, d)
    assert not E.verify(addr, sig, E.enr_digest("enr:-abd", 11155111))


def test_errors():
    with pytest.raises(E.EIP712Error, match="unknown EIP-712 type"):
        E.digest("Nope", "x", 1)
    with pytest.raises(E.EIP712Error, match="chain id"):
        E.digest("ENR", "x")
    with pytest.raises(E.EIP712Error, match="20 bytes"):
        E.address_bytes("0x1234")
