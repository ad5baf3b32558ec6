# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""_eth2 roots against independently known values: the mainnet deposit domain, the deposit
contract's own hash_tree_root algorithm, and charon's builder registrations in lock-003."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _eth2
from ansible_collections.dvops.charon.tests.fixtures.dealer import deal

VECTORS = "/work/shared/vectors"
_here = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "shared", "vectors")
if os.path.isdir(_here):
    VECTORS = _here


def sha(b):
    return hashlib.sha256(b).digest()


def _hex(s):
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def deposit_contract_root(pubkey, wc, amount, signature):
    """DepositData root exactly as the deposit contract's Solidity computes it (independent code)."""
    pubkey_root = sha(pubkey + bytes(16))
    signature_root = sha(sha(signature[:64]) + sha(signature[64:] + bytes(32)))
    amount_le = amount.to_bytes(8, "little")
    return sha(sha(pubkey_root + wc) + sha(amount_le + bytes(24) + signature_root))


def test_domain_constants():
    assert _eth2.DOMAIN_DEPOSIT.hex() == "03000000"
    assert _eth2.DOMAIN_APPLICATION_BUILDER.hex() == "00000001"
    assert _eth2.DOMAIN_VOLUNTARY_EXIT.hex() == "04000000"


def test_mainnet_deposit_domain():
    assert _eth2.deposit_domain(bytes(4)).hex() == "03000000f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a9"


def test_withdrawal_credentials():
    addr = bytes.fromhex("c1e86413d6a1de884e91a54345fe302ef0c398ee")
    assert _eth2.withdrawal_credentials(addr).hex() == "01" + "00" * 11 + addr.hex()
    assert _eth2.withdrawal_credentials(addr, compounding=True).hex() == "02" + "00" * 11 + addr.hex()
    with pytest.raises(_eth2.Eth2Error, match="withdrawal_address"):
        _eth2.withdrawal_credentials(addr[:19])


def test_deposit_roots_match_deposit_contract_algorithm():
    pubkey = bytes(range(48))
    wc = _eth2.withdrawal_credentials(b"\x11" * 20)
    sig = bytes(range(96, 192))
    amount = 32 * 10 ** 9
    assert _eth2.deposit_data_root(pubkey, wc, amount, sig) == deposit_contract_root(pubkey, wc, amount, sig)
    msg_root = sha(sha(sha(pubkey + bytes(16)) + wc) + sha(amount.to_bytes(8, "little") + bytes(24) + bytes(32)))
    assert _eth2.deposit_message_root(pubkey, wc, amount) == msg_root
    domain = _eth2.deposit_domain(bytes.fromhex("00001020"))
    assert _eth2.deposit_signing_root(pubkey, wc, amount, bytes.fromhex("00001020")) == sha(msg_root + domain)


def test_field_errors_name_the_field():
    with pytest.raises(_eth2.Eth2Error, match="pubkey"):
        _eth2.deposit_message_root(b"\x00" * 47, bytes(32), 1)
    with pytest.raises(_eth2.Eth2Error, match="amount"):
        _eth2.deposit_message_root(bytes(48), bytes(32), -1)
    with pytest.raises(_eth2.Eth2Error, match="withdrawal_credentials"):
        _eth2.deposit_message_root(bytes(48), "00" * 32, 1)
    with pytest.raises(_eth2.Eth2Error, match="genesis_validators_root"):
        _eth2.voluntary_exit_signing_root(1, 2, bytes(4), bytes(31))
    with pytest.raises(_eth2.Eth2Error, match="epoch"):
        _eth2.voluntary_exit_root(2 ** 64, 0)


def test_voluntary_exit_roots():
    epoch, index = 194048, 123456
    root = sha(epoch.to_bytes(8, "little") + bytes(24) + index.to_bytes(8, "little") + bytes(24))
    assert _eth2.voluntary_exit_root(epoch, index) == root
    gvr = bytes.fromhex("4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95")  # mainnet
    capella = bytes.fromhex("03000000")
    fork_data_root = sha(capella + bytes(28) + gvr)
    domain = bytes.fromhex("04000000") + fork_data_root[:28]
    assert _eth2.voluntary_exit_domain(capella, gvr) == domain
    assert _eth2.voluntary_exit_signing_root(epoch, index, capella, gvr) == sha(root + domain)


def test_threshold_signed_exit_verifies():
    v = deal(seed=b"exit", n=4, t=3).validators[0]
    root = _eth2.voluntary_exit_signing_root(256, 7, bytes.fromhex("40000910"), b"\x22" * 32)
    combined = _bls.interpolate_g2(v.partial_signatures(root, xs=[1, 3, 4]))
    assert _bls.verify(v.pubkey, root, combined)


def test_lock_003_builder_registrations_verify():
    """charon signed these registrations with the DV key (threshold-combined), goerli genesis fork."""
    with open(os.path.join(VECTORS, "charon", "cluster-lock-003.json")) as f:
        lock = json.load(f)
    definition = lock["cluster_definition"]
    fork = _hex(definition["fork_version"])
    assert fork.hex() == "00001020"
    for dv, val in zip(lock["distributed_validators"], definition["validators"]):
        reg = dv["builder_registration"]
        msg = reg["message"]
        dv_pk = _hex(dv["distributed_public_key"])
        assert _hex(msg["pubkey"]) == dv_pk
        fee = _hex(val["fee_recipient_address"])
        assert _hex(msg["fee_recipient"]) == fee
        root = _eth2.registration_signing_root(fee, msg["gas_limit"], msg["timestamp"], dv_pk, fork)
        assert _bls.verify(dv_pk, root, _hex(reg["signature"]))
        # Another fork version or gas limit must not verify.
        assert not _bls.verify(dv_pk, _eth2.registration_signing_root(fee, msg["gas_limit"], msg["timestamp"], dv_pk, bytes(4)),
                               _hex(reg["signature"]))
        assert not _bls.verify(dv_pk, _eth2.registration_signing_root(fee, msg["gas_limit"] + 1, msg["timestamp"], dv_pk, fork),
                               _hex(reg["signature"]))
