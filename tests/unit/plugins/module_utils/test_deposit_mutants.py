# -*- coding: utf-8 -*-
"""Tests that kill _deposit's surviving mutants (issue 10): the deposit-file checks, each on a
correctly signed entry so that only the check under test can refuse it."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _deposit, _eth2
from ansible_collections.dvops.charon.tests.fixtures.dealer import deal

ETH = 10 ** 9
HOODI = bytes.fromhex("10000910")


@pytest.fixture(scope="module")
def v():
    return deal(seed=b"deposit-mutants", n=3, t=2).validators[0]


def _entry(v, amount, prefix=b"\x01", fork=HOODI, network="hoodi"):
    wc = prefix + bytes(11) + b"\x42" * 20
    sig = _bls.sign(v.secret, _eth2.deposit_signing_root(v.pubkey, wc, amount, fork))
    return _deposit.deposit_entry(v.pubkey, wc, amount, sig, fork, network)


@pytest.mark.parametrize("amount,prefix,problem", [
    (32 * ETH + 1, b"\x01", "amount=32000000001 Gwei is above the 32 ETH maximum (2048 ETH needs compounding)"),
    (33 * ETH, b"\x01", "above the 32 ETH maximum"),
    (2048 * ETH + 1, b"\x02", "above the 2048 ETH maximum"),
    (ETH - 1, b"\x01", "below the 1 ETH minimum"),
    (ETH - 1, b"\x02", "below the 1 ETH minimum"),
])
def test_signed_entry_with_an_amount_out_of_bounds_is_refused(v, amount, prefix, problem):
    errors = _deposit.verify_deposit_entry(_entry(v, amount, prefix))
    assert errors == [e for e in errors if problem in e] and len(errors) == 1, errors


@pytest.mark.parametrize("amount,prefix", [(32 * ETH, b"\x01"), (ETH, b"\x01"), (33 * ETH, b"\x02"),
                                           (2048 * ETH, b"\x02")])
def test_signed_entry_within_bounds_passes(v, amount, prefix):
    assert _deposit.verify_deposit_entry(_entry(v, amount, prefix)) == []


def test_bls_credentials_are_refused(v):
    errors = _deposit.verify_deposit_entry(_entry(v, 32 * ETH, b"\x00"))
    assert errors == ["withdrawal_credentials must start with 0x01 or 0x02, got 0x00"]


def test_expected_values_are_compared(v):
    entry = _entry(v, 32 * ETH)
    wc = bytes.fromhex(entry["withdrawal_credentials"])
    assert _deposit.verify_deposit_entry(entry, expected_network="hoodi", expected_fork_version=HOODI,
                                         expected_pubkey=v.pubkey, expected_withdrawal_credentials=wc,
                                         expected_amount=32 * ETH) == []
    other = deal(seed=b"other", n=3, t=2).validators[0].pubkey
    cases = [({"expected_network": "mainnet"}, "network_name is 'hoodi', expected 'mainnet'"),
             ({"expected_fork_version": bytes(4)}, "fork_version is 10000910, expected 00000000"),
             ({"expected_pubkey": other}, "pubkey is not the expected validator key"),
             ({"expected_withdrawal_credentials": b"\x02" + wc[1:]}, "withdrawal_credentials are 01"),
             ({"expected_amount": ETH}, "amount is 32000000000, expected 1000000000")]
    for kwargs, problem in cases:
        errors = _deposit.verify_deposit_entry(entry, **kwargs)
        assert len(errors) == 1 and errors[0].startswith(problem), (kwargs, errors)


def test_roots_and_signature_are_each_checked(v):
    entry = _entry(v, 32 * ETH)
    assert _deposit.verify_deposit_entry(dict(entry, deposit_message_root="00" * 32)) == [
        "deposit_message_root does not match the entry"]
    assert _deposit.verify_deposit_entry(dict(entry, deposit_data_root="00" * 32)) == [
        "deposit_data_root does not match the entry"]
    other = _bls.sign(v.secret, b"\x01" * 32).hex()
    errors = _deposit.verify_deposit_entry(dict(entry, signature=other))
    assert errors == ["deposit_data_root does not match the entry",
                      "signature does not verify under pubkey for fork_version 10000910"]
    errors = _deposit.verify_deposit_entry(dict(entry, deposit_cli_version="2.8.0"))
    assert errors == ["deposit_cli_version is '2.8.0', charon writes '2.7.0'"]
    assert _deposit.verify_deposit_entry(dict(entry, pubkey="0x" + entry["pubkey"])) == []


@pytest.mark.parametrize("field,value,problem", [
    ("pubkey", None, "pubkey is missing or not a string"),
    ("pubkey", "abc", "pubkey is not valid hex"),
    ("pubkey", "00" * 47, "pubkey must be 48 bytes, got 47"),
    ("amount", True, "amount must be an integer number of Gwei, got True"),
    ("amount", 1.5, "amount must be an integer number of Gwei, got 1.5"),
])
def test_malformed_fields_are_named(v, field, value, problem):
    entry = _entry(v, 32 * ETH)
    if value is None:
        del entry[field]
    else:
        entry[field] = value
    assert _deposit.verify_deposit_entry(entry) == [problem]


def test_not_an_object():
    assert _deposit.verify_deposit_entry([]) == ["deposit entry is not an object"]


def test_amount_rules_name_the_entry():
    _deposit.verify_deposit_amounts([ETH, 32 * ETH])
    _deposit.verify_deposit_amounts([2048 * ETH], compounding=True)
    for amounts, compounding, match in (([True], False, r"deposit_amounts\[0\] must be an integer"),
                                        ([ETH, "1"], False, r"deposit_amounts\[1\] must be an integer"),
                                        ([ETH, ETH - 1], False, r"deposit_amounts\[1\]=999999999 Gwei is below"),
                                        ([32 * ETH + 1], False, r"above the 32 ETH maximum \(2048"),
                                        ([2048 * ETH + 1], True, r"above the 2048 ETH maximum$")):
        with pytest.raises(_deposit.DepositError, match=match):
            _deposit.verify_deposit_amounts(amounts, compounding)


@pytest.mark.parametrize("value,size", [(b"\x00" * 47, 48), ("00" * 48, 48), (bytearray(3), 4)])
def test_raw_byte_fields_are_checked(value, size):
    with pytest.raises(_deposit.DepositError, match="must be %d raw bytes" % size):
        _deposit._b(value, size, "field")  # pylint: disable=protected-access
    assert _deposit._b(bytearray(size), size, "field") == bytes(size)  # pylint: disable=protected-access
