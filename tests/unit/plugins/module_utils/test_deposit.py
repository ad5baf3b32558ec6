# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""_deposit: charon's amount rules, file names and JSON, with signatures cross-checked by py_ecc."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _deposit, _eth2
from ansible_collections.dvops.charon.tests.fixtures.dealer import deal

ETH = 10 ** 9
GOERLI = bytes.fromhex("00001020")


def sha(b):
    return hashlib.sha256(b).digest()


def _signed_entry(v, amount, address=b"\x33" * 20, compounding=False, fork=GOERLI):
    wc = _eth2.withdrawal_credentials(address, compounding)
    root = _eth2.deposit_signing_root(v.pubkey, wc, amount, fork)
    # Threshold-combined like the DKG does it.
    sig = _bls.interpolate_g2(v.partial_signatures(root, xs=[1, 2, 4]))
    return _deposit.deposit_entry(v.pubkey, wc, amount, sig, fork, "goerli"), wc


def test_amount_rules():
    _deposit.verify_deposit_amounts([ETH, 32 * ETH])
    _deposit.verify_deposit_amounts([2048 * ETH], compounding=True)
    _deposit.verify_deposit_amounts(None)
    with pytest.raises(_deposit.DepositError, match=r"deposit_amounts\[1\].*1 ETH minimum"):
        _deposit.verify_deposit_amounts([ETH, ETH - 1])
    with pytest.raises(_deposit.DepositError, match=r"deposit_amounts\[0\].*32 ETH maximum"):
        _deposit.verify_deposit_amounts([32 * ETH + 1])
    with pytest.raises(_deposit.DepositError, match=r"2048 ETH maximum"):
        _deposit.verify_deposit_amounts([2048 * ETH + 1], compounding=True)
    with pytest.raises(_deposit.DepositError, match=r"deposit_amounts\[0\] must be an integer"):
        _deposit.verify_deposit_amounts(["32"])


def test_dedup_and_defaults():
    assert _deposit.dedup_amounts([16 * ETH, 16 * ETH]) == [16 * ETH]
    assert _deposit.dedup_amounts([32 * ETH, ETH, 8 * ETH, ETH]) == [ETH, 8 * ETH, 32 * ETH]
    assert _deposit.default_amounts("v1.10.0") == [ETH, 32 * ETH]
    assert _deposit.default_amounts("v1.8.0", compounding=True) == [ETH, 8 * ETH, 32 * ETH, 256 * ETH]
    assert _deposit.default_amounts("v1.7.0") == [32 * ETH]
    assert _deposit.default_amounts("v1.6.0") == [32 * ETH]
    assert _deposit.default_amounts("v1.5.0") == []


@pytest.mark.parametrize("gwei,name", [
    (32 * ETH, "deposit-data.json"),
    (ETH, "deposit-data-1eth.json"),
    (8 * ETH, "deposit-data-8eth.json"),
    (1500000000, "deposit-data-1.5eth.json"),
    (256 * ETH, "deposit-data-256eth.json"),
    (16 * ETH, "deposit-data-16eth.json"),
    (2048 * ETH, "deposit-data-2048eth.json"),
    (31999999999, "deposit-data-31.999999999eth.json"),
    (1, "deposit-data-0.000000001eth.json"),
])
def test_file_names(gwei, name):
    assert _deposit.deposit_file_name(gwei) == name


def test_entry_matches_independent_computation():
    from py_ecc.bls import G2ProofOfPossession as POP  # pylint: disable=import-outside-toplevel
    v = deal(seed=b"deposit", n=4, t=3).validators[0]
    entry, wc = _signed_entry(v, 32 * ETH)
    assert list(entry) == list(_deposit.ENTRY_KEYS)
    # Roots and signing root written out from the SSZ rules, signature by py_ecc with the DV secret.
    amount_chunk = (32 * ETH).to_bytes(8, "little") + bytes(24)
    pk_root = sha(v.pubkey + bytes(16))
    msg_root = sha(sha(pk_root + wc) + sha(amount_chunk + bytes(32)))
    domain = bytes.fromhex("03000000") + sha(GOERLI + bytes(28) + bytes(32))[:28]
    sig = POP.Sign(v.secret, sha(msg_root + domain))
    sig_root = sha(sha(sig[:64]) + sha(sig[64:] + bytes(32)))
    assert entry == {
        "pubkey": v.pubkey.hex(),
        "withdrawal_credentials": wc.hex(),
        "amount": 32 * ETH,
        "signature": sig.hex(),
        "deposit_message_root": msg_root.hex(),
        "deposit_data_root": sha(sha(pk_root + wc) + sha(amount_chunk + sig_root)).hex(),
        "fork_version": "00001020",
        "network_name": "goerli",
        "deposit_cli_version": "2.7.0",
    }
    assert _deposit.verify_deposit_entry(entry, expected_network="goerli", expected_fork_version=GOERLI,
                                         expected_pubkey=v.pubkey, expected_withdrawal_credentials=wc,
                                         expected_amount=32 * ETH) == []


def test_marshal_sorted_go_json():
    vs = deal(seed=b"file", n=4, t=3, num_validators=3).validators
    entries = [_signed_entry(v, ETH)[0] for v in vs]
    raw = _deposit.marshal_deposit_file(entries)
    assert raw.startswith(b'[\n {\n  "pubkey": "') and raw.endswith(b'\n }\n]')
    parsed = json.loads(raw)
    assert [e["pubkey"] for e in parsed] == sorted(e["pubkey"] for e in entries)
    assert b'"amount": 1000000000,' in raw
    assert b'"deposit_cli_version": "2.7.0"\n' in raw
    with pytest.raises(_deposit.DepositError, match="one amount"):
        _deposit.marshal_deposit_file(entries[:1] + [_signed_entry(vs[1], 32 * ETH)[0]])


def test_verify_reports_problems():
    v = deal(seed=b"bad", n=4, t=3).validators[0]
    entry = _signed_entry(v, 8 * ETH, compounding=True)[0]
    assert _deposit.verify_deposit_entry(entry) == []
    # Signed for goerli: claiming mainnet breaks the signature.
    bad = dict(entry, fork_version="00000000", network_name="mainnet")
    errors = _deposit.verify_deposit_entry(bad, expected_network="goerli", expected_fork_version=GOERLI)
    assert any("network_name" in e for e in errors)
    assert any(e.startswith("fork_version is 00000000") for e in errors)
    assert any(e.startswith("signature does not verify") for e in errors)
    bad = dict(entry, amount=16 * ETH)
    errors = _deposit.verify_deposit_entry(bad)
    assert any(e.startswith("deposit_message_root") for e in errors)
    assert any(e.startswith("deposit_data_root") for e in errors)
    assert any(e.startswith("signature") for e in errors)
    errors = _deposit.verify_deposit_entry(dict(entry, pubkey="zz", amount="1"))
    assert "pubkey is not valid hex" in errors and any(e.startswith("amount must be an integer") for e in errors)
    errors = _deposit.verify_deposit_entry(dict(entry, signature=entry["signature"][:-2]))
    assert "signature must be 96 bytes, got 95" in errors
