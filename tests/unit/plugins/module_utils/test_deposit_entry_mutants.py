# -*- coding: utf-8 -*-
"""_deposit.verify_deposit_entry reports exactly the problem of an entry, no follow-up noise and no
crash, when one field is broken or one expectation is not met (issue 10, mutation run 3).  Each entry
starts correctly signed (a real BLS signature over the real signing root), so only the case under
test can produce an error."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _deposit, _eth2
from ansible_collections.dvops.charon.tests.fixtures.dealer import deal

ETH = 10 ** 9
HOODI = bytes.fromhex("10000910")
WC = b"\x01" + bytes(11) + b"\x42" * 20


@pytest.fixture(scope="module")
def v():
    return deal(seed=b"deposit-entry-mutants", n=3, t=2).validators[0]


@pytest.fixture(scope="module")
def entry(v):
    sig = _bls.sign(v.secret, _eth2.deposit_signing_root(v.pubkey, WC, 32 * ETH, HOODI))
    return _deposit.deposit_entry(v.pubkey, WC, 32 * ETH, sig, HOODI, "hoodi")


def _check(entry, v, **over):
    expected = dict(expected_network="hoodi", expected_fork_version=HOODI, expected_pubkey=v.pubkey,
                    expected_withdrawal_credentials=WC, expected_amount=32 * ETH)
    expected.update(over)
    return _deposit.verify_deposit_entry(entry, **expected)


def test_the_signed_entry_passes_every_expectation(entry, v):
    assert _check(entry, v) == []


@pytest.mark.parametrize("field,size", [("pubkey", 48), ("withdrawal_credentials", 32), ("signature", 96),
                                        ("deposit_message_root", 32), ("deposit_data_root", 32),
                                        ("fork_version", 4)])
def test_one_malformed_field_gives_exactly_its_error(entry, v, field, size):
    assert _check(dict(entry, **{field: "0x1234"}), v) == ["%s must be %d bytes, got 2" % (field, size)]
    assert _check(dict(entry, **{field: None}), v) == ["%s is missing or not a string" % field]


@pytest.mark.parametrize("amount", [True, "32000000000", 32.0])
def test_an_amount_that_is_not_an_integer_gives_exactly_its_error(entry, v, amount):
    assert _check(dict(entry, amount=amount), v) == ["amount must be an integer number of Gwei, got %r" % (amount,)]


@pytest.mark.parametrize("over,error", [
    ({"expected_network": "mainnet"}, "network_name is 'hoodi', expected 'mainnet'"),
    ({"expected_fork_version": bytes(4)}, "fork_version is 10000910, expected 00000000"),
    ({"expected_pubkey": b"\x01" * 48}, "pubkey is not the expected validator key"),
    ({"expected_withdrawal_credentials": b"\x01" + bytes(31)},
     "withdrawal_credentials are %s, expected %s" % (WC.hex(), (b"\x01" + bytes(31)).hex())),
    ({"expected_amount": 31 * ETH}, "amount is 32000000000, expected 31000000000"),
])
def test_one_unmet_expectation_gives_exactly_its_error(entry, v, over, error):
    assert _check(entry, v, **over) == [error]


def test_without_expectations_only_the_entry_itself_is_checked(entry, v):
    other = deal(seed=b"deposit-entry-other", n=3, t=2).validators[0]
    assert _deposit.verify_deposit_entry(entry) == []
    assert _check(entry, other, expected_pubkey=None, expected_network=None, expected_fork_version=None,
                  expected_withdrawal_credentials=None, expected_amount=None) == []


def test_credentials_with_another_prefix_are_named(v):
    wc = b"\x00" + bytes(11) + b"\x42" * 20
    sig = _bls.sign(v.secret, _eth2.deposit_signing_root(v.pubkey, wc, 32 * ETH, HOODI))
    entry = _deposit.deposit_entry(v.pubkey, wc, 32 * ETH, sig, HOODI, "hoodi")
    assert _deposit.verify_deposit_entry(entry) == ["withdrawal_credentials must start with 0x01 or 0x02, got 0x00"]


def test_a_wrong_cli_version_is_named(entry):
    assert _deposit.verify_deposit_entry(dict(entry, deposit_cli_version="2.6.0")) == [
        "deposit_cli_version is '2.6.0', charon writes '2.7.0'"]


def test_a_compounding_entry_may_carry_more_than_32_eth(v):
    wc = b"\x02" + WC[1:]
    sig = _bls.sign(v.secret, _eth2.deposit_signing_root(v.pubkey, wc, 64 * ETH, HOODI))
    entry = _deposit.deposit_entry(v.pubkey, wc, 64 * ETH, sig, HOODI, "hoodi")
    assert _deposit.verify_deposit_entry(entry) == []
    entry = dict(entry, withdrawal_credentials="01" + entry["withdrawal_credentials"][2:])
    errors = _deposit.verify_deposit_entry(entry)
    assert errors[0] == "amount=64000000000 Gwei is above the 32 ETH maximum (2048 ETH needs compounding)", errors


def test_amount_rules_none_and_field_name():
    assert _deposit.verify_deposit_amounts(None) is None
    with pytest.raises(_deposit.DepositError, match=r"\Adeposit_amounts\[1\]=999999999 Gwei is below the 1 ETH minimum"):
        _deposit.verify_deposit_amounts([ETH, ETH - 1])
    with pytest.raises(_deposit.DepositError, match=r"\Ax\[0\]=2048000000001 Gwei is above the 2048 ETH maximum\Z"):
        _deposit.verify_deposit_amounts([2048 * ETH + 1], compounding=True, field="x")
    _deposit.verify_deposit_amounts([ETH, 32 * ETH])
    _deposit.verify_deposit_amounts([2048 * ETH], compounding=True)
